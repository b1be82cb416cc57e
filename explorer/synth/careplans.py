"""Seeded synthetic care-plan records for a region: `generate_records` writes every table.

The generators, each documented in its module:
- explorer.synth.cohort: the people (PEOPLE), streamed in chunks;
- explorer.synth.plans: who has a care plan, its lifecycle and completeness (PLANS), calibrated
  while the people stream past (CohortObserver);
- explorer.synth.reviews: plan reviews (PLAN_REVIEWS) and views (PLAN_VIEWS);
- explorer.synth.clinicians: clinician users (USERS) and their monthly logins (USER_LOGINS);
- explorer.synth.draws: the extract window's dates and shared drawing helpers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from explorer import __version__
from explorer.bundle.store import Bundle
from explorer.config import Settings
from explorer.records import store
from explorer.records.schema import (
    COMPLETENESS_ITEMS, EXTRACT_DATE, FRAILTY, HISTORY_MONTHS, PLAN_REVIEWS, PLAN_VIEWS, PLANS,
    URGENT_CARE_SERVICES, USER_LOGINS, USERS,
)
from explorer.synth import cohort, recording, truth
from explorer.synth.scope import scope_of, within_icss
from explorer.synth.clinicians import LOGINS, ORGANISATIONS, make_logins, make_users, months
from explorer.synth.draws import DAYS_PER_MONTH, DEFAULT_SEED, EXTRACT, WINDOW_START, date_series
from explorer.synth.plans import (
    ACTIVE_PLANS_LONDON, ACTIVE_PLANS_PER_PERSON, COMPLETENESS, LONDON_POPULATION_2021, PLAN_LIFECYCLE,
    PLAN_PROPENSITY, CohortObserver, PlanDetail, make_plans, plan_linear_predictor,
)
from explorer.synth.reviews import REVIEWS, VIEWS, make_reviews, make_views

__all__ = [
    "ACTIVE_PLANS_LONDON", "ACTIVE_PLANS_PER_PERSON", "COMPLETENESS", "DEFAULT_SEED", "LOGINS",
    "LONDON_POPULATION_2021", "ORGANISATIONS", "PLAN_LIFECYCLE", "PLAN_PROPENSITY", "REVIEWS", "VIEWS",
    "CohortObserver", "PlanDetail", "generate_records", "make_logins", "make_plans", "make_reviews",
    "make_users", "make_views", "months", "parameters", "plan_linear_predictor",
]


def parameters() -> dict:
    """Every plan, review, view, user and login parameter, for the records manifest."""
    return {"active_plans_per_person": ACTIVE_PLANS_PER_PERSON, "plan_propensity": PLAN_PROPENSITY,
            "plan_lifecycle": PLAN_LIFECYCLE, "completeness": COMPLETENESS,
            "reviews": {**REVIEWS, "period_months": {str(k): v for k, v in REVIEWS["period_months"].items()}},
            "views": VIEWS, "organisations": ORGANISATIONS, "logins": LOGINS}



def _calibration(observer: CohortObserver, plans: pd.DataFrame, detail: PlanDetail, last_review: np.ndarray,
                 views: pd.DataFrame, users: pd.DataFrame, logins: pd.DataFrame) -> dict:
    s = observer.stats
    people = detail.people
    active = plans["status"].to_numpy() == "active"
    n_active = int(active.sum())
    modsev = np.isin(people["frailty"].to_numpy(), (2, 3)) & active
    plans_modsev = np.zeros_like(s["modsev"])
    np.add.at(plans_modsev, (people["ics"].to_numpy()[modsev], people["quintile"].to_numpy()[modsev] - 1), 1)
    cover_q = plans_modsev.sum(axis=0) / np.maximum(s["modsev"].sum(axis=0), 1)
    cover_ics = plans_modsev / np.maximum(s["modsev"], 1)
    rate_q = s["admitted"] / np.maximum(s["people"], 1)
    created = detail.created
    period_days = plans["review_period_months"].to_numpy() * DAYS_PER_MONTH
    latest = np.fmax(created, last_review)
    in_date = (-latest <= period_days)[active].mean() if n_active else float("nan")
    reviewed_in_date = (-last_review <= period_days)[active].mean() if n_active else float("nan")
    score = plans[list(COMPLETENESS_ITEMS)].to_numpy().mean(axis=1)
    last12 = views["view_date"] > pd.Timestamp(EXTRACT - np.timedelta64(365, "D"))
    urgent = views["service"].isin(URGENT_CARE_SERVICES)
    per_month = logins.groupby("month")["logins"].agg(
        at_least_once="size", over_ten=lambda x: int((x > 10).sum()))
    r = lambda x, d=4: round(float(x), d)  # noqa: E731
    return {
        "active_plans": n_active,
        "active_plans_target": round(observer.target_active, 1),
        "plan_intercept": r(detail.intercept),
        "plans_by_status": plans["status"].value_counts().sort_index().to_dict(),
        "coverage_moderate_severe_frail_by_imd_quintile": {q + 1: r(v) for q, v in enumerate(cover_q)},
        "coverage_moderate_severe_frail_q1_q5_by_ics": {
            code: {"q1": r(cover_ics[i, 0]), "q5": r(cover_ics[i, 4])} for i, code in enumerate(observer.ics_codes)},
        "emergency_admission_rate": r(s["admitted"].sum() / max(s["rows"], 1)),
        "emergency_admission_rate_by_imd_quintile": {q + 1: r(v) for q, v in enumerate(rate_q)},
        "emergency_admission_q1_q5_ratio": r(rate_q[0] / rate_q[4], 3),
        "frailty_share_65_plus": {f: r(c / max(s["people_65"], 1)) for f, c in zip(FRAILTY, s["frailty_65"])},
        "completeness_mean_active": r(score[active].mean()),
        "completeness_mean_by_imd_quintile": {
            q: r(score[active & (people["quintile"].to_numpy() == q)].mean()) for q in range(1, 6)},
        "reviewed_within_period_active": r(in_date),
        "reviewed_within_period_active_reviews_only": r(reviewed_in_date),
        "views_last_12_months": int(last12.sum()),
        "urgent_views_last_12_months": int((last12 & urgent).sum()),
        "urgent_views_per_active_plan_year": r((last12 & urgent).sum() / max(n_active, 1), 3),
        "users": len(users),
        "users_logging_in_at_least_once_a_month": r(per_month["at_least_once"].mean() / max(len(users), 1)),
        "users_logging_in_more_than_10_times_a_month": r(per_month["over_ten"].mean() / max(len(users), 1)),
    }


def generate_records(settings: Settings, bundle: Bundle, seed: int = DEFAULT_SEED,
                     ics: Sequence[str] | None = None) -> dict:
    """Generate and write every synthetic table for the bundle's region; returns the manifest.

    `ics`: ICB codes to generate people, plans and users for, in those ICSs only (explorer.synth.scope:
    an ICS deploying the tool for itself, or a small test world); the rest of the region has no records.
    The manifest is removed first and written last, so a directory with a manifest always holds
    one complete generation."""
    started = time.perf_counter()
    if ics:
        bundle = within_icss(bundle, ics)
    directory = store.records_dir(settings, bundle.region)
    store.remove_manifest(directory)
    observer = CohortObserver(bundle=bundle, seed=seed)
    tally: dict[str, int] = {}
    people = recording.mask_ethnicity(observer.tap(cohort.generate_people(bundle, seed)), seed, tally)
    rows = {"people": store.write_table(directory, "people", people)}
    plans, _, detail = make_plans(observer, seed)
    reviews, last_review = make_reviews(plans, detail, seed)
    plans["last_reviewed_date"] = date_series(last_review)
    n_active = int((plans["status"] == "active").sum())
    views = make_views(plans, detail, n_active, seed)
    users = make_users(bundle, seed)
    logins = make_logins(users, seed)
    for layout, frame in ((PLANS, plans), (PLAN_REVIEWS, reviews), (PLAN_VIEWS, views), (USERS, users),
                          (USER_LOGINS, logins)):
        rows[layout.name] = store.write_table(directory, layout.name, [frame])
    manifest = {
        "region": bundle.region,
        "ics_scope": scope_of(bundle),  # None: every ICS of the region
        "synthetic": True,
        "seed": seed,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tool_version": __version__,
        "extract_date": EXTRACT_DATE,
        "history_months": HISTORY_MONTHS,
        "window_start": str(WINDOW_START),
        "bundle_built_at": bundle.manifest.get("built_at"),
        "rows": rows,
        "truth": truth.as_dict(),
        "calibration": {**_calibration(observer, plans, detail, last_review, views, users, logins),
                        "ethnicity_not_recorded_share": round(tally["not_recorded"] / max(tally["people"], 1), 4)},
        "parameters": {"cohort": cohort.parameters(), "care_plans": parameters(),
                       "recording": recording.parameters()},
        "generation_seconds": round(time.perf_counter() - started, 1),
    }
    store.write_manifest(directory, manifest)
    return json.loads(json.dumps(manifest, default=str))  # as stored (JSON keys are strings)
