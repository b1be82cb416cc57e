"""Derived tables from summed measures: SII/RII, gap counts, the care-plan cascade and the inputs of
the recent-trend test."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from explorer.domain import stats
from explorer.domain.metrics._catalogue import CONFIDENCE, N_ITEMS
from explorer.domain.metrics._compute import Computed, _nan_like
from explorer.domain.metrics._filters import UNKNOWN, VOCAB

def trend_inputs(name: str, c: Computed) -> tuple[np.ndarray, np.ndarray]:
    """Numerators and denominators for the Fingertips recent-trend test (a proportion test).

    Metrics that are not a share of their denominator (ratios, DSRs, expected counts) give NaN,
    so the test reports "cannot be calculated"; rates whose numerator can exceed the denominator
    (urgent views) are left to the test's own validity check.
    """
    if name in ("adjusted_coverage", "coverage_dsr", "expected_admissions_without_plan"):
        return _nan_like(c.numerator), _nan_like(c.denominator)
    if name == "completeness":
        return c.numerator, c.denominator * N_ITEMS
    return c.numerator, c.denominator


# --------------------------------------------------------------------------- derived tables


def sii_summary(rows: pd.DataFrame, by: str, *, transform: str | None = None,
                n_simulations: int = 10_000) -> pd.DataFrame:
    """SII and RII per area from by-group rows (area_code, group, value, lower, upper, weight).

    Only for deprivation groupings (imd_decile, imd_quintile), ordered most deprived first (1 first),
    weighted by each group's ``weight`` (its denominator population). OHID requires every quantile:
    an area missing one (no people, or a value that cannot be computed) gets NaN. For other
    groupings every value is NaN (SII/RII need an ordered social gradient).
    """
    keys = ("sii", "sii_lower", "sii_upper", "rii", "rii_lower", "rii_upper")
    out = []
    n_groups = len(VOCAB[by]) if by in VOCAB else 0
    for area, part in rows.groupby("area_code", sort=False):
        if by not in ("imd_decile", "imd_quintile"):
            result = dict.fromkeys(keys, np.nan)
        else:
            part = part[part["group"].astype(str) != UNKNOWN].sort_values("group", key=lambda g: g.astype(int))
            usable = part[(part["weight"] > 0) & np.isfinite(part["value"])]
            if len(usable) < n_groups:
                result = dict.fromkeys(keys, np.nan)
            else:
                result = stats.slope_index_of_inequality(
                    usable["value"], usable["weight"], usable["lower"], usable["upper"], transform=transform,
                    confidence=CONFIDENCE, n_simulations=n_simulations, seed=0)
        out.append({"area_code": area, **{k: float(result[k]) for k in keys}})
    return pd.DataFrame(out, columns=["area_code", *keys])


def gap_from_groups(num: np.ndarray, den: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gap count per area from (areas x quintiles) numerators/denominators, quintile 5 = least deprived.

    Reference rate = the area's least deprived quintile with a non-zero denominator; gap = sum over
    quintiles of max(0, reference rate x denominator - numerator). Returns (gap, reference quintile
    1..5, or 0 where the area has nobody).
    """
    num, den = np.asarray(num, float), np.asarray(den, float)
    has = den > 0
    ref_q = np.where(has.any(axis=1), den.shape[1] - 1 - np.argmax(has[:, ::-1], axis=1), -1)
    rows = np.arange(len(num))
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(ref_q >= 0, num[rows, ref_q] / np.where(ref_q >= 0, den[rows, ref_q], 1), 0.0)
    gap = np.clip(rate[:, None] * den - num, 0, None).sum(axis=1)
    return gap, ref_q + 1


CASCADE_STEPS = (
    ("people", "At risk"),
    ("plans", "Has a live plan"),
    ("key_complete", "Plan complete (all key items)"),
    ("kc_reviewed", "Reviewed within period"),
    ("kc_reviewed_viewed", "Viewed by urgent care (12 months)"),
)


def cascade_table(sums: Mapping[str, float], first_label: str = "At risk") -> pd.DataFrame:
    """The care-plan cascade from summed measures: each step a subset of the one before."""
    rows = []
    previous = first = None
    for i, (measure, label) in enumerate(CASCADE_STEPS):
        count = float(np.asarray(sums[measure]))
        share = np.nan if previous in (None, 0) else count / previous
        share_first = np.nan if first in (None, 0) else count / first
        rows.append({"step": first_label if i == 0 else label, "measure": measure, "count": count,
                     "share_of_previous": share, "share_of_first": share_first})
        previous = count
        first = count if first is None else first
    table = pd.DataFrame(rows)
    table["count"] = table["count"].round().astype("int64")
    return table

