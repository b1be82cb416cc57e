"""Confidence intervals: z values, Wilson for proportions, Byar / exact Poisson for counts and crude rates."""

from __future__ import annotations

import numpy as np
from scipy import special as _special

from explorer.domain.stats._arrays import ArrayLike, _arr, _out

# scipy.special, not scipy.stats: importing scipy.stats costs a second for two quantiles
_BYAR_MIN_COUNT = 10  # OHID: Byar for counts >= 10, exact Poisson below


def z_value(confidence: float) -> float:
    """Two-sided standard normal quantile, e.g. 0.95 -> 1.959964, 0.998 -> 3.090232.

    Exact quantile (not 1.96) so results match OHID published figures.
    """
    if not 0.0 < float(confidence) < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    return float(_special.ndtri(1.0 - (1.0 - float(confidence)) / 2.0))  # = scipy.stats.norm.ppf


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


def _chi2_ppf(q: float, df: np.ndarray) -> np.ndarray:
    """Chi-square quantile, computed as scipy.stats.chi2.ppf computes it (2 * gammaincinv(df/2, q))."""
    df = np.asarray(df, dtype=float)
    return np.where(df > 0, 2.0 * _special.gammaincinv(np.where(df > 0, df, 1.0) / 2.0, q), np.nan)


def _exact_poisson(count: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) Poisson limits via chi-square quantiles; count may be non-integer."""
    alpha = 1.0 - confidence
    with np.errstate(invalid="ignore"):  # _chi2_ppf = scipy.stats.chi2.ppf where df > 0 (NaN elsewhere)
        lower = np.where(count > 0, _chi2_ppf(alpha / 2.0, 2.0 * np.where(count > 0, count, 1.0)) / 2.0, 0.0)
        upper = _chi2_ppf(1.0 - alpha / 2.0, 2.0 * count + 2.0) / 2.0
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
