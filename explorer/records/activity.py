"""Clinician activity cells from the stored records (issue 17, point 5): small counts tables, never
a user or plan row, for :mod:`explorer.domain.activity`.

``user_activity``: per (month 'YYYY-MM', organisation_type, lsoa_code of the organisation; empty if
none) the users, those with at least one login in the month (``active_users``, the same rule as the
engine's ``active_users`` metric in :mod:`explorer.records.cellsql`), those with more than 10
(``active_users_10plus``) and the logins. Every user counts in every month of the window (the users
table has no start date), as in the engine's user cells.

``plan_activity``: per (month, lsoa_code of the person) the plans created (``created_date`` in the
month, whatever their later status) and updated (reviews dated in the month).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from explorer.records.store import read_table, table_exists

USER_ACTIVITY_KEYS = ("month", "organisation_type", "lsoa_code")
USER_ACTIVITY_MEASURES = ("users", "active_users", "active_users_10plus", "logins")
PLAN_ACTIVITY_MEASURES = ("plans_created", "plans_updated")


def _month(dates: pd.Series) -> pd.Series:
    return pd.to_datetime(dates, errors="coerce").dt.strftime("%Y-%m")


def user_activity(directory: Path, months: Sequence[str]) -> pd.DataFrame:
    """Users and logins per (month, organisation_type, lsoa_code) over ``months`` ('YYYY-MM')."""
    columns = [*USER_ACTIVITY_KEYS, *USER_ACTIVITY_MEASURES]
    if not table_exists(directory, "users"):
        return pd.DataFrame(columns=columns)
    users = read_table(directory, "users", ["user_id", "organisation_type", "lsoa_code"])
    users["lsoa_code"] = users["lsoa_code"].astype("object").where(users["lsoa_code"].notna(), "")
    logins = (read_table(directory, "user_logins", ["user_id", "month", "logins"])
              if table_exists(directory, "user_logins") else pd.DataFrame(columns=["user_id", "month", "logins"]))
    logins = logins.assign(month=logins["month"].astype(str).str[:7])
    logins = logins[logins["month"].isin(list(months))].groupby(["user_id", "month"], as_index=False)["logins"].sum()
    grid = users.merge(pd.DataFrame({"month": list(months)}), how="cross")
    grid = grid.merge(logins, on=["user_id", "month"], how="left")
    n = pd.to_numeric(grid["logins"], errors="coerce").fillna(0).to_numpy(float)
    grid = grid.assign(users=1.0, active_users=(n >= 1).astype(float), active_users_10plus=(n > 10).astype(float),
                       logins=n)
    out = grid.groupby(list(USER_ACTIVITY_KEYS), as_index=False)[list(USER_ACTIVITY_MEASURES)].sum()
    return out[columns]


def plan_activity(directory: Path, months: Sequence[str]) -> pd.DataFrame:
    """Plans created and updated (reviewed) per (month, lsoa_code of the person) over ``months``."""
    columns = ["month", "lsoa_code", *PLAN_ACTIVITY_MEASURES]
    if not table_exists(directory, "plans"):
        return pd.DataFrame(columns=columns)
    plans = read_table(directory, "plans", ["plan_id", "lsoa_code", "created_date"])
    created = plans.assign(month=_month(plans["created_date"])).groupby(["month", "lsoa_code"]).size()
    updated = pd.Series(dtype=float)
    if table_exists(directory, "plan_reviews"):
        reviews = read_table(directory, "plan_reviews", ["plan_id", "review_date"])
        reviews = reviews.merge(plans[["plan_id", "lsoa_code"]], on="plan_id", how="inner")
        updated = reviews.assign(month=_month(reviews["review_date"])).groupby(["month", "lsoa_code"]).size()
    out = pd.DataFrame({"plans_created": created, "plans_updated": updated}).fillna(0).reset_index()
    out.columns = columns
    out = out[out["month"].isin(list(months))]
    for m in PLAN_ACTIVITY_MEASURES:
        out[m] = out[m].to_numpy(np.float64)
    return out.reset_index(drop=True)
