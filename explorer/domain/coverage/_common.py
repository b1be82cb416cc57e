"""What every part of the engine shares: levels, the five metric columns, default filters and
disclosure policy, and the person sums of the people alive."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from explorer.domain import metrics as M
from explorer.domain.disclosure import DisclosurePolicy
from explorer.domain.metrics import Cells, Filters

LEVELS = ("region", "ics", "place", "pcn", "lsoa")
METRIC_COLUMNS = ("value", "numerator", "denominator", "lower", "upper")
_PERSON_MEASURES = ("people", "admitted_next_12m", "risk_sum", "risk_var")
_PLAN_MEASURES = ("plans", "items_sum", "items_sumsq", "key_complete", "reviewed", "kc_reviewed",
                  "kc_reviewed_viewed", "urgent_views", "risk_with_plan", "risk_var_with_plan", "deaths",
                  "risk_of_deaths", "risk_var_of_deaths")
_USER_MEASURES = ("users", "active_users", "active_users_10plus")
NO_FILTERS = Filters()  # frozen: a safe shared default
RAW = DisclosurePolicy.raw()  # exact figures (the analyst; internal sums)
NO_MODEL = "no risk model has been trained for {region}: run `explorer model train` to score people first"

#: (codes per cell row, number of codes) for one grouping dimension.
Key = tuple[np.ndarray, int]


def metric_columns(metric: str) -> list[str]:
    """``<metric>``, ``<metric>_numerator``, ``_denominator``, ``_lower``, ``_upper``."""
    return [metric, *(f"{metric}_{c}" for c in METRIC_COLUMNS[1:])]


def _alive(total: Callable[[Cells, Sequence[str]], dict[str, np.ndarray]], people: Cells, plans: Cells,
           measures: Sequence[str]) -> dict[str, np.ndarray]:
    """Person-side sums less the people known to have died by the month end (plans closed as
    deceased): the population alive at the snapshot as far as the records tell. ``total(cells,
    measures)`` sums one cell table for the request (:class:`explorer.domain.coverage._sums.Summing`)."""
    sums = total(people, measures)
    deaths = [M.DEATHS_OF[m] for m in measures if m in M.DEATHS_OF]
    if deaths:
        dead = total(plans, deaths)
        for m in measures:
            if m in M.DEATHS_OF:
                sums[m] = sums[m] - dead[M.DEATHS_OF[m]]
    return sums
