"""Search: one box that finds an area (ICS, place, PCN, LSOA: the levels the role may see) or a GP
practice by name or code; each result is a link, so Tab and Enter reach it with the keyboard.

A native search input and a list of links rather than dcc.Dropdown: Dash 4's dropdown puts its
focus on an aria-hidden input (axe: aria-hidden-focus, serious; see explorer.app.components.select).
Practices land on their PCN's profile, which shows the practice's registered list
(:func:`practice_panel`).
"""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, dcc, html

from explorer.app import components as ui
from explorer.app import ids
from explorer.app.auth import current_role
from explorer.app.context import allowed_levels, role_and_policy
from explorer.app.presenters.search import (
    MIN_CHARS,
    SEARCH_RESULTS,
    Match,
    practice_summary,
    search,
)
from explorer.app.state import text_value
from explorer.domain.access import AccessDenied, disclosure_policy_for
from explorer.services.app_data import AppData

MODULE = "explorer.app.pages.search"
PATH = "/search"
NAME = "Search"
ORDER = 12
DESCRIPTION = "Find an area or a GP practice by name or code."
MAX_QUERY = 100


def layout(**query: Any) -> html.Div:
    try:
        current_role()
    except AccessDenied as exc:
        return ui.notice(str(exc), "warning")
    start = str(query.get("q", ""))[:MAX_QUERY]
    return html.Div([
        html.H1("Find an area or GP practice", className="page-title"),
        html.Div([
            ui.field("Name or code of an area or GP practice",
                     dcc.Input(id=ids.SEARCH_INPUT, type="search", debounce=0.3, value=start, autoComplete="off",
                               maxLength=MAX_QUERY, placeholder="e.g. Hackney, E09000012, Kingston or F84003"),
                     ids.SEARCH_INPUT,
                     help_text=(f"Type at least {MIN_CHARS} characters, then Tab to the results. Areas at every "
                                "level you may see, and the GP practices of this region (NHS Digital "
                                "registrations, July 2023); a practice opens its PCN's profile.")),
        ], className="panel"),
        html.P(id=ids.SEARCH_STATUS, role="status", **{"aria-live": "polite"}),
        html.Ul(id=ids.SEARCH_RESULTS, className="search-results"),
    ], className="search-page")


def result_item(match: Match) -> html.Li:
    return html.Li([dcc.Link(f"{match.name} ({match.code})", href=match.href, className="search-link"),
                    html.Span(f" · {match.kind}" + (f" · {match.detail}" if match.detail else ""),
                              className="search-kind")])


def practice_panel(data: AppData, practice: Any) -> html.Section | None:
    """On a PCN profile reached from a practice: the practice, its registered list, its PCN."""
    role = current_role()
    code = practice if isinstance(practice, str) else None
    summary = practice_summary(data, allowed_levels(role), code, disclosure_policy_for(role))
    if summary is None:
        return None
    return html.Section([
        html.H2(f"GP practice: {summary.name} ({summary.code})", className="block-title"),
        html.P([html.Strong(f"{summary.registered} registered patients"),
                (" (NHS Digital, patients registered at a GP practice, July 2023; all ages and sexes: the file "
                "has no age or sex breakdown). "),
                (f"The practice is one of {summary.practices_in_pcn} practices in {summary.pcn_name}, "
                "whose profile follows.")]),
    ], id=ids.PROFILE_PRACTICE, className="panel", **{"aria-label": "GP practice"})


def register(app: Dash, data: AppData) -> None:
    @app.callback(Output(ids.SEARCH_RESULTS, "children"), Output(ids.SEARCH_STATUS, "children"),
                  Input(ids.SEARCH_INPUT, "value"))
    def send_results(text: str | None) -> tuple[list, str]:
        role, policy = role_and_policy()
        text = (text_value(text, "search") or "")[:MAX_QUERY]
        if len(text.strip()) < MIN_CHARS:
            return [], f"Type at least {MIN_CHARS} characters."
        matches = search(data, allowed_levels(role), text, policy)
        if not matches:
            return [], f"Nothing matches “{text.strip()}”."
        more = f" (the first {SEARCH_RESULTS})" if len(matches) >= SEARCH_RESULTS else ""
        return [result_item(m) for m in matches], f"{len(matches)} results{more} for “{text.strip()}”."
