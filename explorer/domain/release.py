"""What may leave the server for a role: the disclosure policy applied to whole metric tables.

One module used by every path out - the app's callbacks and downloads (through
``explorer.services.app_data``) and the ``explorer summary`` / ``explorer inequality`` commands - so the
same role gets the same numbers whichever way it asks. The primitives (suppression, rounding,
secondary suppression) are in :mod:`explorer.domain.disclosure`; who may see what is in
:mod:`explorer.domain.access`. Pure pandas/numpy: nothing here knows about Dash or the CLI.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from explorer.domain import access, stats
from explorer.domain.access import AccessDenied, Capability, Role
from explorer.domain.disclosure import (
    CountSpec, DisclosurePolicy, MeanSpec, RatioSpec, apply_policy, assert_no_small_counts,
)
from explorer.domain.metrics import METRICS, ROUNDED_INPUT_METRICS, MetricInfo

__all__ = [
    "METRIC_PARTS",
    "as_generic_columns",
    "as_metric_columns",
    "check_metrics",
    "control",
    "control_area_summary",
    "control_inequality",
    "count_columns",
    "disclosure_specs",
    "wilson_recompute",
]

METRIC_PARTS = ("value", "numerator", "denominator", "lower", "upper")


# --------------------------------------------------------------------------- per metric


def wilson_recompute(num: pd.Series, den: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lo, hi = stats.wilson_interval(num, den)
    return num.to_numpy(dtype=float) / den.to_numpy(dtype=float), lo, hi


def _rate(num: pd.Series, den: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return stats.rate_interval(num, den, 1.0)


def _isr(observed: pd.Series, expected: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed / expected with Byar limits on the observed, from the *rounded* counts: an index
    computed from the exact expected count would give the exact observed count back
    (plans = index x expected / 100)."""
    return stats.indirect_standardised_ratio(observed.to_numpy(dtype=float), expected.to_numpy(dtype=float))


def disclosure_specs(info: MetricInfo, table: pd.DataFrame) -> list:
    """How each column of a metric table is controlled (see explorer.domain.disclosure).

    Every value comes from controlled counts: rates, proportions and the adjusted-coverage index
    are recomputed here from the rounded numerator and denominator (the expected count of the
    index is rounded like a count); the DSR, completeness and expected admissions arrive computed
    from rounded inputs (``CoverageEngine`` with the role's policy) and are hidden with the count
    they rest on.
    """
    m = info.name
    num, den = f"{m}_numerator", f"{m}_denominator"
    if m == "imd_prop_most_deprived_10pc":
        return []  # counts of LSOAs, not of people
    if m == "imd_score":  # an official statistic of the area, hidden only over 1-7 residents
        return [MeanSpec(m, n=den), CountSpec(den)]
    if m == "expected_admissions_without_plan":  # a fractional count: rounded, below 8 hidden
        return [CountSpec(m), CountSpec(num), CountSpec(den)]
    if info.kind == "count":
        return [CountSpec(c) for c in (m, num, den) if table[c].notna().any()]
    if info.kind == "mean":  # completeness: items recorded / live plans
        return [MeanSpec(m, n=den), CountSpec(den), CountSpec(num)]
    if m == "coverage_dsr":
        return [RatioSpec(m, standardised=True), CountSpec(den)]
    if info.kind == "ratio":  # indirectly standardised: observed / expected, both rounded
        return [RatioSpec(m, multiplier=info.multiplier, recompute=_isr)]
    recompute = wilson_recompute if info.kind == "proportion" else _rate
    return [RatioSpec(m, multiplier=info.multiplier, recompute=recompute)]


def count_columns(info: MetricInfo) -> list[str]:
    """Columns holding counts of people, for the final assert_no_small_counts guard."""
    m = info.name
    if m in ("imd_prop_most_deprived_10pc",):
        return []
    if m in ("imd_score", "coverage_dsr"):
        return [f"{m}_denominator"]
    if m == "expected_admissions_without_plan":
        return [m, f"{m}_denominator"]
    if info.kind == "ratio":
        return [f"{m}_numerator"]
    if info.kind == "count":
        return [m, f"{m}_numerator"] + ([] if m == "population" else [f"{m}_denominator"])
    return [f"{m}_numerator", f"{m}_denominator"]


def control(raw: pd.DataFrame, info: MetricInfo, policy: DisclosurePolicy, *,
            groups: Sequence[Sequence[str]] | None = None) -> pd.DataFrame:
    """A metric table (<metric>, _numerator, _denominator, _lower, _upper) through the disclosure policy.

    Adds `<metric>_suppressed`; rebuilds count CIs from rounded counts; ends with the
    assert_no_small_counts guard, so nothing unsafe can leave even if a spec is wrong.
    """
    m = info.name
    specs = disclosure_specs(info, raw)
    out = apply_policy(raw, specs, policy, groups=groups) if specs else raw.copy()
    flag = f"{m}_suppressed"
    if flag not in out.columns:
        out[flag] = False
    hidden = out[flag].to_numpy(dtype=bool)
    is_mean = any(isinstance(spec, MeanSpec) and spec.name == m for spec in specs)
    if (is_mean or m == "expected_admissions_without_plan") and f"{m}_numerator" in out:
        # a mean's numerator (items recorded, expected admissions) would give a hidden value away
        out[f"{m}_numerator"] = pd.to_numeric(out[f"{m}_numerator"]).astype("Float64").mask(hidden)
    if info.kind == "count" and policy.enabled and raw[f"{m}_lower"].notna().any():
        if m in ROUNDED_INPUT_METRICS:  # its CI already rests on rounded inputs: hide it with the value
            lo, hi = (pd.to_numeric(out[c], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
                      for c in (f"{m}_lower", f"{m}_upper"))
        else:  # a CI of the exact count would give the count away: rebuild it from the rounded count
            count = pd.to_numeric(out[m], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            lo, hi = stats.byar_interval(count)
        out[f"{m}_lower"] = np.where(hidden, np.nan, lo)
        out[f"{m}_upper"] = np.where(hidden, np.nan, hi)
    assert_no_small_counts(out, [c for c in count_columns(info) if c in out.columns], policy)
    return out


def as_metric_columns(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """value/numerator/denominator/lower/upper -> <metric>, <metric>_numerator, ..."""
    out = frame.rename(columns={"value": metric, **{c: f"{metric}_{c}" for c in METRIC_PARTS[1:]}})
    for c in [metric, *(f"{metric}_{p}" for p in METRIC_PARTS[1:])]:
        if c not in out.columns:
            out[c] = np.nan
    return out


def as_generic_columns(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The inverse of as_metric_columns, plus `suppressed`."""
    names = {metric: "value", f"{metric}_suppressed": "suppressed",
             **{f"{metric}_{c}": c for c in METRIC_PARTS[1:]}}
    return frame.rename(columns=names)


# --------------------------------------------------------------------------- whole tables for a role


def check_metrics(role: Role | str, metrics: Sequence[str]) -> None:
    """AccessDenied if ``role`` asks for a metric built from clinical plan content it may not see."""
    if access.permits(role, Capability.CLINICAL_CONTENT):
        return
    clinical = [m for m in metrics if access.is_clinical(m)]
    if clinical:
        raise AccessDenied(f"Role '{access.policy_for(role).role}' may not see clinical plan content "
                           f"({', '.join(clinical)}).", role=str(role))


def _geography_specs(table: pd.DataFrame, metrics: Sequence[str]) -> tuple[pd.DataFrame, list]:
    """Specs for the bundle's area-summary columns that no --metric replaced."""
    work, specs = table.copy(), []
    if "population" in work.columns and "population" not in metrics:
        specs.append(CountSpec("population"))
        if "imd_score" in work.columns and "imd_score" not in metrics:
            specs.append(MeanSpec("imd_score", n="population"))
        if "core20_population_share" in work.columns and "core20_population_share" not in metrics:
            share = pd.to_numeric(work["core20_population_share"], errors="coerce")
            work["_core20_people"] = (share * work["population"].astype(float)).round()
            specs.append(RatioSpec("core20_population_share", numerator="_core20_people", denominator="population"))
    return work, specs


def control_area_summary(table: pd.DataFrame, level: str, metrics: Sequence[str], role: Role | str, *,
                         publication: bool = False) -> pd.DataFrame:
    """The area summary (``explorer summary``) as ``role`` may see it, exactly as the app controls it.

    Refuses (AccessDenied) a level or clinical metric beyond the role. Counts of people are
    rounded and 1-7 suppressed, with secondary suppression among areas sharing a parent (the
    parent's total is published at the level above); rates are recomputed from the rounded
    counts; a ``<column>_suppressed`` flag follows each controlled column; clinical columns are
    dropped for roles without clinical content. ``lsoa_count`` and the share of LSOAs in the most
    deprived decile count areas, not people, and are left as they are.
    """
    access.check_level(role, level)
    check_metrics(role, metrics)
    policy = access.disclosure_policy_for(role, publication=publication)
    groups = [["parent_code"]] if "parent_code" in table.columns else None
    work, specs = _geography_specs(table, metrics)
    out = apply_policy(work, specs, policy, groups=groups) if specs else work
    if specs:
        assert_no_small_counts(out, ["population", *(["_core20_people"] if "_core20_people" in out else [])],
                               policy)
    out = out.drop(columns=[c for c in out.columns if c.startswith("_core20_people")])
    out = out.reset_index(drop=True)
    columns: dict[str, object] = {}
    for name in dict.fromkeys(metrics):
        info = METRICS[name]
        cols = [name, *(f"{name}_{p}" for p in METRIC_PARTS[1:])]
        part = as_metric_columns(table[["area_code", "parent_code", *[c for c in cols if c in table.columns]]], name)
        controlled = control(part, info, policy, groups=groups).reset_index(drop=True)
        columns.update({c: controlled[c] for c in controlled.columns
                        if c.startswith(name) and (c in cols or c.endswith("_suppressed"))})
    if columns:
        out = pd.concat([out.drop(columns=[c for c in columns if c in out.columns]), pd.DataFrame(columns)], axis=1)
    return access.strip_clinical_columns(out, role)


def control_inequality(rows: pd.DataFrame, sii_rii: pd.DataFrame, level: str, metric: str, by: str,
                       role: Role | str, *, publication: bool = False, n_simulations: int = 10_000
                       ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """By-group rows (``explorer inequality``) and SII/RII per area as ``role`` may see them.

    Each area's groups add up to the area's total and each group's areas to the group's regional
    total, both published elsewhere, so secondary suppression runs across both. With control on,
    the SII/RII are refitted to the controlled values (as the app's gradient is) and are missing
    for an area where any deprivation group is suppressed.
    """
    from explorer.domain.metrics import sii_summary

    access.check_level(role, level)
    check_metrics(role, [metric])
    policy = access.disclosure_policy_for(role, publication=publication)
    info = METRICS[metric]
    extra = [c for c in rows.columns if c not in ("area_code", "group", *METRIC_PARTS)]
    controlled = control(as_metric_columns(rows, metric), info, policy, groups=[["area_code"], ["group"]])
    out = as_generic_columns(controlled, metric)
    keep = ["area_code", "group", *METRIC_PARTS, "suppressed", *extra]
    out = out[[c for c in keep if c in out.columns]].reset_index(drop=True)
    if not policy.enabled:
        return access.strip_clinical_columns(out, role), sii_rii
    fit = pd.DataFrame({
        "area_code": out["area_code"], "group": out["group"].astype(str),
        **{c: pd.to_numeric(out[c], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
           for c in ("value", "lower", "upper")},
        "weight": pd.to_numeric(out["denominator"], errors="coerce").to_numpy(dtype=float, na_value=np.nan),
    })
    fit["weight"] = fit["weight"].fillna(0.0)
    refit = sii_summary(fit, by, n_simulations=n_simulations)
    refit = sii_rii[["area_code"]].merge(refit, on="area_code", how="left")
    return access.strip_clinical_columns(out, role), refit[sii_rii.columns.tolist()]
