"""The true data-generating model of emergency admission in the synthetic cohort.

The generator draws `admitted_next_12m` from this logistic model; the risk model's tests check that
fitting recovers these log odds ratios. Anchors (see ../shared/guides/methods.md):
- emergency admission rises steeply with age (NHS England Hospital Episode Statistics, admitted
  patient care, 2023-24: emergency admission rates per person at 85+ about four times those at 45-64);
- most deprived IMD quintile about 1.5-2 times the least deprived (Nuffield Trust/QualityWatch,
  "Emergency admissions by deprivation"): here decile 1 vs 10 is exp(9 x 0.07) = 1.88;
- electronic frailty index (Clegg et al., Age Ageing 2016): 1-year hazard ratios for hospitalisation
  1.93 (mild), 3.04 (moderate), 4.73 (severe), used here as odds ratios;
- prior emergency admissions and long-term conditions are the strongest predictors (QAdmissions,
  Hippisley-Cox and Coupland, BMJ Open 2013; PARR-30, Billings et al., BMJ Open 2012).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from explorer.records.schema import AGE_BANDS, ETHNIC_GROUPS, age_band

INTERCEPT = -3.05  # was -3.55: raised so the London cohort admits about 6.4% of people a year (target 6-9%)
AGE_BAND_LOG_OR = {"0-15": -0.20, "16-29": -0.30, "30-44": -0.20, "45-64": 0.0, "65-74": 0.45, "75-84": 0.95,
                   "85+": 1.45}  # reference 45-64
MALE_LOG_OR = 0.05
IMD_DECILE_LOG_OR = -0.07  # per decile step towards less deprived (decile 1 = most deprived)
ETHNIC_LOG_OR = {"white": 0.0, "asian": 0.05, "black": 0.10, "mixed": 0.0, "other": -0.05}  # reference white
LTC_LOG_OR = 0.25  # per long-term condition, counted up to LTC_CAP
LTC_CAP = 10
FRAILTY_LOG_OR = {"fit": 0.0, "not_assessed": 0.0, "mild": math.log(1.93), "moderate": math.log(3.04),
                  "severe": math.log(4.73)}
PRIOR_ADMISSIONS_LOG_OR = {"0": 0.0, "1": 0.70, "2": 1.10, "3+": 1.50}


def prior_admissions_category(count: pd.Series) -> pd.Series:
    return pd.Series(np.where(count >= 3, "3+", count.clip(upper=3).astype(int).astype(str)), index=count.index)


def design_matrix(people: pd.DataFrame, imd_decile: pd.Series) -> pd.DataFrame:
    """The generator's own encoding: one column per main effect, references dropped.

    `people` has the PEOPLE layout columns; `imd_decile` is aligned to it (the decile of each
    person's LSOA)."""
    bands = people["age"].map(age_band) if "age_band" not in people else people["age_band"]
    frame = {f"age_{b}": (bands == b).astype(float) for b in AGE_BANDS if b != "45-64"}
    frame["male"] = (people["sex"] == "male").astype(float)
    frame["imd_decile"] = imd_decile.astype(float).to_numpy()
    frame.update({f"ethnic_{g}": (people["ethnic_group"] == g).astype(float) for g in ETHNIC_GROUPS if g != "white"})
    frame["ltc_count"] = people["ltc_count"].clip(upper=LTC_CAP).astype(float)
    frame.update({f"frailty_{f}": (people["frailty"] == f).astype(float) for f in ("mild", "moderate", "severe")})
    prior = prior_admissions_category(people["admissions_prev_12m"])
    frame.update({f"prior_{c}": (prior == c).astype(float) for c in ("1", "2", "3+")})
    return pd.DataFrame(frame, index=people.index)


def true_coefficients() -> pd.Series:
    """Log odds ratios keyed by design_matrix column."""
    coefs = {f"age_{b}": v for b, v in AGE_BAND_LOG_OR.items() if b != "45-64"}
    coefs["male"] = MALE_LOG_OR
    coefs["imd_decile"] = IMD_DECILE_LOG_OR
    coefs.update({f"ethnic_{g}": v for g, v in ETHNIC_LOG_OR.items() if g != "white"})
    coefs["ltc_count"] = LTC_LOG_OR
    coefs.update({f"frailty_{f}": FRAILTY_LOG_OR[f] for f in ("mild", "moderate", "severe")})
    coefs.update({f"prior_{c}": v for c, v in PRIOR_ADMISSIONS_LOG_OR.items() if c != "0"})
    return pd.Series(coefs)


def true_probability(people: pd.DataFrame, imd_decile: pd.Series) -> np.ndarray:
    design = design_matrix(people, imd_decile)
    coefs = true_coefficients()[design.columns]
    return 1.0 / (1.0 + np.exp(-(INTERCEPT + design.to_numpy() @ coefs.to_numpy())))


def as_dict() -> dict:
    """The truth, for storing beside the generated data."""
    return {"intercept": INTERCEPT, "log_odds_ratios": true_coefficients().to_dict(),
            "encoding": "explorer.synth.truth.design_matrix", "reference_levels": {
                "age_band": "45-64", "sex": "female", "ethnic_group": "white", "frailty": "fit or not_assessed",
                "admissions_prev_12m": "0"}}
