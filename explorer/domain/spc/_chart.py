"""One XmR chart: limits, the rules fired at each point, the point types and the two MDC icons.

Point types (and the series' variation icon, which is the type of its latest point, as MDC's
summary icons and NHSRplotthedots show): common cause, or special cause improving / concerning by
the metric's polarity (``higher_is_better`` True or False) or, for a metric with no good direction
(None), "neither", each high or low. The assurance icon compares a target with the latest segment's
limits: outside them on the good side the process will consistently pass, on the bad side
consistently fail, inside it will hit and miss; none without a target or a polarity.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from explorer.domain.spc._limits import xmr_limits
from explorer.domain.spc._rules import RULES, SHIFT_POINTS, TREND_POINTS, detect

COMMON_CAUSE = "common_cause"
POINT_TYPES: tuple[str, ...] = (COMMON_CAUSE, "improving_high", "improving_low", "concerning_high",
                                "concerning_low", "neither_high", "neither_low")
VARIATION_LABELS = {
    COMMON_CAUSE: "Common cause variation",
    "improving_high": "Special cause variation: improving (higher)",
    "improving_low": "Special cause variation: improving (lower)",
    "concerning_high": "Special cause variation: concerning (higher)",
    "concerning_low": "Special cause variation: concerning (lower)",
    "neither_high": "Special cause variation: higher (neither improving nor concerning)",
    "neither_low": "Special cause variation: lower (neither improving nor concerning)",
}
ASSURANCE_TYPES: tuple[str, ...] = ("consistently_pass", "hit_and_miss", "consistently_fail")
ASSURANCE_LABELS = {"consistently_pass": "Consistently passing the target (target outside the limits, good side)",
                    "hit_and_miss": "Hit and miss: the target lies within the process limits",
                    "consistently_fail": "Consistently failing the target (target outside the limits, bad side)"}
COLUMNS = ("value", "segment", "mean", "lower_limit", "upper_limit", "special_cause", "point_type")


@dataclass(frozen=True)
class SpcChart:
    """An XmR chart: ``table`` (one row per point, ``COLUMNS``), the variation icon (a POINT_TYPES
    name, or None without a value) and the assurance icon (an ASSURANCE_TYPES name, or None)."""

    table: pd.DataFrame
    variation: str | None
    assurance: str | None


def point_type(direction: int, higher_is_better: bool | None) -> str:
    """The type of a special-cause point signalling up (+1) or down (-1); common cause for 0."""
    if direction == 0:
        return COMMON_CAUSE
    side = "high" if direction > 0 else "low"
    if higher_is_better is None:
        return f"neither_{side}"
    good = (direction > 0) == higher_is_better
    return f"{'improving' if good else 'concerning'}_{side}"


def assurance(target: float | None, lower: float, upper: float, higher_is_better: bool | None) -> str | None:
    """MDC's assurance icon: where the target sits against the (latest) process limits."""
    if target is None or higher_is_better is None or not (math.isfinite(lower) and math.isfinite(upper)):
        return None
    if target > upper:
        return "consistently_fail" if higher_is_better else "consistently_pass"
    if target < lower:
        return "consistently_pass" if higher_is_better else "consistently_fail"
    return "hit_and_miss"


def xmr_chart(values: Sequence[float], *, higher_is_better: bool | None, target: float | None = None,
              baseline: int | None = None, rebase: Sequence[int] = (), screen_outliers: bool = True,
              shift_points: int = SHIFT_POINTS, trend_points: int = TREND_POINTS) -> SpcChart:
    """The XmR chart of ``values`` (in time order; NaN for a month without a value).

    ``baseline``: limits from each segment's first N points; ``rebase``: positions where a new
    segment (new limits) starts. ``special_cause`` lists the rules fired at a point ("; " between
    them, in RULES order), empty for none.
    """
    y = np.asarray(values, dtype=float)
    limits = xmr_limits(y, baseline=baseline, rebase=rebase, screen_outliers=screen_outliers)
    fired = detect(y, limits, shift_points=shift_points, trend_points=trend_points)
    names, types = [], []
    for i in range(len(y)):
        hits = [rule for rule in RULES if fired[rule][i] != 0]
        names.append("; ".join(hits))
        types.append(point_type(fired[hits[0]][i] if hits else 0, higher_is_better))
    table = pd.DataFrame({"value": y, "segment": limits.segment, "mean": limits.mean,
                          "lower_limit": limits.lower, "upper_limit": limits.upper,
                          "special_cause": names, "point_type": types})
    valued = np.flatnonzero(np.isfinite(y) & np.isfinite(limits.mean))
    variation = types[valued[-1]] if len(valued) else None
    last = valued[-1] if len(valued) else None
    icon = None if last is None else assurance(target, float(limits.lower[last]), float(limits.upper[last]),
                                               higher_is_better)
    return SpcChart(table, variation, icon)
