"""The metric catalogue: what each metric is (label, unit, kind, polarity, source) and which
summed measures it needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from explorer.domain.metrics._filters import FilterError
from explorer.vocab import COMPLETENESS_ITEMS

CONFIDENCE = 0.95
N_ITEMS = len(COMPLETENESS_ITEMS)

# --------------------------------------------------------------------------- metric catalogue

Kind = Literal["proportion", "rate", "mean", "count", "ratio", "score"]


@dataclass(frozen=True)
class MetricInfo:
    """What the app needs to offer a metric: label, unit, kind, polarity and where it comes from.

    ``source``: "cells" (people and plans), "users" (clinician users by organisation LSOA) or
    "geography" (the bundle; no CI, filters and dates do not apply). ``filterable``: whether
    :class:`Filters` apply. ``needs_risk``: needs a trained risk model (``risk_scores``).
    """

    name: str
    label: str
    unit: str
    kind: Kind
    multiplier: float
    higher_is_better: bool | None
    description: str
    denominator: str
    source: Literal["cells", "users", "geography"] = "cells"
    filterable: bool = True
    needs_risk: bool = False
    has_ci: bool = True
    decimals: int = 1


_M = MetricInfo
METRICS: dict[str, MetricInfo] = {m.name: m for m in (
    _M("plans", "People with a live care plan", "people", "count", 1, True,
       "People with a live (published, not closed) advance/urgent care plan at the snapshot month end. "
       "95% CI: Byar (exact Poisson below 10).", "registered people", decimals=0),
    _M("coverage", "Care-plan coverage of residents", "per 1,000 residents", "rate", 1_000, True,
       "People with a live care plan per 1,000 people in the records: per resident population, as the "
       "synthetic cohort is drawn to Census 2021 usual residents ('Care-plan coverage of registered "
       "patients' divides the same plans by GP lists). 95% CI: Byar.", "people in the records (residents)"),
    _M("coverage_dsr", "Care-plan coverage, age-standardised", "per 100,000 people (ESP 2013)", "rate", 100_000,
       True, "People with a live plan per 100,000, directly standardised to the 2013 European Standard "
       "Population (19 age bands). 95% CI: Dobson with Byar. Not shown below 10 plans or where an age band has "
       "nobody.", "registered people"),
    _M("adjusted_coverage", "Care-plan coverage, adjusted for age, sex and frailty", "index (region = 100)",
       "ratio", 100, True, "Observed plans / plans expected if the area had the region's age band x sex x "
       "frailty specific coverage (indirect standardisation), x 100. 95% CI: Byar on the observed count. "
       "Numerator: observed plans; denominator: expected plans.", "expected plans"),
    _M("completeness", "Plan completeness", "% of the 10 items", "mean", 100, True,
       "Mean share of the 10 completeness items recorded, over live plans. 95% CI: normal, from the "
       "standard deviation of the per-plan share. Numerator: items recorded; denominator: live plans.",
       "live plans"),
    _M("reviewed_in_period", "Plans reviewed within their review period", "% of live plans", "proportion", 100,
       True, "Live plans whose latest review (or creation, if never reviewed) is within the plan's review "
       "period of the snapshot date. 95% CI: Wilson.", "live plans"),
    _M("urgent_care_views", "Urgent care views", "per 100 live plans", "rate", 100, True,
       "Views by ambulance, NHS 111 and emergency departments in the 12 months to the snapshot (of any "
       "published plan of the area's people) per 100 live plans. 95% CI: Byar.", "live plans"),
    _M("ethnicity_not_stated", "Ethnic group not recorded", "% of registered people", "proportion", 100, False,
       "Registered people whose record holds no ethnic group (imported as not stated, not known or blank). "
       "95% CI: Wilson.", "registered people"),
    _M("plans_missing_key_items", "Plans missing a key item", "% of live plans", "proportion", 100, False,
       "Live plans without all four key items (resuscitation decision, preferred place of care, ceiling of "
       "treatment, key contacts): the plans an ambulance crew may open and not find what it needs. "
       "95% CI: Wilson.", "live plans"),
    _M("active_users", "Users logging in during the month", "% of users", "proportion", 100, True,
       "Clinician users with at least one login in the snapshot month, by the LSOA of their organisation "
       "(users without one count only in the region total). Person filters do not apply. 95% CI: Wilson.",
       "clinician users", source="users", filterable=False),
    _M("active_users_10plus", "Users logging in more than 10 times", "% of users", "proportion", 100, True,
       "Clinician users with more than 10 logins in the snapshot month, by the LSOA of their organisation. "
       "Person filters do not apply. 95% CI: Wilson.", "clinician users", source="users", filterable=False),
    _M("high_risk", "High-risk people", "people", "count", 1, None,
       "People at high predicted risk of emergency admission (default: top 10% in the region). "
       "Numerator: high-risk people; denominator: registered people. No CI (a fixed share by definition).",
       "registered people", needs_risk=True, has_ci=False, decimals=0),
    _M("high_risk_without_plan", "High-risk people without a plan", "people", "count", 1, False,
       "High-risk people with no live care plan. Denominator: high-risk people. No CI.", "high-risk people",
       needs_risk=True, has_ci=False, decimals=0),
    _M("high_risk_plan_coverage", "High-risk people with a plan", "% of high-risk people", "proportion", 100, True,
       "High-risk people with a live care plan. 95% CI: Wilson.", "high-risk people", needs_risk=True),
    _M("expected_admissions_without_plan", "Expected admissions, high-risk people without a plan",
       "admissions in 12 months", "count", 1, False,
       "Sum of predicted admission probabilities of high-risk people without a live plan. 95% CI: normal, "
       "variance sum p(1-p). Denominator: high-risk people without a plan.", "high-risk people without a plan",
       needs_risk=True),
    _M("imd_score", "IMD 2025 score", "score (higher = more deprived)", "score", 1, None,
       "Population-weighted mean of LSOA IMD 2025 scores (MHCLG area-summary method).", "residents",
       source="geography", filterable=False, has_ci=False),
    _M("core20_population_share", "Core20 population", "% of residents", "proportion", 100, None,
       "Residents living in the most deprived 20% of LSOAs nationally (IMD deciles 1-2).", "residents",
       source="geography", filterable=False, has_ci=False),
    _M("population", "Population", "residents", "count", 1, None,
       "Usual residents (Census 2021).", "residents", source="geography", filterable=False, has_ci=False,
       decimals=0),
)}
RISK_METRICS = tuple(n for n, m in METRICS.items() if m.needs_risk)
USER_METRICS = tuple(n for n, m in METRICS.items() if m.source == "users")
GEOGRAPHY_METRICS = tuple(n for n, m in METRICS.items() if m.source == "geography")


def check_metric(name: str) -> MetricInfo:
    if name not in METRICS:
        raise FilterError(f"unknown metric '{name}': choose from {', '.join(METRICS)}")
    return METRICS[name]


#: Summed measures each cell-based metric needs, (person-side, plan-side); "strata" marks ISR/DSR.
PERSON_MEASURES = ("people", "hr_people", "hr_risk", "hr_risk_var", "admitted", "ns_people")
PLAN_MEASURES = ("plans", "items_sum", "items_sumsq", "key_complete", "reviewed", "kc_reviewed",
                 "kc_reviewed_viewed", "urgent_views", "hr_plans", "hr_risk_plan", "hr_risk_var_plan")
NEEDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "plans": (("people",), ("plans",)),
    "coverage": (("people",), ("plans",)),
    "coverage_dsr": (("people",), ("plans",)),
    "adjusted_coverage": (("people",), ("plans",)),
    "completeness": ((), ("plans", "items_sum", "items_sumsq")),
    "reviewed_in_period": ((), ("plans", "reviewed")),
    "urgent_care_views": ((), ("plans", "urgent_views")),
    "high_risk": (("people", "hr_people"), ()),
    "high_risk_without_plan": (("hr_people",), ("hr_plans",)),
    "high_risk_plan_coverage": (("hr_people",), ("hr_plans",)),
    "expected_admissions_without_plan": (("hr_people", "hr_risk", "hr_risk_var"),
                                         ("hr_plans", "hr_risk_plan", "hr_risk_var_plan")),
    "ethnicity_not_stated": (("people", "ns_people"), ()),
    "plans_missing_key_items": ((), ("plans", "key_complete")),
    "active_users": (("users", "active_users"), ()),
    "active_users_10plus": (("users", "active_users_10plus"), ()),
}
STRATA = {"adjusted_coverage": "isr_stratum", "coverage_dsr": "esp_band"}

#: Metrics whose released value or CI needs more than a rounded numerator and denominator.
ROUNDED_INPUT_METRICS = ("coverage_dsr", "completeness", "expected_admissions_without_plan")
