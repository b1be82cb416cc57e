"""Seeded synthetic care plans, reviews, views, users and logins, and `generate_records` for a region.

Everything is dated relative to schema.EXTRACT_DATE (2026-10-31); events cover the 24 months
before it (HISTORY_MONTHS), plans were created from CMC's start in 2011, most of them recently.

Plans (PLANS layout), one per person at most:
- Who has a plan: a logistic propensity (PLAN_PROPENSITY) with need terms (age, frailty, long-term
  conditions, disability, emergency admissions in the last year) and an inequity term: lower odds in
  deprived areas (IMD quintile 1) and for Black, Asian, Mixed and Other ethnic groups than their
  need predicts. That gap is what the tool exists to reveal.
- Calibration: the intercept is solved over the whole region so that the expected number of
  LIVING people with an ACTIVE plan at the extract date is ACTIVE_PLANS_PER_PERSON x population:
  Coordinate My Care (2020) reported 40,612 living Londoners with a plan, so London gets 40,612
  and other regions the same rate per head. The cohort is streamed: each chunk's people are screened
  with a generous intercept (keeping their uniform draws), a histogram of their linear predictors
  is kept, and after the last chunk the exact intercept is solved and applied to the screened
  candidates: the same as drawing every person with the final intercept, without holding the cohort.
- Status: some plans are drafts (never published, started in the last few months), some withdrawn
  and some closed on the person's death within the window (hazards by age and frailty in
  PLAN_LIFECYCLE), so monthly snapshots move. Deceased plans still point at a person in PEOPLE
  (the PEOPLE layout has no date of death, and plans must refer to people that exist), so those
  few thousand people stay in the denominators.
  A plan is live at a date d if created_date <= d and (closed_date is empty or closed_date > d) and
  its status is not draft.
- Completeness: ten items with their own probabilities (COMPLETENESS), a plan-level quality effect,
  lower in deprived areas and for drafts.
- Reviews (PLAN_REVIEWS): a renewal process from the creation date; each review comes after about
  the agreed period (sometimes late), and some plans stop being reviewed. Reviews from 48 months
  before the extract date are written (enough to know each plan's latest review at any month end
  of the window); last_reviewed_date is the latest review before the plan closed or the extract.
  "Reviewed within period" at a date d: the latest of created_date and the reviews up to d is no more
  than review_period_months before d.
- Views (PLAN_VIEWS): Poisson counts over each plan's live days in the window. The London
  Universal Care Plan reported about 290,000 views of about 55,000 plans in a year, 83,000 by
  urgent care (ambulance, 111, emergency department): urgent views are scaled to 1.5 per active plan
  per year, more for people with recent emergency admissions, the frail and the dying; other
  services view about 3.8 times per plan per year.
Users (USERS) and logins (USER_LOGINS): 2-8 clinical users per GP practice, plus users in acute trusts,
the ambulance service, NHS 111, community trusts, hospices, care homes and local authorities
(synthetic ODS-like codes, ORGANISATIONS). Monthly logins are gamma-Poisson with a lognormal
user-level activity, calibrated so that about 55% of users log in at least once in a month and
about 12% more than 10 times (CMC outcome measures). Only months with at least one login are rows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from explorer import __version__
from explorer.bundle.store import Bundle
from explorer.config import Settings
from explorer.records import store
from explorer.records.schema import (
    AGE_BANDS, COMPLETENESS_ITEMS, ETHNIC_GROUPS, EXTRACT_DATE, FRAILTY, HISTORY_MONTHS, PLAN_REVIEWS,
    PLAN_STATUSES, PLAN_VIEWS, PLANS, URGENT_CARE_SERVICES, USER_LOGINS, USERS,
)
from explorer.synth import cohort, truth

DEFAULT_SEED = 20261122
EXTRACT = np.datetime64(EXTRACT_DATE, "D")
WINDOW_START = (np.datetime64(EXTRACT_DATE[:7], "M") - HISTORY_MONTHS + 1).astype("datetime64[D]")  # 2024-11-01
REVIEWS_FROM = (np.datetime64(EXTRACT_DATE[:7], "M") - 2 * HISTORY_MONTHS + 1).astype("datetime64[D]")
CMC_START = np.datetime64("2011-01-01", "D")
DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = DAYS_PER_YEAR / 12

LONDON_POPULATION_2021 = 8_799_810  # Census 2021 usual residents of the London bundle
ACTIVE_PLANS_LONDON = 40_612  # Coordinate My Care (2020): living Londoners with a plan
ACTIVE_PLANS_PER_PERSON = ACTIVE_PLANS_LONDON / LONDON_POPULATION_2021

# Log odds of having a plan. Need terms, then the inequity terms the tool should reveal.
PLAN_PROPENSITY = {
    "age": {"0-15": -2.5, "16-29": -2.2, "30-44": -1.5, "45-64": 0.0, "65-74": 1.0, "75-84": 1.9, "85+": 2.7},
    "frailty": {"fit": 0.0, "mild": 0.5, "moderate": 1.1, "severe": 1.8, "not_assessed": 0.0},
    "per_ltc": 0.22, "ltc_cap": 10,
    "disabled": 0.3,
    "prior_admissions": {"0": 0.0, "1": 0.5, "2": 0.8, "3+": 1.1},
    "inequity_imd_quintile": {1: -0.90, 2: -0.60, 3: -0.35, 4: -0.15, 5: 0.0},
    "inequity_ethnic_group": {"white": 0.0, "asian": -0.45, "black": -0.50, "mixed": -0.25, "other": -0.35},
    "screen_margin": 1.2,  # screening intercept = pilot intercept + this (odds x 3.3)
}
PLAN_LIFECYCLE = {
    "created_mean_years": 3.5,  # plan age at the extract date: exponential, truncated at CMC's start
    "draft_share": 0.05, "draft_max_days": 120,
    "withdrawn_share": 0.03,  # of published plans, withdrawn during the window
    # yearly death hazard of plan holders by age, times a frailty multiplier
    "death_hazard_by_age": {"0-15": 0.05, "16-29": 0.05, "30-44": 0.06, "45-64": 0.09, "65-74": 0.12,
                            "75-84": 0.18, "85+": 0.28},
    "death_hazard_frailty": {"fit": 0.7, "mild": 1.0, "moderate": 1.4, "severe": 2.0, "not_assessed": 1.0},
}
COMPLETENESS = {
    "probability": {"resuscitation_decision": 0.93, "preferred_place_of_care": 0.80, "preferred_place_of_death": 0.73,
                    "ceiling_of_treatment": 0.76, "key_contacts": 0.88, "diagnoses": 0.95, "medications": 0.72,
                    "lasting_power_of_attorney": 0.36, "care_needs": 0.66, "gp_details": 0.97},
    "quality_sd": 0.8,  # plan-level random effect on the log odds of every item
    "imd_quintile": {1: -0.35, 2: -0.2, 3: -0.1, 4: -0.05, 5: 0.0},
    "draft": -1.2,
}
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
# Organisations other than practices: one per `per_people` residents (at least one per ICS where
# `per_ics`), users per organisation uniform in `users`, roles with shares.
ORGANISATIONS = {
    "gp_practice": {"users": (2, 8), "roles": {"gp": 0.45, "practice_nurse": 0.35, "other": 0.20}},
    "acute_trust": {"prefix": "RZ", "digits": 3, "per_people": 450_000, "users": (40, 150),
                    "roles": {"consultant": 0.55, "other": 0.45}},
    "ambulance_service": {"prefix": "RZA", "digits": 2, "per_people": 6_000_000, "users": (150, 400),
                          "roles": {"paramedic": 0.85, "call_handler": 0.15}},
    "nhs_111": {"prefix": "NZ1", "digits": 2, "per_ics": True, "users": (40, 100),
                "roles": {"call_handler": 0.80, "other": 0.20}},
    "community_trust": {"prefix": "RZC", "digits": 2, "per_ics": True, "users": (30, 100),
                        "roles": {"community_nurse": 0.80, "other": 0.20}},
    "hospice": {"prefix": "NZH", "digits": 3, "per_people": 450_000, "users": (8, 30),
                "roles": {"consultant": 0.30, "community_nurse": 0.50, "other": 0.20}},
    "care_home": {"prefix": "VZ", "digits": 4, "per_people": 25_000, "users": (1, 4),
                  "roles": {"other": 0.70, "community_nurse": 0.30}},
    "local_authority": {"prefix": "LZ", "digits": 3, "per_place": True, "users": (5, 20),
                        "roles": {"social_worker": 1.0}},
}
LOGINS = {
    "activity_log_median": {"gp": 0.5, "practice_nurse": 0.2, "consultant": 0.2, "paramedic": 1.5,
                            "call_handler": 1.7, "community_nurse": 0.9, "social_worker": 0.2, "other": -0.1},
    "activity_log_sd": 1.9,  # between users
    "month_gamma_shape": 1.2,  # month-to-month variation within a user
    "monthly_growth": 0.01,  # use grows about 1% a month over the window
}


def parameters() -> dict:
    """Every plan, review, view, user and login parameter, for the records manifest."""
    return {"active_plans_per_person": ACTIVE_PLANS_PER_PERSON, "plan_propensity": PLAN_PROPENSITY,
            "plan_lifecycle": PLAN_LIFECYCLE, "completeness": COMPLETENESS,
            "reviews": {**REVIEWS, "period_months": {str(k): v for k, v in REVIEWS["period_months"].items()}},
            "views": VIEWS, "organisations": ORGANISATIONS, "logins": LOGINS}


# ------------------------------------------------------------------------------------ helpers
def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _lookup(mapping: dict, keys: Iterable) -> np.ndarray:
    return np.array([mapping[k] for k in keys], dtype=float)


def _band7(age: np.ndarray) -> np.ndarray:
    lows = np.array([int(b.rstrip("+").split("-")[0]) for b in AGE_BANDS])
    return np.searchsorted(lows, age, side="right") - 1


def _codes(values: pd.Series, labels: tuple) -> np.ndarray:
    codes = pd.Categorical(values, categories=list(labels)).codes
    if (codes < 0).any():
        raise ValueError(f"unexpected values {sorted(set(values) - set(labels))[:3]}")
    return codes.astype(np.int64)


def _prior_category(prior: np.ndarray) -> np.ndarray:
    return np.minimum(prior, 3)


def _to_dates(days: np.ndarray) -> np.ndarray:
    """Day offsets from the extract date (negative = before) as datetime64[D]; NaN -> NaT."""
    days = np.asarray(days, dtype=float)
    out = np.full(len(days), np.datetime64("NaT"), dtype="datetime64[D]")
    ok = ~np.isnan(days)
    out[ok] = EXTRACT + np.floor(days[ok]).astype("timedelta64[D]")
    return out


def _date_series(days: np.ndarray) -> pd.Series:
    return pd.Series(_to_dates(days).astype("datetime64[s]"))


def _choice(rng: np.random.Generator, shares: dict, size: int) -> np.ndarray:
    """Indices into list(shares) drawn with the given shares."""
    p = np.array(list(shares.values()), dtype=float)
    return np.minimum(np.searchsorted(np.cumsum(p / p.sum()), rng.random(size), side="right"), len(p) - 1)


def _labels(shares: dict | tuple, index: np.ndarray) -> pd.Series:
    return pd.Series(pd.array(np.asarray(list(shares), dtype=object)[index], dtype="str"))


def _largest_remainder(weights: np.ndarray, total: int) -> np.ndarray:
    exact = weights / weights.sum() * total
    counts = np.floor(exact).astype(np.int64)
    counts[np.argsort(-(exact - counts), kind="stable")[: total - counts.sum()]] += 1
    return counts


# ----------------------------------------------------------------------------- plan propensity
def plan_linear_predictor(band7: np.ndarray, frailty: np.ndarray, ltc: np.ndarray, disabled: np.ndarray,
                          prior: np.ndarray, quintile: np.ndarray, ethnic: np.ndarray) -> np.ndarray:
    """Log odds of having a plan, without the intercept (codes as in schema's AGE_BANDS, FRAILTY,
    ETHNIC_GROUPS; quintile 1-5)."""
    pp = PLAN_PROPENSITY
    return (_lookup(pp["age"], AGE_BANDS)[band7] + _lookup(pp["frailty"], FRAILTY)[frailty]
            + pp["per_ltc"] * np.minimum(ltc, pp["ltc_cap"]) + pp["disabled"] * disabled
            + _lookup(pp["prior_admissions"], ("0", "1", "2", "3+"))[_prior_category(prior)]
            + _lookup(pp["inequity_imd_quintile"], (1, 2, 3, 4, 5))[quintile - 1]
            + _lookup(pp["inequity_ethnic_group"], ETHNIC_GROUPS)[ethnic])


def _created_age_grid() -> tuple[np.ndarray, np.ndarray]:
    """Plan age in years at the extract date: grid and probability weights (truncated exponential)."""
    t_max = (EXTRACT - CMC_START).astype(int) / DAYS_PER_YEAR
    grid = (np.arange(4000) + 0.5) * t_max / 4000
    w = np.exp(-grid / PLAN_LIFECYCLE["created_mean_years"])
    return grid, w / w.sum()


def _death_hazard(band7: np.ndarray, frailty: np.ndarray) -> np.ndarray:
    lc = PLAN_LIFECYCLE
    return _lookup(lc["death_hazard_by_age"], AGE_BANDS)[band7] * _lookup(lc["death_hazard_frailty"], FRAILTY)[frailty]


def _p_active(band7: np.ndarray, frailty: np.ndarray) -> np.ndarray:
    """Probability that a person given a plan holds an active plan at the extract date."""
    lc = PLAN_LIFECYCLE
    grid, w = _created_age_grid()
    window_years = HISTORY_MONTHS / 12
    combos = band7 * len(FRAILTY) + frailty
    unique = np.unique(combos)
    b_u, f_u = np.divmod(unique, len(FRAILTY))
    hazard = _death_hazard(b_u, f_u)
    survive = (np.exp(-hazard[:, None] * np.minimum(grid, window_years)[None, :]) * w[None, :]).sum(axis=1)
    table = np.zeros(len(AGE_BANDS) * len(FRAILTY))
    table[unique] = survive
    return (1 - lc["draft_share"]) * (1 - lc["withdrawn_share"]) * table[combos]


# ------------------------------------------------------------------------- streaming observer
DYING_SKEW = 0.4  # view times of deceased plans: start + span x U**0.4, more of them near death
_LP_MIN, _LP_STEP, _LP_BINS = -15.0, 0.005, 8000


@dataclass
class CohortObserver:
    """Watches the people chunks go by on their way to disk: keeps plan candidates and the
    aggregates needed for calibration, never the cohort itself."""

    bundle: Bundle
    seed: int
    target_active: float = 0.0
    screen_intercept: float | None = None
    lp_hist: np.ndarray = field(default_factory=lambda: np.zeros(_LP_BINS))
    candidates: list[pd.DataFrame] = field(default_factory=list)
    stats: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        lsoas = self.bundle.lsoas
        self.index = pd.Index(lsoas["lsoa_code"])
        self.quintile = lsoas["imd_quintile"].to_numpy(np.int64)
        self.ics_codes, self.ics = np.unique(lsoas["ics_code"].to_numpy(str), return_inverse=True)
        self.population = int(lsoas["population"].sum())
        self.target_active = ACTIVE_PLANS_PER_PERSON * self.population
        n_ics = len(self.ics_codes)
        self.stats = {"people": np.zeros(5), "admitted": np.zeros(5), "frailty_65": np.zeros(4),
                      "people_65": 0, "modsev": np.zeros((n_ics, 5)), "rows": 0}

    def tap(self, frames: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for number, frame in enumerate(frames):
            self.observe(number, frame)
            yield frame

    def observe(self, number: int, frame: pd.DataFrame) -> None:
        rng = np.random.default_rng([self.seed, 2, number])
        pos = self.index.get_indexer(frame["lsoa_code"])
        if (pos < 0).any():
            raise ValueError("people in LSOAs outside the bundle")
        quintile, ics = self.quintile[pos], self.ics[pos]
        age = frame["age"].to_numpy()
        band7 = _band7(age)
        frailty = _codes(frame["frailty"], FRAILTY)
        ethnic = _codes(frame["ethnic_group"], ETHNIC_GROUPS)
        ltc = frame["ltc_count"].to_numpy()
        disabled = frame["disabled"].to_numpy()
        prior = frame["admissions_prev_12m"].to_numpy()
        lp = plan_linear_predictor(band7, frailty, ltc, disabled, prior, quintile, ethnic)
        weight = _p_active(band7, frailty)
        bins = np.clip(((lp - _LP_MIN) / _LP_STEP).astype(np.int64), 0, _LP_BINS - 1)
        chunk_hist = np.bincount(bins, weights=weight, minlength=_LP_BINS)
        self.lp_hist += chunk_hist
        if self.screen_intercept is None:  # pilot on the first chunk, with a generous margin
            share = len(frame) / self.population
            self.screen_intercept = _solve_intercept(chunk_hist, self.target_active * share) + \
                PLAN_PROPENSITY["screen_margin"]
        u = rng.random(len(frame))
        keep = u < _sigmoid(self.screen_intercept + lp)
        self.candidates.append(pd.DataFrame({
            "person_id": frame["person_id"].to_numpy()[keep], "lsoa_code": frame["lsoa_code"].to_numpy()[keep],
            "practice_code": frame["practice_code"].to_numpy()[keep], "age": age[keep], "band7": band7[keep],
            "frailty": frailty[keep], "ethnic": ethnic[keep], "quintile": quintile[keep], "ics": ics[keep],
            "prior": prior[keep], "lp": lp[keep], "u": u[keep]}))
        s = self.stats
        s["rows"] += len(frame)
        s["people"] += np.bincount(quintile - 1, minlength=5)
        s["admitted"] += np.bincount(quintile - 1, weights=frame["admitted_next_12m"].to_numpy(), minlength=5)
        old = band7 >= 4
        s["people_65"] += int(old.sum())
        s["frailty_65"] += np.bincount(frailty[old], minlength=5)[:4]
        modsev = (frailty == 2) | (frailty == 3)
        np.add.at(s["modsev"], (ics[modsev], quintile[modsev] - 1), 1)


def _solve_intercept(hist: np.ndarray, target: float) -> float:
    centres = _LP_MIN + (np.arange(_LP_BINS) + 0.5) * _LP_STEP
    lo, hi = -30.0, 10.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if (hist * _sigmoid(mid + centres)).sum() > target:
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2


# ----------------------------------------------------------------------------------------- plans
def make_plans(observer: CohortObserver, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Plans (PLANS layout) and their per-plan attributes used for reviews and views."""
    rng = np.random.default_rng([seed, 3])
    intercept = _solve_intercept(observer.lp_hist, observer.target_active)
    if intercept > observer.screen_intercept:
        raise RuntimeError("plan screening was not generous enough: raise PLAN_PROPENSITY['screen_margin']")
    cand = pd.concat(observer.candidates, ignore_index=True)
    people = cand[cand["u"] < _sigmoid(intercept + cand["lp"].to_numpy())].reset_index(drop=True)
    n = len(people)
    lc = PLAN_LIFECYCLE
    band7, frailty = people["band7"].to_numpy(), people["frailty"].to_numpy()
    quintile = people["quintile"].to_numpy()

    # lifecycle, in days relative to the extract date
    window_days = float((EXTRACT - WINDOW_START).astype(int))
    t_max = float((EXTRACT - CMC_START).astype(int))
    mean_days = lc["created_mean_years"] * DAYS_PER_YEAR
    u = rng.random(n)
    plan_age = -mean_days * np.log(1 - u * (1 - np.exp(-t_max / mean_days)))  # truncated exponential
    plan_age = np.minimum(plan_age, people["age"].to_numpy() * DAYS_PER_YEAR + 30)
    draft = rng.random(n) < lc["draft_share"]
    plan_age[draft] = rng.uniform(1, lc["draft_max_days"], int(draft.sum()))
    created = -plan_age
    exposure_start = np.maximum(created, -window_days)
    exposure_years = -exposure_start / DAYS_PER_YEAR
    closable = ~draft & (exposure_start <= -2)  # a plan closes at least a day after it went live
    withdrawn = closable & (rng.random(n) < lc["withdrawn_share"])
    p_die = 1 - np.exp(-_death_hazard(band7, frailty) * exposure_years)
    died = closable & ~withdrawn & (rng.random(n) < p_die)
    closed = np.full(n, np.nan)
    ends = died | withdrawn
    closed[ends] = exposure_start[ends] + rng.random(int(ends.sum())) * (-exposure_start[ends])
    closed[ends] = np.minimum(np.maximum(closed[ends], exposure_start[ends] + 1), -1)  # live for a day at least
    status = np.select([draft, withdrawn, died], [1, 2, 3], default=0)  # PLAN_STATUSES order

    # completeness
    cm = COMPLETENESS
    base = np.log([p / (1 - p) for p in cm["probability"].values()])
    shift = (rng.normal(0, cm["quality_sd"], n) + _lookup(cm["imd_quintile"], (1, 2, 3, 4, 5))[quintile - 1]
             + cm["draft"] * draft)
    items = rng.random((n, len(base))) < _sigmoid(base[None, :] + shift[:, None])

    period = np.array(list(REVIEWS["period_months"]))[_choice(rng, REVIEWS["period_months"], n)]
    plans = pd.DataFrame({
        "plan_id": cohort.make_ids("C", 0, n, cohort.id_keys(seed, 3)),
        "person_id": pd.Series(pd.array(people["person_id"].to_numpy(), dtype="str")),
        "lsoa_code": pd.Series(pd.array(people["lsoa_code"].to_numpy(), dtype="str")),
        "practice_code": pd.Series(pd.array(people["practice_code"].to_numpy(), dtype="str")),
        "created_date": _date_series(created),
        "last_reviewed_date": pd.Series(np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")),
        "review_period_months": period.astype(np.int64),
        "status": _labels(PLAN_STATUSES, status),
        "closed_date": _date_series(closed),
        **{item: items[:, k] for k, item in enumerate(COMPLETENESS_ITEMS)},
    })
    detail = {"created": created, "closed": closed, "draft": draft, "status": status, "people": people,
              "intercept": intercept, "period": period}
    return plans, people, detail


def make_reviews(plans: pd.DataFrame, detail: dict, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Review events (written from REVIEWS_FROM) and each plan's latest review (days, NaN if none)."""
    rng = np.random.default_rng([seed, 4])
    rv = REVIEWS
    created, closed, draft = detail["created"], detail["closed"], detail["draft"]
    quintile = detail["people"]["quintile"].to_numpy()
    end = np.where(np.isnan(closed), 0.0, closed)
    period_days = detail["period"] * DAYS_PER_MONTH
    stop = rv["stop_per_cycle"] + _lookup(rv["stop_imd_quintile"], (1, 2, 3, 4, 5))[quintile - 1]
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
    keep = _to_dates(days) >= REVIEWS_FROM
    plan_idx, days = plan_idx[keep], days[keep]
    order = np.lexsort((days, plan_idx))
    plan_idx, days = plan_idx[order], days[order]
    reviews = pd.DataFrame({
        "review_id": cohort.make_ids("R", 0, len(plan_idx), cohort.id_keys(seed, 4)),
        "plan_id": pd.Series(pd.array(plans["plan_id"].to_numpy()[plan_idx], dtype="str")),
        "review_date": _date_series(days),
    })
    return reviews, last


def make_views(plans: pd.DataFrame, detail: dict, n_active: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng([seed, 5])
    vw = VIEWS
    people = detail["people"]
    created, closed, draft, status = detail["created"], detail["closed"], detail["draft"], detail["status"]
    window_days = float((EXTRACT - WINDOW_START).astype(int))
    start = np.maximum(created, -window_days)
    stop = np.where(np.isnan(closed), 0.0, closed)
    live_years = np.where(draft, 0.0, np.maximum(stop - start, 0) / DAYS_PER_YEAR)
    dying = status == 3
    frailty = people["frailty"].to_numpy()
    urgent_w = (np.exp(vw["urgent_per_prior_admission"] * np.minimum(people["prior"].to_numpy(), vw["prior_cap"]))
                * _lookup(vw["urgent_frailty"], FRAILTY)[frailty] * np.where(dying, vw["urgent_dying"], 1.0))
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
                                    "service": np.asarray(list(shares), dtype=object)[_choice(rng, shares, len(idx))]}))
    views = pd.concat(frames, ignore_index=True).sort_values(["day", "plan"], kind="stable", ignore_index=True)
    return pd.DataFrame({
        "view_id": cohort.make_ids("V", 0, len(views), cohort.id_keys(seed, 5)),
        "plan_id": pd.Series(pd.array(plans["plan_id"].to_numpy()[views["plan"].to_numpy()], dtype="str")),
        "view_date": _date_series(views["day"].to_numpy()),
        "service": pd.Series(pd.array(views["service"].to_numpy(), dtype="str")),
    })


# ----------------------------------------------------------------------------- users and logins
def _site_lsoa(bundle: Bundle) -> pd.Series:
    """Each practice's site: the LSOA holding most of its registered patients."""
    shares = bundle.practice_shares.sort_values(["practice_code", "patients", "lsoa_code"],
                                                ascending=[True, False, True])
    return shares.drop_duplicates("practice_code").set_index("practice_code")["lsoa_code"]


def make_users(bundle: Bundle, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng([seed, 6])
    lsoas = bundle.lsoas.sort_values("lsoa_code", ignore_index=True)
    population = int(lsoas["population"].sum())
    orgs = []  # (organisation_code, type, practice_code, lsoa_code)
    sites = _site_lsoa(bundle)
    for code in sorted(bundle.practices["practice_code"]):
        orgs.append((code, "gp_practice", code, sites.get(code)))
    ics_pop = lsoas.groupby("ics_code")["population"].sum().sort_index()
    place_pop = lsoas.groupby("place_code")["population"].sum().sort_index()
    for kind, spec in ORGANISATIONS.items():
        if kind == "gp_practice":
            continue
        if spec.get("per_place"):
            homes = list(place_pop.index)
            column = "place_code"
        else:
            column = "ics_code"
            if spec.get("per_ics"):
                homes = list(ics_pop.index)
            else:
                count = max(1, round(population / spec["per_people"]))
                per_ics = _largest_remainder(ics_pop.to_numpy(float), count)
                homes = [ics for ics, k in zip(ics_pop.index, per_ics) for _ in range(k)]
        for number, home in enumerate(homes, start=1):
            pool = lsoas[lsoas[column] == home]
            site = pool["lsoa_code"].to_numpy()[rng.choice(len(pool), p=pool["population"] / pool["population"].sum())]
            orgs.append((f"{spec['prefix']}{number:0{spec['digits']}d}", kind, None, site))
    frames = []
    for code, kind, practice, site in orgs:
        spec = ORGANISATIONS[kind]
        k = int(rng.integers(spec["users"][0], spec["users"][1] + 1))
        frames.append((code, kind, practice, site, _labels(spec["roles"], _choice(rng, spec["roles"], k))))
    users = pd.DataFrame({
        "organisation_code": np.repeat([f[0] for f in frames], [len(f[4]) for f in frames]),
        "organisation_type": np.repeat([f[1] for f in frames], [len(f[4]) for f in frames]),
        "practice_code": pd.Series(np.repeat(np.asarray([f[2] for f in frames], dtype=object),
                                             [len(f[4]) for f in frames])),
        "lsoa_code": np.repeat([f[3] for f in frames], [len(f[4]) for f in frames]),
        "role": pd.concat([f[4] for f in frames], ignore_index=True),
    })
    users.insert(0, "user_id", cohort.make_ids("U", 0, len(users), cohort.id_keys(seed, 6)))
    for column in ("organisation_code", "organisation_type", "practice_code", "lsoa_code", "role"):
        users[column] = users[column].astype("str")
    return users[list(USERS.columns)]


def months() -> list[str]:
    """The HISTORY_MONTHS calendar months of the window, oldest first ('YYYY-MM')."""
    last = np.datetime64(EXTRACT_DATE[:7], "M")
    return [str(m) for m in np.arange(last - HISTORY_MONTHS + 1, last + 1)]


def make_logins(users: pd.DataFrame, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng([seed, 7])
    lg = LOGINS
    n, m = len(users), HISTORY_MONTHS
    median = users["role"].map(lg["activity_log_median"]).to_numpy(float)
    activity = np.exp(median + rng.normal(0, lg["activity_log_sd"], n))
    growth = (1 + lg["monthly_growth"]) ** (np.arange(m) - (m - 1))
    shape = lg["month_gamma_shape"]
    mean = activity[:, None] * growth[None, :] * rng.gamma(shape, 1 / shape, (n, m))
    logins = np.minimum(rng.poisson(mean), 10_000)
    user_i, month_i = np.nonzero(logins)
    return pd.DataFrame({
        "user_id": pd.Series(pd.array(users["user_id"].to_numpy()[user_i], dtype="str")),
        "month": pd.Series(pd.array(np.asarray(months(), dtype=object)[month_i], dtype="str")),
        "logins": logins[user_i, month_i].astype(np.int64),
    })


# -------------------------------------------------------------------------------------- records
def _calibration(observer: CohortObserver, plans: pd.DataFrame, detail: dict, last_review: np.ndarray,
                 views: pd.DataFrame, users: pd.DataFrame, logins: pd.DataFrame) -> dict:
    s = observer.stats
    people = detail["people"]
    active = plans["status"].to_numpy() == "active"
    n_active = int(active.sum())
    modsev = np.isin(people["frailty"].to_numpy(), (2, 3)) & active
    plans_modsev = np.zeros_like(s["modsev"])
    np.add.at(plans_modsev, (people["ics"].to_numpy()[modsev], people["quintile"].to_numpy()[modsev] - 1), 1)
    cover_q = plans_modsev.sum(axis=0) / np.maximum(s["modsev"].sum(axis=0), 1)
    cover_ics = plans_modsev / np.maximum(s["modsev"], 1)
    rate_q = s["admitted"] / np.maximum(s["people"], 1)
    created = detail["created"]
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
        "plan_intercept": r(detail["intercept"]),
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


def generate_records(settings: Settings, bundle: Bundle, seed: int = DEFAULT_SEED) -> dict:
    """Generate and write every synthetic table for the bundle's region; returns the manifest.

    The manifest is removed first and written last, so a directory with a manifest always holds
    one complete generation."""
    started = time.perf_counter()
    directory = store.records_dir(settings, bundle.region)
    store.remove_manifest(directory)
    observer = CohortObserver(bundle, seed)
    rows = {"people": store.write_table(directory, "people", observer.tap(cohort.generate_people(bundle, seed)))}
    plans, _, detail = make_plans(observer, seed)
    reviews, last_review = make_reviews(plans, detail, seed)
    plans["last_reviewed_date"] = _date_series(last_review)
    n_active = int((plans["status"] == "active").sum())
    views = make_views(plans, detail, n_active, seed)
    users = make_users(bundle, seed)
    logins = make_logins(users, seed)
    for layout, frame in ((PLANS, plans), (PLAN_REVIEWS, reviews), (PLAN_VIEWS, views), (USERS, users),
                          (USER_LOGINS, logins)):
        rows[layout.name] = store.write_table(directory, layout.name, [frame])
    manifest = {
        "region": bundle.region,
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
        "calibration": _calibration(observer, plans, detail, last_review, views, users, logins),
        "parameters": {"cohort": cohort.parameters(), "care_plans": parameters()},
        "generation_seconds": round(time.perf_counter() - started, 1),
    }
    store.write_manifest(directory, manifest)
    return json.loads(json.dumps(manifest, default=str))  # as stored (JSON keys are strings)
