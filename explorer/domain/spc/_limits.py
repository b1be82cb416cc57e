"""XmR limits: the mean, moving ranges and natural process limits of each segment of a series.

NHS England's "Making Data Count" (MDC) uses the XmR (individuals) chart: the centre line is the
mean, the natural process limits are mean +/- 2.66 x the mean moving range (2.66 = 3 / d2, d2 = 1.128
for ranges of two points, so the limits sit at 3 sigma), and a point in the outer third (beyond
2/3 of the way to a limit, 2 sigma) is "close to a limit". Moving ranges above 3.267 x the mean
moving range (the upper range limit, D4 = 3.267) are screened out and the mean recalculated, as
MDC's tools and NHSRplotthedots (``screen_outliers``) do, so one freak month does not widen the
limits of the whole series (unless screening would leave no variation at all).

A series is cut into segments at rebase points; each segment gets its own limits, computed from
its first ``baseline`` values (all of them if not given). Missing values (a suppressed month) take
no part: the moving range joins the values either side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

LIMIT_FACTOR = 2.66
"""Natural process limits: mean +/- 2.66 x mean moving range (3 sigma, sigma = mean MR / 1.128)."""
CLOSE_FACTOR = LIMIT_FACTOR * 2 / 3
"""The outer third starts here: mean +/- 1.773 x mean moving range (2 sigma)."""
SCREEN_FACTOR = 3.267
"""Upper range limit: moving ranges above 3.267 x their mean are left out of the mean moving range."""


@dataclass(frozen=True)
class Limits:
    """Per point: the segment it belongs to, and that segment's mean, limits and outer-third lines."""

    segment: np.ndarray
    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    close_lower: np.ndarray
    close_upper: np.ndarray
    mean_moving_range: np.ndarray


def segment_starts(n: int, rebase: Sequence[int] = ()) -> list[int]:
    """Start positions of the segments: 0 and each rebase position (sorted, inside the series)."""
    starts = sorted({0, *(int(i) for i in rebase)})
    bad = [i for i in starts if not 0 <= i < max(n, 1)]
    if bad:
        raise ValueError(f"rebase position {bad[0]} is outside the series of {n} points")
    return starts


def mean_moving_range(values: np.ndarray, *, screen_outliers: bool = True) -> float:
    """Mean of the absolute differences of consecutive (non-missing) values, screened for outliers."""
    finite = values[np.isfinite(values)]
    if len(finite) < 2:
        return float("nan")
    ranges = np.abs(np.diff(finite))
    amr = float(ranges.mean())
    if screen_outliers:
        kept = ranges[ranges < SCREEN_FACTOR * amr]
        # a series flat but for one step (common once counts are rounded to 5) would screen out its
        # only range and get limits of zero width: keep the unscreened mean there
        amr = float(kept.mean()) if len(kept) and kept.mean() > 0 else amr
    return amr


def xmr_limits(values: Sequence[float], *, baseline: int | None = None, rebase: Sequence[int] = (),
               screen_outliers: bool = True) -> Limits:
    """The XmR centre line and limits for every point; each segment from its first ``baseline`` values."""
    y = np.asarray(values, dtype=float)
    n = len(y)
    if baseline is not None and baseline < 2:
        raise ValueError("a baseline needs at least 2 points")
    starts = segment_starts(n, rebase)
    out = {k: np.full(n, np.nan) for k in ("mean", "lower", "upper", "close_lower", "close_upper", "mr")}
    segment = np.zeros(n, dtype=int)
    for k, (start, stop) in enumerate(zip(starts, [*starts[1:], n], strict=True)):
        segment[start:stop] = k
        part = y[start:stop]
        fixed = part[:baseline] if baseline is not None else part
        fixed = fixed[np.isfinite(fixed)]
        if len(fixed) < 2:
            continue  # too few values for limits: the segment is left without them
        mean = float(fixed.mean())
        amr = mean_moving_range(fixed, screen_outliers=screen_outliers)
        span = slice(start, stop)
        out["mean"][span], out["mr"][span] = mean, amr
        out["lower"][span], out["upper"][span] = mean - LIMIT_FACTOR * amr, mean + LIMIT_FACTOR * amr
        out["close_lower"][span] = mean - CLOSE_FACTOR * amr
        out["close_upper"][span] = mean + CLOSE_FACTOR * amr
    return Limits(segment, out["mean"], out["lower"], out["upper"], out["close_lower"], out["close_upper"],
                  out["mr"])
