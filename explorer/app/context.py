"""Per-request helpers for layouts and callbacks: the shared data, the role and its policies.

Layout functions of Dash Pages are module-level (the page registry is global to Dash), so they
find the app's data through Flask's `current_app` instead of a module global: two apps in one
process (tests, the benchmark) each see their own data.
"""

from __future__ import annotations

from flask import current_app

from explorer.app.auth import current_role
from explorer.app.data import AppData
from explorer.domain import access
from explorer.domain.access import Role
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
    return role, access.disclosure_policy_for(role)


def allowed_levels(role: Role) -> tuple[str, ...]:
    return access.policy_for(role).levels
