"""The app's pages, one module each: MODULE, PATH, NAME, ORDER, DESCRIPTION, `layout(**query)` and
`register(app, data)` (callbacks registered on the app instance, never on Dash's global list)."""

from __future__ import annotations

from explorer.app.pages import (  # noqa: A004 - page module "map"
    about, activity, compare, gaps, inequalities, map, neighbours, outreach, overview, profile, pyramid, search, spc,
    spine,
)

PAGES = (map, profile, inequalities, outreach, spc, spine, overview, compare, pyramid, neighbours, gaps, activity,
         search, about)
