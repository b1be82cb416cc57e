"""The gap between two groups' proportions: difference (Newcombe's hybrid score interval) and
ratio (Katz's log interval), from counts.

Both take the counts of the two groups (numerator and denominator each), which in the app are the
disclosure-controlled (rounded) counts, so the CIs are computed from released numbers only.
"""

from __future__ import annotations

import math

from explorer.domain.stats._intervals import wilson_interval, z_value

_NAN3 = (math.nan, math.nan, math.nan)


def _valid(*counts: float | None) -> bool:
    try:
        return all(c is not None and math.isfinite(float(c)) and float(c) >= 0 for c in counts)
    except (TypeError, ValueError):
        return False


def proportion_difference(n1: float, d1: float, n2: float, d2: float, confidence: float = 0.95
                          ) -> tuple[float, float, float]:
    """p1 - p2 (0-1 scale) with Newcombe's hybrid score interval (his method 10).

    Each proportion's Wilson interval (l, u) is combined: lower = d - sqrt((p1-l1)^2 + (u2-p2)^2),
    upper = d + sqrt((u1-p1)^2 + (p2-l2)^2). It stays inside [-1, 1] and behaves at small counts,
    where the Wald interval does not. NaNs when a denominator is 0 or a count is missing/invalid.
    Source: Newcombe RG (1998) Stat Med 17:873-890, method 10; worked example 56/70 - 48/80 =
    0.2000, 95% CI 0.0524 to 0.3339 (his Table II).
    """
    if not _valid(n1, d1, n2, d2) or float(d1) <= 0 or float(d2) <= 0 or n1 > d1 or n2 > d2:
        return _NAN3
    p1, p2 = float(n1) / float(d1), float(n2) / float(d2)
    l1, u1 = (float(x) for x in wilson_interval(n1, d1, confidence))
    l2, u2 = (float(x) for x in wilson_interval(n2, d2, confidence))
    diff = p1 - p2
    return (diff, diff - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
            diff + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))


def proportion_ratio(n1: float, d1: float, n2: float, d2: float, confidence: float = 0.95
                     ) -> tuple[float, float, float]:
    """p1 / p2 with the log (Katz) interval: se(log ratio) = sqrt(1/n1 - 1/d1 + 1/n2 - 1/d2).

    NaNs when a numerator is 0 (the log ratio is undefined) or a count is missing/invalid.
    Source: Katz D, Baptista J, Azen SP, Pike MC (1978) Biometrics 34:469-474.
    """
    if not _valid(n1, d1, n2, d2) or min(float(n1), float(d1), float(n2), float(d2)) <= 0 \
            or n1 > d1 or n2 > d2:
        return _NAN3
    n1, d1, n2, d2 = float(n1), float(d1), float(n2), float(d2)
    ratio = (n1 / d1) / (n2 / d2)
    se = math.sqrt(1 / n1 - 1 / d1 + 1 / n2 - 1 / d2)
    z = z_value(confidence)
    return ratio, ratio * math.exp(-z * se), ratio * math.exp(z * se)
