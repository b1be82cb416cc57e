"""The app shell around every page: banners, navigation, the URL and the per-level geometry stores
(filled by the browser from explorer.app.geometry's cacheable route)."""

from __future__ import annotations

import dash
from dash import ALL, Dash, Input, Output, ctx, dcc, html

from explorer.app import auth, ids
from explorer.app.context import current_data
from explorer.app.geometry import browser_geometry
from explorer.app.presenters.map import theme_payload
from explorer.app.state import page_href, query_from_search, text_value
from explorer.services.app_data import AppData
from explorer.app.pages import PAGES
from explorer.domain.access import AccessDenied
from explorer.domain.disclosure import SUPPRESSION_NOTE
from explorer.domain.geography import LEVELS
from explorer.figures import theme


def synthetic_banner(data: AppData) -> html.Div | None:
    if not data.synthetic:
        return None
    return html.Div(
        [html.Strong("SYNTHETIC DATA"), " — not real patients. ",
         html.Span("; ".join(r[0].upper() + r[1:] for r in data.synthetic_reasons) + ". "),
         "Geography, deprivation and population are official statistics."],
        className="banner banner-synthetic", id=ids.BANNER, role="note", **{"aria-label": "Data notice"})


def demo_banner() -> html.Div | None:
    if not auth.is_demo():
        return None
    return html.Div(auth.DEMO_BANNER_TEXT.format(role=auth.current_role().value),
                    className="banner banner-demo", role="note", **{"aria-label": "Demo mode"})


def user_badge() -> html.Div:
    try:
        role = auth.current_role().value
    except AccessDenied:
        return html.Div()
    if auth.is_demo():
        return html.Div(f"Role: {role}", className="user-badge", id=ids.USER_BADGE)
    return html.Div([f"Signed in as {auth.current_user_name()} ({role}) · ",
                     auth.logout_form()], className="user-badge", id=ids.USER_BADGE)


def layout() -> html.Div:
    data = current_data()
    nav = html.Nav(
        html.Ul([html.Li(dcc.Link(page.NAME, href=page.PATH, className="nav-link", id=ids.nav_link(page.PATH)))
                 for page in PAGES],
                className="nav-list"),
        className="site-nav", **{"aria-label": "Pages"})
    return html.Div([
        html.A("Skip to main content", href=f"#{ids.SKIP_TARGET}", className="skip-link"),
        html.Header([
            synthetic_banner(data),
            demo_banner(),
            html.Div([html.Div([html.Span("Population Health Explorer", className="brand"),
                                html.Span(f"{data.region_name} · care plans, deprivation and risk",
                                          className="brand-sub")]),
                      nav, user_badge()], className="topbar"),
        ], className="site-header"),
        dcc.Location(id=ids.NAV_URL, refresh=False),
        *[dcc.Store(id=ids.geometry_store(level), storage_type="memory") for level in LEVELS],
        dcc.Store(id=ids.MAP_THEME, data=theme_payload(), storage_type="memory"),
        html.Main(dash.page_container, id=ids.SKIP_TARGET, tabIndex="-1", className="page"),
        html.Footer([
            html.P(theme.source_note(synthetic=data.synthetic, suppression=False)),
            html.P(f"Disclosure control: {SUPPRESSION_NOTE}. Analysts inside the secure environment see "
                   "unrounded values; every download is controlled."),
        ], className="site-footer"),
    ], className="shell")


def register(app: Dash, data: AppData) -> None:
    @app.callback(
        Output(ids.nav_link(ALL), "href"),
        Input(ids.NAV_URL, "search"),
    )
    def carry_area(search: str | None) -> list[str]:
        """Nav links keep the user's area and population (state.SHARED_KEYS) from page to page."""
        query = query_from_search(text_value(search, "search"))
        return [page_href(o["id"]["path"], query) for o in ctx.outputs_list]


__all__ = ["browser_geometry", "layout", "register"]
