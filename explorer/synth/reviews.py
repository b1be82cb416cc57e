"""Seeded synthetic plan reviews (PLAN_REVIEWS) and plan views (PLAN_VIEWS), drawn from the plans.

- Reviews: a renewal process from the creation date; each review comes after about the agreed
  period (sometimes late), and some plans stop being reviewed. Reviews from 48 months before the
  extract date are written (enough to know each plan's latest review at any month end of the
  window); last_reviewed_date is the latest review before the plan closed or the extract.
  "Reviewed within period" at a date d: the latest of created_date and the reviews up to d is no more
  than review_period_months before d.
- Views: Poisson counts over each plan's live days in the window. The London Universal Care Plan
  reported about 290,000 views of about 55,000 plans in a year, 83,000 by urgent care (ambulance,
  111, emergency department): urgent views are scaled to 1.5 per active plan per year, more for
  people with recent emergency admissions, the frail and the dying; other services view about 3.8
  times per plan per year.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from explorer.records.schema import FRAILTY
from explorer.synth import cohort
from explorer.synth.draws import (
    DAYS_PER_MONTH, DAYS_PER_YEAR, EXTRACT, REVIEWS_FROM, WINDOW_START, choose, date_series, lookup, to_dates,
)

if TYPE_CHECKING:
    from explorer.synth.plans import PlanDetail

REVIEWS = {
    "period_months": {12: 0.78, 6: 0.17, 3: 0.05},
    "lateness_median": 0.97, "lateness_sd": 0.35,  # interval = period x lognormal(median, sd)
    "stop_per_cycle": 0.08,  # chance a plan is never reviewed again, per cycle
    "stop_imd_quintile": {1: 0.06, 2: 0.04, 3: 0.02, 4: 0.01, 5: 0.0},  # added in deprived areas
}
VIEWS = {
    "urgent_per_active_plan_year": 1.5,  # LUCP: 83,000 urgent views of ~55,000 plans a year
    "other_per_plan_year": 3.8,  # (290,000 - 83,000) / 55,000
    "urgent_services": {"ambulance": 0.45, "nhs_111": 0.30, "emergency_department": 0.25},
    "other_services": {"gp": 0.45, "community": 0.27, "hospice": 0.15, "social_care": 0.13},
    "urgent_per_prior_admission": 0.35, "prior_cap": 3,  # log rate
    "urgent_frailty": {"fit": 1.0, "mild": 1.2, "moderate": 1.5, "severe": 1.9, "not_assessed": 1.0},
    "urgent_dying": 2.0, "other_dying": 1.5,  # deceased plans: more views, near death
    "gamma_shape": 1.5,
}
DYING_SKEW = 0.4  # view times of deceased plans: start + span x U**0.4, more of them near death


def make_reviews(plans: pd.DataFrame, detail: PlanDetail, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Review events (written from REVIEWS_FROM) and each plan's latest review (days, NaN if none)."""
    rng = np.random.default_rng([seed, 4])
    rv = REVIEWS
    created, closed, draft = detail.created, detail.closed, detail.draft
    quintile = detail.people["quintile"].to_numpy()
    end = np.where(np.isnan(closed), 0.0, closed)
    period_days = detail.period * DAYS_PER_MONTH
    stop = rv["stop_per_cycle"] + lookup(rv["stop_imd_quintile"], (1, 2, 3, 4, 5))[quintile - 1]
    current = created.copy()
    going = ~draft
    last = np.full(len(plans), np.nan)
    rows_plan, rows_day = [], []
    while going.any():
        idx = np.flatnonzero(going)
        lateness = rv["lateness_median"] * np.exp(rng.normal(0, rv["lateness_sd"], len(idx)))
        nxt = current[idx] + np.maximum(period_days[idx] * lateness, 14)
        halted = rng.random(len(idx)) < stop[idx]
        done = halted | (nxt > end[idx])
        ok = idx[~done]
        current[ok] = nxt[~done]
        last[ok] = nxt[~done]
        rows_plan.append(ok)
        rows_day.append(nxt[~done])
        going[idx[done]] = False
    plan_idx = np.concatenate(rows_plan) if rows_plan else np.zeros(0, np.int64)
    days = np.concatenate(rows_day) if rows_day else np.zeros(0)
    keep = to_dates(days) >= REVIEWS_FROM
    plan_idx, days = plan_idx[keep], days[keep]
    order = np.lexsort((days, plan_idx))
    plan_idx, days = plan_idx[order], days[order]
    reviews = pd.DataFrame({
        "review_id": cohort.make_ids("R", 0, len(plan_idx), cohort.id_keys(seed, 4)),
        "plan_id": pd.Series(pd.array(plans["plan_id"].to_numpy()[plan_idx], dtype="str")),
        "review_date": date_series(days),
    })
    return reviews, last


def make_views(plans: pd.DataFrame, detail: PlanDetail, n_active: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng([seed, 5])
    vw = VIEWS
    people = detail.people
    created, closed, draft, status = detail.created, detail.closed, detail.draft, detail.status
    window_days = float((EXTRACT - WINDOW_START).astype(int))
    start = np.maximum(created, -window_days)
    stop = np.where(np.isnan(closed), 0.0, closed)
    live_years = np.where(draft, 0.0, np.maximum(stop - start, 0) / DAYS_PER_YEAR)
    dying = status == 3
    frailty = people["frailty"].to_numpy()
    urgent_w = (np.exp(vw["urgent_per_prior_admission"] * np.minimum(people["prior"].to_numpy(), vw["prior_cap"]))
                * lookup(vw["urgent_frailty"], FRAILTY)[frailty] * np.where(dying, vw["urgent_dying"], 1.0))
    other_w = np.where(dying, vw["other_dying"], 1.0)
    # expected share of each plan's views falling in the last 12 months (the dying: skewed to the end)
    span = np.maximum(stop - start, 1e-9)
    cut = np.clip((-DAYS_PER_YEAR - start) / span, 0, 1)  # fraction of the live span before the last year
    in_last12 = np.where(dying, 1 - cut ** (1 / DYING_SKEW), 1 - cut)
    exposure12 = live_years * in_last12
    # scaled so that views in the last 12 months = the target rate x active plans
    urgent_rate = vw["urgent_per_active_plan_year"] * n_active / max((urgent_w * exposure12).sum(), 1e-9)
    other_rate = vw["other_per_plan_year"] * n_active / max((other_w * exposure12).sum(), 1e-9)
    shape = vw["gamma_shape"]
    frames = []
    for rate, weight, shares in ((urgent_rate, urgent_w, vw["urgent_services"]),
                                 (other_rate, other_w, vw["other_services"])):
        counts = rng.poisson(rate * weight * live_years * rng.gamma(shape, 1 / shape, len(plans)))
        idx = np.repeat(np.arange(len(plans)), counts)
        frac = rng.random(len(idx))
        frac = np.where(dying[idx], frac ** DYING_SKEW, frac)  # the dying are viewed more near the end
        days = start[idx] + frac * (stop[idx] - start[idx])
        last_day = np.floor(stop[idx]) - 0.001  # views end the day before the plan closed (or the extract)
        frames.append(pd.DataFrame({"plan": idx, "day": np.minimum(days, last_day),
                                    "service": np.asarray(list(shares), dtype=object)[choose(rng, shares, len(idx))]}))
    views = pd.concat(frames, ignore_index=True).sort_values(["day", "plan"], kind="stable", ignore_index=True)
    return pd.DataFrame({
        "view_id": cohort.make_ids("V", 0, len(views), cohort.id_keys(seed, 5)),
        "plan_id": pd.Series(pd.array(plans["plan_id"].to_numpy()[views["plan"].to_numpy()], dtype="str")),
        "view_date": date_series(views["day"].to_numpy()),
        "service": pd.Series(pd.array(views["service"].to_numpy(), dtype="str")),
    })
