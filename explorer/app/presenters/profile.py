"""The area profile's key-metrics rows: every metric for the area, its parent and the region."""

from __future__ import annotations

import logging
import math
from typing import Any

import pandas as pd

from explorer.app.presenters.format import (
    as_float,
    metric_title,
    short_unit,
    value_text,
)
from explorer.domain import stats
from explorer.domain.disclosure import DisclosurePolicy
from explorer.domain.metrics import Filters
from explorer.services.app_data import AppData

log = logging.getLogger(__name__)


def counts_apply(value: float, num: float, den: float, info: Any) -> bool:
    """Whether a numerator / denominator pair is the value's own: value = numerator / denominator x
    multiplier (a crude rate or proportion). A standardised rate, an index or a mean rests on other
    numbers, so its pair would sit beside it unexplained."""
    if info.kind not in ("rate", "proportion") or not all(math.isfinite(x) for x in (value, num, den)) or den <= 0:
        return False
    return math.isclose(num / den * info.multiplier, value, rel_tol=1e-6, abs_tol=1e-9)


def key_metrics(data: AppData, code: str | None, filters: Filters, risk: Any, policy: DisclosurePolicy) -> pd.DataFrame:
    """Every available metric for the area, its parent (below the region) and the region.

    Columns: metric, label, unit, value, value_text, lower, upper, numerator, denominator (counts
    only where they are the value's own, `counts_apply`), parent, region (numbers), hidden, and
    _vs_parent/_vs_region codes ("better", "similar", ..., "not compared"). Counts (people, plans,
    expected admissions) are sizes, not rates: they are never compared with a benchmark, whose
    total is of another population. attrs: level, parent (None when the parent is the region)."""
    level = data.level_of(code)
    parent = data.parent_of.get(code) if code else None
    parent = None if parent == data.region_code else parent
    rows = []
    for name, info in data.metrics.items():
        unit = short_unit(info)
        flt = filters if info.filterable else Filters()
        rsk = risk if info.needs_risk or flt.risk is not None else None
        try:
            area = data.value_of(code, name, flt, policy, rsk)
            region = data.value_of(None, name, flt, policy, rsk)
            above = data.value_of(parent, name, flt, policy, rsk) if code and parent else None
        except Exception:  # noqa: BLE001 - a metric the engine cannot serve for this area
            log.exception("key metric %s failed", name)
            continue
        hidden = bool(area[f"{name}_suppressed"])
        count = info.kind == "count"
        value = as_float(area[name])
        lo, hi = (math.nan, math.nan) if hidden or not info.has_ci else (
            as_float(area[f"{name}_lower"]), as_float(area[f"{name}_upper"]))
        num, den = as_float(area.get(f"{name}_numerator")), as_float(area.get(f"{name}_denominator"))
        own = counts_apply(value, num, den, info) and not hidden
        if count and math.isfinite(value):  # whole people, plans or admissions (expected ones too)
            value, lo, hi = (round(x) if math.isfinite(x) else x for x in (value, lo, hi))
        row = {"metric": name, "label": metric_title(info), "unit": unit,
               "value": math.nan if hidden else value,
               "value_text": value_text(value, hidden, unit, exact=count),
               "lower": lo, "upper": hi,
               "numerator": num if own else math.nan, "denominator": den if own else math.nan,
               "parent": math.nan if above is None or bool(above[f"{name}_suppressed"]) else as_float(above[name]),
               "region": math.nan if bool(region[f"{name}_suppressed"]) else as_float(region[name]),
               "hidden": hidden, "kind": info.kind}
        for key, bench in (("parent", above), ("region", region)):
            if bench is None or not info.has_ci or hidden or code is None or count:
                row[f"_vs_{key}"] = "not compared"
            else:
                row[f"_vs_{key}"] = str(stats.compare_to_benchmark(lo, hi, as_float(bench[name]), info.higher_is_better))
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame.attrs["level"] = level
    frame.attrs["parent"] = parent
    return frame
