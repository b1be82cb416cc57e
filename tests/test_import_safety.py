"""Extracts that are unsafe to read or to store are refused early, naming file, row and column:
size limits checked while streaming (zip bombs, crafted workbooks), NUL characters, formulas,
formula injection, loose numbers and implausible dates."""

from __future__ import annotations

import datetime as dt
import io
import re
import struct
import time
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from explorer.records.imports import (
    ImportContext,
    ImportRejected,
    read_extract,
    validate_extract,
)
from explorer.records.imports import limits
from explorer.records.schema import PEOPLE, PLAN_VIEWS, USER_LOGINS

EXTRACT = dt.date(2026, 10, 31)
CONTEXT = ImportContext(file="x.csv", extract_date=EXTRACT, today=EXTRACT)


def refused(path: Path) -> ImportRejected:
    with pytest.raises(ImportRejected) as caught:
        read_extract(path)
    return caught.value


def problems(frame: pd.DataFrame, layout) -> list[str]:
    return [str(p) for p in validate_extract(frame, layout, CONTEXT)[1]]


# --- limits ------------------------------------------------------------------------------------------


def _declare_size(raw: bytes, size: int) -> bytes:
    """The zip with its one member's uncompressed size rewritten (local and central headers)."""
    data = bytearray(raw)
    struct.pack_into("<I", data, 22, size)
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, size)
    return bytes(data)


def test_a_zip_declaring_a_huge_csv_is_refused_before_decompressing(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("people.csv", "a,b\n1,2\n")
    path = tmp_path / "bomb.zip"
    path.write_bytes(_declare_size(buffer.getvalue(), 1_500 * 1024**2))  # claims 1.5 GB
    error = refused(path)
    assert str(error.problems[0]) == ("bomb.zip: 'people.csv' in the zip is 1,500 MB uncompressed, more than the "
                                      "256 MB an import may be (set EXPLORER_IMPORT_MAX_BYTES)")


def test_a_zip_bomb_is_stopped_at_the_limit_not_in_a_memory_error(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_BYTES", 1024**2)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("people.csv", "a,b\n" + "1,2\n" * 2_000_000)  # 8 MB in a few KB
    path = tmp_path / "bomb.zip"
    path.write_bytes(buffer.getvalue())
    assert "more than the 1 MB" in str(refused(path))
    path.write_bytes(_declare_size(buffer.getvalue(), 1000))  # lies about its size: refused as damaged
    assert "bomb.zip: a damaged zip or Excel file" in str(refused(path))


def test_a_csv_larger_than_the_limit_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_BYTES", 100)
    path = tmp_path / "big.csv"
    path.write_text("a,b\n" + "1,2\n" * 100)
    assert "big.csv: the file is 404 bytes, more than the 100 bytes an import may be" in str(refused(path))


@pytest.mark.parametrize("limit, value, expected", [
    ("MAX_ROWS", 3, "x.csv row 5: more than 3 data rows"),
    ("MAX_COLUMNS", 3, "x.csv row 4: the row has 5 cells, more than the 3 columns"),
    ("MAX_CELL_CHARS", 6, "x.csv row 3, column 'b': a cell of 7 characters, more than the 6 allowed"),
    ("MAX_LINE_CHARS", 8, "x.csv: line 3 of the file is 10 characters long, more than the 8 allowed"),
])
def test_row_column_cell_and_line_limits_name_the_row(tmp_path, monkeypatch, limit, value, expected):
    monkeypatch.setattr(limits, limit, value)
    path = tmp_path / "x.csv"
    path.write_text("a,b,\n1,2\n3,4567890\n5,6,7,8,9\n9,9\n")
    assert expected in str(refused(path))


def _workbook(path: Path, rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def test_a_workbook_with_too_many_members_or_bytes_is_refused_before_openpyxl(tmp_path, monkeypatch):
    path = _workbook(tmp_path / "w.xlsx", [["a", "b"], [1, 2]])
    monkeypatch.setattr(limits, "MAX_XLSX_MEMBERS", 3)
    assert "w.xlsx: the workbook holds" in str(refused(path))
    monkeypatch.setattr(limits, "MAX_XLSX_MEMBERS", 1000)
    monkeypatch.setattr(limits, "MAX_XLSX_BYTES", 2000)
    assert "uncompressed, more than the 2,000 bytes an import may be" in str(refused(path))
    monkeypatch.setattr(limits, "MAX_XLSX_BYTES", 10**6)
    assert read_extract(path).loc[2, "b"] == "2"


def test_a_workbook_claiming_a_huge_range_or_a_far_cell_is_handled_quickly(tmp_path):
    """A crafted dimension would make openpyxl size the sheet; a cell at XFD1048576 pads a row to
    16,384 cells: the first is ignored, the second refused by the column limit, both in seconds."""
    path = _workbook(tmp_path / "w.xlsx", [["a", "b"], [1, 2]])
    far = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
    # openpyxl writes <dimension ref="A1:B2" /> with its own writer and <dimension ref="A1:B2"/> with lxml
    dimension = re.compile(rb'<dimension ref="A1:B2" ?/>')
    for change, expected in (((dimension, b'<dimension ref="A1:XFD1048576"/>'), None),
                             ((re.compile(rb"</sheetData>"), far), "w.xlsx row 1048576: the row has 16,384 cells")):
        raw = io.BytesIO()
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as out:
            for item in src.infolist():
                data = src.read(item)
                if item.filename == "xl/worksheets/sheet1.xml":
                    data, replaced = change[0].subn(change[1], data)
                    assert replaced == 1
                out.writestr(item, data)
        crafted = tmp_path / "crafted.xlsx"
        crafted.write_bytes(raw.getvalue())
        started = time.perf_counter()
        if expected is None:
            assert len(read_extract(crafted)) == 1
        else:
            assert expected in str(refused(crafted)).replace("crafted", "w")
        assert time.perf_counter() - started < 10


# --- strict parsing ----------------------------------------------------------------------------------


def test_a_nul_character_anywhere_is_refused_with_row_and_column(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 2000 + b"3,4\x005\n")  # after the first 4 KB
    assert str(refused(path).problems[0]) == (
        "x.csv row 2002, column 'b': the cell holds a NUL character (\\0): the file is damaged or not text")


def test_workbook_formulas_are_refused_not_their_cached_results(tmp_path):
    path = _workbook(tmp_path / "w.xlsx", [["user_id", "month", "logins"], ["U1", "2026-01", "=1+1"],
                                           ["U2", "2026-01", 3]])
    error = refused(path)
    assert [str(p) for p in error.problems] == [
        "w.xlsx row 2, column 'logins': the cell holds a formula (=1+1); paste it as values and import again"]


@pytest.mark.parametrize("value, reason", [
    ("1,2", "'1,2' is not written in plain digits (no thousands separators, exponents, spaces or '+')"),
    ("1e2", "'1e2' is not written in plain digits (no thousands separators, exponents, spaces or '+')"),
    ("+5", "'+5' is not written in plain digits (no thousands separators, exponents, spaces or '+')"),
    ("0x10", "'0x10' is not a number"),
    ("5.5", "'5.5' is not a whole number"),
])
def test_counts_are_plain_digits(value, reason):
    frame = pd.DataFrame({"user_id": ["U1"], "month": ["2026-01"], "logins": [value]}, dtype="str")
    assert problems(frame, USER_LOGINS) == [f"x.csv row 2, column 'logins': {reason}"]


def test_whole_numbers_written_plainly_still_import():
    frame = pd.DataFrame({"user_id": ["U1", "U2", "U3"], "month": ["2026-01"] * 3, "logins": ["12", "007", "6.0"]},
                         dtype="str")
    typed, found = validate_extract(frame, USER_LOGINS, CONTEXT)
    assert found == [] and typed["logins"].tolist() == [12, 7, 6]


def test_an_age_in_exponent_form_is_refused():
    frame = pd.DataFrame({"person_id": ["P1"], "practice_code": ["A1"], "lsoa_code": ["E01000001"], "sex": ["female"],
                          "age": ["1e2"], "ethnic_group": ["white"], "disabled": ["N"], "ltc_count": ["0"],
                          "frailty": ["fit"], "admissions_prev_12m": ["0"]}, dtype="str")
    assert [p for p in problems(frame, PEOPLE) if "'age'" in p] == [
        ("x.csv row 2, column 'age': '1e2' is not written in plain digits (no thousands separators, exponents, "
         "spaces or '+')")]


@pytest.mark.parametrize("value", ["0999-01-01", "01/01/0999", "1899-12-31"])
def test_dates_before_1900_are_refused(value):
    frame = pd.DataFrame({"view_id": ["V1"], "plan_id": ["P1"], "view_date": [value], "service": ["ambulance"]},
                         dtype="str")
    assert problems(frame, PLAN_VIEWS) == [
        f"x.csv row 2, column 'view_date': '{value}' is before 1900-01-01: is the year right?"]


def test_months_before_1900_are_refused():
    frame = pd.DataFrame({"user_id": ["U1"], "month": ["0999-01"], "logins": ["1"]}, dtype="str")
    assert problems(frame, USER_LOGINS) == [
        "x.csv row 2, column 'month': '0999-01' is before 1900-01: is the year right?"]


@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://x\")", "+1-2", "-2+3", "@SUM(A1)"])
def test_text_a_spreadsheet_would_run_as_a_formula_is_refused(value):
    frame = pd.DataFrame({"view_id": [value], "plan_id": ["P1"], "view_date": ["2026-01-01"],
                          "service": ["ambulance"]}, dtype="str")
    found = problems(frame, PLAN_VIEWS)
    assert len(found) == 1 and found[0].startswith("x.csv row 2, column 'view_id': ")
    assert "which a spreadsheet would run as a formula; remove it from the extract" in found[0]


def test_rows_are_kept_in_compact_chunks_with_their_row_numbers(tmp_path, monkeypatch):
    from explorer.records.imports import read

    monkeypatch.setattr(read._RowChunks, "CHUNK_ROWS", 2)
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,x\n2,y\n\n3,z\n4,w\n5,v\n")
    frame = read_extract(path)
    assert list(frame.index) == [2, 3, 5, 6, 7] and list(frame["b"]) == ["x", "y", "z", "w", "v"]
    assert str(frame["a"].dtype) == "str"
