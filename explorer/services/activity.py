"""Clinician activity (issue 17, point 5) for the app and `explorer activity`: users and logins by
organisation type and area, plans created and updated per active clinician, and each rate's monthly
XmR chart (the SPC domain of :mod:`explorer.domain.spc`).

The activity cells (:mod:`explorer.records.activity`) are read once per data set and cached; every
table and series then goes through the role's policy (:func:`explorer.domain.activity.control`):
counts rounded, 1-7 hidden, complementary cells hidden among an area's organisation types and among
sibling areas, and rates formed from the rounded counts. The SPC chart of a series is computed from
its released values only (a hidden month is a gap), as the other SPC charts are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from explorer.domain import access, activity, spc
from explorer.domain.disclosure import DisclosurePolicy
from explorer.domain.metrics import AreaIndex
from explorer.errors import ExplorerError
from explorer.services.app_cache import CacheKey, builds
from explorer.services.spc import check_options, rebase_positions
from explorer.vocab import ORGANISATION_LABELS, ORGANISATION_TYPES

AREA_RATES = ("active_share", "active_10plus_share", "plans_created_per_active", "plans_updated_per_active")
SERIES_COUNTS = (*activity.USER_COUNTS, *activity.PLAN_COUNTS)  # every count leaves controlled
NO_RECORDS = "clinician activity needs the person-level records (users, logins, plans), which this data set lacks"


def _months(data: Any) -> list[str]:
    engine = getattr(data, "engine", None)
    if engine is None or not hasattr(engine, "months"):
        raise ExplorerError(NO_RECORDS)
    return [m.strftime("%Y-%m") for m in engine.months]


def _index(data: Any) -> AreaIndex:
    return data.engine.index


@builds("activity_cells")
def _build_cells(data: Any, key: CacheKey) -> tuple[pd.DataFrame, pd.DataFrame]:
    from explorer.records import activity as records_activity
    from explorer.records.aggregate import records_directory

    directory = records_directory(data.settings, data.region)
    months = list(key.extra)
    users = records_activity.user_activity(directory, months)
    if users.empty:
        raise ExplorerError(NO_RECORDS)
    return users, records_activity.plan_activity(directory, months)


def cells(data: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(user activity, plan activity) cells of the data set's months, cached."""
    if getattr(data.engine, "released_table", None) is not None:
        raise ExplorerError("clinician activity is not in this release: it is computed from the records")
    return data.cached(CacheKey("activity_cells", extra=tuple(_months(data))))


def check_org(organisation_type: str | None) -> None:
    if organisation_type is not None and organisation_type not in ORGANISATION_TYPES:
        raise ExplorerError(f"unknown organisation type '{organisation_type}': choose from "
                            f"{', '.join(ORGANISATION_TYPES)}")


def latest_month(data: Any) -> str:
    return _months(data)[-1]


def check_month(data: Any, month: str | None) -> str:
    months = _months(data)
    if month is None:
        return months[-1]
    if month not in months:
        raise ExplorerError(f"month '{month}' is not in the records ({months[0]} to {months[-1]}); give YYYY-MM")
    return month


@builds("activity_areas")
def _build_areas(data: Any, key: CacheKey) -> pd.DataFrame:
    month, org = key.extra
    users, plans = cells(data)
    raw = activity.area_table(users, plans, _index(data), key.level, month, org)
    groups = [["parent_code"]] if key.level != "region" else None
    return activity.control(raw.fillna({"parent_code": "none"}), key.policy, counts=SERIES_COUNTS,
                            rates=AREA_RATES, groups=groups)


@builds("activity_orgs")
def _build_orgs(data: Any, key: CacheKey) -> pd.DataFrame:
    (month,) = key.extra
    users, _ = cells(data)
    raw = activity.org_table(users, _index(data), key.level, month)
    out = activity.control(raw, key.policy, counts=activity.USER_COUNTS, rates=activity.ORG_RATES,
                           groups=[["area_code"], ["organisation_type"]])
    out.insert(4, "organisation", [ORGANISATION_LABELS.get(t, t) for t in out["organisation_type"]])
    return out


def _within(data: Any, frame: pd.DataFrame, level: str, within: str | None) -> pd.DataFrame:
    if level == "region" or within in (None, data.region_code):
        return frame.reset_index(drop=True)
    keep = {within} if data.level_of(within) == level else set(data.codes_within(level, within))
    return frame[frame["area_code"].isin(keep)].reset_index(drop=True)


def area_activity(data: Any, level: str, within: str | None, month: str | None, organisation_type: str | None,
                  policy: DisclosurePolicy, role: str) -> pd.DataFrame:
    """Per area at ``level`` (inside ``within``) in ``month``: users, active users, plans created and
    updated, and the AREA_RATES, controlled for the role (all organisation types, or one)."""
    if level != "region":
        access.check_level(role, level)
    check_org(organisation_type)
    month = check_month(data, month)
    frame = data.cached(CacheKey("activity_areas", level, policy=policy, extra=(month, organisation_type)))
    return _within(data, frame, level, within)


def org_activity(data: Any, level: str, within: str | None, month: str | None, policy: DisclosurePolicy,
                 role: str) -> pd.DataFrame:
    """Per area and organisation type: users, active users (>= 1 and > 10 logins), logins and the
    ORG_RATES, controlled for the role."""
    if level != "region":
        access.check_level(role, level)
    month = check_month(data, month)
    frame = data.cached(CacheKey("activity_orgs", level, policy=policy, extra=(month,)))
    return _within(data, frame, level, within)


@builds("activity_series")
def _build_series(data: Any, key: CacheKey) -> pd.DataFrame:
    code, org = key.extra
    users, plans = cells(data)
    raw = activity.area_series(users, plans, _index(data), code, _months(data), org)
    return activity.control(raw, key.policy, counts=SERIES_COUNTS, rates=AREA_RATES)


def activity_chart(data: Any, code: str | None, rate: str, organisation_type: str | None, policy: DisclosurePolicy,
                   role: str, *, target: float | None = None, baseline: int | None = None,
                   rebase: Sequence[str] = ()) -> spc.SpcChart:
    """The XmR chart of one rate's released monthly values for an area (None: the region)."""
    if rate not in AREA_RATES:
        raise ExplorerError(f"unknown activity measure '{rate}': choose from {', '.join(AREA_RATES)}")
    check_org(organisation_type)
    code = code or data.region_code
    level = data.level_of(code)
    if level != "region":
        access.check_level(role, level)
    series = data.cached(CacheKey("activity_series", policy=policy, extra=(code, organisation_type)))
    value = pd.to_numeric(series[rate], errors="coerce").astype(float)
    check_options(len(series), target, baseline)
    chart = spc.xmr_chart(value.to_numpy(dtype=float), higher_is_better=activity.RATES[rate].higher_is_better,
                          target=target, baseline=baseline,
                          rebase=rebase_positions(series["month"].tolist(), rebase))
    table = chart.table.copy()
    table.insert(0, "month", series["month"].to_numpy())
    return spc.SpcChart(table, chart.variation, chart.assurance)


# --------------------------------------------------------------------------- the CLI


def activity_export(level: str, area: str | None, month: str | None, organisation_type: str | None, by: str,
                    *, rate: str | None, target: float | None, role: str, region: str
                    ) -> tuple[pd.DataFrame, dict[str, object]]:
    """What `explorer activity` prints: per area (``by`` = area), per area and organisation type
    (``by`` = organisation_type), or with ``rate`` the monthly SPC rows of ``area``."""
    from explorer.config import load_settings
    from explorer.services.app_data import AppData
    from explorer.services.spc import ROW_COLUMNS

    if level != "region":
        access.check_level(role, level)
    check_org(organisation_type)
    data = AppData.load(load_settings(), region)
    if area is not None and area not in data.area_level:
        raise ExplorerError(f"unknown area code '{area}' (not in the {data.region_name} bundle)")
    policy = access.disclosure_policy_for(role)
    header: dict[str, object] = {"data": "SYNTHETIC" if data.synthetic else "records", "role": role,
                                 "level": level, "area": area or "region",
                                 "organisation_type": organisation_type or "all"}
    if rate is not None:
        chart = activity_chart(data, area, rate, organisation_type, policy, role, target=target)
        header.update({"measure": rate, "target": target, "variation": chart.variation,
                       "variation_label": spc.VARIATION_LABELS.get(chart.variation or "", ""),
                       "assurance": chart.assurance,
                       "assurance_label": spc.ASSURANCE_LABELS.get(chart.assurance or "", "")})
        return chart.table[[*ROW_COLUMNS, "point_type"]], header
    month = check_month(data, month)
    header["month"] = month
    if by == "organisation_type":
        frame = org_activity(data, level, area, month, policy, role)
    else:
        frame = area_activity(data, level, area, month, organisation_type, policy, role)
    return frame.drop(columns=[c for c in ("parent_code",) if c in frame]), header
