"""The app's pages, one module each: MODULE, PATH, NAME, ORDER, DESCRIPTION, `layout(**query)` and
`register(app, data)` (callbacks registered on the app instance, never on Dash's global list)."""

from __future__ import annotations

from explorer.app.pages import about, activity, gaps, inequalities, map, outreach, profile, spc  # noqa: A004 - page module "map"

PAGES = (map, profile, inequalities, outreach, spc, gaps, activity, about)
