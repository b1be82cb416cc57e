"""The numbers behind a figure as CSV or Excel, spreadsheet-safe, numbers kept as numbers.

Every table given here has already been through the role's disclosure control (the figure items
and the pack build them so); this module only writes. Text cells go through ``safe_cells`` so an
area name cannot run as a formula; numeric columns stay numeric (a suppressed cell is empty, with
its ``*_suppressed`` flag beside it). The CSV starts with ``#`` lines (SYNTHETIC mark, sources,
rules, role, date: read it with ``pandas.read_csv(path, comment="#")``); the workbook has a Data
sheet and a Notes sheet.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd

from explorer.export.notes import ExportNotes
from explorer.export.safe_cells import safe_cell, safe_frame, safe_text

__all__ = ["TABLE_FORMATS", "csv_number", "table_bytes", "table_csv", "table_xlsx", "tidy_numbers"]

TABLE_FORMATS = ("csv", "xlsx")
COMMENT = "# "


def csv_number(value: float) -> str:
    """Six significant figures, never in exponent form (analysts paste these into spreadsheets)."""
    return np.format_float_positional(value, precision=6, unique=False, fractional=False, trim="-")


def tidy_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Whole-number float columns (counts, populations) become integers, so 2088100 is not 2.0881e+06."""
    out = frame.copy()
    for column in out.columns[out.dtypes.map(pd.api.types.is_float_dtype)]:
        values = out[column].dropna()
        if len(values) and np.isfinite(values).all() and (values == values.round()).all():
            out[column] = out[column].astype("Int64")
    return out


def _note_lines(notes: ExportNotes) -> list[str]:
    return [COMMENT + f"{head}: {text}".replace("\n", " ") for head, text in notes.lines()]


def table_csv(table: pd.DataFrame, notes: ExportNotes) -> bytes:
    """UTF-8 CSV (with BOM, so Excel reads accents) led by the notes as ``#`` lines."""
    body = safe_frame(tidy_numbers(table)).to_csv(index=False, float_format=csv_number, lineterminator="\n")
    head = "\n".join(safe_text(line) for line in _note_lines(notes))
    return ("\ufeff" + head + "\n" + body).encode("utf-8")


def _cell(value: object) -> object:
    """A worksheet value: NaN/NA empty, numpy scalars as Python numbers, text spreadsheet-safe."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(float(value)) else float(value)
    if isinstance(value, (int, str)):
        return safe_cell(value)
    return safe_text(str(value))


def table_xlsx(table: pd.DataFrame, notes: ExportNotes) -> bytes:
    """An .xlsx workbook: "Data" (one header row, then the numbers as numbers) and "Notes"."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = "Data"
    sheet.append([safe_text(str(c)) for c in table.columns])
    for row in table.itertuples(index=False, name=None):
        sheet.append([_cell(v) for v in row])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for i, column in enumerate(table.columns, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = min(max(len(str(column)) + 2, 10), 40)
    mark = "SYNTHETIC DATA - " if notes.synthetic else ""
    sheet.oddHeader.center.text = safe_text(f"{mark}{notes.title}")
    sheet.oddFooter.center.text = safe_text(notes.footnote[:250])

    info = book.create_sheet("Notes")
    info.append(["Item", "Text"])
    for head, text in notes.lines():
        info.append([safe_text(head), safe_text(text)])
    for cell in info[1]:
        cell.font = Font(bold=True)
    info.column_dimensions["A"].width = 34
    info.column_dimensions["B"].width = 120
    for row in info.iter_rows(min_row=2):
        row[1].alignment = Alignment(wrap_text=True, vertical="top")
    book.properties.title = notes.title
    book.properties.subject = mark + "Population Health Explorer export"
    book.properties.creator = "Population Health Explorer"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def table_bytes(table: pd.DataFrame, notes: ExportNotes, fmt: str) -> bytes:
    """The table in `fmt` (csv or xlsx)."""
    if fmt == "csv":
        return table_csv(table, notes)
    if fmt == "xlsx":
        return table_xlsx(table, notes)
    raise ValueError(f"unknown table format {fmt!r}: choose one of {', '.join(TABLE_FORMATS)}")
