"""Ethnic group not recorded: the gap a real GP extract has, put into the synthetic people.

Real GP records lack an ethnic group for a sizeable minority. Pineda-Moncusí et al. (Scientific
Data 2024, doi:10.1038/s41597-024-02958-1), on the GDPPR extract of over 60 million people in
England, found "one in ten individuals do not have ethnicity information recorded in primary care";
OpenSAFELY-TPP (BMC Medicine 2024;22:288, doi:10.1186/s12916-024-03499-5) found 78.2% recorded on
1 January 2022 (21.8% missing), recording more complete for women than men and for people with
chronic conditions. So each person's recorded ethnic group is blanked ("not_stated") with a logistic
probability that is higher for men and young adults and lower with each long-term condition
(NOT_RECORDED), its intercept solved per chunk so that NOT_RECORDED["share"] (10%, the national
GDPPR figure) of people are not recorded in expectation.

Only the *recorded* group is blanked, after the care plans' propensity and the admission outcome
were drawn from the true group (``explorer.synth.careplans`` masks the frames after its observer has
seen them), so every calibrated plan and admission figure is unchanged; the masking has its own
random stream (seed, 8, chunk).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit

from explorer.records.schema import AGE_BANDS, ETHNIC_NOT_STATED
from explorer.synth.draws import age_band7

NOT_RECORDED = {
    "share": 0.10,  # people with no ethnic group in primary care (GDPPR, Pineda-Moncusí et al. 2024)
    "male": 0.35,  # log odds: men are recorded less often (OpenSAFELY-TPP 2024)
    "age": {"0-15": 0.2, "16-29": 0.5, "30-44": 0.3, "45-64": 0.0, "65-74": -0.3, "75-84": -0.4, "85+": -0.4},
    "per_ltc": -0.15,  # each long-term condition (more contact, more coding), capped at ltc_cap
    "ltc_cap": 5,
}


def parameters() -> dict:
    """The masking's parameters, for the records manifest."""
    return {"ethnicity_not_recorded": NOT_RECORDED}


def not_recorded_probability(frame: pd.DataFrame, share: float = NOT_RECORDED["share"]) -> np.ndarray:
    """Each person's chance that their ethnic group is not recorded, averaging ``share`` over ``frame``."""
    nr = NOT_RECORDED
    band = age_band7(frame["age"].to_numpy())
    lp = (np.array([nr["age"][b] for b in AGE_BANDS])[band]
          + nr["male"] * (frame["sex"].to_numpy() == "male")
          + nr["per_ltc"] * np.minimum(frame["ltc_count"].to_numpy(), nr["ltc_cap"]))
    if len(lp) == 0:
        return lp.astype(float)
    intercept = brentq(lambda a: float(expit(a + lp).mean()) - share, -30.0, 30.0)
    return expit(intercept + lp)


def mask_ethnicity(frames: Iterator[pd.DataFrame], seed: int, tally: dict[str, int] | None = None
                   ) -> Iterator[pd.DataFrame]:
    """The people frames with some recorded ethnic groups set to not_stated (a copy; the input
    frames, already seen by the plans' observer, are left as they were). ``tally`` gains the
    people seen and those not recorded, for the records manifest."""
    tally = {} if tally is None else tally
    for number, frame in enumerate(frames):
        rng = np.random.default_rng([seed, 8, number])
        hidden = rng.random(len(frame)) < not_recorded_probability(frame)
        tally["people"] = tally.get("people", 0) + len(frame)
        tally["not_recorded"] = tally.get("not_recorded", 0) + int(hidden.sum())
        out = frame.copy()
        out["ethnic_group"] = out["ethnic_group"].astype(object).where(~hidden, ETHNIC_NOT_STATED).astype("str")
        yield out
