"""Clinician activity (issue 17, point 5): users and logins by organisation type and area, plans
created and updated per active clinician, monthly, through the disclosure rule. Pure pandas/numpy:
the cells come from :mod:`explorer.records.activity` via the services."""

from explorer.domain.activity._tables import (
    ORG_RATES,
    PLAN_COUNTS,
    RATES,
    USER_COUNTS,
    Rate,
    area_series,
    area_table,
    control,
    org_table,
)

__all__ = ["ORG_RATES", "PLAN_COUNTS", "RATES", "USER_COUNTS", "Rate", "area_series", "area_table", "control",
           "org_table"]
