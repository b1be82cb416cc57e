"""Registered versus resident population per area: GP lists (people registered with any practice
who live in the area) against Census 2021 usual residents, exact sums and then the disclosure rule.

A ratio well above 100 per 100 residents means inflated lists (people who moved away, or died,
still registered: "ghost patients"); well below, residents not registered with a GP (the people
inclusion-health work looks for). Both counts are official statistics, but they leave the server
through the same policy as every other count (rounded to 5, 1-7 hidden, complementary cells hidden
among siblings whose total is shown elsewhere), and the ratio is computed from the rounded counts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from explorer.domain import metrics as M
from explorer.domain.disclosure import (
    CountSpec,
    DisclosurePolicy,
    RatioSpec,
    apply_policy,
)
from explorer.domain.metrics import AreaIndex

REGISTERED, RESIDENTS = "registered", "residents"
RATIO = "registered_per_100_residents"
#: The policy's view of the registration columns: two counts and the ratio rebuilt from them.
SPECS = (CountSpec(REGISTERED), CountSpec(RESIDENTS),
         RatioSpec(RATIO, numerator=REGISTERED, denominator=RESIDENTS, multiplier=100))
QUINTILES = (1, 2, 3, 4, 5)


def lsoa_registrations(lsoas: pd.DataFrame, practice_shares: pd.DataFrame) -> pd.DataFrame:
    """Per LSOA of the region: lsoa_code, residents (Census 2021, the bundle's ``population``) and
    registered (patients of every practice, in or outside the region, whose address is in the LSOA)."""
    registered = practice_shares.groupby("lsoa_code")["patients"].sum()
    out = pd.DataFrame({"lsoa_code": lsoas["lsoa_code"].astype(str).to_numpy(),
                        RESIDENTS: pd.to_numeric(lsoas["population"], errors="coerce").fillna(0).to_numpy(float)})
    out[REGISTERED] = out["lsoa_code"].map(registered).fillna(0).to_numpy(float)
    return out


def _aligned(per_lsoa: pd.DataFrame, index: AreaIndex) -> tuple[np.ndarray, np.ndarray]:
    """Registered and resident counts in the index's LSOA order (plus the outside slot, empty)."""
    frame = per_lsoa.set_index("lsoa_code").reindex(index.lsoa_codes).fillna(0)
    return (np.append(frame[REGISTERED].to_numpy(float), 0.0), np.append(frame[RESIDENTS].to_numpy(float), 0.0))


def _apportioned(index: AreaIndex, level: str) -> bool:
    return level == "pcn" and index.pcn_apportioned


def registration_by_area(per_lsoa: pd.DataFrame, index: AreaIndex, level: str) -> pd.DataFrame:
    """Exact sums per area at ``level`` (or the region): area_code, area_name, parent_code,
    registered, residents (not yet controlled). PCNs: each LSOA's counts shared among PCNs by the
    registration weights, then whole persons, as every PCN figure (``explorer.domain.metrics``)."""
    registered, residents = _aligned(per_lsoa, index)
    n = index.n_areas(level) if level != "region" else 1
    names = index.names[level].reset_index(drop=True)
    if _apportioned(index, level):
        both = M.whole_persons({"r": index.pcn_matrix.T @ np.vstack([registered, residents]).T}, {})["r"]
        return names.assign(**{REGISTERED: both[:n, 0], RESIDENTS: both[:n, 1]})
    area = index.lsoa_to_area[level]
    return names.assign(**{REGISTERED: np.bincount(area, registered, minlength=n + 1)[:n],
                           RESIDENTS: np.bincount(area, residents, minlength=n + 1)[:n]})


def registration_by_quintile(per_lsoa: pd.DataFrame, index: AreaIndex, level: str, area_code: str,
                             deprivation_level: str = "lsoa") -> pd.DataFrame:
    """Exact sums per IMD quintile (1 = most deprived) within one area: group, registered, residents.
    Quintiles are of whole areas at ``deprivation_level`` (the role's, as every breakdown's)."""
    registered, residents = _aligned(per_lsoa, index)
    inside = np.ones(len(registered), bool) if level == "region" else \
        index.lsoa_to_area[level] == int(index.codes[level].get_loc(area_code))
    quintile = index.deprivation(deprivation_level)[1]
    if _apportioned(index, level):  # the PCN's share of every LSOA its patients live in
        pcn = int(index.codes[level].get_loc(area_code))
        share = index.pcn_column(pcn)
        inside, registered, residents = share > 0, registered * share, residents * share
        if deprivation_level != "lsoa":  # groups of whole PCNs: all of it in the PCN's own quintile
            quintile = np.full(len(share), index.area_deprivation("pcn")[1][pcn])
    k = len(QUINTILES) + 1
    sums = {REGISTERED: np.bincount(quintile[inside], registered[inside], minlength=k)[:k],
            RESIDENTS: np.bincount(quintile[inside], residents[inside], minlength=k)[:k]}
    if _apportioned(index, level):
        sums = M.whole_persons(sums, {})
    rows = pd.DataFrame({"group": [*map(str, QUINTILES), "unknown"], **sums})
    unknown = rows["group"].eq("unknown") & rows[[REGISTERED, RESIDENTS]].sum(axis=1).eq(0)
    return rows[~unknown].reset_index(drop=True)


def control_registration(raw: pd.DataFrame, policy: DisclosurePolicy, *, siblings: str | None = None
                         ) -> pd.DataFrame:
    """The counts through the policy and the ratio from the rounded counts. ``siblings``: the column
    whose equal values form groups whose total is shown elsewhere (``parent_code`` for a level's
    areas, a constant for the quintiles of one area), for secondary suppression."""
    table = raw.assign(**{RATIO: float("nan")})  # rebuilt by the policy from the controlled counts
    groups = None
    if siblings is not None:
        if siblings not in table:
            table[siblings] = "all"
        table[siblings] = table[siblings].fillna("none")
        groups = [[siblings]]
    return apply_policy(table, list(SPECS), policy, groups=groups)
