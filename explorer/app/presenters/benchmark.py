"""The spine chart's, overview's and compare page's numbers as tables and captions.

Tables keep numbers as numbers (rounded to each metric's decimals, so a sorted column sorts by
value); a suppressed value shows `disclosure.SUPPRESSED`. Every caption says what the view shows:
area, level, people (filters), snapshot month, role, comparator and units.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from explorer.app.presenters.format import (
    as_float,
    count_text,
    metric_title,
    short_unit,
    value_text,
)
from explorer.domain.disclosure import MISSING, SUPPRESSED
from explorer.domain.metrics import Filters, MetricInfo
from explorer.figures.spine import SIGNIFICANCE_NAMES
from explorer.services.app_data import AppData

__all__ = ["SIG_TEXT", "caption", "compare_table", "number", "numeric_columns", "rug_table", "snapshot_text",
           "spine_table"]

SIG_TEXT = {k: v.replace(" (95%)", "") for k, v in SIGNIFICANCE_NAMES.items()}


def number(value: Any, info: MetricInfo, hidden: bool = False, *, text: bool = False) -> Any:
    """A number for a table cell: rounded to the metric's decimals, '*' if hidden; with `text`,
    as the app writes values (3 significant figures, thousands separated; counts whole)."""
    if hidden:
        return SUPPRESSED
    v = as_float(value)
    if not math.isfinite(v):
        return MISSING
    if text:
        return value_text(v, False, "", exact=info.kind == "count")
    places = info.decimals
    return round(v) if places == 0 else round(v, places)


def _count(value: Any, hidden: bool = False, *, text: bool = False) -> Any:
    if text:
        return count_text(as_float(value), hidden)
    if hidden:
        return SUPPRESSED
    v = as_float(value)
    if not math.isfinite(v):
        return MISSING
    return round(v) if abs(v - round(v)) < 1e-9 else round(v, 1)


def snapshot_text(data: AppData) -> str:
    month = getattr(data.engine, "snapshot", None)
    return f"snapshot {month:%B %Y}" if month is not None else "latest snapshot"


def caption(data: AppData, *, what: str, where: str, filters: Filters, role: Any, comparator: str,
            units: str) -> str:
    """'What … · where … · people … · period · role · comparator · units' for a figure or table."""
    people = filters.describe() if not filters.is_empty else "all registered people"
    return (f"{what} · {where} · people: {people} · {snapshot_text(data)} · role: {role} · "
            f"compared with {comparator} (95% confidence intervals) · {units}")


def spine_table(data: AppData, frame: pd.DataFrame, *, comparator_name: str, parent_name: str | None,
                group_name: str | None) -> pd.DataFrame:
    """One row per metric: value, CI, counts, the region/parent/group values, the range and the
    significance, in the columns a Fingertips user reads beside the spine (as text: each row has
    its own unit and precision)."""
    rows = []
    for _, r in frame.iterrows():
        info = data.metric(str(r["metric"]))
        hidden = bool(r["suppressed"])

        def show(key: str, hide: bool = False, r: pd.Series = r, info: MetricInfo = info) -> Any:
            return number(r[key], info, hide, text=True)

        row = {"Metric": info.label, "Unit": short_unit(info) or info.unit, "Value": show("value", hidden), "Lower 95% CI": show("lower", hidden),
               "Upper 95% CI": show("upper", hidden),
               "Numerator": _count(r["numerator"], hidden and info.kind != "count", text=True),
               "Denominator": _count(r["denominator"], text=True), data.region_name: show("region")}
        if parent_name:
            row[parent_name] = show("parent")
        if group_name:
            row[group_name] = show("group")
        row.update({"Worst": show("worst"), "25th percentile": show("q25"), "75th percentile": show("q75"),
                    "Best": show("best"), f"Compared with {comparator_name}": SIG_TEXT.get(str(r["significance"]), "")})
        rows.append(row)
    return pd.DataFrame(rows)


def numeric_columns(frame: pd.DataFrame, decimals: dict[str, int]) -> list[dict]:
    """DataTable columns: those in `decimals` numeric (sort by value) with thousands separators."""
    return [{"name": c, "id": c, **({"type": "numeric", "format": {"specifier": f",.{decimals[c]}f"}}
                                   if c in decimals else {})} for c in frame.columns]


def compare_table(data: AppData, frame: pd.DataFrame, info: MetricInfo, comparator_name: str) -> pd.DataFrame:
    """The compare page's bars as a table, in the bars' order."""
    return pd.DataFrame([{
        "Area": r["area_name"], "Code": r["area_code"], metric_title(info): number(r["value"], info, r["suppressed"]),
        "Lower 95% CI": number(r["lower"], info, r["suppressed"]),
        "Upper 95% CI": number(r["upper"], info, r["suppressed"]),
        "Numerator": _count(r["numerator"], bool(r["suppressed"]) and info.kind != "count"),
        f"Denominator ({info.denominator})": _count(r["denominator"]),
        f"Compared with {comparator_name}": SIG_TEXT.get(str(r["significance"]), ""),
    } for _, r in frame.iterrows()])


def rug_table(data: AppData, frames: dict[str, pd.DataFrame], order: list[str], comparator_name: str
              ) -> pd.DataFrame:
    """The overview as a plain table: one row per area, each metric's value and its significance."""
    first = next(iter(frames.values()))
    out = pd.DataFrame({"Area": first.set_index("area_code").loc[order, "area_name"].to_numpy(), "Code": order})
    for metric, frame in frames.items():
        info = data.metric(metric)
        f = frame.set_index("area_code").loc[order]
        out[metric_title(info)] = [number(v, info, h) for v, h in zip(f["value"], f["suppressed"])]
        out[f"{info.label}: compared with {comparator_name}"] = [SIG_TEXT.get(str(s), "") for s in f["significance"]]
    return out


def unit_words(infos: list[MetricInfo]) -> str:
    units = sorted({short_unit(i) or i.unit for i in infos})
    return "units: each metric's own (" + ", ".join(u for u in units if u) + ")"
