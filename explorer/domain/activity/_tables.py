"""Clinician activity per area, organisation type and month from the activity cells, and the
disclosure rule on every count before any rate is formed.

Users are placed by the LSOA of their organisation (users with none count only in the region, as
the engine's ``active_users``); plans by the LSOA of the person. "Per active clinician" divides the
area's plans created (or updated) in the month by its clinicians who logged in that month, of every
organisation type or of the chosen one: a measure of where plans are and are not being made, not of
who made them (the plans extract does not name the author).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from explorer.domain.disclosure import (
    CountSpec,
    DisclosurePolicy,
    RatioSpec,
    apply_policy,
)
from explorer.domain.metrics import AreaIndex

USER_COUNTS = ("users", "active_users", "active_users_10plus", "logins")
PLAN_COUNTS = ("plans_created", "plans_updated")


@dataclass(frozen=True)
class Rate:
    """A rate shown from two controlled counts: numerator / denominator x multiplier."""

    name: str
    label: str
    unit: str
    numerator: str
    denominator: str
    multiplier: float
    higher_is_better: bool | None


RATES = {r.name: r for r in (
    Rate("active_share", "Users logging in during the month", "% of users", "active_users", "users", 100, True),
    Rate("active_10plus_share", "Users logging in more than 10 times", "% of users", "active_users_10plus", "users",
         100, True),
    Rate("plans_created_per_active", "Plans created per active clinician", "plans per active clinician",
         "plans_created", "active_users", 1, True),
    Rate("plans_updated_per_active", "Plans updated per active clinician", "reviews per active clinician",
         "plans_updated", "active_users", 1, True),
    Rate("logins_per_active", "Logins per active clinician", "logins per active clinician", "logins",
         "active_users", 1, None),
)}
ORG_RATES = ("active_share", "active_10plus_share", "logins_per_active")


def _area_of(codes: pd.Series, index: AreaIndex, level: str) -> np.ndarray:
    """Area position at ``level`` of each LSOA code (the outside slot for none or unknown)."""
    pos = index.lsoa_codes.get_indexer(pd.Index(codes.astype(str)))
    pos = np.where(pos < 0, index.n_lsoa, pos)
    area = index.lsoa_to_area[level][pos]
    if level == "region":  # users without an organisation LSOA still count in the region
        area = np.zeros(len(area), dtype=np.int64)
    return area


def _names(index: AreaIndex, level: str) -> pd.DataFrame:
    return index.names[level].reset_index(drop=True)


def _sum_by_area(frame: pd.DataFrame, index: AreaIndex, level: str, measures: Sequence[str],
                 extra: Sequence[str] = ()) -> pd.DataFrame:
    names = _names(index, level)
    pos = _area_of(frame["lsoa_code"], index, level)
    inside = pos < len(names)
    part = frame.loc[inside, [*extra, *measures]].assign(_area=pos[inside])
    summed = part.groupby(["_area", *extra], as_index=False)[list(measures)].sum()
    summed = summed.merge(names.rename_axis("_area").reset_index(), on="_area").drop(columns="_area")
    return summed


def org_table(users: pd.DataFrame, index: AreaIndex, level: str, month: str) -> pd.DataFrame:
    """Exact counts per area at ``level`` and organisation type in ``month``: area_code, area_name,
    parent_code, organisation_type and USER_COUNTS."""
    part = users[users["month"] == month]
    out = _sum_by_area(part, index, level, USER_COUNTS, ["organisation_type"])
    cols = ["area_code", "area_name", "parent_code", "organisation_type", *USER_COUNTS]
    return out[cols].sort_values(["area_code", "organisation_type"], ignore_index=True)


def area_table(users: pd.DataFrame, plans: pd.DataFrame, index: AreaIndex, level: str, month: str,
               organisation_type: str | None = None) -> pd.DataFrame:
    """Exact counts per area in ``month`` (users of one organisation type, or all): area_code,
    area_name, parent_code, USER_COUNTS, PLAN_COUNTS."""
    u = users[users["month"] == month]
    if organisation_type is not None:
        u = u[u["organisation_type"] == organisation_type]
    names = _names(index, level)
    out = names.merge(_sum_by_area(u, index, level, USER_COUNTS), how="left", on=list(names.columns))
    out = out.merge(_sum_by_area(plans[plans["month"] == month], index, level, PLAN_COUNTS), how="left",
                    on=list(names.columns))
    return out.fillna({c: 0.0 for c in (*USER_COUNTS, *PLAN_COUNTS)})


def area_series(users: pd.DataFrame, plans: pd.DataFrame, index: AreaIndex, area_code: str,
                months: Sequence[str], organisation_type: str | None = None) -> pd.DataFrame:
    """Exact monthly counts for one area: month, USER_COUNTS, PLAN_COUNTS."""
    level = index.level_of(area_code)
    target = 0 if level == "region" else int(index.codes[level].get_loc(area_code))
    u = users if organisation_type is None else users[users["organisation_type"] == organisation_type]
    u = u[_area_of(u["lsoa_code"], index, level) == target]
    p = plans[_area_of(plans["lsoa_code"], index, level) == target]
    out = pd.DataFrame({"month": list(months)})
    out = out.merge(u.groupby("month", as_index=False)[list(USER_COUNTS)].sum(), on="month", how="left")
    out = out.merge(p.groupby("month", as_index=False)[list(PLAN_COUNTS)].sum(), on="month", how="left")
    return out.fillna({c: 0.0 for c in (*USER_COUNTS, *PLAN_COUNTS)})


def _specs(counts: Sequence[str], rates: Sequence[str]) -> list:
    return [*(CountSpec(c) for c in counts),
            *(RatioSpec(RATES[r].name, numerator=RATES[r].numerator, denominator=RATES[r].denominator,
                        multiplier=RATES[r].multiplier) for r in rates)]


def control(raw: pd.DataFrame, policy: DisclosurePolicy, *, counts: Sequence[str], rates: Sequence[str],
            groups: Sequence[Sequence[str]] | None = None) -> pd.DataFrame:
    """Counts through the policy (secondary suppression over ``groups``: rows sharing those columns'
    values have a total shown elsewhere) and each rate from the controlled counts; a rate whose
    count is hidden is hidden too (``<rate>_suppressed``)."""
    table = raw.assign(**{r: np.nan for r in rates})
    return apply_policy(table, _specs(counts, rates), policy, groups=groups)
