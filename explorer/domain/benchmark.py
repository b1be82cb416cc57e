"""Fingertips-style benchmarking of areas: the range of areas at a level, the significance of an
area against a comparator, and the aggregate of a comparator group from released counts.

Used by the spine chart, the overview ("tartan rug") and the compare-areas bars, so the three
views, the funnel and the map classify an area the same way: its own 95% CI against the
comparator, :func:`explorer.domain.stats.compare_to_benchmark` (touching counts as similar).
Pure numpy/pandas: every input has already been through the role's disclosure policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from explorer.domain import stats
from explorer.domain.metrics import CONFIDENCE, MetricInfo

__all__ = [
    "RANGE_QUANTILES",
    "SIGNIFICANCE_ORDER",
    "AreaRange",
    "GroupValue",
    "area_range",
    "comparable",
    "group_value",
    "significance",
]

#: The quartiles Fingertips draws as the spine's darker band (numpy's default "linear" method,
#: Hyndman & Fan type 7, the R and Excel PERCENTILE.INC default).
RANGE_QUANTILES = (0.25, 0.75)
#: Significance labels in the order a legend lists them (compare_to_benchmark's vocabulary).
SIGNIFICANCE_ORDER = ("better", "similar", "worse", "higher", "lower", "not compared")


@dataclass(frozen=True)
class AreaRange:
    """The spread of the areas at one level: worst, 25th and 75th percentiles, best, and how many
    areas had a value. With no polarity, worst/best are the lowest/highest (as Fingertips)."""

    worst: float
    q25: float
    q75: float
    best: float
    n: int


def area_range(values: Sequence[float] | np.ndarray, higher_is_better: bool | None) -> AreaRange:
    """Worst, quartiles and best of the areas' values (NaN - suppressed or missing - left out).

    ``higher_is_better`` False flips worst and best (the lowest value is then the best); None (no
    polarity) gives lowest as ``worst`` and highest as ``best``. The quartiles do not depend on
    polarity. All NaN when no area has a value.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return AreaRange(np.nan, np.nan, np.nan, np.nan, 0)
    low, high = float(v.min()), float(v.max())
    q25, q75 = (float(q) for q in np.quantile(v, RANGE_QUANTILES))
    if higher_is_better is False:
        return AreaRange(worst=high, q25=q25, q75=q75, best=low, n=int(v.size))
    return AreaRange(worst=low, q25=q25, q75=q75, best=high, n=int(v.size))


def comparable(info: MetricInfo) -> bool:
    """Whether an area's value can be judged against a comparator's: it needs a CI, and a count
    (people with a plan, high-risk people) is a size, not a rate - an area's count is not
    "worse" than the region's total."""
    return info.has_ci and info.kind != "count"


def significance(lower: Sequence[float] | np.ndarray | float, upper: Sequence[float] | np.ndarray | float,
                 comparator: float, info: MetricInfo) -> np.ndarray:
    """Each area's 95% CI against ``comparator`` with the metric's polarity: better / similar /
    worse, higher / similar / lower with no polarity, "not compared" without a CI or comparator
    and for counts (:func:`comparable`).

    The one definition shared with the funnel (``stats.funnel_position`` at 95%) and the map.
    """
    lo = np.asarray(lower, dtype=float)
    hi = np.asarray(upper, dtype=float)
    if not comparable(info):
        return np.full(np.shape(lo), "not compared").astype(str)
    return stats.compare_to_benchmark(lo, hi, comparator, info.higher_is_better)


@dataclass(frozen=True)
class GroupValue:
    """A comparator group's aggregate: value and 95% CI from the summed released counts."""

    value: float
    lower: float
    upper: float
    numerator: float
    denominator: float
    areas: int
    missing: int  # members with no released counts (suppressed or no data): value NaN if any


_KINDS = {"proportion": "proportion", "rate": "rate", "ratio": "ratio"}


def group_value(info: MetricInfo, numerators: Sequence[float] | np.ndarray,
                denominators: Sequence[float] | np.ndarray) -> GroupValue:
    """The aggregate of a group of areas from their *released* (rounded, suppression-applied)
    numerators and denominators, recomputed with the metric's own interval.

    Crude proportions (Wilson), rates (Byar) and indirectly standardised ratios (observed / summed
    expected, Byar) aggregate exactly from counts; a count metric is the sum with Byar limits.
    Statistics that need more than two counts (the DSR, completeness, expected admissions) and
    metrics without a CI cannot be rebuilt from released counts: NaN. A member with a suppressed or
    missing count would make the total wrong, so the value is then NaN too (``missing`` says how
    many); nothing is estimated.
    """
    num = np.asarray(numerators, dtype=float)
    den = np.asarray(denominators, dtype=float)
    usable = np.isfinite(num) & (np.isfinite(den) if info.kind != "count" else True)
    missing = int((~usable).sum())
    total_num = float(num[usable].sum())
    total_den = float(den[usable & np.isfinite(den)].sum()) if den.size else np.nan
    nan = GroupValue(np.nan, np.nan, np.nan, total_num, total_den, int(num.size), missing)
    if missing or num.size == 0 or not info.has_ci:
        return nan
    kind = _KINDS.get(info.kind)
    if info.kind == "count" and info.name == "plans":
        lo, hi = stats.byar_interval(total_num, CONFIDENCE)
        return GroupValue(total_num, float(lo), float(hi), total_num, total_den, int(num.size), 0)
    if kind is None or info.name == "coverage_dsr":
        return nan
    value, lo, hi = stats.statistic_interval(total_num, total_den, kind, CONFIDENCE, info.multiplier)
    return GroupValue(float(value), float(lo), float(hi), total_num, total_den, int(num.size), 0)
