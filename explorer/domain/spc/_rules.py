"""Special-cause rules as Making Data Count defines them, each flagging every point it covers.

Four rules, tested within each segment (limits recalculated at a rebase start a new test), on the
points that have a value (a suppressed month neither breaks nor extends a run):

* ``beyond_limits``: a point above the upper or below the lower process limit;
* ``two_of_three``: two of three consecutive points in the outer third (beyond 2 sigma) on the same
  side of the mean, or beyond the limit (both points flagged; the third is not);
* ``shift``: a run of ``SHIFT_POINTS`` (7) or more points all above or all below the mean (a point
  exactly on the mean breaks the run);
* ``trend``: a run of ``TREND_POINTS`` (7) or more points each higher (or each lower) than the one
  before: six consecutive rises or falls (an equal pair breaks it).

Run lengths follow NHSRplotthedots (``ptd_seven_point_one_side_mean``, ``ptd_seven_point_trend``),
which implements MDC; they are parameters because some MDC tools use 6 for shorter series.
NHSRplotthedots asks all three points of a two-of-three window to be on one side and ignores
points beyond the limits; here the two flagged points must be on one side and may be beyond the
limit (MDC: "close to or beyond a limit"), as the issue states the rule.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from explorer.domain.spc._limits import Limits

SHIFT_POINTS = 7
TREND_POINTS = 7
RULES: tuple[str, ...] = ("beyond_limits", "two_of_three", "shift", "trend")
"""Rule names, in the order a point reports them (the first names its colour when rules disagree)."""
RULE_LABELS = {"beyond_limits": "a point above the upper or below the lower process limit",
               "two_of_three": "two of three consecutive points in the outer third, on one side of the mean",
               "shift": f"{SHIFT_POINTS} or more points in a row on one side of the mean",
               "trend": f"{TREND_POINTS} or more points in a row each rising, or each falling"}
"""What each rule means, in words (the app's note, exports)."""


def _runs(signs: np.ndarray) -> Iterator[tuple[int, int, int]]:
    """(start, stop, sign) of each run of equal non-zero signs."""
    start = 0
    for i in range(1, len(signs) + 1):
        if i == len(signs) or signs[i] != signs[start]:
            if signs[start] != 0:
                yield start, i, int(signs[start])
            start = i


def _tolerance(lim: dict[str, np.ndarray]) -> np.ndarray:
    """Differences this small are rounding, not signal: a constant series' mean can differ from its
    values in the last bit, which must not read as seven points above the mean."""
    return 1e-9 * np.maximum(1.0, np.abs(lim["mean"]))


def _side(y: np.ndarray, line: np.ndarray, tol: np.ndarray) -> np.ndarray:
    """+1 above ``line``, -1 below, 0 on it (within ``tol``)."""
    return np.where(y > line + tol, 1, np.where(y < line - tol, -1, 0))


def _beyond(y: np.ndarray, lim: dict[str, np.ndarray]) -> np.ndarray:
    tol = _tolerance(lim)
    return np.where(y > lim["upper"] + tol, 1, np.where(y < lim["lower"] - tol, -1, 0))


def _two_of_three(y: np.ndarray, lim: dict[str, np.ndarray]) -> np.ndarray:
    tol = _tolerance(lim)
    near = np.where(y > lim["close_upper"] + tol, 1, np.where(y < lim["close_lower"] - tol, -1, 0))
    out = np.zeros(len(y), dtype=int)
    for i in range(max(len(y) - 2, 0)):
        window = near[i:i + 3]
        for side in (1, -1):
            if np.count_nonzero(window == side) >= 2:
                hits = i + np.flatnonzero(window == side)
                out[hits] = side
    return out


def _shift(y: np.ndarray, lim: dict[str, np.ndarray], points: int) -> np.ndarray:
    out = np.zeros(len(y), dtype=int)
    for start, stop, sign in _runs(_side(y, lim["mean"], _tolerance(lim))):
        if stop - start >= points:
            out[start:stop] = sign
    return out


def _trend(y: np.ndarray, lim: dict[str, np.ndarray], points: int) -> np.ndarray:
    out = np.zeros(len(y), dtype=int)
    steps = _side(y[1:], y[:-1], _tolerance(lim)[1:]) if len(y) > 1 else np.zeros(0, dtype=int)
    for start, stop, sign in _runs(steps):
        if stop - start + 1 >= points:  # k steps join k + 1 points
            out[start:stop + 1] = sign
    return out


def detect(values: np.ndarray, limits: Limits, *, shift_points: int = SHIFT_POINTS,
           trend_points: int = TREND_POINTS) -> dict[str, np.ndarray]:
    """Per rule, per point: +1 (signal upwards), -1 (downwards) or 0 (rule not fired at this point)."""
    y = np.asarray(values, dtype=float)
    n = len(y)
    fired = {rule: np.zeros(n, dtype=int) for rule in RULES}
    for k in np.unique(limits.segment):
        idx = np.flatnonzero((limits.segment == k) & np.isfinite(y) & np.isfinite(limits.mean))
        if len(idx) == 0:
            continue
        ys = y[idx]
        lim = {name: getattr(limits, name)[idx] for name in ("mean", "lower", "upper", "close_lower", "close_upper")}
        fired["beyond_limits"][idx] = _beyond(ys, lim)
        fired["two_of_three"][idx] = _two_of_three(ys, lim)
        fired["shift"][idx] = _shift(ys, lim, shift_points)
        fired["trend"][idx] = _trend(ys, lim, trend_points)
    return fired
