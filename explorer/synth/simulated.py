"""Simulated people for tests and benchmarks: random covariates, outcomes drawn from the true risk
model of :mod:`explorer.synth.truth`. Not the synthetic cohort (:mod:`explorer.synth.cohort` makes
that from the bundle)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from explorer.records.schema import AGE_BANDS, ETHNIC_GROUPS, FRAILTY, SEXES
from explorer.synth import truth

__all__ = ["simulated_people", "true_risk"]


def true_risk(people: pd.DataFrame) -> np.ndarray:
    """The true probability of an emergency admission of each person (PEOPLE columns with
    imd_decile): the "oracle" a fitted model is compared with on synthetic data."""
    return truth.true_probability(people, people["imd_decile"])


def simulated_people(n: int, seed: int = 0, n_lsoas: int = 2000) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`n` people with random covariates and outcomes drawn from explorer.synth.truth.

    Returns (people in the PEOPLE layout, lsoas with lsoa_code, imd_decile, imd_quintile, core20).
    Covariates are independent and every level is common, so every odds ratio is well estimated."""
    rng = np.random.default_rng(seed)
    lsoa_decile = rng.integers(1, 11, n_lsoas)
    lsoas = pd.DataFrame({"lsoa_code": [f"E01{i:06d}" for i in range(n_lsoas)], "imd_decile": lsoa_decile,
                          "imd_quintile": (lsoa_decile + 1) // 2, "core20": lsoa_decile <= 2})
    lsoa_i = rng.integers(0, n_lsoas, n)
    band = rng.choice(len(AGE_BANDS), n, p=[0.15, 0.15, 0.15, 0.15, 0.14, 0.14, 0.12])
    low = np.array([0, 16, 30, 45, 65, 75, 85])
    high = np.array([15, 29, 44, 64, 74, 84, 100])
    age = low[band] + np.floor(rng.random(n) * (high[band] - low[band] + 1)).astype(np.int64)
    old = band >= 4
    frailty = np.where(old, rng.choice(4, n, p=[0.35, 0.30, 0.20, 0.15]), FRAILTY.index("not_assessed"))
    ltc = rng.poisson(np.array([0.3, 0.5, 0.8, 1.5, 2.2, 2.8, 3.2])[band])
    prior = rng.choice(np.array([0, 1, 2, 3, 4, 6]), n, p=[0.58, 0.15, 0.12, 0.08, 0.04, 0.03])
    people = pd.DataFrame({
        "person_id": pd.array([f"S{i:011d}" for i in rng.permutation(n)], dtype="str"),
        "practice_code": pd.array(np.char.add("Y", (lsoa_i % 400).astype(str)), dtype="str"),
        "lsoa_code": lsoas["lsoa_code"].to_numpy()[lsoa_i],
        "sex": np.array(SEXES)[rng.integers(0, 2, n)],
        "age": age.astype(np.int64),
        "ethnic_group": np.array(ETHNIC_GROUPS)[rng.choice(5, n, p=[0.2, 0.15, 0.15, 0.35, 0.15])],
        "disabled": rng.random(n) < 0.2,
        "ltc_count": ltc.astype(np.int64),
        "frailty": np.array(FRAILTY)[frailty],
        "admissions_prev_12m": prior.astype(np.int64),
    })
    for col in ("lsoa_code", "sex", "ethnic_group", "frailty"):
        people[col] = people[col].astype("str")
    p = truth.true_probability(people, pd.Series(lsoa_decile[lsoa_i], index=people.index))
    people["admitted_next_12m"] = rng.random(n) < p
    return people, lsoas
