"""Controlled metric frames for the Fingertips-style views: the spine chart of one area, the
overview ("tartan rug") of a level and the compare-areas bars.

Every number comes from :meth:`AppData.table` / :meth:`AppData.value_of` with the caller's
disclosure policy (the role's), so suppression and rounding are those of the map and the profile;
the range of areas, significance and a comparator group's aggregate are computed from those
released numbers by :mod:`explorer.domain.benchmark`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from explorer.domain import benchmark
from explorer.domain.disclosure import DisclosurePolicy
from explorer.domain.metrics import Filters, MetricInfo
from explorer.services.app_data import METRIC_GROUPS, REGION_LEVEL, AppData

log = logging.getLogger(__name__)

__all__ = ["COMPARATORS", "Scope", "area_frame", "group_row", "ordered_metrics", "spine_frame"]

#: What the spine's significance is judged against: the region, the area's parent, or a group.
COMPARATORS = ("region", "parent", "group")
_PARTS = ("value", "lower", "upper", "numerator", "denominator")


@dataclass(frozen=True)
class Scope:
    """The filters, risk definition and policy every number of a view is computed with."""

    filters: Filters
    risk: Any
    policy: DisclosurePolicy

    def of(self, info: MetricInfo) -> tuple[Filters, Any]:
        """Filters and risk as the metric uses them (user and geography metrics ignore filters)."""
        flt = self.filters if info.filterable else Filters()
        return flt, (self.risk if info.needs_risk or flt.risk is not None else None)


def ordered_metrics(data: AppData, names: Sequence[str], *, care_only: bool = False) -> list[str]:
    """`names` in the app's theme order (METRIC_GROUPS); care-plan metrics only if asked."""
    order = [n for _, group in METRIC_GROUPS for n in group]
    keep = [n for n in order if n in names and n in data.metrics]
    return [n for n in keep if data.metric(n).source != "geography"] if care_only else keep


def _numbers(row: pd.Series | pd.DataFrame, metric: str) -> dict[str, Any]:
    cols = {"value": metric, **{p: f"{metric}_{p}" for p in _PARTS[1:]}}
    return {k: pd.to_numeric(row[c], errors="coerce") for k, c in cols.items()}


def area_frame(data: AppData, level: str, within: str | None, metric: str, scope: Scope,
               codes: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per area at `level` within `within` (or the given `codes`), controlled, with its
    significance against the parent `within` (the region when None).

    Columns: area_code, area_name, value, lower, upper, numerator, denominator, suppressed,
    significance. attrs: comparator (value), comparator_name."""
    info = data.metric(metric)
    flt, rsk = scope.of(info)
    table = data.table(level, metric, flt, scope.policy, None if codes is not None else within, rsk)
    if codes is not None:
        table = table.loc[[c for c in codes if c in table.index]]
    numbers = _numbers(table, metric)
    out = pd.DataFrame({"area_code": table["area_code"].astype(str).to_numpy(),
                        "area_name": table["area_name"].astype(str).to_numpy(),
                        **{k: v.to_numpy(dtype=float, na_value=np.nan) for k, v in numbers.items()},
                        "suppressed": table[f"{metric}_suppressed"].to_numpy(dtype=bool)})
    parent = data.comparator_code(within)
    comparator = float(pd.to_numeric(data.value_of(parent, metric, flt, scope.policy, rsk)[metric],
                                     errors="coerce"))
    out["significance"] = benchmark.significance(out["lower"], out["upper"], comparator, info)
    out.loc[out["suppressed"], "significance"] = "not compared"
    out.attrs.update(comparator=comparator, comparator_name=data.name_of(parent))
    return out


def group_row(data: AppData, codes: Sequence[str], metric: str, scope: Scope) -> benchmark.GroupValue:
    """A comparator group's aggregate from its members' released counts (members at one level)."""
    info = data.metric(metric)
    flt, rsk = scope.of(info)
    levels = {data.level_of(c) for c in codes}
    if len(levels) != 1:
        raise ValueError("a comparator group's areas must all be at one level")
    table = data.table(levels.pop(), metric, flt, scope.policy, None, rsk)
    rows = table.loc[[c for c in codes if c in table.index]]
    numbers = _numbers(rows, metric)
    hidden = rows[f"{metric}_suppressed"].to_numpy(dtype=bool)
    num = np.where(hidden, np.nan, numbers["numerator"].to_numpy(dtype=float, na_value=np.nan))
    return benchmark.group_value(info, num, numbers["denominator"].to_numpy(dtype=float, na_value=np.nan))


def _value(data: AppData, code: str | None, metric: str, scope: Scope) -> dict[str, float]:
    info = data.metric(metric)
    flt, rsk = scope.of(info)
    row = data.value_of(code, metric, flt, scope.policy, rsk)
    out = {k: float(v) if pd.notna(v) else np.nan for k, v in _numbers(row, metric).items()}
    out["suppressed"] = bool(row[f"{metric}_suppressed"])
    if out["suppressed"]:
        out.update(value=np.nan, lower=np.nan, upper=np.nan)
    return out


def spine_frame(data: AppData, code: str, metrics: Sequence[str], scope: Scope, *,
                comparator: str = "region", group: Sequence[str] = ()) -> pd.DataFrame:
    """The spine chart's rows for one area: every metric with the area's value and CI, the region,
    the parent, the group (if any), the range of the areas at the area's level across the region
    (worst, Q25, Q75, best) and the area's significance against `comparator`.

    A metric the engine cannot serve here is left out (logged). attrs: level, parent, comparator."""
    level = data.level_of(code)
    parent = data.comparator_code(data.parent_of.get(code))
    rows = []
    for metric in metrics:
        info = data.metric(metric)
        try:
            area = _value(data, code, metric, scope)
            region = _value(data, None, metric, scope)["value"]
            above = _value(data, parent, metric, scope)["value"] if parent else np.nan
            peers = area_frame(data, level, None, metric, scope) if level != REGION_LEVEL else None
            grp = group_row(data, group, metric, scope) if group else None
        except Exception:
            log.exception("spine metric %s failed", metric)
            continue
        spread = benchmark.area_range(peers["value"].where(~peers["suppressed"]) if peers is not None else [],
                                      info.higher_is_better)
        against = {"region": region, "parent": above if parent else region,
                   "group": grp.value if grp is not None else np.nan}[comparator]
        sig = "not compared" if area["suppressed"] else str(
            benchmark.significance(area["lower"], area["upper"], against, info))
        rows.append({"metric": metric, "label": info.label, "unit": info.unit, "kind": info.kind,
                     "higher_is_better": info.higher_is_better, **area, "region": region, "parent": above,
                     "group": grp.value if grp is not None else np.nan, "comparator": against,
                     "worst": spread.worst, "q25": spread.q25, "q75": spread.q75, "best": spread.best,
                     "areas": spread.n, "significance": sig})
    frame = pd.DataFrame(rows)
    frame.attrs.update(level=level, parent=parent, comparator=comparator, group=tuple(group))
    return frame
