"""Importing real extracts: every bad row reported with file, row, column and reason; all or nothing."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from explorer.cli import app
from explorer.config import Settings
from explorer.errors import ExplorerError
from explorer.records.imports import (
    MAX_LISTED,
    ImportContext,
    ImportRejected,
    import_extract,
    read_extract,
    read_provenance,
    validate_extract,
)
from explorer.records.schema import COMPLETENESS_ITEMS, LAYOUTS, PLANS, USER_LOGINS
from explorer.records.store import read_table, records_dir, table_dir, write_table
from explorer.sources.fetch import cached_source
from explorer.sources.readers import read_lsoa11_lookup

EXTRACT = dt.date(2026, 10, 31)
PLAN_COLUMNS = list(PLANS.columns)


@pytest.fixture()
def home(tmp_path: Path, settings: Settings, london_bundle) -> Settings:
    """Settings whose records are private to the test, sharing the session's London bundle and cache."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "bundles").symlink_to(settings.data_dir / "bundles", target_is_directory=True)
    return Settings(cache_dir=settings.cache_dir, data_dir=data, mirror=settings.mirror)


@pytest.fixture(scope="module")
def codes(london_bundle) -> SimpleNamespace:
    return SimpleNamespace(lsoas=sorted(london_bundle.lsoas["lsoa_code"])[:5],
                           practices=sorted(london_bundle.practices["practice_code"])[:3])


def plan(i: int, codes: SimpleNamespace, **values: str) -> dict[str, str]:
    row = {
        "plan_id": f"PL{i:04d}", "person_id": f"PE{i:04d}", "lsoa_code": codes.lsoas[i % 5],
        "practice_code": codes.practices[i % 3], "created_date": "2025-01-15", "last_reviewed_date": "20/01/2026",
        "review_period_months": "12", "status": "active", "closed_date": "",
        **{item: "Y" if (i + n) % 3 else "N" for n, item in enumerate(COMPLETENESS_ITEMS)},
    }
    row.update(values)
    return row


def write_csv(path: Path, rows: list[dict[str, str]], *, header: list[str] | None = None,
              encoding: str = "utf-8") -> Path:
    header = header or list(rows[0])
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows([row.get(c, "") for c in header] for row in rows)
    return path


def rejected(home: Settings, table: str, path: Path, **kwargs) -> ImportRejected:
    with pytest.raises(ImportRejected) as info:
        import_extract(home, "london", table, path, extract_date=EXTRACT, **kwargs)
    return info.value


def tree_bytes(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


# --- one bad value in row 3 (the second data row): the message names file, row, column and reason ---------

BAD_VALUES = {
    "unknown LSOA": ({"lsoa_code": "E01999999"}, "lsoa_code", "unknown LSOA code 'E01999999' (not a 2021 LSOA of "
                     "the london region, nor a 2011 LSOA in the ONS lookup)"),
    "LSOA outside the region": ({"lsoa_code": "E01011949"}, "lsoa_code", "LSOA 'E01011949' is outside the london "
                                "region"),
    "malformed LSOA": ({"lsoa_code": "Camden 001A"}, "lsoa_code", "is not an LSOA code"),
    "unknown practice": ({"practice_code": "Q99999"}, "practice_code", "unknown practice code 'Q99999'"),
    "unparseable date": ({"created_date": "March 2025"}, "created_date", "'March 2025' is not a date: write "
                         "yyyy-mm-dd or dd/mm/yyyy"),
    "impossible date": ({"created_date": "30/02/2025"}, "created_date", "'30/02/2025' is not a valid date"),
    "US-style date": ({"last_reviewed_date": "03/25/2026"}, "last_reviewed_date", "'03/25/2026' is not a valid date"),
    "reviewed before created": ({"created_date": "2025-06-01", "last_reviewed_date": "2025-01-01"},
                                "last_reviewed_date", "2025-01-01 is before created_date 2025-06-01"),
    "closed before created": ({"closed_date": "01/01/2025", "status": "withdrawn"}, "closed_date",
                              "2025-01-01 is before created_date 2025-01-15"),
    "future date": ({"closed_date": "2999-01-01", "status": "deceased"}, "closed_date",
                    "2999-01-01 is in the future"),
    "after the extract date": ({"last_reviewed_date": "2026-11-01"}, "last_reviewed_date",
                               "2026-11-01 is after the extract date 2026-10-31"),
    "above maximum": ({"review_period_months": "30"}, "review_period_months", "'30' is above the maximum 24"),
    "below minimum": ({"review_period_months": "0"}, "review_period_months", "'0' is below the minimum 1"),
    "not a whole number": ({"review_period_months": "6.5"}, "review_period_months", "'6.5' is not a whole number"),
    "not a number": ({"review_period_months": "twelve"}, "review_period_months", "'twelve' is not a number"),
    "value not allowed": ({"status": "open"}, "status", "'open' is not one of the allowed values: active, draft, "
                          "withdrawn, deceased"),
    "bad boolean": ({"key_contacts": "maybe"}, "key_contacts", "'maybe' is not yes or no"),
    "required value empty": ({"person_id": "  "}, "person_id", "empty, but a value is required"),
    "duplicate id": ({"plan_id": "PL0001"}, "plan_id", "plan_id 'PL0001' appears more than once (first on row 2)"),
}


@pytest.mark.parametrize("case", list(BAD_VALUES))
def test_a_bad_value_is_reported_with_file_row_column_and_reason(home, codes, tmp_path, case):
    values, column, reason = BAD_VALUES[case]
    path = write_csv(tmp_path / "plans.csv", [plan(1, codes), plan(2, codes, **values), plan(3, codes)])
    error = rejected(home, "plans", path)
    assert [(p.file, p.row, p.column) for p in error.problems] == [("plans.csv", 3, column)]
    assert reason in error.problems[0].reason
    assert f"plans.csv row 3, column '{column}': " in str(error) and reason in str(error)
    assert not (records_dir(home, "london") / "plans").exists()


# --- files that are not a table in the layout -------------------------------------------------------------

def _ragged(path: Path, codes) -> None:
    header = ",".join(PLAN_COLUMNS)
    good = ",".join(plan(1, codes).values())
    path.write_text("\n".join([header, good, good.replace("PL0001", "PL0002") + ",extra",
                               ",".join(plan(4, codes).values()), good.rsplit(",", 1)[0].replace("PL0001", "PL5")])
                    + "\n")


BAD_FILES = {
    "empty file": (lambda p, c: p.write_bytes(b""), "plans.csv: the file is empty"),
    "blank file": (lambda p, c: p.write_text("\n \n"), "plans.csv: the file is empty"),
    "header only": (lambda p, c: p.write_text(",".join(PLAN_COLUMNS) + "\n"),
                    "plans.csv: the file has a header row but no data rows"),
    "UTF-16 text": (lambda p, c: write_csv(p, [plan(1, c)], encoding="utf-16"),
                    "plans.csv: the file is not text in UTF-8 or Windows-1252 (it looks like UTF-16 or binary)"),
    "binary file": (lambda p, c: p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))),
                    "plans.csv: the file is not text in UTF-8 or Windows-1252"),
    "old Excel .xls": (lambda p, c: p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512),
                       "plans.csv: this is an old-style Excel .xls workbook; save it as .xlsx"),
    "unclosed quote": (lambda p, c: p.write_text(",".join(PLAN_COLUMNS) + '\nPL1,"PE1,E01000001\n'),
                       "plans.csv: not a well-formed CSV file: unexpected end of data"),
    "ragged rows": (_ragged, "plans.csv row 3: the row has 20 values but the header has 19 columns"),
    "missing required column": (
        lambda p, c: write_csv(p, [plan(1, c)], header=[col for col in PLAN_COLUMNS if col != "status"]),
        "plans.csv row 1, column 'status': required column 'status' is missing"),
    "two columns for one": (
        lambda p, c: write_csv(p, [{**plan(1, c), "Plan ID": "PL0001"}], header=[*PLAN_COLUMNS, "Plan ID"]),
        "plans.csv row 1, column 'plan_id': 2 columns ('plan_id', 'Plan ID') all mean 'plan_id'"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_file_that_is_not_a_table_in_the_layout_is_refused_with_a_clear_message(home, codes, tmp_path, case):
    make, message = BAD_FILES[case]
    path = tmp_path / "plans.csv"
    make(path, codes)
    error = rejected(home, "plans", path)
    assert message in str(error)
    assert not (records_dir(home, "london") / "plans").exists()


def test_every_ragged_row_is_reported_not_just_the_first(home, codes, tmp_path):
    path = tmp_path / "plans.csv"
    _ragged(path, codes)
    error = rejected(home, "plans", path)
    assert [(p.row, p.reason.split(" (")[0]) for p in error.problems] == [
        (3, "the row has 20 values but the header has 19 columns"),
        (5, "the row has 18 values but the header has 19 columns"),
    ]


def test_excel_file_with_a_bad_row_names_the_row_excel_shows(home, codes, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(PLAN_COLUMNS)
    sheet.append(list(plan(1, codes).values()))
    sheet.append(list(plan(2, codes).values()))
    sheet.append([])  # row 4 left empty
    sheet.append(list(plan(3, codes, status="archived", review_period_months="99").values()))  # row 5
    path = tmp_path / "plans.xlsx"
    book.save(path)
    error = rejected(home, "plans", path)
    assert [(p.file, p.row, p.column) for p in error.problems] == [
        ("plans.xlsx", 5, "review_period_months"), ("plans.xlsx", 5, "status")]
    assert "plans.xlsx row 5, column 'status': 'archived' is not one of the allowed values" in str(error)


def test_many_problems_are_all_found_and_the_listing_is_capped(home, codes, tmp_path):
    rows = [plan(i, codes, lsoa_code="E01999999") for i in range(1, 121)]
    rows[59]["status"] = "open"
    rows[99]["created_date"] = "yesterday"
    path = write_csv(tmp_path / "plans.csv", rows)
    error = rejected(home, "plans", path)
    assert len(error.problems) == 122
    assert sorted(p.row for p in error.problems if p.column == "lsoa_code") == list(range(2, 122))
    assert ("plans.csv", 61, "status") in [(p.file, p.row, p.column) for p in error.problems]
    lines = str(error).splitlines()
    assert lines[0] == ("nothing was imported from plans.csv: 122 problems (fix them and import the file again)")
    assert len(lines) == 1 + MAX_LISTED + 1
    assert lines[-1] == "  ... and 72 more problems (by column: lsoa_code 70, status 1, created_date 1)"


def test_a_failed_import_leaves_the_previous_table_byte_for_byte(home, codes, tmp_path):
    good = write_csv(tmp_path / "good.csv", [plan(i, codes) for i in range(1, 6)])
    import_extract(home, "london", "plans", good, extract_date=EXTRACT)
    directory = records_dir(home, "london")
    before = tree_bytes(directory)
    version = table_dir(directory, "plans").name
    assert f"plans/{version}/_provenance.json" in before and any(k.startswith(f"plans/{version}/part-") for k in before)
    bad = write_csv(tmp_path / "bad.csv", [plan(i, codes) for i in range(1, 8)] + [plan(9, codes, status="?")])
    rejected(home, "plans", bad)
    assert tree_bytes(directory) == before
    assert sorted(p.name for p in directory.iterdir()) == ["plans"]  # no temporary directories left behind
    assert len(read_table(directory, "plans")) == 5


def test_a_good_file_is_stored_typed_and_marked_real(home, codes, tmp_path):
    rows = [plan(1, codes), plan(2, codes, status="Withdrawn", closed_date="2026-03-01", key_contacts="no"),
            plan(3, codes, last_reviewed_date="", review_period_months="6.0", diagnoses="TRUE", medications="0")]
    path = write_csv(tmp_path / "plans.csv", rows)
    result = import_extract(home, "london", "plans", path, extract_date=EXTRACT)
    assert (result.rows, result.converted_2011, result.converted_by_split) == (3, 0, 0)
    stored = read_table(records_dir(home, "london"), "plans")
    assert list(stored["plan_id"]) == ["PL0001", "PL0002", "PL0003"]
    assert list(stored["status"]) == ["active", "withdrawn", "active"]
    assert stored["created_date"].iloc[0] == pd.Timestamp("2025-01-15")
    assert stored["last_reviewed_date"].iloc[0] == pd.Timestamp("2026-01-20")  # from 20/01/2026
    assert pd.isna(stored["last_reviewed_date"].iloc[2]) and pd.isna(stored["closed_date"].iloc[0])
    assert stored["closed_date"].iloc[1] == pd.Timestamp("2026-03-01")
    assert list(stored["review_period_months"]) == [12, 12, 6]
    assert list(stored["key_contacts"]) == [plan(1, codes)["key_contacts"] == "Y", False,
                                            plan(3, codes)["key_contacts"] == "Y"]
    assert (stored["diagnoses"].iloc[2], stored["medications"].iloc[2]) == (True, False)
    provenance = read_provenance(records_dir(home, "london"), "plans")
    assert provenance["synthetic"] is False and provenance["rows"] == 3
    assert provenance["source_file"] == "plans.csv" and provenance["extract_date"] == "2026-10-31"
    assert provenance["source_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert "person_id not checked: there is no people table yet" in result.notices


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1252"])
def test_bom_and_windows_1252_files_import(home, codes, tmp_path, encoding):
    path = write_csv(tmp_path / "plans.csv", [plan(1, codes, person_id="Zoë-1"), plan(2, codes)], encoding=encoding)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")
    import_extract(home, "london", "plans", path, extract_date=EXTRACT)
    stored = read_table(records_dir(home, "london"), "plans")
    assert list(stored["person_id"]) == ["Zoë-1", "PE0002"]


def test_xlsx_with_typed_cells_and_loose_headers_imports(home, codes, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    headers = [c.replace("_", " ").title() for c in PLAN_COLUMNS]  # "Plan Id", "Lsoa Code", ...
    sheet.append(headers + ["Comment"])
    for i in (1, 2):
        row = plan(i, codes)
        cells = {**row, "created_date": dt.datetime(2025, 2, 3), "last_reviewed_date": dt.date(2026, 2, 3),
                 "review_period_months": 12, "key_contacts": True, "diagnoses": False}
        sheet.append([cells[c] for c in PLAN_COLUMNS] + ["ignore me"])
    path = tmp_path / "plans.xlsx"
    book.save(path)
    result = import_extract(home, "london", "plans", path, extract_date=EXTRACT)
    stored = read_table(records_dir(home, "london"), "plans")
    assert result.rows == 2 and list(stored["created_date"]) == [pd.Timestamp("2025-02-03")] * 2
    assert list(stored["last_reviewed_date"]) == [pd.Timestamp("2026-02-03")] * 2
    assert list(stored["key_contacts"]) == [True, True] and list(stored["diagnoses"]) == [False, False]
    assert any("ignored column(s) not in the plans layout: Comment" in n for n in result.notices)


@pytest.fixture(scope="module")
def changed_lsoas(settings, london_bundle) -> SimpleNamespace:
    """A merged (M) and a split (S) London LSOA 2011 code, and the 2021 code each should become."""
    lookup = read_lsoa11_lookup(cached_source(settings, "lsoa11_lsoa21_lookup"))
    population = london_bundle.lsoas.set_index("lsoa_code")["population"]
    london = lookup[lookup["lsoa21cd"].isin(population.index)]
    merged = london[london["change"] == "M"].iloc[0]
    successors = london[london["change"] == "S"].groupby("lsoa11cd")["lsoa21cd"].agg(list)
    split_code, split_successors = next((k, v) for k, v in successors.items() if len(v) > 1)
    largest = max(split_successors, key=lambda code: population[code])
    assert min(population[c] for c in split_successors) < population[largest]  # the rule decides something
    return SimpleNamespace(merged=merged["lsoa11cd"], merged_to=merged["lsoa21cd"], split=split_code,
                           split_to=largest)


def test_lsoa_2011_codes_are_converted_and_counted(home, codes, tmp_path, changed_lsoas):
    c = changed_lsoas
    rows = [plan(1, codes, lsoa_code=c.merged), plan(2, codes, lsoa_code=c.split), plan(3, codes),
            plan(4, codes, lsoa_code=c.split.lower())]
    path = write_csv(tmp_path / "plans.csv", rows)
    result = import_extract(home, "london", "plans", path, extract_date=EXTRACT)
    assert (result.converted_2011, result.converted_by_split) == (3, 2)
    stored = read_table(records_dir(home, "london"), "plans")
    assert list(stored["lsoa_code"]) == [c.merged_to, c.split_to, codes.lsoas[3], c.split_to]
    assert result.notices[0].startswith("converted 3 LSOA 2011 codes to 2021, 2 of them by the split rule")
    assert f"{c.split} -> {c.split_to}" in result.notices[0]
    assert read_provenance(records_dir(home, "london"), "plans")["converted_by_split"] == 2


# --- the other layouts --------------------------------------------------------------------------------------

def test_users_canonicalise_allowed_values_and_accept_empty_optional_codes(home, codes, tmp_path):
    rows = [{"user_id": "U1", "organisation_code": codes.practices[0].lower(), "organisation_type": "GP practice",
             "practice_code": codes.practices[0], "lsoa_code": codes.lsoas[0], "role": "GP"},
            {"user_id": "U2", "organisation_code": "RRU", "organisation_type": "Ambulance-Service",
             "practice_code": "", "lsoa_code": "", "role": "paramedic"}]
    import_extract(home, "london", "users", write_csv(tmp_path / "users.csv", rows), extract_date=EXTRACT)
    stored = read_table(records_dir(home, "london"), "users")
    assert list(stored["organisation_type"]) == ["gp_practice", "ambulance_service"]
    assert list(stored["organisation_code"]) == [codes.practices[0].upper(), "RRU"]
    assert stored["practice_code"].isna().tolist() == [False, True] and stored["lsoa_code"].isna().tolist() == [
        False, True]


def test_users_with_a_role_not_allowed_and_an_unknown_site(home, codes, tmp_path):
    rows = [{"user_id": "U1", "organisation_code": "RRU", "organisation_type": "ambulance_service",
             "lsoa_code": "E01999999", "role": "driver"}]
    error = rejected(home, "users", write_csv(tmp_path / "users.csv", rows))
    assert [(p.row, p.column) for p in error.problems] == [(2, "lsoa_code"), (2, "role")]
    assert "users.csv row 2, column 'role': 'driver' is not one of the allowed values: gp, practice_nurse" in str(
        error)


def test_logins_check_months_and_the_user_month_key(home, tmp_path):
    rows = [{"user_id": "U1", "month": "2026-09", "logins": "4"}, {"user_id": "U1", "month": "09/2026", "logins": "1"},
            {"user_id": "U2", "month": "2026-13", "logins": "2"}, {"user_id": "U3", "month": "2999-01", "logins": "2"},
            {"user_id": "U4", "month": "2026-11", "logins": "-1"}]
    error = rejected(home, "user_logins", write_csv(tmp_path / "logins.csv", rows))
    messages = [str(p) for p in error.problems]
    assert messages == [
        "logins.csv row 3, column 'user_id, month': user_id, month 'U1 / 2026-09' appears more than once "
        "(first on row 2)",
        "logins.csv row 4, column 'month': '2026-13' is not a month: write YYYY-MM (e.g. 2026-03)",
        "logins.csv row 5, column 'month': '2999-01' is in the future (today is "
        f"{dt.date.today():%Y-%m-%d})",
        "logins.csv row 6, column 'month': '2026-11' is after the extract date 2026-10-31",
        "logins.csv row 6, column 'logins': '-1' is below the minimum 0",
    ]


def test_logins_and_admissions_import(home, tmp_path):
    logins = [{"User ID": "U1", "Month": "2026-09", "Logins": "1204"}, {"User ID": "U1", "Month": "2026-10-01",
                                                                          "Logins": "0"}]
    import_extract(home, "london", "user_logins", write_csv(tmp_path / "l.csv", logins), extract_date=EXTRACT)
    admissions = [{"admission_id": "A1", "person_id": "P1", "admission_date": "19/07/2026", "admission_method": "21"},
                  {"admission_id": "A2", "person_id": "P1", "admission_date": "2026-08-01 00:00:00"}]
    import_extract(home, "london", "admissions", write_csv(tmp_path / "a.csv", admissions, header=[
        "admission_id", "person_id", "admission_date", "admission_method"]), extract_date=EXTRACT)
    directory = records_dir(home, "london")
    assert read_table(directory, "user_logins")[["month", "logins"]].values.tolist() == [["2026-09", 1204],
                                                                                        ["2026-10", 0]]
    stored = read_table(directory, "admissions")
    assert list(stored["admission_date"]) == [pd.Timestamp("2026-07-19"), pd.Timestamp("2026-08-01")]
    assert stored["admission_method"].iloc[0] == "21" and pd.isna(stored["admission_method"].iloc[1])


def test_plan_person_ids_are_checked_against_a_real_people_table_only(home, codes, tmp_path):
    people = [{"person_id": f"PE{i:04d}", "practice_code": codes.practices[0], "lsoa_code": codes.lsoas[0],
               "sex": "Female", "age": "80", "ethnic_group": "white", "disabled": "N", "ltc_count": "2",
               "frailty": "mild", "admissions_prev_12m": "0", "admitted_next_12m": ""} for i in (1, 2)]
    plans = write_csv(tmp_path / "plans.csv", [plan(1, codes), plan(3, codes)])
    directory = records_dir(home, "london")
    write_table(directory, "people", [read_table_like_people(people)])  # synthetic: no provenance
    result = import_extract(home, "london", "plans", plans, extract_date=EXTRACT)
    assert "person_id not checked: the people table holds synthetic demo data, not an import" in result.notices
    import_extract(home, "london", "people", write_csv(tmp_path / "people.csv", people), extract_date=EXTRACT)
    error = rejected(home, "plans", plans)
    assert [str(p) for p in error.problems] == [
        "plans.csv row 3, column 'person_id': person_id 'PE0003' is not in the people table"]


def read_table_like_people(rows: list[dict[str, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows).drop(columns="admitted_next_12m")
    frame["sex"] = frame["sex"].str.lower()
    for col in ("age", "ltc_count", "admissions_prev_12m"):
        frame[col] = frame[col].astype("int64")
    frame["disabled"] = frame["disabled"] == "Y"
    return frame


def test_the_pure_validator_numbers_rows_from_2_and_skips_checks_without_reference_data():
    frame = pd.DataFrame({"User ID": ["U1", "U2", "U2"], "MONTH": ["2026-01", "2026-02", "2026-02"],
                          "logins": ["3", "x", "4"]}, dtype="str")
    context = ImportContext(file="logins.csv", extract_date=EXTRACT, today=EXTRACT)
    typed, problems = validate_extract(frame, USER_LOGINS, context)
    assert [(p.row, p.column) for p in problems] == [(3, "logins"), (4, "user_id, month")]
    assert list(typed.columns) == ["user_id", "month", "logins"] and str(typed["logins"].dtype) == "Int64"


def test_read_extract_keeps_every_cell_as_text_indexed_by_spreadsheet_row(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n007,1/2/2026\n\n,\n 1 ,\n")
    frame = read_extract(path)
    assert list(frame.index) == [2, 5] and frame.index.name == "row"
    assert frame.loc[2, "a"] == "007" and frame.loc[5, "a"] == " 1 " and frame.loc[5, "b"] == ""


def test_an_extract_date_in_the_future_is_refused(home, codes, tmp_path):
    path = write_csv(tmp_path / "plans.csv", [plan(1, codes)])
    with pytest.raises(ExplorerError, match="extract date 2999-01-01 is in the future"):
        import_extract(home, "london", "plans", path, extract_date=dt.date(2999, 1, 1))


# --- the command line -------------------------------------------------------------------------------------

def test_cli_imports_and_rejects(home, codes, tmp_path, monkeypatch, changed_lsoas):
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(home.data_dir))
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(home.cache_dir))
    monkeypatch.setenv("EXPLORER_MIRROR", str(home.mirror))
    runner = CliRunner()
    good = write_csv(tmp_path / "plans.csv", [plan(1, codes, lsoa_code=changed_lsoas.split), plan(2, codes)])
    result = runner.invoke(app, ["data", "import-plans", str(good), "--region", "london",
                                 "--extract-date", "2026-10-31"])
    assert result.exit_code == 0, result.output
    assert "imported 2 rows of plans from plans.csv as real data" in result.output
    assert "converted 1 LSOA 2011 codes to 2021, 1 of them by the split rule" in result.output
    bad = write_csv(tmp_path / "views.csv", [{"view_id": "V1", "plan_id": "PL0001", "view_date": "2026-05-01",
                                              "service": "NHS 111"},
                                             {"view_id": "V2", "plan_id": "PL0009", "view_date": "2026-05-02",
                                              "service": "pharmacy"}])
    result = runner.invoke(app, ["data", "import-views", str(bad), "--extract-date", "2026-10-31"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "views.csv row 3, column 'plan_id': plan_id 'PL0009' is not in the plans table" in result.output
    assert "views.csv row 3, column 'service': 'pharmacy' is not one of the allowed values" in result.output
    assert json.loads((table_dir(records_dir(home, "london"), "plans") / "_provenance.json").read_text())["rows"] == 2
    assert not (records_dir(home, "london") / "plan_views").exists()


def test_the_user_documentation_lists_every_column_and_allowed_value():
    text = (Path(__file__).resolve().parents[1] / "docs" / "import-layouts.md").read_text()
    for name in ("plans", "plan_reviews", "plan_views", "users", "user_logins", "admissions"):
        layout = LAYOUTS[name]
        section = text.split(f"### {name}:", 1)[1].split("\n### ", 1)[0]
        for column, spec in layout.columns.items():
            assert f"`{column}`" in section, (name, column)
            assert all(f"`{value}`" in section for value in spec.allowed or ()), (name, column)
        example = section.split("```csv\n", 1)[1].split("```", 1)[0]
        assert example.split("\n", 1)[0].split(",") == list(layout.columns), name
        frame = pd.read_csv(io.StringIO(example), dtype="str", keep_default_na=False)
        typed, problems = validate_extract(frame, layout, ImportContext(file="example", extract_date=EXTRACT))
        assert problems == [] and len(typed) == len(frame) > 0, (name, problems)


# --- crash safety and unsafe files, through the real importer ---------------------------------------------


def _cli_env(home: Settings) -> dict[str, str]:
    import os

    root = Path(__file__).resolve().parents[1]
    return {**os.environ, "EXPLORER_DATA_DIR": str(home.data_dir), "EXPLORER_CACHE_DIR": str(home.cache_dir),
            "EXPLORER_MIRROR": str(home.mirror), "PYTHONPATH": str(root)}


@pytest.mark.parametrize("step, kept", [("renamed", "old"), ("before-replace:CURRENT", "old"), ("switched", "new")])
def test_an_import_killed_during_the_switch_leaves_the_old_or_the_new_table_with_its_provenance(
        home, codes, tmp_path, step, kept):
    import subprocess
    import sys

    from explorer.atomic import CRASH_ENV

    old = write_csv(tmp_path / "old.csv", [plan(i, codes) for i in range(1, 4)])
    new = write_csv(tmp_path / "new.csv", [plan(i, codes) for i in range(1, 6)])
    import_extract(home, "london", "plans", old, extract_date=EXTRACT)
    done = subprocess.run([sys.executable, "-m", "explorer", "data", "import-plans", str(new), "--region", "london",
                           "--extract-date", "2026-10-31"], env={**_cli_env(home), CRASH_ENV: step},
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == -9, done.stderr
    directory = records_dir(home, "london")
    provenance = read_provenance(directory, "plans")
    rows = {"old": 3, "new": 5}[kept]
    assert len(read_table(directory, "plans")) == rows
    assert provenance["source_file"] == f"{kept}.csv" and provenance["rows"] == rows and not provenance["synthetic"]
    import_extract(home, "london", "plans", new, extract_date=EXTRACT)  # cleans up what the killed one left
    root = directory / "plans"
    assert sorted(p.name for p in root.iterdir() if not p.name.startswith("v-")) == ["CURRENT"]
    assert len([p for p in root.iterdir() if p.name.startswith("v-")]) == 2  # current and previous


@pytest.mark.parametrize("change, problem", [
    ({"plan_id": "=cmd|' /C calc'!A0"}, "column 'plan_id': '=cmd|' /C calc'!A0' starts with '=', which a spreadsheet"),
    ({"review_period_months": "1e1"}, "column 'review_period_months': '1e1' is not written in plain digits"),
    ({"created_date": "0999-01-15"}, "column 'created_date': '0999-01-15' is before 1900-01-01"),
    ({"person_id": "PE\x00"}, "column 'person_id': the cell holds a NUL character"),
])
def test_an_unsafe_file_is_refused_and_the_stored_table_kept(home, codes, tmp_path, change, problem):
    good = write_csv(tmp_path / "good.csv", [plan(i, codes) for i in range(1, 3)])
    import_extract(home, "london", "plans", good, extract_date=EXTRACT)
    directory = records_dir(home, "london")
    before = tree_bytes(directory)
    bad = write_csv(tmp_path / "bad.csv", [plan(1, codes), plan(2, codes, **change)])
    error = rejected(home, "plans", bad)
    assert f"bad.csv row 3, {problem}" in str(error)
    assert tree_bytes(directory) == before
    assert read_provenance(directory, "plans")["source_file"] == "good.csv"
