"""Funnel plots: control limits by inverting each statistic's own interval, and where areas fall."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from explorer.domain.stats._arrays import ArrayLike, _arr, _out
from explorer.domain.stats._compare import compare_to_benchmark
from explorer.domain.stats._intervals import (
    _BYAR_MIN_COUNT,
    _byar,
    _exact_poisson,
    rate_interval,
    wilson_interval,
    z_value,
)
from explorer.domain.stats._standardisation import indirect_standardised_ratio

_BISECT_STEPS = 200  # halvings; stops early once the bracket can shrink no further in float64


def _bisect_increasing(f: Any, target: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                       inside: Literal["below", "above"]) -> np.ndarray:
    """Vectorised bisection for an increasing ``f`` on [lo, hi], elementwise.

    ``inside="below"``: returns the largest x found with f(x) <= target (hi assumed not).
    ``inside="above"``: returns the smallest x found with f(x) >= target (lo assumed not).
    The returned end is always on the ``inside`` side, so classifying a point by it agrees
    with evaluating ``f`` at the point, up to the width of the final bracket (float64 spacing).
    """
    a, b = lo.copy(), hi.copy()
    for _ in range(_BISECT_STEPS):
        mid = a + (b - a) / 2.0
        moving = (mid > a) & (mid < b)
        if not np.any(moving):
            break
        with np.errstate(invalid="ignore"):
            ok = f(mid) <= target if inside == "below" else f(mid) < target
        a = np.where(moving & ok, mid, a)
        b = np.where(moving & ~ok, mid, b)
    return a if inside == "below" else b


def _poisson_funnel_counts(mu: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Observed counts at which the project's Poisson interval (``byar_interval``) just touches ``mu``.

    lower count = inf{O : upper CI(O) >= mu}, upper count = sup{O : lower CI(O) <= mu}, with O
    treated as continuous. ``byar_interval`` switches from exact to Byar at O = 10 and the two are
    not equal there (at 95% the lower limit steps down from 4.7954 to 4.7875), so each branch is
    solved on its own and the one that decides integer counts is kept: the limits then classify
    every whole count exactly as its own interval does.
    """
    m = _BYAR_MIN_COUNT
    mu_ = np.where(mu >= 0, mu, np.nan)
    ten = np.full_like(mu_, float(m))
    zero = np.zeros_like(mu_)
    z = z_value(confidence)
    # far enough that even Byar's lower limit there is above mu (checked below)
    far = np.maximum(2.0 * mu_ + 10.0 * z * z + 20.0, 2.0 * m)
    byar_lo_10, byar_hi_10 = (float(v) for v in _byar(np.asarray(float(m)), confidence))
    def ex_lo(o: np.ndarray) -> np.ndarray:
        return _exact_poisson(o, confidence)[0]

    def ex_hi(o: np.ndarray) -> np.ndarray:
        return _exact_poisson(o, confidence)[1]

    def by_lo(o: np.ndarray) -> np.ndarray:
        return _byar(o, confidence)[0]

    def by_hi(o: np.ndarray) -> np.ndarray:
        return _byar(o, confidence)[1]

    if np.any(np.isfinite(mu_) & ~(by_lo(far) > mu_)):  # pragma: no cover - a bracketing bug
        raise AssertionError("funnel bracket too narrow")

    # lower count: where the upper limit reaches mu
    in_byar = byar_hi_10 < mu_  # every count from 10 up whose upper limit is < mu lies below the funnel
    lower_byar = _bisect_increasing(by_hi, mu_, ten, far, "above")
    lower_exact = _bisect_increasing(ex_hi, mu_, np.full_like(mu_, -0.0), ten, "above")
    lower = np.where(in_byar, lower_byar, lower_exact)
    lower = np.where(ex_hi(zero) >= mu_, 0.0, lower)  # a count of 0 still reaches mu
    # upper count: where the lower limit passes mu
    in_byar = byar_lo_10 <= mu_
    upper_byar = _bisect_increasing(by_lo, mu_, ten, far, "below")
    # below 10, and 10 itself is outside (Byar lower > mu): stay strictly under 10
    upper_exact = np.minimum(_bisect_increasing(ex_lo, mu_, zero, ten, "below"), np.nextafter(float(m), 0.0))
    upper = np.where(in_byar, upper_byar, upper_exact)
    bad = ~np.isfinite(mu_)
    return np.where(bad, np.nan, lower), np.where(bad, np.nan, upper)


def funnel_limits(
    comparator: ArrayLike,
    denominators: ArrayLike,
    kind: Literal["proportion", "rate", "ratio"],
    confidence: float = 0.95,
    multiplier: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Funnel-plot control limits around ``comparator`` at each denominator (OHID method).

    The limits are the test of an area against the comparator turned round: at each
    denominator they are the values an area's own statistic can take before its own
    ``confidence`` interval, computed as this module computes it for that statistic, stops
    including the comparator. So an area lies outside the 95% (99.8%) funnel exactly when its
    own 95% (99.8%) CI excludes the comparator, and the funnel, bars and map agree (touching
    counts as inside, as in ``compare_to_benchmark``). This is the construction of the OHID
    Technical Guide "Funnel plots" and of PHEindicatormethods ``calculate_funnel_limits``
    (Wilson for proportions, Poisson for ratios and rates); it is not the old "CI of the
    comparator" (a Wilson interval around p0 x n is narrower on the side towards 0.5 and
    wrongly placed by up to ~11 percentage points at n = 10-50).

    Output is on the scale of ``comparator`` (``multiplier`` e.g. 100 for percentages,
    100,000 for rates per 100,000). NaN where denominator <= 0 or the comparator is invalid.

    * "proportion" (comparator p0 = comparator / multiplier, denominator n): the Wilson
      interval is {p : (x/n - p)^2 <= z^2 p (1 - p) / n}, so p0 is inside an area's Wilson
      interval iff |x/n - p0| <= z sqrt(p0 (1 - p0) / n). The limits are therefore, in closed
      form, p0 -/+ z sqrt(p0 (1 - p0) / n), capped at 0 and 1 (x/n cannot leave [0, 1]: at
      small n the upper 95% limit for p0 = 0.8 is 100%, i.e. no area can be significantly high).
      These are OHID's published proportion funnels (PHEindicatormethods test data, baseline
      80.642448%: n = 10 -> 56.154344 / 100; n = 50 -> 69.691035 / 91.593861).
    * "rate" (count / denominator x multiplier) and "ratio" (observed / expected; denominators
      are expected counts, comparator normally 1, or 100 with multiplier 100): with
      mu = comparator x denominator / multiplier, the lower limit is the observed count O
      whose upper confidence limit equals mu and the upper limit the O whose lower limit
      equals mu (O continuous, solved numerically), each x multiplier / denominator. The
      Poisson interval inverted is ``byar_interval`` - exact (Garwood, chi-square) below 10
      observed events, Byar from 10 - i.e. the interval the bars and map use. Below 10 events
      this is exactly OHID's exact-Poisson funnel (PHEindicatormethods ratio test data: the 95%
      lower limit for 1 event is reached at expected 5.5716446, ratio 0.17948); from 10 events
      it differs from an exact-Poisson funnel only by Byar's approximation error (up to 0.85%
      just above 10 events at 99.8%, 0.3% at 20, 1e-5 by 700), and whole counts are placed
      exactly as their own (Byar) interval places them.

    Use 0.95 and 0.998 for the usual two funnels.
    Sources: OHID (2018/2023) Fingertips Technical Guide "Funnel plots" (control limits
    from the Wilson score / exact Poisson confidence intervals); Spiegelhalter (2005) Stat Med
    24:1185-1202; Wilson (1927) JASA 22:209-212; Garwood (1936) Biometrika 28:437-442;
    Breslow & Day (1987) (Byar).
    """
    c = _arr(comparator)
    d = _arr(denominators)
    c, d = np.broadcast_arrays(c, d)
    valid = d > 0
    d_ = np.where(valid, d, np.nan)
    if kind == "proportion":
        z = z_value(confidence)
        p0 = c / multiplier
        p0 = np.where((p0 >= 0) & (p0 <= 1), p0, np.nan)
        with np.errstate(invalid="ignore"):
            half = z * np.sqrt(p0 * (1.0 - p0) / d_)
        lo = np.clip(p0 - half, 0.0, 1.0)
        hi = np.clip(p0 + half, 0.0, 1.0)
        return _out(lo * multiplier), _out(hi * multiplier)
    if kind in ("rate", "ratio"):
        mu = np.asarray(c * d_ / multiplier, dtype=float)
        lo, hi = _poisson_funnel_counts(mu, confidence)
        scale = multiplier / d_
        return _out(lo * scale), _out(hi * scale)
    raise ValueError(f"kind must be 'proportion', 'rate' or 'ratio', got {kind!r}")


def statistic_interval(
    numerator: ArrayLike,
    denominator: ArrayLike,
    kind: Literal["proportion", "rate", "ratio"],
    confidence: float = 0.95,
    multiplier: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(value, lower, upper) of a crude proportion, rate or ratio on the ``multiplier`` scale.

    The intervals ``funnel_limits`` inverts: Wilson for "proportion" (numerator / denominator),
    ``rate_interval`` for "rate", ``indirect_standardised_ratio`` for "ratio" (denominator =
    expected count). Same conventions as those functions (NaN where undefined).
    """
    if kind == "proportion":
        o, n = _arr(numerator), _arr(denominator)
        lo, hi = wilson_interval(o, n, confidence)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where((n > 0) & (o >= 0) & (o <= n), o / np.where(n > 0, n, np.nan), np.nan)
        return _out(value * multiplier), _out(lo * multiplier), _out(hi * multiplier)
    if kind == "rate":
        return rate_interval(numerator, denominator, multiplier, confidence)
    if kind == "ratio":
        value, lo, hi = indirect_standardised_ratio(numerator, denominator, confidence)
        return _out(value * multiplier), _out(lo * multiplier), _out(hi * multiplier)
    raise ValueError(f"kind must be 'proportion', 'rate' or 'ratio', got {kind!r}")


#: Labels of ``funnel_position``, innermost first.
FUNNEL_POSITIONS: tuple[str, ...] = ("within 95%", "between 95% and 99.8%", "outside 99.8%")


def funnel_position(
    numerator: ArrayLike,
    denominator: ArrayLike,
    comparator: ArrayLike,
    kind: Literal["proportion", "rate", "ratio"],
    multiplier: float = 1.0,
) -> np.ndarray:
    """Where each area falls on the funnel, from its own 95% and 99.8% CIs.

    "outside 99.8%" if its 99.8% CI excludes ``comparator``, "between 95% and 99.8%" if
    only its 95% CI does, "within 95%" otherwise; "not compared" where the CI or comparator
    is undefined. Exclusion is ``compare_to_benchmark`` not "similar" (touching is inside), so
    at 95% this is the bars' and map's significance, and by construction of ``funnel_limits``
    it is also where the point sits relative to the drawn limits.
    Source: OHID Fingertips Technical Guide "Funnel plots".
    """
    out = None
    for conf, label in ((0.998, FUNNEL_POSITIONS[2]), (0.95, FUNNEL_POSITIONS[1])):
        _, lo, hi = statistic_interval(numerator, denominator, kind, conf, multiplier)
        sig = compare_to_benchmark(lo, hi, comparator, None)
        if out is None:
            out = np.where(sig == "not compared", "not compared",
                           np.where(sig == "similar", FUNNEL_POSITIONS[0], label))
        else:
            out = np.where((out == FUNNEL_POSITIONS[0]) & ((sig == "higher") | (sig == "lower")), label, out)
    return np.asarray(out).astype(str)
