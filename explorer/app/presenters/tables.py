"""The map's table: numbers per area (cached), one sorted block of rows at a time, its grid columns."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from explorer.app import grid
from explorer.app.presenters.format import as_float, difference_unit, metric_title, short_unit, subject
from explorer.app.presenters.map import (
    base_value,
    comparator_code,
    diverging,
    title,
    view_key,
)
from explorer.app.state import MapView, parse_rows, parse_sort
from explorer.domain import stats
from explorer.domain.disclosure import MISSING, SUPPRESSED, DisclosurePolicy
from explorer.services.app_cache import CacheKey, builds
from explorer.services.app_data import AppData
from explorer.services.pcn_info import crossing_pcns
from explorer.vocab import CROSSES_PLACE_LABEL

COUNTS = ",.1~f"  # numerators and denominators: whole people, or a mean's sum to 1 decimal
SORT_KEYS = {"area_name": "area_name", "area_code": "area_code", "value": "value", "lower": "lower", "upper": "upper",
             "parent_name": "area_code", "suppressed": "hidden",
             "numerator": "numerator", "denominator": "denominator", "vs_region": "vs_region",
             "difference": "difference"}


def numeric_rows(data: AppData, view: MapView, policy: DisclosurePolicy) -> pd.DataFrame:
    """The map's table as numbers, one row per area (cached): value, CI, counts, comparisons."""
    return data.cached(view_key(data, "rows", view, policy, view.mode))


@builds("rows")
def _build_numeric_rows(data: AppData, key: CacheKey) -> pd.DataFrame:
    area, mode = key.extra
    info = data.metric(key.metric)
    m = key.metric
    t = data.table(key.level, m, key.filters, key.policy, area, key.risk)
    col = {c: t[c].to_numpy(dtype=float, na_value=np.nan) for c in
           (m, f"{m}_lower", f"{m}_upper", f"{m}_numerator", f"{m}_denominator")}
    out = pd.DataFrame({
        "area_name": t["area_name"].astype(str).to_numpy(),
        "area_code": t["area_code"].astype(str).to_numpy(),
        "value": col[m], "lower": col[f"{m}_lower"], "upper": col[f"{m}_upper"],
        "numerator": col[f"{m}_numerator"], "denominator": col[f"{m}_denominator"],
        "hidden": t[f"{m}_suppressed"].to_numpy(dtype=bool),
    })
    if info.has_ci:
        region = data.value_of(None, m, key.filters, key.policy, key.risk)
        sig = stats.compare_to_benchmark(out["lower"], out["upper"], as_float(region[m]), info.higher_is_better)
        out["vs_region"] = np.where(out["hidden"], "suppressed", sig)
    if diverging(data, m, mode):
        out["difference"] = out["value"] - base_value(data, key)
    return out


def _rounded(v: float) -> float | int | str:
    """A value to 4 significant figures (one more than shown; a whole count exactly), or MISSING."""
    if not math.isfinite(v):
        return MISSING
    return int(v) if v.is_integer() else float(f"{v:.4g}")


def grid_rows(data: AppData, view: MapView, frame: pd.DataFrame) -> list[dict]:
    """Rows for the grid: numbers as numbers (sorted numerically, shown by the columns' d3 formats);
    a suppressed cell is SUPPRESSED, its number never sent."""
    info = data.metric(view.metric)
    hide_numerator = info.kind != "mean"
    crossing = crossing_pcns(data.bundle) if view.level == "pcn" else frozenset()
    rows = []
    for rec in frame.to_dict("records"):
        hidden = bool(rec["hidden"])
        parent = data.parent_of.get(rec["area_code"])
        row = {"area_name": rec["area_name"], "area_code": rec["area_code"],
               "parent_name": data.name_of(parent) if parent else MISSING}
        for col in ("value", "lower", "upper", "difference"):
            if col in rec:
                row[col] = SUPPRESSED if hidden else _rounded(float(rec[col]))
        row["numerator"] = SUPPRESSED if hidden and hide_numerator else _rounded(float(rec["numerator"]))
        row["denominator"] = _rounded(float(rec["denominator"]))
        if "vs_region" in rec:
            row["vs_region"] = rec["vs_region"]
        row["suppressed"] = "suppressed" if hidden else MISSING
        if view.level == "pcn":
            row["place_boundary"] = CROSSES_PLACE_LABEL if rec["area_code"] in crossing else MISSING
        rows.append(row)
    return rows


def table_page(data: AppData, view: MapView, policy: DisclosurePolicy, *, sort_column: str | None = None,
               ascending: bool = False, start: int = 0, end: int = 15) -> tuple[list[dict], int]:
    """Rows start..end of the map's table in the asked order; only those rows are converted, so a
    filter change at LSOA level costs the same as at ICS level. Returns (rows, total rows)."""
    frame = numeric_rows(data, view, policy)
    key = SORT_KEYS.get(sort_column or "value", "value")
    if key not in frame.columns:
        key = "value"
    ordered = frame.sort_values([key, "area_name"], ascending=[ascending, True], na_position="last",
                                kind="stable")
    return grid_rows(data, view, ordered.iloc[start:end]), len(frame)


def table_columns(data: AppData, view: MapView) -> list[dict]:
    """The grid's columns: numbers right-aligned with their d3 format, units in the headers, the CI in
    lower/upper columns, the parent area, and which rows disclosure control hid."""
    info = data.metric(view.metric)
    unit = short_unit(info)
    value_format = grid.COUNT_FORMAT if info.kind == "count" else grid.VALUE_FORMAT
    cols = [grid.text_column("area_name", "Area", pinned="left", minWidth=200), grid.text_column("area_code", "Code"),
            grid.text_column("parent_name", "Parent area"),
            grid.number_column("value", metric_title(info), value_format, initialSort="desc")]
    if info.has_ci:
        cols += [grid.number_column("lower", f"Lower 95% CI ({unit})", value_format),
                 grid.number_column("upper", f"Upper 95% CI ({unit})", value_format)]
    cols += [grid.number_column("numerator", "Numerator", COUNTS),
             grid.number_column("denominator", f"Denominator ({info.denominator})", COUNTS)]
    if info.has_ci:
        region = subject(data, "", None, view.effective_filters if info.filterable else None,
                         comparator=data.region_name).comparator_label
        cols.append(grid.text_column("vs_region", f"Compared with {region}"))
    if diverging(data, view.metric, view.mode):
        cols.append(grid.number_column(
            "difference", f"Difference from {data.name_of(comparator_code(data, view.area))} "
                          f"({difference_unit(info)})", "+" + grid.VALUE_FORMAT))
    cols.append(grid.text_column("suppressed", "Disclosure control"))
    if view.level == "pcn":
        cols.append(grid.text_column("place_boundary", "Place boundary"))
    return cols


def page_rows(data: AppData, view: MapView, policy: DisclosurePolicy, request: Any,
              page_size: int) -> tuple[dict, str]:
    """(getRowsResponse, caption) for one block of the map's table asked for by the grid."""
    start, end = parse_rows(request, grid.MAX_BLOCK_ROWS)
    columns = [c["field"] for c in table_columns(data, view)]
    column, ascending = parse_sort(request.get("sortModel"), columns)
    try:
        rows, total = table_page(data, view, policy, sort_column=column, ascending=ascending, start=start, end=end)
    except Exception:  # noqa: BLE001 - the map's notice shows the reason
        return grid.rows_response([], 0), "Table"
    rows = [{k: row[k] for k in columns if k in row} for row in rows]  # only what the grid shows
    pages = max(1, -(-total // page_size))
    caption = (f"Table: {title(data, view)} — {total:,} areas, page {start // page_size + 1} of {pages} "
               f"(sorted by {column.replace('_', ' ')}, {'ascending' if ascending else 'descending'})")
    return grid.rows_response(rows, total), caption
