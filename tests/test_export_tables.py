"""The numbers behind each figure as CSV and xlsx, read back: numbers stay numbers, notes carry the
SYNTHETIC mark, sources, rules and role, formulas are neutralised, and no count of 1-7 leaves for a
non-analyst role (a sweep over every table type, with small-cell filters)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from explorer.export.files import export_table, flat_table
from explorer.export.items import ExportRequest
from explorer.export.notes import ExportNotes
from explorer.export.tables import table_csv, table_xlsx
from explorer.figures.theme import SYNTHETIC_MARK

COUNT_COLUMNS = {"numerator", "denominator", "count", "population", "high_risk", "high_risk_without_plan", "gap"}
NOTES = ExportNotes("T", "commissioner", "2026-11-30T06:00:00+00:00", True, ("ONS thing (fetched 2026-11-30)",),
                    (("Coverage", "People with a plan."),), short_sources="1 official file")


def _evil() -> pd.DataFrame:
    return pd.DataFrame({"area_name": ['=HYPERLINK("http://x","click")', "+SUM(A1)", "Camden", "-2.5"],
                         "value": [1.5, -2.0, np.nan, 3.0], "numerator": [10.0, 20.0, np.nan, 30.0]})


def test_csv_neutralises_formulas_keeps_numbers_and_leads_with_notes() -> None:
    raw = table_csv(_evil(), NOTES).decode("utf-8-sig")
    assert raw.splitlines()[0].startswith("# Title: T")
    assert SYNTHETIC_MARK in raw and "# Source: ONS thing" in raw and "# Role: commissioner" in raw
    back = pd.read_csv(io.StringIO(raw), comment="#")
    assert back["area_name"].tolist()[:2] == ["'=HYPERLINK(\"http://x\",\"click\")", "'+SUM(A1)"]
    assert back["area_name"].iloc[3] == "-2.5"  # a plain number is not a formula
    assert pd.api.types.is_float_dtype(back["value"]) and back["value"].iloc[1] == -2.0
    assert pd.api.types.is_numeric_dtype(back["numerator"])


def test_xlsx_has_numbers_as_numbers_and_a_notes_sheet() -> None:
    book = load_workbook(io.BytesIO(table_xlsx(_evil(), NOTES)))
    assert book.sheetnames == ["Data", "Notes"]
    data = book["Data"]
    assert [c.value for c in data[1]] == ["area_name", "value", "numerator"]
    assert data["A2"].value.startswith("'=") and data["A3"].value.startswith("'+")
    assert data["B3"].value == -2 and isinstance(data["C2"].value, (int, float)) and data["B4"].value is None
    assert data["C2"].data_type == "n"  # a number cell, not text
    assert SYNTHETIC_MARK in data.oddHeader.center.text
    notes = {row[0].value: row[1].value for row in book["Notes"].iter_rows(min_row=2)}
    assert notes["Role"] == "commissioner" and "rounded to the nearest 5" in notes["Disclosure control"]
    assert "simulated" in notes["Data"] and notes["Source"].startswith("ONS thing")
    assert notes["Definition: Coverage"] == "People with a plan."


def test_flat_table_carries_the_figures_results() -> None:
    table = pd.DataFrame({"group": ["1", "5"], "value": [1.0, 2.0]})
    table.attrs["sii"] = {"sii": 1.5, "sii_lower": 1.0, "sii_upper": 2.0}
    flat = flat_table(table)
    assert flat["sii"].tolist() == [1.5, 1.5] and flat["sii_upper"].iloc[0] == 2.0


def _requests(data, role: str) -> list[ExportRequest]:
    ics = data.geometry["ics"].codes[0]
    pcn = data.geometry["pcn"].codes[0]
    small = ["ethnic_group=mixed", "age_band=85+"]
    reqs = [ExportRequest("map", "pcn", ics, "coverage", small, role),
            ExportRequest("gradient", "pcn", pcn, "coverage", small, role, "imd_decile"),
            ExportRequest("cascade", "pcn", pcn, None, small, role),
            ExportRequest("trend", "pcn", pcn, "coverage", small, role),
            ExportRequest("inequalities", "pcn", pcn, "coverage", ["age_band=85+"], role, "ethnic_group"),
            ExportRequest("funnel", "pcn", ics, "coverage", small, role),
            ExportRequest("population", "pcn", pcn, None, [], role, "age_sex"),
            ExportRequest("population", "pcn", pcn, None, [], role, "ethnic_group")]
    if role == "commissioner":
        reqs += [ExportRequest("map", "lsoa", pcn, "coverage", small, role),
                 ExportRequest("outreach", "pcn", ics, None, small, role)]
    return reqs


@pytest.mark.slow
@pytest.mark.parametrize("role", ["commissioner", "strategist"])
def test_no_small_count_in_any_table_type(london_app_data, role: str) -> None:
    checked = 0
    for request in _requests(london_app_data, role):
        table, payload = export_table(london_app_data, request, "csv", user="test")
        back = pd.read_csv(io.StringIO(payload.decode("utf-8-sig")), comment="#")
        for column in COUNT_COLUMNS & set(back.columns):
            values = pd.to_numeric(back[column], errors="coerce").dropna().to_numpy()
            assert not ((values >= 1) & (values <= 7)).any(), (request.kind, column)
            assert (values % 5 == 0).all(), (request.kind, column)  # rounded to 5 for publication
            checked += len(values)
        assert SYNTHETIC_MARK in payload.decode("utf-8-sig").split("\n", 3)[1]
    assert checked > 100


@pytest.mark.slow
def test_analyst_tables_are_controlled_too(london_app_data) -> None:
    request = ExportRequest("map", "lsoa", london_app_data.geometry["pcn"].codes[0], "coverage",
                            ["ethnic_group=mixed"], "analyst")
    table, payload = export_table(london_app_data, request, "xlsx", user="test")
    values = pd.to_numeric(table["numerator"], errors="coerce").dropna().to_numpy()
    assert len(values) and not ((values >= 1) & (values <= 7)).any() and (values % 5 == 0).all()
    assert table["suppressed"].any()
