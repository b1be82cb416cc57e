"""Population pyramid: an area's residents by age band and sex against its parent's outline, with the
people who have a care plan overlaid, and the table beside it (explorer.services.pyramid)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pandas as pd
from dash import Dash, Input, Output, State, dcc, html

from explorer.app import components as ui
from explorer.app import ids
from explorer.app.auth import current_role
from explorer.app.context import allowed_levels, current_data, role_and_policy
from explorer.app.presenters.search import area_matches
from explorer.app.state import text_value
from explorer.domain import access
from explorer.domain.access import AccessDenied, Role
from explorer.domain.disclosure import SUPPRESSION_NOTE, format_count
from explorer.figures import describe
from explorer.figures.pyramid import pyramid_comparison_figure
from explorer.services.app_data import AppData
from explorer.services.pyramid import Pyramid, pyramid
from explorer.vocab import AGE_SEX_SOURCE

MODULE = "explorer.app.pages.pyramid"
PATH = "/pyramid"
NAME = "Population pyramid"
ORDER = 8
DESCRIPTION = "Residents by age and sex against the parent area, with the people who have a care plan."
LISTED_LEVELS = ("ics", "place", "pcn")  # listed before any search; LSOAs once searched for


def area_options(data: AppData, levels: tuple[str, ...], search: str | None, current: str | None) -> list[dict]:
    """The region, the current area, then matches of the typed text (or every ICS, place and PCN)."""
    options = [{"label": f"{data.region_name} (whole region)", "value": data.region_code}]
    if current:
        options.append({"label": f"{data.name_of(current)} ({data.level_label(data.level_of(current), short=True)})",
                        "value": current})
    if search and search.strip():
        found = [(m.code, f"{m.name} ({m.kind})") for m in area_matches(data, levels, search)]
    else:
        areas = data.bundle.areas
        shown = areas[areas["level"].isin([lv for lv in LISTED_LEVELS if lv in levels])]
        found = [(r.area_code, f"{r.area_name} ({data.level_label(r.level, short=True)})") for r in shown.itertuples()]
    seen = {o["value"] for o in options}
    return options + [{"label": label, "value": code} for code, label in found if code not in seen]


def checked_area(data: AppData, value: Any, role: Role) -> str | None:
    """The chosen area (None: the region); AccessDenied for an area the role may not see."""
    code = text_value(value, "area")
    if code in (None, "", data.region_code):
        return None
    if code not in data.area_level or data.level_of(code) not in allowed_levels(role):
        raise AccessDenied(f"Area {code!r} is not one your role may see.", role=str(role))
    return code


def layout(**query: Any) -> html.Div:
    data = current_data()
    try:
        role = current_role()
    except AccessDenied as exc:
        return ui.notice(str(exc), "warning")
    levels = allowed_levels(role)
    area = query.get("area")
    area = area if isinstance(area, str) and data.area_level.get(area) in levels else None
    return html.Div([
        dcc.Location(id=ids.PYRAMID_URL, refresh=False),
        html.H1("Population pyramid", className="page-title"),
        html.Div([
            ui.field("Find an area (part of its name or code)",
                     dcc.Input(id=ids.PYRAMID_SEARCH, type="search", debounce=0.4, value="", autoComplete="off",
                               placeholder="e.g. Camden or E09000007"), ids.PYRAMID_SEARCH),
            ui.select(ids.PYRAMID_AREA, area_options(data, levels, None, area), area or data.region_code, "Area"),
        ], className="row-controls panel"),
        html.Div(id=ids.PYRAMID_CONTENT),
    ], className="pyramid-page")


def role_note(role: Role) -> str:
    """What disclosure control the numbers had, for the 'what it shows' line."""
    if access.policy_for(role).suppress:
        return f"Shown for the {role.value} role: {SUPPRESSION_NOTE}."
    return f"Shown for the {role.value} role: exact counts (inside the secure environment)."


def _pc(value: Any) -> str:
    return "*" if pd.isna(value) else f"{float(value):.1f}"


def _count(value: Any) -> str:
    return format_count(value, pd.isna(value))


def table_rows(result: Pyramid) -> tuple[list[dict], list[dict]]:
    """The table beside the pyramid: the same numbers as the figure, `*` where suppressed."""
    frame = result.frame
    columns = [("age_band", "Age band"), ("sex", "Sex"), ("residents", "Resident population"),
               ("share", "% of residents")]
    if result.parent is not None:
        columns.append(("parent_share", f"% of residents of {result.parent}"))
    if result.has_plans:
        columns += [("plans", "People with a care plan"), ("plan_share", "% of people with a plan")]
    rows = []
    for r in frame.to_dict("records"):
        row = {"age_band": r["age_band"], "sex": str(r["sex"]).capitalize()}
        for key, _ in columns[2:]:
            row[key] = _count(r[key]) if key in ("residents", "plans") else _pc(r[key])
        rows.append(row)
    return [{"name": label, "id": key} for key, label in columns], rows


def content(data: AppData, code: str | None, role: Role) -> list:
    _, policy = role_and_policy(data.level_of(code) if code else None)
    result = pyramid(data, code, policy)
    level = data.level_label(data.level_of(code), short=True) if code else "region"
    parent = f", against {result.parent} (outline)" if result.parent else ""
    plans = (" Orange bars: people with a live care plan (SYNTHETIC records) by age band and sex, as % of the "
             "area's people with a plan; the records' bands 65-74, 75-84 and 85+ are added into 65+."
             if result.has_plans else " Care-plan records are not loaded, so no plans are shown.")
    shows = (f"{result.area} ({level}){parent}. Bars: residents by age band and sex as % of the area's residents "
             f"({AGE_SEX_SOURCE}; for a PCN, residents of the LSOAs drawn in it)."
             f"{plans} No filters. {role_note(role)}")
    figure = pyramid_comparison_figure(result.frame, area=result.area, parent=result.parent, plans=result.has_plans)
    frame = result.frame
    summary = describe.describe_series([f"{s} {b}" for s, b in zip(frame["sex"], frame["age_band"])],
                                       list(frame["share"]), what=f"Residents of {result.area} by sex and age, "
                                       "% of residents", unit="%")
    columns, rows = table_rows(result)
    registered = format_count(result.registered, pd.isna(result.registered))
    return [
        html.H2(f"{result.area}: residents by age and sex", className="block-title"),
        html.P(shows, className="table-note"),
        ui.notice(f"Registered with a GP practice and living here: {registered} patients (NHS Digital, July "
                  "2023). The published file gives practices' patients by LSOA for all ages and sexes together "
                  "(SEX=ALL), so registered patients can only be shown as this total, not as a pyramid.", "info"),
        html.Div([
            html.Section([ui.graph(ids.PYRAMID_GRAPH, figure, synthetic=result.has_plans and data.synthetic),
                          ui.sr_only(summary)], className="figure-block", **{"aria-label": "Pyramid chart"}),
            html.Section([html.H3("The pyramid as a table", className="block-title"),
                          ui.data_table(ids.PYRAMID_TABLE, columns, rows, page_size=10)],
                         className="figure-block", **{"aria-label": "Pyramid table"}),
        ], className="grid-2"),
        html.P(SUPPRESSION_NOTE + ".", className="table-note"),
    ]


def register(app: Dash, data: AppData) -> None:
    @app.callback(Output(ids.PYRAMID_AREA, "options"), Input(ids.PYRAMID_SEARCH, "value"),
                  State(ids.PYRAMID_AREA, "value"))
    def send_options(search: str | None, current: str | None) -> list[dict]:
        role = current_role()
        code = checked_area(data, current, role)
        return area_options(data, allowed_levels(role), text_value(search, "area search"), code)

    @app.callback(Output(ids.PYRAMID_CONTENT, "children"), Output(ids.PYRAMID_URL, "search"),
                  Input(ids.PYRAMID_AREA, "value"))
    def send_pyramid(value: str | None) -> tuple[list, str]:
        role = current_role()
        code = checked_area(data, value, role)
        return content(data, code, role), ("?" + urlencode({"area": code})) if code else ""
