"""The area profile's key-metrics rows: every metric for the area, its parent and the region."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from explorer.app.presenters.format import (
    as_float,
    ci_text,
    counts_text,
    metric_title,
    short_unit,
    value_text,
)
from explorer.domain import stats
from explorer.domain.disclosure import DisclosurePolicy
from explorer.domain.metrics import Filters
from explorer.services.app_data import AppData

log = logging.getLogger(__name__)


def key_metrics(data: AppData, code: str | None, filters: Filters, risk: Any, policy: DisclosurePolicy) -> pd.DataFrame:
    """Every available metric for the area, its parent and the region, with significance.

    Columns: metric, label, value, ci, counts, parent, region, vs_parent, vs_region (text),
    plus _vs_parent/_vs_region codes ("better", "similar", ...)."""
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
            above = data.value_of(parent, name, flt, policy, rsk) if code else None
        except Exception:  # noqa: BLE001 - a metric the engine cannot serve for this area
            log.exception("key metric %s failed", name)
            continue
        hidden = bool(area[f"{name}_suppressed"])
        exact = info.kind == "count"
        lo, hi = as_float(area[f"{name}_lower"]), as_float(area[f"{name}_upper"])
        row = {"metric": name, "label": metric_title(info),
               "value": value_text(as_float(area[name]), hidden, unit, exact=exact),
               "ci": ci_text(lo, hi, hidden, unit) if info.has_ci else "",
               "counts": counts_text(area, name, info, hidden),
               "parent": "" if above is None else value_text(as_float(above[name]), bool(above[f"{name}_suppressed"]),
                                                             unit, exact=exact),
               "region": value_text(as_float(region[name]), bool(region[f"{name}_suppressed"]), unit, exact=exact)}
        for key, bench in (("parent", above), ("region", region)):
            if bench is None or not info.has_ci or hidden or code is None:
                row[f"_vs_{key}"] = "not compared"
            else:
                row[f"_vs_{key}"] = str(stats.compare_to_benchmark(lo, hi, as_float(bench[name]), info.higher_is_better))
        rows.append(row)
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame["vs_parent"] = frame["_vs_parent"]
        frame["vs_region"] = frame["_vs_region"]
    frame.attrs["level"] = level
    frame.attrs["parent"] = parent
    return frame
