"""Importing real person-level extracts (CSV or Excel) into the records tables, all or nothing.

Three steps, each usable on its own:

- `read_extract(path)`: every cell of a CSV (UTF-8 with or without BOM, or Windows-1252) or .xlsx
  file as a string, empty cells as "", indexed by the row number a spreadsheet shows (header = 1).
  Files that cannot be read as a table (empty, UTF-16/binary, ragged CSV rows) raise ImportRejected.
- `validate_extract(frame, layout, context)`: pure and vectorised. Checks every row against the
  Layout of explorer.records.schema and the context (known LSOAs and practices, the ONS LSOA 2011
  to 2021 lookup, the extract date) and returns the typed frame and the list of every Problem.
- `import_extract(settings, region, layout_name, path)`: the two above, then stores the table with
  `store.write_table` (atomic: the previous table stays until the new one is complete) and marks it
  as real data in `<records_dir>/<table>/_provenance.json`; or stores nothing and raises
  ImportRejected listing the problems.

The layouts are documented for users in docs/import-layouts.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from explorer.atomic import write_text_atomic
from explorer.config import Settings
from explorer.errors import ExplorerError, SourceFormatError
from explorer.records.schema import LAYOUTS, Column, Layout
from explorer.sources.tabular import decode_text, normalise_header

MAX_LISTED = 50  # problems listed in a message; the rest are counted
PROVENANCE_FILE = "_provenance.json"
CHUNK_ROWS = 1_000_000  # rows per stored part file

LSOA_PATTERN = r"[EW]01\d{6}"
LSOA_COLUMNS = frozenset({"lsoa_code"})
PRACTICE_COLUMNS = frozenset({"practice_code"})
UPPER_CASE_COLUMNS = frozenset({"lsoa_code", "practice_code", "organisation_code"})  # ODS and ONS codes
MONTH_COLUMNS = frozenset({"month"})
TRUE_WORDS = ("y", "yes", "true", "1")
FALSE_WORDS = ("n", "no", "false", "0")

# Other header spellings accepted for a column (compared after normalise_header).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "lsoa_code": ("lsoa", "lsoa21cd", "lsoa11cd", "lsoa 2021 code", "lsoa 2011 code", "lsoa code 2021",
                  "lsoa code 2011", "lsoa21", "lsoa11"),
    "practice_code": ("gp practice code", "practice ods code", "gp code"),
}
# (earlier, later): when both dates are present, the later one may not come before the earlier one.
DATE_ORDER: dict[str, tuple[tuple[str, str], ...]] = {
    "plans": (("created_date", "last_reviewed_date"), ("created_date", "closed_date")),
}
# Columns that must name a row of another records table, when that table holds real (imported) data.
REFERENCES: dict[tuple[str, str], str] = {
    ("plans", "person_id"): "people",
    ("plan_reviews", "plan_id"): "plans",
    ("plan_views", "plan_id"): "plans",
    ("user_logins", "user_id"): "users",
}


# ---------------------------------------------------------------------------------------------
# Problems and errors


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an extract. `row` is the spreadsheet row (header = 1); None for the file."""

    file: str
    row: int | None
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" row {self.row}"
        if self.column is not None:
            where += f"{',' if self.row is not None else ''} column '{self.column}'"
        return f"{where}: {self.reason}"


def format_problems(problems: Sequence[Problem], limit: int = MAX_LISTED) -> str:
    files = sorted({p.file for p in problems})
    count = len(problems)
    head = (f"nothing was imported from {', '.join(files) or 'the file'}: "
            f"{count} problem{'s' if count != 1 else ''} (fix them and import the file again)")
    lines = [head, *(f"  {p}" for p in problems[:limit])]
    if count > limit:
        rest = pd.Series([p.column or "(file)" for p in problems[limit:]]).value_counts()
        by_column = ", ".join(f"{col} {n:,}" for col, n in rest.items())
        lines.append(f"  ... and {count - limit:,} more problems (by column: {by_column})")
    return "\n".join(lines)


class ImportRejected(ExplorerError):
    """An extract failed its checks; nothing was stored. `problems` holds every problem found."""

    def __init__(self, problems: Iterable[Problem], limit: int = MAX_LISTED):
        self.problems = list(problems)
        super().__init__(format_problems(self.problems, limit))


def _file_problem(file: str | Path, reason: str) -> ImportRejected:
    return ImportRejected([Problem(Path(file).name, None, None, reason)])


# ---------------------------------------------------------------------------------------------
# Reading


def _rows_to_frame(file: str, records: Iterable[tuple[int, list[str]]], *, excel: bool) -> pd.DataFrame:
    """Header = first non-empty record. Rows with values beyond the header, or (in CSV) fewer values
    than the header, are reported all at once; empty rows are skipped; the index is the row number."""
    header: list[str] | None = None
    header_row = width = 0
    numbers: list[int] = []
    rows: list[list[str]] = []
    problems: list[Problem] = []
    for number, values in records:
        if header is not None and len(values) == width:  # the common case; blank rows are dropped below
            numbers.append(number)
            rows.append(values)
            continue
        if not "".join(values).strip():
            continue
        if header is None:
            header = [v.strip() for v in values]
            while header and not header[-1]:
                header.pop()
            header_row, width = number, len(header)
            continue
        if len(values) > width:
            if "".join(values[width:]).strip():
                if excel:
                    extra = width + next(i for i, v in enumerate(values[width:]) if v.strip())
                    reason = f"a value in column {_excel_column(extra)}, which has no header"
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
        numbers.append(number)
        rows.append(values)
    if header is None:
        raise _file_problem(file, "the file is empty")
    unnamed = [i + 1 for i, name in enumerate(header) if not name]
    if unnamed:
        problems.append(Problem(file, header_row, None, f"header cell(s) {unnamed} are empty: every column "
                                "needs a name"))
    if problems:
        raise ImportRejected(problems)
    columns = list(zip(*rows, strict=True)) or [()] * width
    frame = pd.DataFrame({i: pd.Series(col, dtype="str") for i, col in enumerate(columns)})
    frame.columns = header  # may hold duplicates: validate_extract reports them
    frame.index = pd.Index(numbers, name="row", dtype="int64")
    blank = np.logical_and.reduce([frame.iloc[:, i].str.strip().eq("").to_numpy(dtype=bool) for i in range(width)])
    frame = frame[~blank]
    if frame.empty:
        raise _file_problem(file, f"the file has a header row but no data rows (header: {', '.join(header)})")
    frame.attrs["header_row"] = header_row
    return frame


def _excel_column(index: int) -> str:
    """0 -> A, 26 -> AA."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _csv_records(text: str, file: str) -> Iterator[tuple[int, list[str]]]:
    first_line = text.split("\n", 1)[0]
    delimiter = next((d for d in (",", "\t", ";", "|") if d in first_line), ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    number = 0
    try:
        for number, values in enumerate(reader, start=1):
            yield number, values
    except csv.Error as exc:
        raise _file_problem(file, f"not a well-formed CSV file: {exc} in the record after row {number} "
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


def _excel_records(path: Path, sheet: str | None) -> tuple[Iterator[tuple[int, list[str]]], str]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several types for damaged files
        raise _file_problem(path, f"not a readable Excel .xlsx workbook ({exc})") from exc
    if sheet is not None and sheet not in book.sheetnames:
        book.close()
        raise _file_problem(path, f"the workbook has no sheet '{sheet}' (it has: {', '.join(book.sheetnames)})")
    worksheet = book[sheet] if sheet is not None else book.worksheets[0]
    worksheet.reset_dimensions()  # else openpyxl parses the whole sheet once more to size it; rows may be short

    def records() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
                yield number, [_cell_text(v) for v in values]
        finally:
            book.close()

    return records(), worksheet.title


def read_extract(path: str | Path, *, sheet: str | None = None) -> pd.DataFrame:
    """The extract's cells as strings ("" when empty), columns as headed in the file, and the index the
    row number a spreadsheet shows (header = row 1). CSV (comma, tab, semicolon or pipe separated) or
    .xlsx (the first sheet unless `sheet` is given). Unreadable files raise ImportRejected."""
    path = Path(path)
    file = path.name
    if not path.is_file():
        raise ExplorerError(f"{path}: no such file")
    raw = path.read_bytes()
    if raw[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise _file_problem(file, "this is an old-style Excel .xls workbook; save it as .xlsx or as 'CSV UTF-8'")
    if raw[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(raw)) as archive:
                names = archive.namelist()
                csv_names = [n for n in names if n.lower().endswith(".csv")]
                is_workbook = "xl/workbook.xml" in names
                if not is_workbook and len(csv_names) == 1:
                    raw = archive.read(csv_names[0])
        except zipfile.BadZipFile as exc:
            raise _file_problem(file, f"a damaged zip or Excel file ({exc})") from exc
        if is_workbook:
            records, title = _excel_records(path, sheet)
            try:
                frame = _rows_to_frame(file, records, excel=True)
            except ImportRejected as exc:
                if [p.reason for p in exc.problems] == ["the file is empty"]:
                    raise _file_problem(file, f"the sheet '{title}' is empty (to read another sheet, put it "
                                        "first in the workbook)") from None
                raise
            frame.attrs["sheet"] = title
            return frame
        if raw[:4] == b"PK\x03\x04":
            raise _file_problem(file, "a zip archive that is neither an .xlsx workbook nor holds one CSV file")
    try:
        text = decode_text(raw, file)
    except SourceFormatError as exc:
        raise _file_problem(file, exc.problem) from exc
    return _rows_to_frame(file, _csv_records(text, file), excel=False)


# ---------------------------------------------------------------------------------------------
# Validation


@dataclass(frozen=True)
class ImportContext:
    """What an extract is checked against. A check whose reference data is None is skipped."""

    file: str
    extract_date: dt.date
    today: dt.date = field(default_factory=dt.date.today)
    region: str = ""
    known_lsoas: frozenset[str] | None = None  # LSOA 2021 codes of the region
    lsoa11: pd.DataFrame | None = None  # resolve_lsoa11(): index lsoa11cd -> lsoa21cd, successors
    all_lsoa21: frozenset[str] | None = None  # every 2021 code, to say 'outside the region'
    known_practices: frozenset[str] | None = None
    references: Mapping[str, tuple[str, frozenset[str]]] = field(default_factory=dict)  # column -> (table, ids)

    @property
    def region_label(self) -> str:
        return f"the {self.region} region" if self.region else "the region"


def resolve_lsoa11(lookup: pd.DataFrame, population: pd.Series) -> pd.DataFrame:
    """One 2021 code per 2011 code. Unchanged (U) and merged (M) LSOAs have one successor; split (S) and
    complex (X) ones several, of which the one with the largest 2021 population (`population`, indexed
    by 2021 code) is chosen, ties by code. Columns lsoa21cd, successors (how many there were)."""
    pairs = lookup[["lsoa11cd", "lsoa21cd"]].drop_duplicates()
    pairs = pairs.assign(
        population=pairs["lsoa21cd"].map(population).astype("float64").fillna(-1.0),
        successors=pairs.groupby("lsoa11cd")["lsoa21cd"].transform("size").astype("int64"),
    )
    chosen = pairs.sort_values(["lsoa11cd", "population", "lsoa21cd"], ascending=[True, False, True])
    return chosen.drop_duplicates("lsoa11cd").set_index("lsoa11cd")[["lsoa21cd", "successors"]]


def _quote(value: str, width: int = 40) -> str:
    return f"'{value if len(value) <= width else value[:width - 3] + '...'}'"


class _Collector:
    def __init__(self, file: str):
        self.file = file
        self.items: list[Problem] = []

    def add(self, rows: Iterable[int], column: str | None, reasons: str | Iterable[str]) -> None:
        rows = list(rows)
        if isinstance(reasons, str):
            self.items.extend(Problem(self.file, int(r), column, reasons) for r in rows)
        else:
            self.items.extend(Problem(self.file, int(r), column, why) for r, why in zip(rows, reasons, strict=True))

    def mask(self, mask: pd.Series, column: str | None, reason: str | Callable[[object], str], values: pd.Series | None = None
             ) -> None:
        """Report every row where `mask` holds; `reason` is a text or a function of the row's value."""
        if not mask.any():
            return
        rows = mask.index[mask.to_numpy(dtype=bool)]
        if callable(reason):
            self.add(rows, column, (reason(v) for v in values.loc[rows]))
        else:
            self.add(rows, column, reason)


def _match_headers(frame: pd.DataFrame, layout: Layout, problems: _Collector, header_row: int
                   ) -> tuple[dict[str, str], list[str]]:
    """File column -> layout column; and the file's columns that match nothing."""
    wanted: dict[str, str] = {}
    for name in layout.columns:
        for spelling in (name, *HEADER_ALIASES.get(name, ())):
            wanted.setdefault(normalise_header(spelling), name)
    matched: dict[str, list[int]] = {}
    ignored = []
    for position, header in enumerate(frame.columns):
        target = wanted.get(normalise_header(header))
        if target is None:
            ignored.append(str(header))
        else:
            matched.setdefault(target, []).append(position)
    mapping: dict[int, str] = {}
    for target, positions in matched.items():
        if len(positions) > 1:
            names = ", ".join(f"'{frame.columns[p]}'" for p in positions)
            problems.add([header_row], target, f"{len(positions)} columns ({names}) all mean '{target}'; keep one")
        mapping[positions[0]] = target
    missing = [name for name, col in layout.columns.items() if col.required and name not in matched]
    for name in missing:
        problems.add([header_row], name, f"required column '{name}' is missing (the header row has: "
                     f"{', '.join(map(str, frame.columns[:20]))}{' ...' if len(frame.columns) > 20 else ''}); "
                     "see docs/import-layouts.md")
    return {str(p): t for p, t in mapping.items()}, ignored


def _parse_dates(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """yyyy-mm-dd or dd/mm/yyyy (a midnight time is allowed) -> datetime64, and which had a date form."""
    bare = text.str.replace(r"[ T]00:00(:00(\.0+)?)?$", "", regex=True)
    iso = bare.str.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}")
    uk = bare.str.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}")
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[s]")
    if iso.any():
        parsed[iso] = pd.to_datetime(bare[iso], format="%Y-%m-%d", errors="coerce")
    if uk.any():
        parsed[uk] = pd.to_datetime(bare[uk], format="%d/%m/%Y", errors="coerce")
    return parsed, iso | uk


def _check_date(text: pd.Series, present: pd.Series, name: str, ctx: ImportContext, problems: _Collector
                ) -> pd.Series:
    parsed, shaped = _parse_dates(text)
    problems.mask(present & ~shaped, name, lambda v: f"{_quote(v)} is not a date: write yyyy-mm-dd or dd/mm/yyyy",
                  text)
    problems.mask(present & shaped & parsed.isna(), name, lambda v: f"{_quote(v)} is not a valid date", text)
    today, extract = pd.Timestamp(ctx.today), pd.Timestamp(ctx.extract_date)
    future = parsed > today
    problems.mask(future, name, lambda v: f"{v:%Y-%m-%d} is in the future (today is {ctx.today:%Y-%m-%d})", parsed)
    late = (parsed > extract) & ~future
    problems.mask(late, name, lambda v: f"{v:%Y-%m-%d} is after the extract date {ctx.extract_date:%Y-%m-%d}",
                  parsed)
    return parsed.where(~(future | late))


def _check_month(text: pd.Series, present: pd.Series, name: str, ctx: ImportContext, problems: _Collector
                 ) -> pd.Series:
    """YYYY-MM (also MM/YYYY, or a date of the month) -> 'YYYY-MM'."""
    ym = text.str.extract(r"^(?P<y>\d{4})-(?P<m>\d{1,2})$")
    my = text.str.extract(r"^(?P<m>\d{1,2})/(?P<y>\d{4})$")
    parsed, _ = _parse_dates(text)
    year = pd.to_numeric(ym["y"].fillna(my["y"]), errors="coerce").fillna(parsed.dt.year)
    month = pd.to_numeric(ym["m"].fillna(my["m"]), errors="coerce").fillna(parsed.dt.month)
    valid = present & year.notna() & month.between(1, 12)
    problems.mask(present & ~valid, name, lambda v: f"{_quote(v)} is not a month: write YYYY-MM (e.g. 2026-03)", text)
    key = year * 12 + month
    future = valid & (key > ctx.today.year * 12 + ctx.today.month)
    problems.mask(future, name, lambda v: f"{_quote(v)} is in the future (today is {ctx.today:%Y-%m-%d})", text)
    late = valid & ~future & (key > ctx.extract_date.year * 12 + ctx.extract_date.month)
    problems.mask(late, name, lambda v: f"{_quote(v)} is after the extract date {ctx.extract_date:%Y-%m-%d}", text)
    ok = valid & ~future & ~late
    out = pd.Series(pd.NA, index=text.index, dtype="str")
    if ok.any():
        out[ok] = (year[ok].astype("int64").astype("str") + "-"
                   + month[ok].astype("int64").astype("str").str.zfill(2))
    return out


def _check_number(text: pd.Series, present: pd.Series, name: str, col: Column, problems: _Collector) -> pd.Series:
    values = pd.to_numeric(text.str.replace(",", "", regex=False).where(present), errors="coerce")
    not_number = present & values.isna()
    problems.mask(not_number, name, lambda v: f"{_quote(v)} is not a number", text)
    ok = present & ~not_number
    if col.kind == "int":
        fractional = ok & (values % 1 != 0)
        problems.mask(fractional, name, lambda v: f"{_quote(v)} is not a whole number", text)
        ok &= ~fractional
    if col.minimum is not None:
        low = ok & (values < col.minimum)
        problems.mask(low, name, lambda v: f"{_quote(v)} is below the minimum {col.minimum:g}", text)
        ok &= ~low
    if col.maximum is not None:
        high = ok & (values > col.maximum)
        problems.mask(high, name, lambda v: f"{_quote(v)} is above the maximum {col.maximum:g}", text)
        ok &= ~high
    values = values.where(ok)
    return values.astype("Int64") if col.kind == "int" else values.astype("float64")


def _check_lsoa(codes: pd.Series, present: pd.Series, name: str, ctx: ImportContext, problems: _Collector,
                stats: dict) -> pd.Series:
    out = codes.where(present)
    malformed = present & ~codes.str.fullmatch(LSOA_PATTERN)
    problems.mask(malformed, name, lambda v: f"{_quote(v)} is not an LSOA code (E01 or W01 and six digits)", codes)
    if ctx.known_lsoas is None:
        return out.where(~malformed)
    other = present & ~malformed & ~codes.isin(ctx.known_lsoas)
    if not other.any():
        return out
    candidates = codes[other]
    if ctx.lsoa11 is not None:
        successor = candidates.map(ctx.lsoa11["lsoa21cd"])
        successors = candidates.map(ctx.lsoa11["successors"])
    else:
        successor = pd.Series(pd.NA, index=candidates.index, dtype="str")
        successors = pd.Series(np.nan, index=candidates.index)
    same = (successor == candidates).fillna(False).astype(bool)
    converted = (successor.notna() & ~same & successor.isin(ctx.known_lsoas)).astype(bool)
    out[converted.index[converted]] = successor[converted]
    by_split = converted & (successors > 1)
    stats["converted_2011"] += int(converted.sum())
    stats["converted_by_split"] += int(by_split.sum())
    if by_split.any():
        examples = (pd.DataFrame({"from": candidates[by_split], "to": successor[by_split]})
                    .drop_duplicates("from").head(3))
        stats["split_examples"].extend(f"{a} -> {b}" for a, b in zip(examples["from"], examples["to"], strict=True))
    region = ctx.region_label
    outside_2021 = ~converted & (candidates.isin(ctx.all_lsoa21 or ()) | same)
    outside_2011 = ~converted & ~outside_2021 & successor.notna()
    unknown = ~converted & ~outside_2021 & ~outside_2011
    where = candidates.index
    problems.add(where[outside_2021.to_numpy()], name,
                 (f"LSOA {_quote(v)} is outside {region}" for v in candidates[outside_2021]))
    problems.add(where[outside_2011.to_numpy()], name,
                 (f"LSOA 2011 code {_quote(a)} becomes 2021 code '{b}', which is outside {region}"
                  for a, b in zip(candidates[outside_2011], successor[outside_2011], strict=True)))
    lookup_note = ", nor a 2011 LSOA in the ONS lookup" if ctx.lsoa11 is not None else ""
    problems.add(where[unknown.to_numpy()], name,
                 (f"unknown LSOA code {_quote(v)} (not a 2021 LSOA of {region}{lookup_note})"
                  for v in candidates[unknown]))
    bad = pd.Series(False, index=codes.index)
    bad[where[(outside_2021 | outside_2011 | unknown).to_numpy()]] = True
    return out.where(~bad)


def validate_extract(frame: pd.DataFrame, layout: Layout, context: ImportContext
                     ) -> tuple[pd.DataFrame, list[Problem]]:
    """Check every row of an all-strings extract against `layout`; return (typed frame, every problem).

    The frame's index is taken as the spreadsheet row number when it is named 'row' (as read_extract
    makes it), else rows are numbered 2, 3, ... The typed frame has the layout's columns in the stored
    types (str, Int64, boolean, datetime64, float64) with invalid cells empty, a default index, and
    `attrs["import"]` = {converted_2011, converted_by_split, split_examples, notices}. It is only fit
    to store when the problem list is empty."""
    problems = _Collector(context.file)
    stats: dict = {"converted_2011": 0, "converted_by_split": 0, "split_examples": [], "notices": []}
    header_row = int(frame.attrs.get("header_row", 1))
    if frame.index.name != "row":
        frame = frame.set_axis(pd.RangeIndex(header_row + 1, header_row + 1 + len(frame), name="row"))
    if len(frame) == 0:
        problems.add([header_row], None, "the file has a header row but no data rows")
    mapping, ignored = _match_headers(frame, layout, problems, header_row)
    if ignored:
        stats["notices"].append(f"ignored column(s) not in the {layout.name} layout: {', '.join(ignored)}")
    renamed = frame.set_axis([str(i) for i in range(frame.shape[1])], axis=1)[list(mapping)]
    renamed.columns = list(mapping.values())

    typed: dict[str, pd.Series] = {}
    for name, col in layout.columns.items():
        if name not in renamed.columns:
            continue
        text = renamed[name].astype("str").str.strip()
        if name in UPPER_CASE_COLUMNS:
            text = text.str.upper()
        present = text != ""
        if col.required:
            problems.mask(~present, name, "empty, but a value is required")
        if name in MONTH_COLUMNS:
            typed[name] = _check_month(text, present, name, context, problems)
        elif col.kind == "date":
            typed[name] = _check_date(text, present, name, context, problems)
        elif col.kind in ("int", "float"):
            typed[name] = _check_number(text, present, name, col, problems)
        elif col.kind == "bool":
            lower = text.str.lower()
            yes, no = lower.isin(TRUE_WORDS), lower.isin(FALSE_WORDS)
            problems.mask(present & ~(yes | no), name, lambda v: f"{_quote(v)} is not yes or no (write Y/N, "
                          "yes/no, true/false or 1/0)", text)
            typed[name] = yes.astype("boolean").where(yes | no)
        elif col.allowed is not None:
            canonical = text.str.lower().str.replace(r"[\s\-]+", "_", regex=True)
            bad = present & ~canonical.isin(col.allowed)
            allowed = ", ".join(col.allowed)
            problems.mask(bad, name, lambda v: f"{_quote(v)} is not one of the allowed values: {allowed}", text)
            typed[name] = canonical.where(present & ~bad)
        elif name in LSOA_COLUMNS:
            typed[name] = _check_lsoa(text, present, name, context, problems, stats)
        else:
            typed[name] = text.where(present)
            if name in PRACTICE_COLUMNS and context.known_practices is not None:
                unknown = present & ~text.isin(context.known_practices)
                problems.mask(unknown, name, lambda v: f"unknown practice code {_quote(v)} (not a practice of "
                              f"{context.region_label})", text)
                typed[name] = typed[name].where(~unknown)
        reference = context.references.get(name)
        if reference is not None:
            table, ids = reference
            missing = present & typed[name].notna() & ~typed[name].isin(ids)
            problems.mask(missing, name, lambda v: f"{name} {_quote(v)} is not in the {table} table", text)

    for earlier, later in DATE_ORDER.get(layout.name, ()):
        if earlier in typed and later in typed:
            before = (typed[later] < typed[earlier]).to_numpy(dtype=bool)
            if before.any():
                problems.add(frame.index[before], later, (
                    f"{a:%Y-%m-%d} is before {earlier} {b:%Y-%m-%d}"
                    for a, b in zip(typed[later][before], typed[earlier][before], strict=True)))

    key = layout.key.split(",")
    if all(k in typed for k in key):
        keys = pd.DataFrame({k: typed[k] for k in key})
        complete = keys.notna().all(axis=1)
        joined = keys.loc[complete, key[0]].astype("str")
        for k in key[1:]:
            joined = joined + " / " + keys.loc[complete, k].astype("str")
        if joined.duplicated().any():
            first_row = pd.Series(joined.index, index=joined.index).groupby(joined.to_numpy()).transform("first")
            dup = joined.duplicated(keep="first")
            label = ", ".join(key)
            problems.add(joined.index[dup.to_numpy()], label,
                         (f"{label} {_quote(v)} appears more than once (first on row {r})"
                          for v, r in zip(joined[dup], first_row[dup], strict=True)))

    order = {name: i for i, name in enumerate(layout.columns)}
    found = sorted(problems.items, key=lambda p: (p.row or 0, order.get((p.column or "").split(",")[0], -1)))
    out = pd.DataFrame(typed).reset_index(drop=True) if typed else pd.DataFrame()
    out = out[[c for c in layout.columns if c in out.columns]]
    out.attrs["import"] = stats
    return out, found


# ---------------------------------------------------------------------------------------------
# Importing


@dataclass(frozen=True)
class ImportResult:
    rows: int
    converted_2011: int  # rows whose LSOA 2011 code was converted to 2021
    converted_by_split: int  # of which the 2011 LSOA had several successors (largest population chosen)
    path: Path  # the stored table's directory
    table: str = ""
    source: Path | None = None
    notices: tuple[str, ...] = ()


def provenance_path(directory: Path, table: str) -> Path:
    return Path(directory) / table / PROVENANCE_FILE


def read_provenance(directory: Path, table: str) -> dict | None:
    """The provenance of an imported table ({'synthetic': False, 'source_file': ..., ...}), or None when
    the table was not imported (e.g. written by the synthetic generator) or does not exist."""
    path = provenance_path(directory, table)
    return json.loads(path.read_text()) if path.is_file() else None


def is_real_table(directory: Path, table: str) -> bool:
    provenance = read_provenance(directory, table)
    return bool(provenance) and provenance.get("synthetic") is False


def _write_provenance(directory: Path, table: str, record: dict) -> None:
    write_text_atomic(provenance_path(directory, table), json.dumps(record, indent=2, default=str))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_context(settings: Settings, region: str, layout: Layout, file: str, extract_date: dt.date,
                  *, today: dt.date | None = None) -> tuple[ImportContext, list[str]]:
    """The context for one import (bundle codes, the ONS lookup, real tables referred to) and notices."""
    from explorer.bundle.store import load_bundle
    from explorer.records.store import read_table, records_dir
    from explorer.sources.fetch import cached_source
    from explorer.sources.readers import read_lsoa11_lookup

    notices: list[str] = []
    bundle = load_bundle(settings, region)
    known_lsoas = lsoa11 = all_lsoa21 = known_practices = None
    if LSOA_COLUMNS & set(layout.columns):
        known_lsoas = frozenset(bundle.lsoas["lsoa_code"])
        lookup = read_lsoa11_lookup(cached_source(settings, "lsoa11_lsoa21_lookup"))
        lsoa11 = resolve_lsoa11(lookup, bundle.lsoas.set_index("lsoa_code")["population"])
        all_lsoa21 = frozenset(lookup["lsoa21cd"])
    if PRACTICE_COLUMNS & set(layout.columns):
        known_practices = frozenset(bundle.practices["practice_code"])
    references: dict[str, tuple[str, frozenset[str]]] = {}
    directory = records_dir(settings, region)
    for (table, column), target in REFERENCES.items():
        if table != layout.name:
            continue
        target_key = LAYOUTS[target].key
        if is_real_table(directory, target):
            references[column] = (target, frozenset(read_table(directory, target, [target_key])[target_key]))
        elif (directory / target).is_dir():
            notices.append(f"{column} not checked: the {target} table holds synthetic demo data, not an import")
        else:
            notices.append(f"{column} not checked: there is no {target} table yet")
    context = ImportContext(file=file, extract_date=extract_date, today=today or dt.date.today(), region=region,
                            known_lsoas=known_lsoas, lsoa11=lsoa11, all_lsoa21=all_lsoa21,
                            known_practices=known_practices, references=references)
    return context, notices


def _chunks(frame: pd.DataFrame) -> Iterator[pd.DataFrame]:
    for start in range(0, max(len(frame), 1), CHUNK_ROWS):
        yield frame.iloc[start:start + CHUNK_ROWS]


def import_extract(settings: Settings, region: str, layout_name: str, path: str | Path, *,
                   extract_date: dt.date | None = None, sheet: str | None = None) -> ImportResult:
    """Check a whole extract and store it as the region's `layout_name` table, marked as real data;
    or store nothing and raise ImportRejected listing every problem (the first MAX_LISTED in its message).

    `extract_date` (default today) is the date the extract was taken: no date may be after it."""
    from explorer.records.store import records_dir, write_table

    if layout_name not in LAYOUTS:
        raise ExplorerError(f"unknown table '{layout_name}': the layouts are {', '.join(LAYOUTS)}")
    layout = LAYOUTS[layout_name]
    today = dt.date.today()
    extract_date = extract_date or today
    if extract_date > today:
        raise ExplorerError(f"the extract date {extract_date:%Y-%m-%d} is in the future (today is {today:%Y-%m-%d})")
    path = Path(path)
    frame = read_extract(path, sheet=sheet)
    context, notices = build_context(settings, region, layout, path.name, extract_date, today=today)
    typed, problems = validate_extract(frame, layout, context)
    if problems:
        raise ImportRejected(problems)
    stats = typed.attrs["import"]
    directory = records_dir(settings, region)
    rows = write_table(directory, layout.name, _chunks(typed))
    _write_provenance(directory, layout.name, {
        "table": layout.name,
        "synthetic": False,
        "region": region,
        "source_file": path.name,
        "source_sha256": _sha256(path),
        "sheet": frame.attrs.get("sheet"),
        "rows": rows,
        "extract_date": extract_date.isoformat(),
        "imported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "converted_2011": stats["converted_2011"],
        "converted_by_split": stats["converted_by_split"],
    })
    all_notices = [*stats["notices"], *notices]
    if stats["converted_2011"]:
        note = f"converted {stats['converted_2011']:,} LSOA 2011 codes to 2021"
        if stats["converted_by_split"]:
            note += (f", {stats['converted_by_split']:,} of them by the split rule (a 2011 LSOA split into several "
                     f"2021 LSOAs goes to the successor with the largest 2021 population, e.g. "
                     f"{', '.join(stats['split_examples'][:3])})")
        all_notices.insert(0, note)
    return ImportResult(rows=rows, converted_2011=stats["converted_2011"],
                        converted_by_split=stats["converted_by_split"], path=directory / layout.name,
                        table=layout.name, source=path, notices=tuple(all_notices))
