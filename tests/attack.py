"""An attacker against released tables: what exact counts can be worked out from printed numbers?

This is the differencing attack of the independent privacy review, written down so that a test can
run it on every release. From each released row the attacker infers the exact count behind it
where the printed numbers allow, by inverting the published formulas:

* an indirectly standardised index and its expected count: observed = index x expected / 100;
* a completeness mean: the number of plans n for which mean x 10 x n is a whole number of items;
* a DSR's Dobson interval: its asymmetry (U - V) / (V - L) depends on the total count alone;
* a rate or proportion: numerator = value x denominator / multiplier.

An inferred value counts as exact only if it is a whole number that is not a multiple of the
rounding base: counts rounded to 5 (and statistics computed from them) give multiples of 5, which
only repeat the rounded count, a range. Then "all" minus "all but one group", and a parent minus
its shown children, give the hidden cell; the test compares each with the analyst's truth.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from explorer.domain import stats
from explorer.domain.metrics import MetricInfo

BASE = 5
WINDOW = 2  # a count rounded to r lies in r-2 .. r+2


def _floats(column: pd.Series) -> np.ndarray:
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _whole(x: float) -> bool:
    return bool(np.isfinite(x) and abs(x - round(x)) < 1e-6)


def _informative(x: float) -> float:
    """x if it is an exact count more precise than rounding; NaN otherwise."""
    if not _whole(x):
        return np.nan
    value = round(x)
    return np.nan if value % BASE == 0 else float(value)


def _unique(candidates: list[int]) -> float:
    return float(candidates[0]) if len(candidates) == 1 else np.nan


def _completeness_plans(value: float, plans_shown: float) -> float:
    if not (np.isfinite(value) and np.isfinite(plans_shown)):
        return np.nan
    window = range(max(1, int(plans_shown) - WINDOW), int(plans_shown) + WINDOW + 1)
    return _unique([n for n in window if _whole(value / 100 * 10 * n)])


def _dsr_count(value: float, lower: float, upper: float, count_shown: float) -> float:
    if not all(np.isfinite(x) for x in (value, lower, upper, count_shown)) or value <= lower:
        return np.nan
    shape = (upper - value) / (value - lower)
    window = np.arange(max(1, int(count_shown) - WINDOW), int(count_shown) + WINDOW + 1, dtype=float)
    lo, hi = stats.byar_interval(window)
    expected_shape = (hi - window) / (window - lo)
    return _unique([int(c) for c, s in zip(window, expected_shape) if abs(s - shape) < 1e-9 * max(1.0, shape)])


def inferred_counts(metric: str, info: MetricInfo, table: pd.DataFrame) -> pd.Series:
    """Per area code, the exact count the attacker infers from one released table (NaN: none).

    The count is the metric's numerator of people (plans for completeness). ``attrs["shown"]``
    is how many rows had a released value to work from."""
    m = metric
    value, num, den = (_floats(table[c]) for c in (m, f"{m}_numerator", f"{m}_denominator"))
    lower, upper = _floats(table[f"{m}_lower"]), _floats(table[f"{m}_upper"])
    out = np.full(len(table), np.nan)
    for i in range(len(table)):
        if info.kind == "ratio":
            guess = value[i] * den[i] / info.multiplier
        elif info.kind == "mean":
            guess = _completeness_plans(value[i], den[i])
        elif m == "coverage_dsr":
            guess = _dsr_count(value[i], lower[i], upper[i], num[i])
        elif info.kind in ("rate", "proportion"):
            guess = value[i] * den[i] / info.multiplier
        else:  # counts: the shown (rounded) count itself
            guess = num[i] if np.isfinite(num[i]) else value[i]
        out[i] = _informative(guess)
    series = pd.Series(out, index=table["area_code"].astype(str).to_numpy())
    series.attrs["shown"] = pd.Series(np.isfinite(value), index=series.index)
    return series


def true_counts(metric: str, info: MetricInfo, raw: pd.DataFrame) -> pd.Series:
    """The analyst's exact counts (the same quantity :func:`inferred_counts` aims at)."""
    column = f"{metric}_denominator" if info.kind == "mean" else f"{metric}_numerator"
    return pd.Series(_floats(raw[column]), index=raw["area_code"].astype(str).to_numpy())


@dataclass
class AttackResult:
    """Cells of 1-7 the attacker got exactly right, and how many it tried."""

    recovered: list[str] = field(default_factory=list)
    attempts: int = 0

    def add(self, other: AttackResult) -> None:
        self.recovered += other.recovered
        self.attempts += other.attempts


def difference(label: str, whole: pd.Series, part: pd.Series, truth_whole: pd.Series,
               truth_part: pd.Series) -> AttackResult:
    """"All" minus "all but one group", area by area: exact small cells recovered."""
    result = AttackResult()
    common = whole.index.intersection(part.index)
    both_shown = whole.attrs["shown"].reindex(common) & part.attrs["shown"].reindex(common)
    result.attempts = int(both_shown.sum())
    guess = (whole.reindex(common) - part.reindex(common)).dropna()
    truth = truth_whole.reindex(guess.index) - truth_part.reindex(guess.index)
    hits = guess[(guess >= 1) & (guess <= 7) & (guess == truth)]
    result.recovered = [f"{label} {code}: {int(v)}" for code, v in hits.items()]
    return result


def parent_minus_children(label: str, parents: pd.Series, children: pd.Series, parent_of: dict[str, str],
                          truth_children: pd.Series, hidden_children: Iterable[str]) -> AttackResult:
    """A parent's inferred count minus its shown children's: the one hidden child, if exact."""
    result = AttackResult()
    hidden = set(hidden_children)
    by_parent: dict[str, list[str]] = {}
    for child, parent in parent_of.items():
        if child in children.index or child in hidden:
            by_parent.setdefault(parent, []).append(child)
    for parent, kids in by_parent.items():
        missing = [k for k in kids if k in hidden]
        shown = [k for k in kids if k not in hidden]
        if len(missing) != 1 or parent not in parents.index or not parents.attrs["shown"].get(parent, False):
            continue
        result.attempts += 1
        known = children.reindex(shown)
        if known.isna().any() or not np.isfinite(parents[parent]):
            continue
        guess = parents[parent] - known.sum()
        truth = truth_children.get(missing[0], np.nan)
        if 1 <= guess <= 7 and guess == truth:
            result.recovered.append(f"{label} {missing[0]}: {int(guess)}")
    return result
