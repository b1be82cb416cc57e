"""Analyses over the app's shared data: breakdowns by group, the deprivation gradient, funnel
limits, monthly trend, the care cascade, outreach counts and the population profile of an area.

A mixin of :class:`explorer.services.app_data.AppData` (which supplies `metric`, `value_of`,
`table`, `engine_call`, `bundle` ...). Every table returned has been through the caller's
disclosure policy; engine results are cached in AppData's one cache (`engine_call`).
"""

from __future__ import annotations

import math
from dataclasses import replace
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from explorer.domain import geography, stats
from explorer.domain.disclosure import (
    CountSpec,
    DisclosurePolicy,
    RatioSpec,
    apply_policy,
    assert_no_small_counts,
)
from explorer.domain.metrics import Filters
from explorer.domain.release import (
    as_generic_columns,
    as_metric_columns,
    control,
    wilson_recompute,
)
from explorer.errors import ExplorerError
from explorer.records.schema import ETHNIC_LABELS

GROUP_TITLES = {"imd_decile": "IMD decile", "imd_quintile": "IMD quintile", "ethnic_group": "Ethnic group",
                "age_band": "Age band", "sex": "Sex", "disabled": "Disability", "frailty": "Frailty"}
RANK_BY = ("high_risk_without_plan", "gap", "expected_admissions_without_plan")
DEFAULT_CAPACITY = 10_000  # planning conversations a team can hold (outreach page and exports)
MAX_CAPACITY = 10_000_000  # the most the outreach page and exports accept
RANK_NAMES = {"high_risk_without_plan": "High-risk people without a plan",
              "gap": "Gap count (plans to close the deprivation gap)",
              "expected_admissions_without_plan": "Expected emergency admissions without a plan"}
# rates that are shares of people (plans among registered people, per 1,000): their gaps get the
# proportion intervals (stats.proportion_difference / proportion_ratio)
SHARE_RATES = ("coverage",)
_FRAILTY = {"fit": "Fit", "mild": "Mild frailty", "moderate": "Moderate frailty", "severe": "Severe frailty",
            "not_assessed": "Not assessed (under 65)"}


class AppAnalyses:
    """Breakdowns, funnel, trend, cascade, outreach and population profile (mixed into AppData)."""

    def lsoas_within(self, code: str | None) -> pd.DataFrame:
        return geography.lsoas_in(self.bundle.lsoas, self.bundle.areas, code)

    def population_profile(self, code: str | None, policy: DisclosurePolicy) -> dict[str, pd.DataFrame]:
        """Age/sex, ethnic group, disability and IMD decile breakdowns of the area's residents."""
        lsoas = self.lsoas_within(code)
        age_sex = self.bundle.age_sex[self.bundle.age_sex["lsoa_code"].isin(lsoas["lsoa_code"])]
        pyramid = age_sex.groupby(["age_band", "sex"], as_index=False, sort=True)["population"].sum()
        pyramid = apply_policy(pyramid, "population", policy)
        eth_cols = [c for c in lsoas.columns if c.startswith("ethnic_")]
        labels = {"ethnic_asian": "Asian", "ethnic_black": "Black", "ethnic_mixed": "Mixed",
                  "ethnic_white": "White", "ethnic_other": "Other"}
        ethnic = pd.DataFrame({"category": [labels.get(c, c) for c in eth_cols],
                               "count": [int(lsoas[c].sum()) for c in eth_cols]})
        disability = pd.DataFrame({"category": ["Disabled (Equality Act)", "Not disabled"],
                                   "count": [int(lsoas["disabled"].sum()), int(lsoas["not_disabled"].sum())]})
        deciles = (lsoas.groupby("imd_decile")["population"].sum().reindex(range(1, 11), fill_value=0)
                   .rename_axis("category").reset_index(name="count"))
        deciles["category"] = "Decile " + deciles["category"].astype(str)
        out = {"age_sex": pyramid}
        for name, frame in (("ethnic_group", ethnic), ("disability", disability), ("imd_decile", deciles)):
            total = frame["count"].sum()
            controlled = apply_policy(frame, "count", policy)
            controlled["value"] = (pd.to_numeric(controlled["count"]).astype(float)
                                   / max(float(total), 1.0) * 100)
            controlled.loc[controlled["count_suppressed"], "value"] = np.nan
            out[name] = controlled
        return out

    # ------------------------------------------------------------------ groups and deprivation gradient
    def groups_table(self, code: str | None, metric: str, by: str, filters: Filters, risk: Any,
                     policy: DisclosurePolicy) -> pd.DataFrame:
        """The metric per group of `by` in one area (None = region), disclosure-controlled.

        Columns: group (code), label, value, numerator, denominator, lower, upper, suppressed,
        significance (against the region's overall value)."""
        info = self.metric(metric)
        rsk = risk if info.needs_risk or filters.risk is not None else None
        rows = self.engine_call("by_group", metric, by, filters, None, code, risk=rsk, policy=policy)
        rows = rows.assign(_all="all")
        controlled = control(as_metric_columns(rows, metric), info, policy, groups=[["_all"]])
        out = as_generic_columns(controlled, metric)
        out["label"] = [group_label(by, g) for g in out["group"].astype(str)]
        region = self.value_of(None, metric, filters, policy, rsk)
        if info.has_ci:
            lo = pd.to_numeric(out["lower"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            hi = pd.to_numeric(out["upper"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            out["significance"] = stats.compare_to_benchmark(lo, hi, _f(region[metric]), info.higher_is_better)
        out.attrs["comparator"] = _f(region[metric])
        return out[[c for c in ("group", "label", "value", "numerator", "denominator", "lower", "upper",
                                "suppressed", "significance") if c in out.columns]].reset_index(drop=True)

    def gradient(self, code: str | None, metric: str, by: str, filters: Filters, risk: Any,
                 policy: DisclosurePolicy) -> tuple[pd.DataFrame, dict[str, float]]:
        """Metric by IMD decile/quintile in an area with the slope index of inequality (OHID method).

        The SII is fitted to the shown (controlled) values, so it is only given when every
        quantile has a value; `fitted` is the regression line at each quantile's midpoint."""
        table = self.groups_table(code, metric, by, filters, risk, policy)
        table = table[table["group"] != "unknown"].copy()
        table["decile"] = table["group"].astype(int)
        value = pd.to_numeric(table["value"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        weight = pd.to_numeric(table["denominator"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        lower = pd.to_numeric(table["lower"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        upper = pd.to_numeric(table["upper"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        info = self.metric(metric)
        sii = dict.fromkeys(("sii", "sii_lower", "sii_upper", "rii", "rii_lower", "rii_upper"), math.nan)
        if np.all(np.isfinite(value)) and np.all(weight > 0) and len(value) > 1:
            ci = info.has_ci and np.all(np.isfinite(lower)) and np.all(np.isfinite(upper))
            sii = stats.slope_index_of_inequality(value, weight, lower if ci else None, upper if ci else None,
                                                  n_simulations=2_000, seed=0)
            share = weight / weight.sum()
            x = np.cumsum(share) - share / 2
            table["fitted"] = np.sum(share * value) + sii["sii"] * (x - np.sum(share * x))
        table.attrs.update(table.attrs)
        return table, sii

    def deprivation_gap(self, code: str | None, metric: str, filters: Filters, risk: Any,
                        policy: DisclosurePolicy) -> pd.DataFrame:
        """The gap between the least and the most deprived IMD quintiles of an area, with 95% CIs:
        rows "difference" (least minus most deprived: Newcombe's hybrid score interval), "ratio"
        (least over most: Katz's log interval), "sii" and "rii" (fitted to the quintiles' released
        values, `gradient`). Columns measure, value, lower, upper, method.

        Everything comes from the role's disclosure-controlled quintile counts (for roles that see
        deprivation only as groups of whole PCNs, the engine's quintiles are those groups); a gap
        whose quintile is suppressed is NaN (withheld). Only for metrics that are a share of people
        (GAP_METRICS' kinds): a rate's or mean's gap would need other methods.
        attrs: most, least (the quintile rows compared), groups (quintiles present), multiplier."""
        info = self.metric(metric)
        table = self.groups_table(code, metric, "imd_quintile", filters, risk, policy)
        table = table[table["group"].astype(str) != "unknown"]
        den = pd.to_numeric(table["denominator"], errors="coerce")
        # a quintile nobody in the area lives in (e.g. no whole PCN of the ICS is in quintile 5) is
        # left out: the gap is then between the most and least deprived quintiles present
        table = table[~((den == 0) & ~table["suppressed"].astype(bool))].sort_values(
            "group", key=lambda g: g.astype(int)).reset_index(drop=True)
        records = table.to_dict("records")
        most, least = (records[0], records[-1]) if len(records) > 1 else ({}, {})
        counts = [_f(r.get(k)) for r in (least, most) for k in ("numerator", "denominator")]
        hidden = not most or any(bool(r.get("suppressed", True)) for r in (least, most))
        sii = dict.fromkeys(("sii", "sii_lower", "sii_upper", "rii", "rii_lower", "rii_upper"), math.nan)
        value, weight, lower, upper = (pd.to_numeric(table[c], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
                                       for c in ("value", "denominator", "lower", "upper"))
        if len(value) > 1 and np.all(np.isfinite(value)) and np.all(weight > 0):
            ci = bool(np.all(np.isfinite(lower)) and np.all(np.isfinite(upper)))
            sii = stats.slope_index_of_inequality(value, weight, lower if ci else None, upper if ci else None,
                                                  n_simulations=2_000, seed=0)
        share = info.kind == "proportion" or metric in SHARE_RATES
        diff = ratio = (math.nan, math.nan, math.nan)
        if share and not hidden:
            diff = tuple(v * info.multiplier for v in stats.proportion_difference(*counts))
            ratio = stats.proportion_ratio(*counts)
        out = pd.DataFrame([
            ("difference", *diff, "Newcombe hybrid score (method 10)"),
            ("ratio", *ratio, "Katz log method"),
            ("sii", sii["sii"], sii["sii_lower"], sii["sii_upper"], "OHID weighted regression, simulated CI"),
            ("rii", sii["rii"], sii["rii_lower"], sii["rii_upper"], "OHID weighted regression, simulated CI"),
        ], columns=["measure", "value", "lower", "upper", "method"])
        out.attrs.update(most=most, least=least, multiplier=info.multiplier, share=share,
                         groups=[str(r["group"]) for r in records])
        return out

    # ------------------------------------------------------------------ funnel
    def funnel(self, level: str, metric: str, filters: Filters, risk: Any, policy: DisclosurePolicy,
               within: str | None = None, benchmark: str | None = None, codes: Sequence[str] | None = None
               ) -> tuple[pd.DataFrame, pd.DataFrame, float]:
        """Areas' values against their denominators with 95% and 99.8% limits around the benchmark
        area's value (`benchmark`, None = the region), filtered alike; `position_region` places each
        area against the region's value too. `codes`: only these areas of the level (a comparator
        group such as nearest neighbours), controlled as part of the whole level.

        Returns (points: area_code, area_name, value, denominator, position; limits; comparator).
        points.attrs: "hidden", the number of areas not plotted, and "not_plotted", those areas
        (area_code, area_name, suppressed) for tables that list every area."""
        info = self.metric(metric)
        kind = {"proportion": "proportion", "rate": "rate", "ratio": "ratio"}.get(info.kind)
        if kind is None or metric == "coverage_dsr":
            raise ExplorerError(f"a funnel plot needs a crude proportion, rate or ratio; {info.label} is a {info.kind}")
        rsk = risk if info.needs_risk or filters.risk is not None else None
        table = self.table(level, metric, filters, policy, None if codes is not None else within, rsk)
        if codes is not None:
            table = table[table["area_code"].isin(list(codes))]
        comparator = _f(self.value_of(benchmark, metric, filters, policy, rsk)[metric])
        region = comparator if benchmark is None else _f(self.value_of(None, metric, filters, policy, rsk)[metric])
        shown = table[~table[f"{metric}_suppressed"].astype(bool)]
        value = pd.to_numeric(shown[metric], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        den = pd.to_numeric(shown[f"{metric}_denominator"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        num = pd.to_numeric(shown[f"{metric}_numerator"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        keep = np.isfinite(value) & np.isfinite(num) & np.isfinite(den) & (den > 0)
        points = pd.DataFrame({"area_code": shown["area_code"].to_numpy()[keep],
                               "area_name": shown["area_name"].astype(str).to_numpy()[keep],
                               "value": value[keep], "denominator": den[keep]})
        mult = info.multiplier
        # each area's own 95% / 99.8% CIs (from the released counts, as the bars and map) against the
        # comparator; funnel_limits inverts the same intervals, so points fall outside the lines alike
        points["position"] = stats.funnel_position(num[keep], den[keep], comparator, kind, mult)
        points["position_region"] = stats.funnel_position(num[keep], den[keep], region, kind, mult)
        points["numerator"] = num[keep]
        if len(points):
            grid = np.unique(np.geomspace(max(points["denominator"].min() * 0.8, 1), points["denominator"].max() * 1.1,
                                          120).round(1))
        else:
            grid = np.array([1.0, 10.0])
        limits = pd.DataFrame({"denominator": grid})
        for conf, a, b in ((0.95, "lower95", "upper95"), (0.998, "lower998", "upper998")):
            lo, hi = stats.funnel_limits(comparator, grid, kind, conf, mult)
            limits[a], limits[b] = lo, hi
        points.attrs["hidden"] = int(len(table) - int(keep.sum()))
        # the areas not plotted, for tables that list every area: suppressed, or no value or denominator
        left = table[~table["area_code"].isin(points["area_code"])]
        points.attrs["not_plotted"] = [
            {"area_code": str(c), "area_name": str(n), "suppressed": bool(h)}
            for c, n, h in zip(left["area_code"], left["area_name"], left[f"{metric}_suppressed"].astype(bool))]
        return points, limits, comparator

    # ------------------------------------------------------------------ trend and cascade
    def trend(self, code: str | None, metric: str, filters: Filters, risk: Any, policy: DisclosurePolicy
              ) -> tuple[pd.DataFrame, dict]:
        """Monthly values for the area (24 months) with the Fingertips recent-trend test."""
        info = self.metric(metric)
        rsk = risk if info.needs_risk or filters.risk is not None else None
        frame, test = self.engine_call("trend", metric, filters, code, risk=rsk, policy=policy)
        controlled = as_generic_columns(control(as_metric_columns(frame, metric), info, policy), metric)
        return controlled.rename(columns={"month": "period"}), test

    def cascade(self, code: str | None, filters: Filters, risk: Any, policy: DisclosurePolicy) -> pd.DataFrame:
        """People at risk -> with a plan -> complete -> reviewed -> viewed by urgent care (controlled)."""
        use_risk = risk if getattr(self.engine, "has_risk_scores", False) else None
        table = self.engine_call("cascade", replace_risk(filters, None), code, use_risk, policy=policy)
        controlled = apply_policy(table[["step", "count"]], "count", policy)
        counts = pd.to_numeric(controlled["count"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        first = counts[0] if len(counts) and np.isfinite(counts[0]) and counts[0] > 0 else np.nan
        out = pd.DataFrame({"stage": table["step"], "count": counts, "share": counts / first * 100,
                            "suppressed": controlled["count_suppressed"].to_numpy(dtype=bool),
                            "measure": table["measure"]})  # lets callers drop clinical steps by role
        out.attrs["high_risk"] = use_risk is not None
        return out

    # ------------------------------------------------------------------ outreach
    def outreach(self, level: str, filters: Filters, risk: Any, policy: DisclosurePolicy,
                 within: str | None = None) -> pd.DataFrame:
        """High-risk people without a plan and gap counts per area, disclosure-controlled."""
        table = self.engine_call("outreach", level, risk, replace_risk(filters, None), within=within,
                                 policy=policy)
        table = table.assign(_all="all")
        hr_cov = "high_risk_plan_coverage"
        specs = [CountSpec("high_risk"), CountSpec("high_risk_without_plan"), CountSpec("gap"),
                 RatioSpec(hr_cov, multiplier=1.0, recompute=_wilson_percent),
                 CountSpec("expected_admissions_without_plan")]
        out = apply_policy(table, specs, policy, groups=[["_all"]])
        expected = "expected_admissions_without_plan"
        for bound in ("lower", "upper"):  # its CI rests on rounded inputs; hidden with the value
            out[f"{expected}_{bound}"] = out[f"{expected}_{bound}"].mask(out[f"{expected}_suppressed"])
        assert_no_small_counts(out, ["high_risk", "high_risk_without_plan", "gap", f"{hr_cov}_numerator",
                                     f"{hr_cov}_denominator", expected], policy)
        return out.drop(columns="_all").reset_index(drop=True)



# --------------------------------------------------------------------------- helpers


def _f(x: Any) -> float:
    try:
        return float(x) if x is not None and not pd.isna(x) else math.nan
    except (TypeError, ValueError):
        return math.nan




def group_label(by: str, group: str) -> str:
    """Display label of a by-group code ("1" -> "1 (most deprived)", "yes" -> "Disabled", ...)."""
    if group == "unknown":
        return "Not recorded"
    if by == "ethnic_group":
        return ETHNIC_LABELS.get(group, group)
    if by == "disabled":
        return {"yes": "Disabled", "no": "Not disabled"}.get(group, group)
    if by == "sex":
        return group.capitalize()
    if by == "frailty":
        return _FRAILTY.get(group, group)
    if by in ("imd_decile", "imd_quintile"):
        last = "10" if by == "imd_decile" else "5"
        return f"{group} (most deprived)" if group == "1" else f"{group} (least deprived)" if group == last else group
    return group



def replace_risk(filters: Filters, risk: Any) -> Filters:
    return replace(filters, risk=risk)


def _wilson_percent(num: pd.Series, den: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    value, lo, hi = wilson_recompute(num, den)
    return value * 100, lo * 100, hi * 100


def target_areas(table: pd.DataFrame, capacity: int, rank_by: str = "high_risk_without_plan",
                 step: int | None = None) -> pd.DataFrame:
    """Rank areas and mark those a team with `capacity` planning conversations should start with.

    Areas are taken in rank order (largest `rank_by` first, suppressed last) until their high-risk
    people without a plan reach the capacity; `reach` is how many of those people the
    conversations cover (never more than the capacity). Works on controlled counts only. `step`: the
    policy's rounding base (None: raw); the capacity is then spent in whole steps, so the last area's
    part is a multiple of it like every count shown beside it, never a count of 1-7.
    """
    if step:
        capacity = capacity // step * step
    out = table.copy()
    people = pd.to_numeric(out["high_risk_without_plan"], errors="coerce").astype(float)
    key = pd.to_numeric(out[rank_by], errors="coerce").astype(float)
    out = out.assign(_key=key.fillna(-1.0), _people=people.fillna(0.0))
    out = out.sort_values(["_key", "area_code"], ascending=[False, True], kind="stable").reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    cumulative = out["_people"].cumsum()
    before = cumulative - out["_people"]
    out["cumulative_without_plan"] = cumulative
    out["targeted"] = (before < capacity) & (out["_people"] > 0)
    out["reach"] = np.clip(np.minimum(cumulative, capacity) - np.minimum(before, capacity), 0, None)
    out.attrs["reach"] = float(out["reach"].sum())
    out.attrs["areas"] = int(out["targeted"].sum())
    out.attrs["total"] = float(out["_people"].sum())
    return out.drop(columns=["_key", "_people"])
