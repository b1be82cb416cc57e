"""Public-health statistics following OHID (Fingertips) conventions.

Implemented from the published formulas (sources cited per function), not from
OHID's PHEindicatormethods or DHSC's PHStatsMethods (GPL-3).

Conventions shared by every function here:

* Inputs may be Python scalars, sequences, numpy arrays or pandas Series; they are
  broadcast together with numpy rules (pandas index labels are *not* aligned).
* Numeric outputs are always ``np.ndarray`` of float64 with the broadcast shape of
  the inputs (0-d for scalar inputs, so ``float(x)`` works).
* Where a value is undefined (denominator 0, negative or missing inputs) the
  result is NaN; these functions do not raise for bad data, only for bad
  arguments (e.g. an unknown ``kind``).
* ``confidence`` is two-sided, e.g. 0.95 or 0.998.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from scipy import stats as _sps

__all__ = [
    "ESP2013_BANDS",
    "ESP2013_WEIGHTS",
    "TREND_CHI2_THRESHOLD",
    "z_value",
    "wilson_interval",
    "byar_interval",
    "rate_interval",
    "directly_standardised_rate",
    "indirect_standardised_ratio",
    "expected_counts",
    "slope_index_of_inequality",
    "funnel_limits",
    "statistic_interval",
    "funnel_position",
    "FUNNEL_POSITIONS",
    "recent_trend",
    "compare_to_benchmark",
]

ArrayLike = Any  # scalar, sequence, np.ndarray or pandas Series

#: 2013 European Standard Population age bands (Eurostat 2013), youngest first.
ESP2013_BANDS: tuple[str, ...] = tuple(f"{a}-{a + 4}" for a in range(0, 90, 5)) + ("90+",)
#: ESP 2013 weights for ``ESP2013_BANDS`` (sum 100,000).
ESP2013_WEIGHTS: tuple[int, ...] = (
    5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000,
    7000, 6500, 6000, 5500, 5000, 4000, 2500, 1500, 1000,
)

#: Chi-square (1 df) critical value at 99.8% used by Fingertips recent trends.
TREND_CHI2_THRESHOLD: float = 9.5495

_BYAR_MIN_COUNT = 10  # OHID: Byar for counts >= 10, exact Poisson below
_DSR_MIN_COUNT = 10  # OHID does not publish DSRs on fewer than 10 events


def _arr(x: ArrayLike) -> np.ndarray:
    """Coerce to a float64 array (pandas Series/DataFrame included)."""
    return np.asarray(x, dtype=float)


def _out(x: ArrayLike) -> np.ndarray:
    """Normalise a result to an ndarray of float64 (0-d for scalar inputs)."""
    return np.asarray(x, dtype=float)


def z_value(confidence: float) -> float:
    """Two-sided standard normal quantile, e.g. 0.95 -> 1.959964, 0.998 -> 3.090232.

    Exact quantile (not 1.96) so results match OHID published figures.
    """
    if not 0.0 < float(confidence) < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    return float(_sps.norm.ppf(1.0 - (1.0 - float(confidence)) / 2.0))


def wilson_interval(
    numerator: ArrayLike, denominator: ArrayLike, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion, on the 0-1 scale.

    Wilson is the Fingertips default because it stays inside [0, 1] and behaves at
    small counts. NaN where denominator <= 0, numerator < 0 or numerator > denominator.
    Source: Wilson (1927) JASA 22:209-212; OHID Fingertips technical guidance.
    """
    o = _arr(numerator)
    n = _arr(denominator)
    z = z_value(confidence)
    valid = (n > 0) & (o >= 0) & (o <= n)
    with np.errstate(divide="ignore", invalid="ignore"):
        o_ = np.where(valid, o, np.nan)
        n_ = np.where(valid, n, np.nan)
        centre = 2.0 * o_ + z * z
        half = z * np.sqrt(z * z + 4.0 * o_ * (1.0 - o_ / n_))
        denom = 2.0 * (n_ + z * z)
        lower = np.clip((centre - half) / denom, 0.0, 1.0)
        upper = np.clip((centre + half) / denom, 0.0, 1.0)
    return _out(lower), _out(upper)


def _exact_poisson(count: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) Poisson limits via chi-square quantiles; count may be non-integer."""
    alpha = 1.0 - confidence
    with np.errstate(invalid="ignore"):
        lower = np.where(count > 0, _sps.chi2.ppf(alpha / 2.0, 2.0 * np.where(count > 0, count, 1.0)) / 2.0, 0.0)
        upper = _sps.chi2.ppf(1.0 - alpha / 2.0, 2.0 * count + 2.0) / 2.0
    bad = ~(count >= 0)
    return _out(np.where(bad, np.nan, lower)), _out(np.where(bad, np.nan, upper))


def byar_interval(count: ArrayLike, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Confidence limits for a Poisson count (on the count scale).

    Byar's approximation for count >= 10 and exact Poisson (chi-square quantiles)
    below 10, as OHID does; count 0 gives lower 0. NaN for negative/missing counts.
    Source: Breslow & Day (1987) Statistical Methods in Cancer Research II;
    Garwood (1936) Biometrika 28:437-442; OHID Fingertips technical guidance.
    """
    o = _arr(count)
    byar_lo, byar_hi = _byar(o, confidence)
    ex_lo, ex_hi = _exact_poisson(o, confidence)
    use_byar = o >= _BYAR_MIN_COUNT
    return _out(np.where(use_byar, byar_lo, ex_lo)), _out(np.where(use_byar, byar_hi, ex_hi))


def _byar(o: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Byar's approximate Poisson limits for count o > 0 (NaN for o <= 0)."""
    z = z_value(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        ob = np.where(o > 0, o, np.nan)
        lower = ob * (1.0 - 1.0 / (9.0 * ob) - z / (3.0 * np.sqrt(ob))) ** 3
        o1 = ob + 1.0
        upper = o1 * (1.0 - 1.0 / (9.0 * o1) + z / (3.0 * np.sqrt(o1))) ** 3
    return lower, upper


def rate_interval(
    count: ArrayLike,
    denominator: ArrayLike,
    multiplier: float = 1.0,
    confidence: float = 0.95,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Crude rate ``count / denominator * multiplier`` with Byar/exact Poisson limits.

    Returns (value, lower, upper); NaN where denominator <= 0.
    Source: OHID Fingertips technical guidance (crude rates).
    """
    o = _arr(count)
    n = _arr(denominator)
    lo, hi = byar_interval(o, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(n > 0, multiplier / np.where(n > 0, n, np.nan), np.nan)
        value = np.where(o >= 0, o * scale, np.nan)
    return _out(value), _out(lo * scale), _out(hi * scale)


def directly_standardised_rate(
    counts: ArrayLike,
    populations: ArrayLike,
    standard_weights: ArrayLike = ESP2013_WEIGHTS,
    multiplier: float = 100_000,
    confidence: float = 0.95,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Directly standardised rate with Dobson confidence limits (Byar for the total count).

    ``counts`` and ``populations`` run over age bands on the last axis: 1-D for one
    area (0-d outputs) or 2-D areas x bands (1-D outputs). Weights default to ESP 2013.
    All three outputs are NaN when the total count is < 10 (OHID does not publish
    those) or any band has population <= 0 or missing data.
    Source: Dobson et al. (1991) Stat Med 10:457-462; Eurostat (2013) ESP;
    OHID Fingertips technical guidance (DSRs).
    """
    o = _arr(counts)
    n = _arr(populations)
    w = _arr(standard_weights)
    if o.shape[-1:] != w.shape or n.shape[-1:] != w.shape:
        raise ValueError("counts, populations and standard_weights must share the band axis (last)")
    wn = w / w.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        band_ok = np.all((n > 0) & (o >= 0), axis=-1)
        n_ = np.where(n > 0, n, np.nan)
        dsr = np.sum(wn * o / n_, axis=-1)
        var_dsr = np.sum(wn**2 * o / n_**2, axis=-1)
        total = np.sum(o, axis=-1)
        o_lo, o_hi = byar_interval(total, confidence)
        factor = np.sqrt(var_dsr / total)  # sqrt(var(DSR) / var(O)), var(O) = O
        lower = dsr + factor * (o_lo - total)
        upper = dsr + factor * (o_hi - total)
    ok = band_ok & (total >= _DSR_MIN_COUNT)
    out = [_out(np.where(ok, v * multiplier, np.nan)) for v in (dsr, lower, upper)]
    return out[0], out[1], out[2]


def indirect_standardised_ratio(
    observed: ArrayLike, expected: ArrayLike, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indirectly standardised ratio observed/expected with Byar limits on observed.

    Returns (ratio, lower, upper) as ratios (1.0 = as expected; multiply by 100 for
    SMR-style figures). NaN where expected <= 0.
    Source: Breslow & Day (1987); OHID Fingertips technical guidance (ISRs).
    """
    o = _arr(observed)
    e = _arr(expected)
    lo, hi = byar_interval(o, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(e > 0, 1.0 / np.where(e > 0, e, np.nan), np.nan)
        ratio = np.where(o >= 0, o * inv, np.nan)
    return _out(ratio), _out(lo * inv), _out(hi * inv)


def expected_counts(stratum_populations: ArrayLike, reference_stratum_rates: ArrayLike) -> np.ndarray:
    """Expected events for indirect standardisation: sum over strata of population x reference rate.

    ``stratum_populations`` has strata on the last axis (1-D for one area, 2-D
    areas x strata, or a DataFrame with one column per stratum);
    ``reference_stratum_rates`` is 1-D per stratum, as events per person (not per
    100,000). If a DataFrame and a Series are given, the rates are aligned to the
    columns by label (a stratum missing from the rates gives NaN). Returns an array
    with the strata axis summed away. NaN inputs propagate.
    Source: Breslow & Day (1987) ch. 2 (indirect standardisation).
    """
    rates = reference_stratum_rates
    if hasattr(stratum_populations, "columns") and hasattr(rates, "reindex"):
        rates = rates.reindex(stratum_populations.columns)
    p = _arr(stratum_populations)
    r = _arr(rates)
    if p.shape[-1:] != r.shape:
        raise ValueError("reference_stratum_rates must have one value per stratum (last axis)")
    return _out(np.sum(p * r, axis=-1))


# --------------------------------------------------------------------------- SII / RII

_TRANSFORMS = {
    None: (lambda v: v, lambda v: v),
    "log": (np.log, np.exp),
    "logit": (lambda v: np.log(v / (1.0 - v)), lambda v: 1.0 / (1.0 + np.exp(-v))),
}


def _fitted_ends(y: np.ndarray, x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares of y (..., q) on x (q,) with weights w (q, sum 1); fitted at x=0, x=1."""
    xbar = np.sum(w * x)
    ybar = np.sum(w * y, axis=-1)
    sxx = np.sum(w * (x - xbar) ** 2)
    slope = np.sum(w * (x - xbar) * (y - ybar[..., None]), axis=-1) / sxx
    intercept = ybar - slope * xbar
    return intercept, intercept + slope


def slope_index_of_inequality(
    values: ArrayLike,
    populations: ArrayLike,
    lower: ArrayLike | None = None,
    upper: ArrayLike | None = None,
    transform: Literal["log", "logit"] | None = None,
    confidence: float = 0.95,
    n_simulations: int = 10_000,
    seed: int | None = 0,
    *,
    limits_confidence: float = 0.95,
) -> dict[str, float]:
    """Slope and relative index of inequality across deprivation quantiles.

    Quantiles must be ordered MOST deprived first, least deprived last. Each
    quantile's x is the midpoint of its cumulative population share (0..1), so
    x=0 is the most deprived end and x=1 the least deprived end; values are fitted
    by weighted least squares (weights = population share).

    Sign convention (OHID): ``sii = fitted(x=1) - fitted(x=0)``, i.e. least deprived
    minus most deprived. A negative SII means the value is higher in the most
    deprived areas (typical for mortality or admissions); a positive SII means it
    is higher in the least deprived (e.g. care-plan coverage favouring affluent
    areas). ``rii = fitted(1) / fitted(0)``.

    ``transform`` "log" (rates) or "logit" (proportions on the 0-1 scale) fits on
    the transformed scale; SII and RII are then taken from the back-transformed
    fitted end values. CIs are by simulation: each quantile's value is drawn from a
    normal with se = (upper - lower) / (2 z) (on the transformed scale if
    transforming), where z matches ``limits_confidence`` (the level of the supplied
    limits, OHID uses 95%), the model refitted, and the ``confidence`` percentiles
    of the simulated SII/RII returned. Without lower/upper the CI keys are NaN.
    Returns a dict of floats: sii, sii_lower, sii_upper, rii, rii_lower, rii_upper;
    all NaN if any value/population is missing, a population <= 0, fewer than 2
    quantiles, or a value outside the transform's domain.
    Source: Low & Low (2004) JECH 58:1-2; Pamuk (1985) Pop Studies 39:17-31;
    OHID Fingertips technical guidance (SII).
    """
    if transform not in _TRANSFORMS:
        raise ValueError(f"transform must be None, 'log' or 'logit', got {transform!r}")
    if (lower is None) != (upper is None):
        raise ValueError("give both lower and upper, or neither")
    v = _arr(values).ravel()
    pop = _arr(populations).ravel()
    if v.shape != pop.shape:
        raise ValueError("values and populations must have the same length")
    keys = ("sii", "sii_lower", "sii_upper", "rii", "rii_lower", "rii_upper")
    out = dict.fromkeys(keys, float("nan"))
    if v.size < 2 or not (np.all(np.isfinite(v)) and np.all(np.isfinite(pop)) and np.all(pop > 0)):
        return out

    fwd, back = _TRANSFORMS[transform]
    with np.errstate(divide="ignore", invalid="ignore"):
        ty = fwd(v)
    if not np.all(np.isfinite(ty)):
        return out

    share = pop / pop.sum()
    x = np.cumsum(share) - share / 2.0

    def _sii_rii(yt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        f0, f1 = _fitted_ends(yt, x, share)
        f0, f1 = back(f0), back(f1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return f1 - f0, f1 / f0

    sii, rii = _sii_rii(ty)
    out["sii"], out["rii"] = float(sii), float(rii)

    if lower is not None:
        lo = _arr(lower).ravel()
        hi = _arr(upper).ravel()
        if lo.shape != v.shape or hi.shape != v.shape:
            raise ValueError("lower and upper must have one value per quantile")
        with np.errstate(divide="ignore", invalid="ignore"):
            se = (fwd(hi) - fwd(lo)) / (2.0 * z_value(limits_confidence))
        if np.all(np.isfinite(se)) and np.all(se >= 0):
            rng = np.random.default_rng(seed)
            sims = ty + se * rng.standard_normal((int(n_simulations), v.size))
            s_sii, s_rii = _sii_rii(sims)
            alpha = 1.0 - confidence
            qs = [alpha / 2.0, 1.0 - alpha / 2.0]
            out["sii_lower"], out["sii_upper"] = (float(q) for q in np.quantile(s_sii, qs))
            if np.all(np.isfinite(s_rii)):
                out["rii_lower"], out["rii_upper"] = (float(q) for q in np.quantile(s_rii, qs))
    return out


# --------------------------------------------------------------------------- funnels


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


# --------------------------------------------------------------------------- trend


def recent_trend(numerators: ArrayLike, denominators: ArrayLike) -> dict[str, Any]:
    """Fingertips recent trend: chi-square test for linear trend over the last 5 points.

    Points must be in time order (oldest first); only the last 5 are used, scored
    1..5. Statistic (Armitage, no N/(N-1) correction):
    (sum r_i x_i - R xbar)^2 / (pbar (1 - pbar) (sum n_i x_i^2 - N xbar^2)),
    xbar = sum n_i x_i / N. Significant when > 9.5495 (chi-square 1 df, 99.8%);
    direction is that of the proportion over time. "cannot be calculated" (statistic
    NaN) with fewer than 5 points, a missing/invalid point in the last 5, or an
    overall proportion of 0 or 1.
    Returns {"statistic": float, "significant": bool, "direction": str}.
    Source: Armitage (1955) Biometrics 11:375-386; Cochran (1954);
    OHID Fingertips recent trends methodology.
    """
    r = _arr(numerators).ravel()
    n = _arr(denominators).ravel()
    if r.shape != n.shape:
        raise ValueError("numerators and denominators must have the same length")
    cannot = {"statistic": float("nan"), "significant": False, "direction": "cannot be calculated"}
    if r.size < 5:
        return cannot
    r, n = r[-5:], n[-5:]
    if not (np.all(np.isfinite(r)) and np.all(np.isfinite(n)) and np.all(n > 0)
            and np.all(r >= 0) and np.all(r <= n)):
        return cannot
    x = np.arange(1.0, 6.0)
    big_n, big_r = n.sum(), r.sum()
    pbar = big_r / big_n
    xbar = np.sum(n * x) / big_n
    sxx = np.sum(n * x * x) - big_n * xbar**2
    if not (0.0 < pbar < 1.0) or sxx <= 0:
        return cannot
    score = np.sum(r * x) - big_r * xbar
    statistic = float(score**2 / (pbar * (1.0 - pbar) * sxx))
    significant = statistic > TREND_CHI2_THRESHOLD
    if not significant:
        direction = "no significant change"
    else:
        direction = "increasing" if score > 0 else "decreasing"
    return {"statistic": statistic, "significant": bool(significant), "direction": direction}


# --------------------------------------------------------------------------- benchmark


def compare_to_benchmark(
    lower: ArrayLike,
    upper: ArrayLike,
    benchmark: ArrayLike,
    higher_is_better: bool | None = True,
) -> np.ndarray:
    """Fingertips-style significance comparison of each CI against a benchmark.

    CI wholly above the benchmark -> "better" (or "worse" if ``higher_is_better`` is
    False); wholly below -> the opposite; overlapping (touching counts as
    overlapping) -> "similar"; any of lower/upper/benchmark NaN -> "not compared".
    ``higher_is_better=None`` (no polarity) gives "higher"/"lower"/"similar".
    Returns an array of str with the broadcast shape of the inputs.
    Source: OHID Fingertips technical guidance (benchmarking against a goal/comparator).
    """
    lo, hi, b = np.broadcast_arrays(_arr(lower), _arr(upper), _arr(benchmark))
    if higher_is_better is None:
        above, below = "higher", "lower"
    elif higher_is_better:
        above, below = "better", "worse"
    else:
        above, below = "worse", "better"
    with np.errstate(invalid="ignore"):
        result = np.where(lo > b, above, np.where(hi < b, below, "similar"))
    missing = np.isnan(lo) | np.isnan(hi) | np.isnan(b)
    return np.where(missing, "not compared", result).astype(str)
