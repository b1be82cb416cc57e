"""The map's table: numbers per area (cached), one sorted page formatted at a time, its columns."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from explorer.app import components as ui
from explorer.app.presenters.format import (
    as_float,
    ci_text,
    count_text,
    difference_unit,
    metric_title,
    short_unit,
    value_text,
)
from explorer.app.presenters.map import (
    base_value,
    comparator_code,
    diverging,
    title,
    view_key,
)
from explorer.app.state import MapView, parse_sort
from explorer.domain import stats
from explorer.domain.disclosure import DisclosurePolicy
from explorer.services.app_cache import CacheKey, builds
from explorer.services.app_data import AppData

SORT_KEYS = {"area_name": "area_name", "area_code": "area_code", "value": "value", "ci": "value",
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


def format_rows(data: AppData, view: MapView, frame: pd.DataFrame) -> pd.DataFrame:
    info = data.metric(view.metric)
    unit = short_unit(info)
    count = info.kind == "count"
    rows = zip(frame["value"], frame["lower"], frame["upper"], frame["numerator"], frame["denominator"],
               frame["hidden"])
    out = pd.DataFrame([{
        "value": value_text(v, h, unit, exact=count), "ci": ci_text(lo, hi, h, unit),
        "numerator": count_text(n, h and info.kind != "mean"), "denominator": count_text(d, False),
    } for v, lo, hi, n, d, h in rows], columns=["value", "ci", "numerator", "denominator"])
    out.insert(0, "area_code", frame["area_code"].to_numpy())
    out.insert(0, "area_name", frame["area_name"].to_numpy())
    if "vs_region" in frame.columns:
        out["vs_region"] = frame["vs_region"].to_numpy()
    if "difference" in frame.columns:
        out["difference"] = [value_text(d, h, difference_unit(info), signed=True)
                             for d, h in zip(frame["difference"], frame["hidden"])]
    return out


def display_rows(data: AppData, view: MapView, policy: DisclosurePolicy) -> pd.DataFrame:
    """The map's table with every row formatted (small levels, exports, tests)."""
    return format_rows(data, view, numeric_rows(data, view, policy))


def table_page(data: AppData, view: MapView, policy: DisclosurePolicy, *, sort_column: str | None = None,
               ascending: bool = False, page: int = 0, page_size: int = 15) -> tuple[pd.DataFrame, int]:
    """One sorted page of the map's table, formatted; only the page's rows are formatted, so a
    filter change at LSOA level costs the same as at ICS level. Returns (rows, total rows)."""
    frame = numeric_rows(data, view, policy)
    key = SORT_KEYS.get(sort_column or "value", "value")
    if key not in frame.columns:
        key = "value"
    ordered = frame.sort_values([key, "area_name"], ascending=[ascending, True], na_position="last",
                                kind="stable")
    chunk = ordered.iloc[page * page_size:(page + 1) * page_size]
    return format_rows(data, view, chunk), len(frame)


def table_columns(data: AppData, view: MapView) -> list[dict]:
    info = data.metric(view.metric)
    cols = [{"name": "Area", "id": "area_name"}, {"name": "Code", "id": "area_code"},
            {"name": metric_title(info), "id": "value"}]
    if info.has_ci:
        cols.append({"name": "95% CI", "id": "ci"})
    cols += [{"name": "Numerator", "id": "numerator"},
             {"name": f"Denominator ({info.denominator})", "id": "denominator"}]
    if info.has_ci:
        cols.append({"name": f"Compared with {data.region_name}", "id": "vs_region"})
    if diverging(data, view.metric, view.mode):
        cols.append({"name": f"Difference from {data.name_of(comparator_code(data, view.area))} "
                             f"({difference_unit(info)})", "id": "difference"})
    return cols


def page_view(data: AppData, view: MapView, policy: DisclosurePolicy, page: int, sort_by: Any,
              page_size: int) -> tuple[list[dict], list[dict], int, int, str]:
    """(rows, columns, page count, page shown, caption) of one page of the map's table."""
    columns = table_columns(data, view)
    column, ascending = parse_sort(sort_by, [c["id"] for c in columns])
    try:
        total = len(data.codes_within(view.level, view.area))
        pages = max(1, -(-total // page_size))
        page = min(max(int(page or 0), 0), pages - 1)
        chunk, total = table_page(data, view, policy, sort_column=column, ascending=ascending, page=page,
                                  page_size=page_size)
    except Exception:  # noqa: BLE001 - the map's notice shows the reason
        return [], [], 1, 0, "Table"
    caption = (f"Table: {title(data, view)} — {total:,} areas, page {page + 1} of {pages} "
               f"(sorted by {column.replace('_', ' ')}, {'ascending' if ascending else 'descending'})")
    return ui.records(chunk), columns, pages, page, caption
