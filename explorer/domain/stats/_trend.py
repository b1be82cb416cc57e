"""Fingertips recent trend: chi-square test for linear trend over the last five points."""

from __future__ import annotations

from typing import Any

import numpy as np

from explorer.domain.stats._arrays import ArrayLike, _arr

#: Chi-square (1 df) critical value at 99.8% used by Fingertips recent trends.
TREND_CHI2_THRESHOLD: float = 9.5495


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
