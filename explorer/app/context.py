"""Per-request helpers for layouts and callbacks: the shared data, the role and its policies.

Layout functions of Dash Pages are module-level (the page registry is global to Dash), so they
find the app's data through Flask's `current_app` instead of a module global: two apps in one
process (tests, the benchmark) each see their own data.
"""

from __future__ import annotations

from flask import current_app

from explorer.app.auth import current_role
from explorer.services.app_data import AppData
from explorer.domain import access
from explorer.domain.access import AccessDenied, Role
from explorer.domain.disclosure import DisclosurePolicy

DATA_EXTENSION = "explorer_data"


def current_data() -> AppData:
    return current_app.extensions[DATA_EXTENSION]


def role_and_policy(level: str | None = None) -> tuple[Role, DisclosurePolicy]:
    """The request's role (AccessDenied if not signed in), checked against `level`, and the
    disclosure policy every number must go through before it leaves the server."""
    role = current_role()
    if level is not None and level != "region":
        access.check_level(role, level)
        data = current_data()
        if level not in data.levels:
            raise AccessDenied(f"{level.upper()}-level views are not offered for {data.region_name}.",
                               role=str(role), level=level)
    return role, access.disclosure_policy_for(role)


def allowed_levels(role: Role) -> tuple[str, ...]:
    """The levels the role may see that the app offers for its region (AppData.levels)."""
    offered = current_data().levels
    return tuple(lv for lv in access.policy_for(role).levels if lv in offered)
