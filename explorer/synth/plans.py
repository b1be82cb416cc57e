"""Seeded synthetic care plans (PLANS layout), one per person at most, chosen while the cohort streams.

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
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from explorer.bundle.store import Bundle
from explorer.records.schema import AGE_BANDS, COMPLETENESS_ITEMS, ETHNIC_GROUPS, FRAILTY, HISTORY_MONTHS, PLAN_STATUSES
from explorer.synth import cohort
from explorer.synth.draws import (
    CMC_START, DAYS_PER_YEAR, EXTRACT, WINDOW_START, age_band7, category_codes, choose, date_series, labels_at,
    lookup, prior_category, sigmoid,
)
from explorer.synth.reviews import REVIEWS

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


def plan_linear_predictor(band7: np.ndarray, frailty: np.ndarray, ltc: np.ndarray, disabled: np.ndarray,
                          prior: np.ndarray, quintile: np.ndarray, ethnic: np.ndarray) -> np.ndarray:
    """Log odds of having a plan, without the intercept (codes as in schema's AGE_BANDS, FRAILTY,
    ETHNIC_GROUPS; quintile 1-5)."""
    pp = PLAN_PROPENSITY
    return (lookup(pp["age"], AGE_BANDS)[band7] + lookup(pp["frailty"], FRAILTY)[frailty]
            + pp["per_ltc"] * np.minimum(ltc, pp["ltc_cap"]) + pp["disabled"] * disabled
            + lookup(pp["prior_admissions"], ("0", "1", "2", "3+"))[prior_category(prior)]
            + lookup(pp["inequity_imd_quintile"], (1, 2, 3, 4, 5))[quintile - 1]
            + lookup(pp["inequity_ethnic_group"], ETHNIC_GROUPS)[ethnic])


def _created_age_grid() -> tuple[np.ndarray, np.ndarray]:
    """Plan age in years at the extract date: grid and probability weights (truncated exponential)."""
    t_max = (EXTRACT - CMC_START).astype(int) / DAYS_PER_YEAR
    grid = (np.arange(4000) + 0.5) * t_max / 4000
    w = np.exp(-grid / PLAN_LIFECYCLE["created_mean_years"])
    return grid, w / w.sum()


def _death_hazard(band7: np.ndarray, frailty: np.ndarray) -> np.ndarray:
    lc = PLAN_LIFECYCLE
    return lookup(lc["death_hazard_by_age"], AGE_BANDS)[band7] * lookup(lc["death_hazard_frailty"], FRAILTY)[frailty]


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
_LP_MIN, _LP_STEP, _LP_BINS = -15.0, 0.005, 8000


@dataclass(frozen=True, kw_only=True)
class PlanDetail:
    """Per-plan attributes behind the PLANS rows, in plan order, that reviews and views are drawn from.

    Days are offsets from the extract date (negative = before); closed is NaN for open plans."""

    created: np.ndarray
    closed: np.ndarray
    draft: np.ndarray  # bool
    status: np.ndarray  # index into PLAN_STATUSES
    people: pd.DataFrame  # the plan holders: band7, frailty, quintile, ics, prior, ...
    intercept: float
    period: np.ndarray  # review period in months


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
        band7 = age_band7(age)
        frailty = category_codes(frame["frailty"], FRAILTY)
        ethnic = category_codes(frame["ethnic_group"], ETHNIC_GROUPS)
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
        keep = u < sigmoid(self.screen_intercept + lp)
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
        if (hist * sigmoid(mid + centres)).sum() > target:
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2


# ----------------------------------------------------------------------------------------- plans
def make_plans(observer: CohortObserver, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, PlanDetail]:
    """Plans (PLANS layout) and their per-plan attributes used for reviews and views."""
    rng = np.random.default_rng([seed, 3])
    intercept = _solve_intercept(observer.lp_hist, observer.target_active)
    if intercept > observer.screen_intercept:
        raise RuntimeError("plan screening was not generous enough: raise PLAN_PROPENSITY['screen_margin']")
    cand = pd.concat(observer.candidates, ignore_index=True)
    people = cand[cand["u"] < sigmoid(intercept + cand["lp"].to_numpy())].reset_index(drop=True)
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
    shift = (rng.normal(0, cm["quality_sd"], n) + lookup(cm["imd_quintile"], (1, 2, 3, 4, 5))[quintile - 1]
             + cm["draft"] * draft)
    items = rng.random((n, len(base))) < sigmoid(base[None, :] + shift[:, None])

    period = np.array(list(REVIEWS["period_months"]))[choose(rng, REVIEWS["period_months"], n)]
    plans = pd.DataFrame({
        "plan_id": cohort.make_ids("C", 0, n, cohort.id_keys(seed, 3)),
        "person_id": pd.Series(pd.array(people["person_id"].to_numpy(), dtype="str")),
        "lsoa_code": pd.Series(pd.array(people["lsoa_code"].to_numpy(), dtype="str")),
        "practice_code": pd.Series(pd.array(people["practice_code"].to_numpy(), dtype="str")),
        "created_date": date_series(created),
        "last_reviewed_date": pd.Series(np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")),
        "review_period_months": period.astype(np.int64),
        "status": labels_at(PLAN_STATUSES, status),
        "closed_date": date_series(closed),
        **{item: items[:, k] for k, item in enumerate(COMPLETENESS_ITEMS)},
    })
    detail = PlanDetail(created=created, closed=closed, draft=draft, status=status, people=people,
                        intercept=intercept, period=period)
    return plans, people, detail
