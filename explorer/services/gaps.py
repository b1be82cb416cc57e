"""Where the data is weakest (issue 17, point 4), for the app and `explorer gaps`.

Per area (a level's areas within an area) and per IMD quintile of one area, three gaps side by side:
registered versus resident population (GP lists against Census 2021: :mod:`explorer.domain.gaps`),
the share of registered people whose ethnic group is not recorded, and the share of live plans
missing a key item (the engine's ``ethnicity_not_stated`` and ``plans_missing_key_items``, a
clinical metric a role without clinical content does not get). Every number is the role's
disclosure-controlled figure: the counts through the policy with secondary suppression among
siblings (areas of one parent, quintiles of one area), rates from the rounded counts.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from explorer.domain import access, gaps
from explorer.domain.disclosure import DisclosurePolicy
from explorer.domain.metrics import AreaIndex, Filters
from explorer.errors import ExplorerError
from explorer.services.app_cache import CacheKey, builds
from explorer.services.pcn_info import optional_table

RECORD_METRICS = ("ethnicity_not_stated", "plans_missing_key_items")
#: Columns of each record metric kept in the tables: the share and its two counts.
PARTS = ("", "_numerator", "_denominator", "_suppressed")
BY = "imd_quintile"


def record_metrics(data: Any, role: str) -> tuple[str, ...]:
    """The record-gap metrics this role may see and the data can serve."""
    return tuple(m for m in RECORD_METRICS if m in data.metrics and not
                 (access.is_clinical(m) and not access.permits(role, access.Capability.CLINICAL_CONTENT)))


def _index(data: Any) -> AreaIndex:
    engine = getattr(data, "engine", None)
    index = getattr(engine, "index", None)
    if isinstance(index, AreaIndex):
        return index
    b = data.bundle
    weights = optional_table(b, "pcn_weights") if getattr(b, "directory", None) is not None else None
    return AreaIndex(b.lsoas, b.areas, b.region_code, b.region_name, weights)


def _per_lsoa(data: Any) -> pd.DataFrame:
    shares = getattr(data.bundle, "practice_shares", None)
    if shares is None or shares.empty:
        raise ExplorerError("the bundle has no GP registrations: rebuild it with `explorer data build`")
    return gaps.lsoa_registrations(data.bundle.lsoas, shares)


def _record_columns(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    cols = [f"{metric}{p}" for p in PARTS if f"{metric}{p}" in table.columns]
    return table[cols]


@builds("gaps_areas")
def _build_areas(data: Any, key: CacheKey) -> pd.DataFrame:
    level, policy, metrics = key.level, key.policy, key.extra
    raw = gaps.registration_by_area(_per_lsoa(data), _index(data), level)
    out = gaps.control_registration(raw, policy, siblings="parent_code" if level != "region" else None)
    out = out.set_index("area_code", drop=False)
    for metric in metrics:
        table = data.controlled(level, metric, Filters(), None, policy)
        out = out.join(_record_columns(table, metric), how="left")
    return out.reset_index(drop=True)


def area_gaps(data: Any, level: str, within: str | None, policy: DisclosurePolicy, role: str) -> pd.DataFrame:
    """One row per area at ``level`` inside ``within`` (None: the region): area_code, area_name,
    registered, residents, registered_per_100_residents, then per record metric its share (%),
    numerator and denominator, each with ``_suppressed`` flags; controlled for the role."""
    if level != "region":
        access.check_level(role, level)
    frame = data.cached(CacheKey("gaps_areas", level, policy=policy, extra=record_metrics(data, role)))
    if level != "region" and within not in (None, data.region_code):
        keep = {within} if data.level_of(within) == level else set(data.codes_within(level, within))
        frame = frame[frame["area_code"].isin(keep)]
    return frame.reset_index(drop=True)


@builds("gaps_quintiles")
def _build_quintiles(data: Any, key: CacheKey) -> pd.DataFrame:
    code, policy, metrics = key.extra[0], key.policy, key.extra[1:]
    level = data.level_of(code)
    area = code or data.region_code
    raw = gaps.registration_by_quintile(_per_lsoa(data), _index(data), level, area, policy.deprivation_level)
    out = gaps.control_registration(raw, policy, siblings="_all").drop(columns="_all").set_index("group")
    for metric in metrics:
        rows = data.groups_table(code, metric, BY, Filters(), None, policy).set_index("group")
        part = rows[["value", "numerator", "denominator", "suppressed"]]
        part.columns = [f"{metric}{p}" for p in PARTS]
        out = out.join(part, how="outer")
    out = out.reset_index().rename(columns={"index": "group"})
    return out[out["group"].astype(str) != "unknown"].reset_index(drop=True)


def quintile_gaps(data: Any, code: str | None, policy: DisclosurePolicy, role: str) -> pd.DataFrame:
    """The same gaps by IMD 2025 quintile (1 = most deprived) inside one area (None: the region):
    group, registered, residents, registered_per_100_residents and the record metrics' columns."""
    if code is not None and code != data.region_code:
        access.check_level(role, data.level_of(code))
    code = None if code == data.region_code else code
    return data.cached(CacheKey("gaps_quintiles", policy=policy, extra=(code, *record_metrics(data, role))))


# --------------------------------------------------------------------------- the CLI


def gaps_export(level: str, area: str | None, by: str | None, *, role: str, region: str
                ) -> tuple[pd.DataFrame, dict[str, object]]:
    """What `explorer gaps` prints: per area at ``level`` (inside ``area``), or with ``by`` =
    imd_quintile per quintile of ``area``; and a header (data label, role, level, area)."""
    from explorer.config import load_settings
    from explorer.services.app_data import AppData

    if level != "region":
        access.check_level(role, level)  # refuse before reading anything
    data = AppData.load(load_settings(), region)
    if area is not None and area not in data.area_level:
        raise ExplorerError(f"unknown area code '{area}' (not in the {data.region_name} bundle)")
    policy = access.disclosure_policy_for(role)
    if by is not None:
        frame = quintile_gaps(data, area, policy, role).rename(columns={"group": "imd_quintile"})
    else:
        frame = area_gaps(data, level, area, policy, role)
        frame = frame.drop(columns=[c for c in ("parent_code",) if c in frame])
    header = {"data": "SYNTHETIC" if data.synthetic else "records", "role": role, "level": level,
              "area": area or "region", "by": by or "area",
              "sources": "GP registrations: NHS Digital, July 2023 (LSOA 2021); residents: Census 2021"}
    return frame, header
