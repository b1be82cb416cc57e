"""Reading an extract (CSV, zipped CSV or .xlsx) into a frame of strings, refusing what is unsafe
to read or to store while streaming: limits (explorer.records.imports.limits), NUL characters and
spreadsheet formulas, each reported with file, row and column."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from explorer.errors import ExplorerError, SourceFormatError
from explorer.records.imports import limits
from explorer.records.imports.problems import ImportRejected, Problem, file_problem
from explorer.sources.tabular import decode_text

XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"


class Formula(str):
    """The text of a cell that holds a spreadsheet formula: refused, since its stored result is a
    cached value that may be stale (or absent), not data that was extracted."""


def excel_column(index: int) -> str:
    """0 -> A, 26 -> AA."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _column_name(header: list[str] | None, index: int, excel: bool) -> str:
    if header is not None and index < len(header) and header[index]:
        return header[index]
    return excel_column(index) if excel else f"column {index + 1}"


def _cell_problems(file: str, number: int, values: list[str], header: list[str] | None, excel: bool
                   ) -> list[Problem]:
    """Per-row checks done while streaming: cell length, NUL characters, formulas. Cheap in the
    common case: one join tells whether any cell is long or holds a NUL."""
    joined = "".join(values)
    found = []
    if "\x00" in joined or len(joined) > limits.MAX_CELL_CHARS:
        for i, value in enumerate(values):
            if len(value) > limits.MAX_CELL_CHARS:
                raise file_problem(file, f"a cell of {len(value):,} characters, more than the "
                                   f"{limits.MAX_CELL_CHARS:,} allowed", number, _column_name(header, i, excel))
            if "\x00" in value:
                found.append(Problem(file, number, _column_name(header, i, excel),
                                     "the cell holds a NUL character (\\0): the file is damaged or not text"))
    if excel:
        found.extend(Problem(file, number, _column_name(header, i, excel),
                             f"the cell holds a formula ({value[:40]}); paste it as values and import again")
                     for i, value in enumerate(values) if isinstance(value, Formula))
    return found


def _check_row_count(file: str, number: int, data_rows: int) -> None:
    if data_rows > limits.MAX_ROWS:
        raise file_problem(file, f"more than {limits.MAX_ROWS:,} data rows (split the extract, or set "
                           "EXPLORER_IMPORT_MAX_ROWS)", number)


def _rows_to_frame(file: str, records: Iterable[tuple[int, list[str]]], *, excel: bool) -> pd.DataFrame:
    """Header = first non-empty record. Rows with values beyond the header, or (in CSV) fewer values
    than the header, are reported all at once; empty rows are skipped; the index is the row number.
    Limits stop the reading at once (ImportRejected naming the row)."""
    header: list[str] | None = None
    header_row = width = data_rows = 0
    rows = _RowChunks()
    problems: list[Problem] = []
    for number, values in records:
        if len(values) > limits.MAX_COLUMNS and "".join(values[limits.MAX_COLUMNS:]).strip():
            raise file_problem(file, f"the row has {len(values):,} cells, more than the {limits.MAX_COLUMNS} "
                               "columns an import may have", number)
        problems.extend(_cell_problems(file, number, values, header, excel))
        if header is not None and len(values) == width:  # the common case; blank rows are dropped below
            rows.append(number, values)
            data_rows += 1
            _check_row_count(file, number, data_rows)
            continue
        if not "".join(values).strip():
            continue
        if header is None:
            header = [v.strip() for v in values]
            while header and not header[-1]:
                header.pop()
            header_row, width = number, len(header)
            continue
        data_rows += 1
        _check_row_count(file, number, data_rows)
        if len(values) > width:
            if "".join(values[width:]).strip():
                if excel:
                    extra = width + next(i for i, v in enumerate(values[width:]) if v.strip())
                    reason = f"a value in column {excel_column(extra)}, which has no header"
                else:
                    reason = (f"the row has {len(values)} values but the header has {width} columns "
                              "(is a value with a comma not in quotes?)")
                problems.append(Problem(file, number, None, reason))
                continue
            values = values[:width]
        elif len(values) < width:
            if not excel:
                problems.append(Problem(file, number, None, f"the row has {len(values)} values but the header "
                                        f"has {width} columns"))
                continue
            values = values + [""] * (width - len(values))
        rows.append(number, values)
    if header is None:
        raise file_problem(file, "the file is empty")
    unnamed = [i + 1 for i, name in enumerate(header) if not name]
    if unnamed:
        problems.append(Problem(file, header_row, None, f"header cell(s) {unnamed} are empty: every column "
                                "needs a name"))
    if problems:
        raise ImportRejected(problems)
    return _frame(file, header, header_row, rows.frame(len(header)))


class _RowChunks:
    """Rows collected as Python lists only CHUNK_ROWS at a time, then kept as Arrow-backed string
    columns: a Python str per cell costs about 15 times the bytes of the CSV, Arrow about 1.5."""

    CHUNK_ROWS = 20_000

    def __init__(self) -> None:
        self.numbers: list[int] = []
        self.rows: list[list[str]] = []
        self.done: list[pd.DataFrame] = []

    def append(self, number: int, values: list[str]) -> None:
        self.numbers.append(number)
        self.rows.append(values)
        if len(self.rows) >= self.CHUNK_ROWS:
            self._flush(len(values))

    def _flush(self, width: int) -> None:
        columns = list(zip(*self.rows, strict=True)) or [()] * width
        chunk = pd.DataFrame({i: pd.Series(col, dtype="str") for i, col in enumerate(columns)})
        chunk.index = pd.Index(self.numbers, name="row", dtype="int64")
        self.done.append(chunk)
        self.numbers, self.rows = [], []

    def frame(self, width: int) -> pd.DataFrame:
        if self.rows or not self.done:
            self._flush(width)
        return self.done[0] if len(self.done) == 1 else pd.concat(self.done)


def _frame(file: str, header: list[str], header_row: int, frame: pd.DataFrame) -> pd.DataFrame:
    width = len(header)
    frame.columns = header  # may hold duplicates: validate_extract reports them
    blank = np.logical_and.reduce([frame.iloc[:, i].str.strip().eq("").to_numpy(dtype=bool) for i in range(width)])
    frame = frame[~blank]
    if frame.empty:
        raise file_problem(file, f"the file has a header row but no data rows (header: {', '.join(header)})")
    frame.attrs["header_row"] = header_row
    return frame


def _limited_lines(text: str, file: str) -> Iterator[str]:
    """The CSV's lines, refusing one so long that splitting it would take much memory."""
    for number, line in enumerate(io.StringIO(text, newline=""), start=1):
        if len(line) > limits.MAX_LINE_CHARS:
            raise file_problem(file, f"line {number} of the file is {len(line):,} characters long, more than the "
                               f"{limits.MAX_LINE_CHARS:,} allowed")
        yield line


def _csv_records(text: str, file: str) -> Iterator[tuple[int, list[str]]]:
    first_line = text.split("\n", 1)[0]
    delimiter = next((d for d in (",", "\t", ";", "|") if d in first_line), ",")
    reader = csv.reader(_limited_lines(text, file), delimiter=delimiter, strict=True)
    number = 0
    try:
        for number, values in enumerate(reader, start=1):
            yield number, values
    except csv.Error as exc:
        raise file_problem(file, f"not a well-formed CSV file: {exc} in the record after row {number} "
                           f"(line {reader.line_num} of the file; is a quote not closed?)") from exc


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _excel_cell(cell: object) -> str:
    value = getattr(cell, "value", None)
    if getattr(cell, "data_type", None) == "f":
        return Formula(str(getattr(value, "text", None) or value))
    return _cell_text(value)


def _excel_records(raw: bytes, file: str, sheet: str | None) -> tuple[Iterator[tuple[int, list[str]]], str]:
    """Rows of the workbook in openpyxl's streaming read-only mode, formulas kept as formulas
    (data_only=False) so that they can be refused rather than their cached results stored."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises several types for damaged files
        raise file_problem(file, f"not a readable Excel .xlsx workbook ({exc})") from exc
    if sheet is not None and sheet not in book.sheetnames:
        book.close()
        raise file_problem(file, f"the workbook has no sheet '{sheet}' (it has: {', '.join(book.sheetnames)})")
    worksheet = book[sheet] if sheet is not None else book.worksheets[0]
    worksheet.reset_dimensions()  # else openpyxl parses the whole sheet once more to size it; rows may be short

    def records() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, cells in enumerate(worksheet.iter_rows(), start=1):
                yield number, [_excel_cell(c) for c in cells]
        finally:
            book.close()

    return records(), worksheet.title


def _read_workbook(raw: bytes, file: str, sheet: str | None) -> pd.DataFrame:
    records, title = _excel_records(raw, file, sheet)
    try:
        frame = _rows_to_frame(file, records, excel=True)
    except ImportRejected as exc:
        if [p.reason for p in exc.problems] == ["the file is empty"]:
            raise file_problem(file, f"the sheet '{title}' is empty (to read another sheet, put it "
                               "first in the workbook)") from None
        raise
    frame.attrs["sheet"] = title
    return frame


def _open_zip(raw: bytes, file: str, sheet: str | None) -> pd.DataFrame | bytes:
    """A workbook read as a frame, or the bytes of the one CSV a zip holds; sizes checked first."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            names = archive.namelist()
            if "xl/workbook.xml" in names:
                limits.check_workbook_archive(archive, file)
            else:
                csv_names = [n for n in names if n.lower().endswith(".csv")]
                if len(csv_names) != 1:
                    raise file_problem(file, "a zip archive that is neither an .xlsx workbook nor holds one CSV file")
                return limits.read_zip_member(archive, archive.getinfo(csv_names[0]), file)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError) as exc:
        raise file_problem(file, f"a damaged zip or Excel file ({exc})") from exc
    return _read_workbook(raw, file, sheet)


def read_extract(path: str | Path, *, sheet: str | None = None) -> pd.DataFrame:
    """The extract's cells as strings ("" when empty), columns as headed in the file, and the index the
    row number a spreadsheet shows (header = row 1). CSV (comma, tab, semicolon or pipe separated),
    a zip holding one CSV, or .xlsx (the first sheet unless `sheet` is given). Unreadable or unsafe
    files raise ImportRejected. `attrs['sha256']` is the digest of the bytes read, for provenance."""
    path = Path(path)
    file = path.name
    if not path.is_file():
        raise ExplorerError(f"{path}: no such file")
    raw = limits.read_file_limited(path)
    digest = hashlib.sha256(raw).hexdigest()
    if raw[:8] == XLS_MAGIC:
        raise file_problem(file, "this is an old-style Excel .xls workbook; save it as .xlsx or as 'CSV UTF-8'")
    if raw[:4] == ZIP_MAGIC:
        opened = _open_zip(raw, file, sheet)
        if isinstance(opened, pd.DataFrame):
            opened.attrs["sha256"] = digest
            return opened
        raw, opened = opened, None
        if raw[:4] == ZIP_MAGIC:
            raise file_problem(file, "a zip archive that is neither an .xlsx workbook nor holds one CSV file")
    try:
        text = decode_text(raw, file, sparse_nul_ok=True)  # stray NULs are reported by row
    except SourceFormatError as exc:
        raise file_problem(file, exc.problem) from exc
    del raw
    frame = _rows_to_frame(file, _csv_records(text, file), excel=False)
    frame.attrs["sha256"] = digest
    return frame
