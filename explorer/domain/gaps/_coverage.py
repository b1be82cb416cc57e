"""Care-plan coverage per registered population: people with a live plan per 1,000 patients on GP
lists (NHS Digital, July 2023) who live in the area's LSOAs, beside the coverage per resident
population (the engine's ``coverage``: plans among the records' people, the synthetic cohort being
Census 2021 residents).

The numerator is the plan count as the caller's policy released it (rounded, 1-7 hidden, secondary
suppression among siblings); the denominator is public and exact (a sum of NHS Digital's published
patients per practice and LSOA). The rate and its 95% CI (Byar, exact Poisson below 10: a crude rate,
as the resident coverage) are computed from those two numbers only, so nothing finer than the
released count leaves; a hidden plan count hides the rate. Unfiltered only: the registration files
have no age or sex, so there is no registered denominator for a subgroup.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from explorer.domain.gaps._registration import REGISTERED
from explorer.domain.stats import rate_interval

REGISTERED_COVERAGE = "coverage_registered"
PER = 1_000


def coverage_per_registered(plans: pd.DataFrame, registered: pd.DataFrame, metric: str = REGISTERED_COVERAGE
                            ) -> pd.DataFrame:
    """One row per area of ``plans`` in the metric-table layout.

    ``plans``: area_code, area_name, parent_code, plans (the released count; NaN when hidden) and
    plans_suppressed; ``registered``: area_code, registered (exact). Returns area_code, area_name,
    parent_code, <metric>, _numerator, _denominator, _lower, _upper, _suppressed."""
    out = plans[["area_code", "area_name", "parent_code"]].reset_index(drop=True)
    count = pd.to_numeric(plans["plans"], errors="coerce").to_numpy(float)
    hidden = plans.get("plans_suppressed", pd.Series(False, index=plans.index)).fillna(True).to_numpy(bool)
    hidden = hidden | np.isnan(count)
    den = out["area_code"].map(registered.set_index("area_code")[REGISTERED]).to_numpy(float)
    value, lower, upper = rate_interval(np.where(hidden, np.nan, count), den, PER)
    out[metric] = value
    out[f"{metric}_numerator"] = np.where(hidden, np.nan, count)
    out[f"{metric}_denominator"] = den
    out[f"{metric}_lower"] = lower
    out[f"{metric}_upper"] = upper
    out[f"{metric}_suppressed"] = hidden
    return out
