"""Slope and relative index of inequality across deprivation quantiles."""

from __future__ import annotations

from typing import Literal

import numpy as np

from explorer.domain.stats._arrays import ArrayLike, _arr
from explorer.domain.stats._intervals import z_value

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
