"""Standardisation: ESP 2013 bands and weights, directly standardised rates (Dobson), indirectly
standardised ratios and the expected counts behind them."""

from __future__ import annotations

import numpy as np

from explorer.domain.stats._arrays import ArrayLike, _arr, _out
from explorer.domain.stats._intervals import byar_interval

#: 2013 European Standard Population age bands (Eurostat 2013), youngest first.
ESP2013_BANDS: tuple[str, ...] = tuple(f"{a}-{a + 4}" for a in range(0, 90, 5)) + ("90+",)
#: ESP 2013 weights for ``ESP2013_BANDS`` (sum 100,000).
ESP2013_WEIGHTS: tuple[int, ...] = (
    5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000,
    7000, 6500, 6000, 5500, 5000, 4000, 2500, 1500, 1000,
)

_DSR_MIN_COUNT = 10  # OHID does not publish DSRs on fewer than 10 events


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
