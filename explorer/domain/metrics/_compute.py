"""Metric values from summed measures: one small function per metric in :data:`REGISTRY`, and
:func:`compute_metric`, which looks the metric up and applies the disclosure rounding of inputs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from explorer.domain import stats
from explorer.domain.disclosure import round_counts
from explorer.domain.metrics._catalogue import CONFIDENCE, N_ITEMS, ROUNDED_INPUT_METRICS, check_metric
from explorer.domain.metrics._filters import FilterError

#: Summed measures by name: arrays broadcastable against each other.
Sums = Mapping[str, np.ndarray]


@dataclass
class Computed:
    """value, numerator, denominator, lower, upper - all float arrays of the same shape."""

    value: np.ndarray
    numerator: np.ndarray
    denominator: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    def frame(self, prefix: str | None = None) -> pd.DataFrame:
        cols = {"value": self.value, "numerator": self.numerator, "denominator": self.denominator,
                "lower": self.lower, "upper": self.upper}
        if prefix:
            cols = {(prefix if k == "value" else f"{prefix}_{k}"): v for k, v in cols.items()}
        return pd.DataFrame({k: np.asarray(v, dtype=float).ravel() for k, v in cols.items()})


@dataclass(frozen=True)
class Standard:
    """The standard of a standardised metric: ``reference`` rates per stratum (adjusted coverage)
    or the ESP bands the standard covers, ``dsr_bands`` (coverage_dsr)."""

    reference: np.ndarray | None = None
    dsr_bands: np.ndarray | None = None


#: A metric's computation: (summed measures, the metric's multiplier, the standard) -> values.
Calculator = Callable[[Sums, float, Standard], Computed]


def _nan_like(x: np.ndarray) -> np.ndarray:
    return np.full(np.shape(x), np.nan)


def _z() -> float:
    return stats.z_value(CONFIDENCE)


# --------------------------------------------------------------------------- one function per metric


def _plans(s: Sums, mult: float, std: Standard) -> Computed:
    num = s["plans"] + 0 * s["people"]
    lo, hi = stats.byar_interval(num, CONFIDENCE)
    return Computed(num, num, s["people"] + 0 * num, lo, hi)


def _rate(numerator: str, denominator: str) -> Calculator:
    """A crude rate per ``mult`` with Byar limits."""
    def rate(s: Sums, mult: float, std: Standard) -> Computed:
        num, den = np.broadcast_arrays(s[numerator], s[denominator])
        value, lo, hi = stats.rate_interval(num, den, mult, CONFIDENCE)
        return Computed(value, num.astype(float), den.astype(float), lo, hi)
    return rate


def _proportion(numerator: str, denominator: str) -> Calculator:
    """A proportion (x ``mult``) with Wilson limits."""
    def proportion(s: Sums, mult: float, std: Standard) -> Computed:
        num, den = np.broadcast_arrays(s[numerator], s[denominator])
        lo, hi = stats.wilson_interval(num, den, CONFIDENCE)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
        return Computed(value * mult, num.astype(float), den.astype(float), lo * mult, hi * mult)
    return proportion


def _completeness(s: Sums, mult: float, std: Standard) -> Computed:
    n, total, sumsq = np.broadcast_arrays(s["plans"], s["items_sum"], s["items_sumsq"])
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, total / (N_ITEMS * np.where(n > 0, n, 1)), np.nan)
        var = (sumsq / N_ITEMS**2 - n * mean**2) / (n - 1)
        se = np.where(n > 1, np.sqrt(np.clip(var, 0, None) / n), np.nan)
    lo = np.clip(mean - _z() * se, 0, 1)
    hi = np.clip(mean + _z() * se, 0, 1)
    return Computed(mean * mult, total.astype(float), n.astype(float), lo * mult, hi * mult)


def _high_risk(s: Sums, mult: float, std: Standard) -> Computed:
    num, den = np.broadcast_arrays(s["hr_people"], s["people"])
    return Computed(num.astype(float), num.astype(float), den.astype(float), _nan_like(num), _nan_like(num))


def _high_risk_without_plan(s: Sums, mult: float, std: Standard) -> Computed:
    hr, plans = np.broadcast_arrays(s["hr_people"], s["hr_plans"])
    num = hr - plans
    return Computed(num, num, hr.astype(float), _nan_like(num), _nan_like(num))


def _expected_admissions_without_plan(s: Sums, mult: float, std: Standard) -> Computed:
    e = s["hr_risk"] - s["hr_risk_plan"]
    var = np.clip(s["hr_risk_var"] - s["hr_risk_var_plan"], 0, None)
    den = s["hr_people"] - s["hr_plans"]
    e, var, den = np.broadcast_arrays(e, var, den)
    half = _z() * np.sqrt(var)
    return Computed(e, e, den.astype(float), np.clip(e - half, 0, None), e + half)


def _adjusted_coverage(s: Sums, mult: float, std: Standard) -> Computed:
    reference = std.reference
    if reference is None:
        raise ValueError("adjusted_coverage needs reference stratum rates")
    plans, people = np.broadcast_arrays(s["plans"], s["people"])
    known = np.isfinite(reference)
    observed = np.sum(np.where(known, plans, 0.0), axis=-1)
    reference = np.where(known, reference, 0.0)
    if reference.ndim == 1:
        expected = stats.expected_counts(np.where(known, people, 0.0), reference)
    else:  # a reference per row (e.g. per month of a trend): the same sum, row by row
        expected = np.sum(np.where(known, people, 0.0) * reference, axis=-1)
    ratio, lo, hi = stats.indirect_standardised_ratio(observed, expected, CONFIDENCE)
    return Computed(ratio * mult, observed, expected, lo * mult, hi * mult)


def _coverage_dsr(s: Sums, mult: float, std: Standard) -> Computed:
    plans, people = np.broadcast_arrays(s["plans"], s["people"])
    bands = np.ones(plans.shape[-1], bool) if std.dsr_bands is None else np.asarray(std.dsr_bands, bool)
    weights = np.asarray(stats.ESP2013_WEIGHTS, float)
    value, lo, hi = stats.directly_standardised_rate(plans[..., bands], people[..., bands], weights[bands],
                                                     mult, CONFIDENCE)
    return Computed(value, plans[..., bands].sum(-1), people[..., bands].sum(-1), lo, hi)


def _plans_missing_key_items(s: Sums, mult: float, std: Standard) -> Computed:
    """Live plans without all key items: the difference is taken before any rounding, so the
    released numerator is the rounded count of such plans itself."""
    return _proportion("missing", "plans")({"missing": s["plans"] - s["key_complete"], "plans": s["plans"]},
                                           mult, std)


#: Metric name -> its computation (every cell- and user-based metric of the catalogue).
REGISTRY: dict[str, Calculator] = {
    "plans": _plans,
    "coverage": _rate("plans", "people"),
    "urgent_care_views": _rate("urgent_views", "plans"),
    "reviewed_in_period": _proportion("reviewed", "plans"),
    "ethnicity_not_stated": _proportion("ns_people", "people"),
    "plans_missing_key_items": _plans_missing_key_items,
    "high_risk_plan_coverage": _proportion("hr_plans", "hr_people"),
    "active_users": _proportion("active_users", "users"),
    "active_users_10plus": _proportion("active_users_10plus", "users"),
    "completeness": _completeness,
    "high_risk": _high_risk,
    "high_risk_without_plan": _high_risk_without_plan,
    "expected_admissions_without_plan": _expected_admissions_without_plan,
    "adjusted_coverage": _adjusted_coverage,
    "coverage_dsr": _coverage_dsr,
}


def compute_metric(name: str, s: Sums, *, reference: np.ndarray | None = None,
                   dsr_bands: np.ndarray | None = None, rounding: int | None = None) -> Computed:
    """A metric's value, numerator, denominator and 95% CI from summed measures.

    ``s`` maps measure names to arrays (broadcastable against each other). For
    ``adjusted_coverage`` the arrays carry a last strata axis and ``reference`` holds the region's
    coverage per person in each stratum; for ``coverage_dsr`` the last axis is the ESP band and
    ``dsr_bands`` (bool per band) which bands the standard covers.

    ``rounding`` (the disclosure rule for released figures): statistics that rest on more than a
    numerator and a denominator - the DSR and its CI (per-band counts), completeness and its CI
    (items, squares, plans) and expected admissions with their CI - are computed from those
    inputs rounded to the nearest ``rounding``; numerator and denominator stay exact, because the
    release decides suppression on them before rounding them itself (``explorer.domain.release``).
    """
    info = check_metric(name)
    if rounding is not None and name in ROUNDED_INPUT_METRICS:
        exact = compute_metric(name, s, reference=reference, dsr_bands=dsr_bands)
        released = compute_metric(name, _rounded_inputs(name, s, rounding), reference=reference,
                                  dsr_bands=dsr_bands)
        return replace(released, numerator=exact.numerator, denominator=exact.denominator)
    calculator = REGISTRY.get(name)
    if calculator is None:
        raise FilterError(f"metric '{name}' is not computed from cells")
    return calculator(s, info.multiplier, Standard(reference=reference, dsr_bands=dsr_bands))


def _rounded_inputs(name: str, s: Sums, base: int) -> dict[str, np.ndarray]:
    """The summed measures a statistic is computed from, rounded to ``base``. Differences that
    define a measure (high-risk people without a plan, their expected admissions and variance)
    are taken before rounding, so the released figure is the rounded quantity itself."""
    if name == "expected_admissions_without_plan":
        without = {"hr_risk": s["hr_risk"] - s["hr_risk_plan"],
                   "hr_risk_var": np.clip(s["hr_risk_var"] - s["hr_risk_var_plan"], 0, None),
                   "hr_people": s["hr_people"] - s["hr_plans"]}
        zero = {"hr_risk_plan": 0.0, "hr_risk_var_plan": 0.0, "hr_plans": 0.0}
        return {**{k: round_counts(v, base) for k, v in without.items()}, **zero}
    return {k: round_counts(v, base) for k, v in s.items()}
