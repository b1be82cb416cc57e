"""The map's table: numbers per area (cached), one sorted page formatted at a time, its columns."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from explorer.app import components as ui
from explorer.app.presenters.format import (
    as_float,
    difference_unit,
    metric_title,
    short_unit,
    subject,
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

SORT_KEYS = {"area_name": "area_name", "area_code": "area_code", "value": "value", "lower": "lower",
             "upper": "upper", "parent_name": "area_code", "suppressed": "hidden",
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
    """Rows for the table as numbers (the columns carry the number formats, `table_columns`): a
    suppressed value and its CI are empty and the row says "suppressed"; counts are whole numbers."""
    info = data.metric(view.metric)
    hidden = frame["hidden"].to_numpy(dtype=bool)

    def masked(col: str, hide: np.ndarray = hidden) -> pd.Series:
        return pd.Series(np.where(hide, np.nan, frame[col].to_numpy(dtype=float)), index=frame.index)

    def whole(values: pd.Series) -> pd.Series:
        return values.round().astype("Int64") if info.kind != "mean" else values

    codes = frame["area_code"].to_numpy()
    parents = [data.parent_of.get(c) for c in codes]
    out = pd.DataFrame({"area_name": frame["area_name"].to_numpy(), "area_code": codes,
                        "parent_name": [data.name_of(p) if p else "" for p in parents]}, index=frame.index)
    out["value"] = whole(masked("value")) if info.kind == "count" else masked("value")
    out["lower"], out["upper"] = masked("lower"), masked("upper")
    out["numerator"] = whole(masked("numerator", hidden & (info.kind != "mean")))
    out["denominator"] = whole(masked("denominator", np.zeros(len(frame), dtype=bool)))
    out["suppressed"] = np.where(hidden, "suppressed", "")
    if "vs_region" in frame.columns:
        out["vs_region"] = frame["vs_region"].to_numpy()
    if "difference" in frame.columns:
        out["difference"] = masked("difference")
    return out.reset_index(drop=True)


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


NUMBER = {"type": "numeric", "format": {"specifier": ",.3~r"}}  # 3 significant figures, kept as numbers
COUNT = {"type": "numeric", "format": {"specifier": ",d"}}


def table_columns(data: AppData, view: MapView) -> list[dict]:
    """The table's columns: numbers with a d3 format, the CI in lower/upper columns, the parent area."""
    info = data.metric(view.metric)
    unit = short_unit(info)
    cols = [{"name": "Area", "id": "area_name"}, {"name": "Code", "id": "area_code"},
            {"name": "Parent area", "id": "parent_name"},
            {"name": metric_title(info), "id": "value", **(COUNT if info.kind == "count" else NUMBER)}]
    if info.has_ci:
        cols += [{"name": f"Lower 95% CI ({unit})", "id": "lower", **NUMBER},
                 {"name": f"Upper 95% CI ({unit})", "id": "upper", **NUMBER}]
    cols += [{"name": "Numerator", "id": "numerator", **COUNT},
             {"name": f"Denominator ({info.denominator})", "id": "denominator", **COUNT}]
    if info.has_ci:
        region = subject(data, "", None, view.effective_filters if info.filterable else None,
                         comparator=data.region_name).comparator_label
        cols.append({"name": f"Compared with {region}", "id": "vs_region"})
    if diverging(data, view.metric, view.mode):
        cols.append({"name": f"Difference from {data.name_of(comparator_code(data, view.area))} "
                             f"({difference_unit(info)})", "id": "difference", **NUMBER})
    cols.append({"name": "Disclosure control", "id": "suppressed"})
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
