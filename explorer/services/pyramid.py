"""The population pyramid of an area: residents by age band and sex as shares, the parent area's
shares for the outline, and the people with a care plan by the same bands, every number from
disclosure-controlled counts for the caller's policy.

Residents: the bundle's age-sex table (five bands; vocab.AGE_SEX_SOURCE: mid-2020 estimates carried to LSOA
2021 where the mirror has them, else the LSOA's Census 2021 age bands split by sex; explorer.bundle.population).
Care plans: the metrics engine's `plans` by age band for each sex; its bands 65-74, 75-84 and 85+ are
added into 65+ to meet the residents' bands (from their controlled counts; if any part is
suppressed, 65+ is too). Registered patients: NHS Digital's file has no age or sex (SEX=ALL), so
only their total is given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from explorer.domain.disclosure import DisclosurePolicy, apply_policy
from explorer.domain.metrics import Filters
from explorer.services.app_data import AppData
from explorer.vocab import SEXES

OLDEST_BAND = "65+"  # the residents' top band; engine bands from 65 up are added into it
PLANS_METRIC = "plans"


@dataclass(frozen=True)
class Pyramid:
    """The pyramid's table and what it is of."""

    frame: pd.DataFrame  # age_band, sex, residents, share, parent_share, plans, plan_share
    area: str  # name
    parent: str | None  # name of the outline's area (None: the region itself)
    registered: float | None  # controlled total of registered patients living in the area (NaN if hidden)
    has_plans: bool


def resident_band(band: str) -> str:
    """The residents' band an engine age band falls in (65-74, 75-84, 85+ -> 65+)."""
    low = int(band.split("-")[0].rstrip("+"))
    return OLDEST_BAND if low >= 65 else band


def residents(data: AppData, code: str | None, policy: DisclosurePolicy) -> pd.DataFrame:
    """Controlled residents by age band and sex, with each cell's share of the controlled total (%)."""
    lsoas = data.lsoas_within(code)["lsoa_code"]
    table = data.bundle.age_sex[data.bundle.age_sex["lsoa_code"].isin(lsoas)]
    table = table.groupby(["age_band", "sex"], as_index=False, sort=False)["population"].sum()
    controlled = apply_policy(table, "population", policy)
    counts = pd.to_numeric(controlled["population"], errors="coerce").astype(float)
    return pd.DataFrame({"age_band": controlled["age_band"], "sex": controlled["sex"], "residents": counts,
                         "share": counts / counts.sum() * 100})


def plans_by_band(data: AppData, code: str | None, policy: DisclosurePolicy) -> pd.DataFrame:
    """Controlled people with a plan by residents' age band and sex (NaN where suppressed)."""
    rows = []
    for sex in SEXES:
        table = data.groups_table(code, PLANS_METRIC, "age_band", Filters(sex=(sex,)), None, policy)
        table = table[table["group"] != "unknown"]
        values = pd.to_numeric(table["value"], errors="coerce").astype(float)
        hidden = table["suppressed"].astype(bool) | values.isna()
        part = pd.DataFrame({"age_band": table["group"].map(resident_band), "plans": values.where(~hidden)})
        summed = part.groupby("age_band", sort=False)["plans"].agg(lambda s: s.sum() if s.notna().all() else np.nan)
        rows.append(summed.rename_axis("age_band").reset_index().assign(sex=sex))
    return pd.concat(rows, ignore_index=True)


def registered_total(data: AppData, code: str | None, policy: DisclosurePolicy) -> float:
    """Registered patients living in the area's LSOAs (NHS Digital July 2023), controlled."""
    lsoas = data.lsoas_within(code)["lsoa_code"]
    shares = data.bundle.practice_shares
    total = pd.DataFrame({"registered": [int(shares.loc[shares["lsoa_code"].isin(lsoas), "patients"].sum())]})
    value = apply_policy(total, "registered", policy)["registered"].iloc[0]
    return float(value) if not pd.isna(value) else float("nan")


def pyramid(data: AppData, code: str | None, policy: DisclosurePolicy) -> Pyramid:
    """The area's pyramid against its parent (the region for an ICS or the region itself)."""
    parent_code = data.parent_of.get(code) if code else None
    parent_code = None if parent_code == data.region_code else parent_code
    frame = residents(data, code, policy)
    parent_name = None
    if code is not None:
        parent = residents(data, parent_code, policy)
        frame = frame.merge(parent[["age_band", "sex", "share"]].rename(columns={"share": "parent_share"}),
                            on=["age_band", "sex"], how="left")
        parent_name = data.name_of(parent_code)
    has_plans = data.has_engine() and PLANS_METRIC in data.metrics
    if has_plans:
        plans = plans_by_band(data, code, policy)
        frame = frame.merge(plans, on=["age_band", "sex"], how="left")
        total = float(pd.to_numeric(data.value_of(code, PLANS_METRIC, Filters(), policy)[PLANS_METRIC],
                                    errors="coerce"))
        frame["plan_share"] = frame["plans"] / total * 100 if total and np.isfinite(total) else np.nan
    return Pyramid(frame=frame, area=data.name_of(code), parent=parent_name,
                   registered=registered_total(data, code, policy), has_plans=has_plans)
