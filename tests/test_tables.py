"""Tables are AG Grids (explorer.app.grid): no DataTable left, numbers kept as numbers with a d3
format, a suppressed cell never carries its number, every grid named for screen readers."""

from __future__ import annotations

import ast
import math
from pathlib import Path
from types import SimpleNamespace

import dash_ag_grid as dag
import pandas as pd

from explorer.app import components as ui
from explorer.app import grid
from explorer.app.presenters import tables
from explorer.domain.disclosure import MISSING, SUPPRESSED

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["explorer", "benchmarks", "scripts", "tests", "assets"]


def _files(suffixes: tuple[str, ...]) -> list[Path]:
    return [p for d in SOURCES if (ROOT / d).exists() for p in (ROOT / d).rglob("*") if p.suffix in suffixes]


def test_no_dash_table_is_imported_or_used_anywhere():
    """The deprecated dash_table is gone: no import of it, and no script or style for its markup."""
    offenders = []
    for path in _files((".py",)):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or "", *(a.name for a in node.names)] if isinstance(node, ast.ImportFrom) else [])
            if any("dash_table" in n or n == "DataTable" for n in names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    for path in _files((".js", ".css")):
        text = path.read_text(encoding="utf-8")
        if "dash-spreadsheet" in text or "dash-table" in text or "dash_table" in text:
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
    assert len(_files((".py",))) > 50  # the scan saw the code


def _ag_grid(frame) -> dag.AgGrid:
    """The AgGrid inside a table's frame (data_table returns the grid in a named group)."""
    return next(c for c in frame.children if isinstance(c, dag.AgGrid))


def test_numbers_stay_numbers_with_a_d3_format_and_text_columns_stay_text():
    frame = pd.DataFrame({"Area": ["A", "B", "C"], "People": [1200, 35, float("nan")],
                          "Rate (%)": [12.345, SUPPRESSED, 7.5], "Year": [2021, 2022, 2023]})
    rows = ui.records(frame)
    assert rows[0]["People"] == 1200 and rows[2]["People"] == MISSING and rows[1]["Rate (%)"] == SUPPRESSED
    table = ui.data_table("t", [{"name": c, "id": c} for c in frame.columns], rows, caption="People by area")
    defs = {c["field"]: c for c in _ag_grid(table).columnDefs}
    assert "valueFormatter" not in defs["Area"]
    assert grid.COUNT_FORMAT in defs["People"]["valueFormatter"]["function"]
    assert grid.VALUE_FORMAT in defs["Rate (%)"]["valueFormatter"]["function"]  # "*" does not make it text
    assert grid.PLAIN_FORMAT in defs["Year"]["valueFormatter"]["function"]  # 2021, not 2,021
    assert all(d.get("type") == "rightAligned" for k, d in defs.items() if k != "Area")
    assert _ag_grid(table).defaultColDef["comparator"] == {"function": "explorerCompare"}


def test_every_grid_is_named_and_figure_blocks_name_unnamed_ones():
    captioned = ui.data_table("a", [{"name": "x", "id": "x"}], [{"x": 1}], caption="Shown caption")
    assert getattr(captioned, "aria-label") == "Shown caption" and captioned.role == "group"
    labelled = ui.data_table("b", server_side=True, labelled_by="heading-id")
    assert getattr(labelled, "aria-labelledby") == "heading-id"
    assert _ag_grid(labelled).rowModelType == "infinite"
    bare = ui.data_table("c", [{"name": "x", "id": "x"}], [{"x": 1}])
    assert grid.UNNAMED in bare.className
    ui.figure_block(ui.graph("g"), ui.sr_only("text"), bare, title="Coverage by IMD quintile")
    assert getattr(bare, "aria-label") == "Table: Coverage by IMD quintile" and grid.UNNAMED not in bare.className


def test_grid_props_adapts_old_table_outputs():
    rows, defs = ui.grid_props([{"name": "People", "id": "n"}], [{"n": 5}, {"n": 10}])
    assert rows == [{"n": 5}, {"n": 10}] and defs[0]["headerName"] == "People" and defs[0]["field"] == "n"


def test_map_rows_send_no_number_for_a_suppressed_cell():
    """The grid shows "*" from SUPPRESSED in rowData, never a number hidden only by the display."""
    data = SimpleNamespace(metric=lambda name: SimpleNamespace(kind="proportion"), parent_of={"E2": "P1"},
                           name_of=lambda code: {"P1": "Parent one"}[code])
    frame = pd.DataFrame({"area_name": ["A", "B"], "area_code": ["E1", "E2"], "value": [12.3456, 3.0],
                          "lower": [10.0, 1.0], "upper": [15.0, 6.0], "numerator": [25.0, 3.0],
                          "denominator": [200.0, 100.0], "hidden": [False, True], "vs_region": ["better", "suppressed"]})
    rows = tables.grid_rows(data, SimpleNamespace(metric="coverage", level="lsoa"), frame)
    assert rows[0]["value"] == 12.35 and rows[0]["numerator"] == 25.0 and rows[0]["denominator"] == 200.0
    assert [rows[1][c] for c in ("value", "lower", "upper", "numerator")] == [SUPPRESSED] * 4
    assert rows[1]["denominator"] == 100.0
    assert rows[1]["parent_name"] == "Parent one" and rows[1]["suppressed"] == "suppressed" and rows[0]["suppressed"] == ""
    assert all(not (isinstance(v, float) and math.isnan(v)) for row in rows for v in row.values())
