"""Tables as AG Grid (dash-ag-grid), the maintained replacement for Dash's deprecated DataTable.

Why AG Grid: its headers and cells are reached and sorted with the keyboard as the grid ships
(Tab into the headers, Enter sorts, arrow keys move), so the old table's JavaScript repairs are
gone; it serves its scripts and themes from the package (no CDN); and its infinite row model asks a
callback for one block of rows at a time, so a 5,000-row LSOA table never leaves the server whole.

Numbers stay numbers in `rowData` (sorting is numeric); a d3 format shows them. Cells that are
text (the suppression mark SUPPRESSED, MISSING for none) sort below every number.

Two shapes: `client_grid` (rows in the layout, sorted and paged in the browser) for small tables;
`server_grid` (infinite row model, pages of `page_size`) answered by a callback on `getRowsRequest`
with `rows_response`. Callbacks that send new rows to a client grid send `rowData` and
`columnDefs` from `grid_props`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from numbers import Real
from typing import Any

import dash_ag_grid as dag
from dash import html

from explorer.domain.disclosure import MISSING, SUPPRESSED
from explorer.figures import theme

TABLE_PAGE_SIZE = 15
MAX_BLOCK_ROWS = 100  # the most rows one getRowsRequest may ask for (a page is 15)
ROW_HEIGHT = 36
HEADER_HEIGHT = 48
PAGER_HEIGHT = 48

COUNT_FORMAT = ",.0f"  # whole people: 12,345
VALUE_FORMAT = ",.3~r"  # 3 significant figures, as explorer.figures.classify.format_number
PLAIN_FORMAT = ".0f"  # years and other whole numbers that are not quantities

# AG Grid's Quartz theme in the house colours and font (explorer.figures.theme).
_THEME_PARAMS = {
    "fontFamily": theme.FONT_FAMILY, "fontSize": 14, "headerFontWeight": 600,
    "foregroundColor": theme.TEXT, "backgroundColor": theme.BACKGROUND, "accentColor": theme.ACCENT,
    "headerBackgroundColor": "#f0f4f5", "headerTextColor": theme.TEXT, "borderColor": theme.GRID,
    "oddRowBackgroundColor": "#fafbfb", "rowHeight": ROW_HEIGHT, "headerHeight": HEADER_HEIGHT,
    "spacing": 6, "wrapperBorderRadius": 4,
}
GRID_THEME = {"function": f"themeQuartz.withParams({json.dumps(_THEME_PARAMS)})"}

_DEFAULT_COLUMN = {
    "sortable": True, "resizable": True, "filter": False, "suppressMovable": True,
    "wrapHeaderText": True, "autoHeaderHeight": True, "minWidth": 110, "cellDataType": False,
    "comparator": {"function": "explorerCompare"},  # assets/explorer.js: numbers numerically, text below
}


def number_column(field: str, header: str, number_format: str = VALUE_FORMAT, **extra: Any) -> dict:
    """A right-aligned numeric column shown with a d3 format; text cells ("*") shown as they are."""
    # dash-ag-grid's expression evaluator has no `typeof`: explorerIsNumber is in assets/explorer.js
    formatter = (f"explorerIsNumber(params.value) ? d3.format({json.dumps(number_format)})(params.value) "
                 f": params.value")
    return {"field": field, "headerName": header, "type": "rightAligned",
            "valueFormatter": {"function": formatter}, **extra}


def text_column(field: str, header: str, **extra: Any) -> dict:
    return {"field": field, "headerName": header, **extra}


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(float(value))


def infer_format(values: Sequence[Any], header: str) -> str | None:
    """The d3 format of a column whose filled cells are all numbers, else None (a text column)."""
    numbers = [v for v in values if v is not None and v != MISSING and not (isinstance(v, float) and math.isnan(v))]
    if not numbers or not all(_is_number(v) or v == SUPPRESSED for v in numbers):
        return None
    real = [float(v) for v in numbers if _is_number(v)]
    if not real:
        return None
    if all(v.is_integer() for v in real):
        plain = any(word in header.lower() for word in ("year", "code", "rank"))
        return PLAIN_FORMAT if plain else COUNT_FORMAT
    return VALUE_FORMAT


def column_defs(columns: Sequence[Mapping[str, Any]], rows: Sequence[Mapping[str, Any]]) -> list[dict]:
    """AG Grid columns from DataTable-style columns ([{"name", "id"}]), numeric ones found from `rows`."""
    out = []
    for col in columns:
        field, header = str(col["id"]), str(col.get("name", col["id"]))
        fmt = infer_format([r.get(field) for r in rows], header)
        out.append(number_column(field, header, fmt) if fmt else text_column(field, header))
    return out


def grid_props(columns: Sequence[Mapping[str, Any]], rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """(rowData, columnDefs) for a callback that refills a client grid: the adapter from the old
    (data, columns) outputs."""
    return rows, column_defs(columns, rows)


UNNAMED = "grid-unnamed"  # class of a frame named only by its id, until `name_frame` names it


def _frame(grid: dag.AgGrid, table_id: Any, caption: str | None, labelled_by: str | None,
           label: str | None) -> html.Div:
    """The grid in a named group (role=group), so a screen reader says which table it enters: by the
    element `labelled_by`, else `label`, else the shown `caption`, else the id (figure_block then
    names it after its figure)."""
    children = [html.P(caption, className="grid-caption", **{"aria-hidden": "true"})] if caption else []
    name = label or caption
    if labelled_by:
        named = {"aria-labelledby": labelled_by}
    else:
        fallback = "Table " + str(table_id if not isinstance(table_id, dict) else "-".join(map(str, table_id.values())))
        named = {"aria-label": name or fallback}
    return html.Div([*children, grid], role="group", className="grid-frame" + ("" if name or labelled_by
                                                                               else f" {UNNAMED}"), **named)


def name_frame(frame: Any, name: str) -> None:
    """Name a grid frame that was built without a caption or label (figure_block: after its title)."""
    if isinstance(frame, html.Div) and UNNAMED in (getattr(frame, "className", "") or ""):
        setattr(frame, "aria-label", name)
        frame.className = frame.className.replace(f" {UNNAMED}", "")


def _options(page_size: int, **extra: Any) -> dict:
    # Tab leaves the grid (false = the browser moves focus on) instead of stepping through every
    # cell: the grid is one Tab stop, its headings and cells are walked with the arrow keys.
    return {"theme": GRID_THEME, "tabToNextCell": {"function": "false"}, "tabToNextHeader": {"function": "false"},
            "pagination": True, "paginationPageSize": page_size,
            "paginationPageSizeSelector": False, "suppressFieldDotNotation": True,
            "ensureDomOrder": True, "suppressCellFocus": False, "enableCellTextSelection": True,
            "animateRows": False, **extra}


def client_grid(table_id: Any, column_defs_: list[dict], rows: list[dict], *, page_size: int = TABLE_PAGE_SIZE,
                caption: str | None = None, labelled_by: str | None = None, label: str | None = None) -> html.Div:
    """A small table sorted and paged in the browser; as tall as its rows (no inner scroll)."""
    grid = dag.AgGrid(  # long text wraps (row heights follow), as the rows are all drawn anyway
        id=table_id, columnDefs=column_defs_, rowData=rows,
        defaultColDef={**_DEFAULT_COLUMN, "wrapText": True, "autoHeight": True},
        columnSize="responsiveSizeToFit", className="grid",
        dashGridOptions=_options(page_size, domLayout="autoHeight",  # paged when long, or filled later
                                 pagination=not rows or len(rows) > page_size),
    )
    return _frame(grid, table_id, caption, labelled_by, label)


def server_grid(table_id: Any, column_defs_: list[dict] | None = None, *, page_size: int = TABLE_PAGE_SIZE,
                caption: str | None = None, labelled_by: str | None = None, label: str | None = None) -> html.Div:
    """A large table: each page is one getRowsRequest (startRow, endRow, sortModel) to a callback."""
    grid = dag.AgGrid(
        id=table_id, columnDefs=column_defs_ or [], defaultColDef=_DEFAULT_COLUMN, rowModelType="infinite",
        columnSize="responsiveSizeToFit", className="grid",
        dashGridOptions=_options(page_size, cacheBlockSize=page_size, maxBlocksInCache=10,
                                 infiniteInitialRowCount=page_size, maxConcurrentDatasourceRequests=1),
        style={"height": f"{HEADER_HEIGHT + 24 + page_size * ROW_HEIGHT + PAGER_HEIGHT}px"},
    )
    return _frame(grid, table_id, caption, labelled_by, label)


def rows_response(rows: list[dict], total: int) -> dict:
    """The getRowsResponse for one block: its rows and the table's row count (so the pager knows)."""
    return {"rowData": rows, "rowCount": total}
