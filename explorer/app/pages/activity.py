"""Clinician activity (issue 17, point 5): where plans are and are not being made. For an area, a
monthly XmR chart (Making Data Count) of users logging in, or plans created or updated per active
clinician, of every organisation type or one; users and logins by organisation type; and the areas
inside it. Every number is the role's disclosure-controlled figure (:mod:`explorer.services.activity`)."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from dash import Dash, Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from explorer.app import components as ui
from explorer.app import ids
from explorer.app.auth import audit_export, current_role
from explorer.app.context import allowed_levels, current_data, role_and_policy
from explorer.app.presenters.gaps import ACTIVITY_COLUMNS, bar_frame, display
from explorer.app.presenters.spc import badge, display_table
from explorer.app.state import query_from_search, text_value
from explorer.app.state_spc import parse_target
from explorer.domain import access, activity
from explorer.domain.access import AccessDenied
from explorer.domain.disclosure import SUPPRESSION_NOTE
from explorer.export.safe_cells import safe_frame
from explorer.figures import describe, theme
from explorer.figures.charts import share_bar_figure
from explorer.figures.spc import spc_figure
from explorer.services.activity import (
    AREA_RATES,
    activity_chart,
    area_activity,
    latest_month,
    org_activity,
)
from explorer.services.app_data import AppData
from explorer.vocab import ORGANISATION_LABELS, ORGANISATION_TYPES

MODULE = "explorer.app.pages.activity"
PATH = "/activity"
NAME = "Clinician activity"
ORDER = 11
DESCRIPTION = "Clinician users and logins by organisation type and area, plans per active clinician, with SPC."
ALL = "all"


def _areas(data: AppData, role: Any) -> list[dict]:
    options = [{"label": data.region_name, "value": data.region_code}]
    for level in ("ics", "place"):
        if level in allowed_levels(role):
            options += [{"label": f"{data.name_of(c)} ({level.upper() if level == 'ics' else level})", "value": c}
                        for c in data.geometry[level].codes]
    return options


def _levels(role: Any) -> tuple[str, ...]:
    return tuple(lv for lv in allowed_levels(role) if lv != "lsoa")


def _view(data: AppData, query: dict, role: Any) -> dict[str, Any]:
    """The page's state from its URL, checked (AccessDenied for a value the page does not offer)."""
    area = query.get("area") or data.region_code
    if area not in {o["value"] for o in _areas(data, role)}:
        raise AccessDenied(f"Area {area[:20]!r} is not one this page offers your role.", role=str(role))
    level = query.get("level") or ("ics" if area == data.region_code else "place" if data.level_of(area) == "ics"
                                   else "pcn")
    rate = query.get("rate") or "plans_created_per_active"
    org = query.get("org") or ALL
    if level not in _levels(role) or rate not in AREA_RATES or org not in (ALL, *ORGANISATION_TYPES):
        raise AccessDenied("Request refused: a level, measure or organisation type this page does not offer.",
                           role=str(role))
    target = parse_target(query.get("target"))
    return {"area": area, "level": level, "rate": rate, "org": org, "target": target}


def _search(view: dict[str, Any]) -> str:
    return "?" + "&".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in view.items()
                          if v is not None)


def layout(**query: Any) -> html.Div:
    data = current_data()
    try:
        role = current_role()
        view = _view(data, {k: str(v) for k, v in query.items()}, role)
    except AccessDenied as exc:
        return ui.notice(str(exc), "warning")
    if not data.has_engine():
        return html.Div([html.H1("Clinician activity", className="page-title"),
                         ui.notice("Clinician activity needs the records (explorer data synth or import).")])
    rates = [(activity.RATES[r].label, r) for r in AREA_RATES]
    orgs = [{"label": "All organisation types", "value": ALL}] + [
        {"label": ORGANISATION_LABELS[t], "value": t} for t in ORGANISATION_TYPES]
    return html.Div([
        dcc.Location(id=ids.ACT_URL, refresh=False),
        html.H1("Clinician activity", className="page-title"),
        html.P("Where plans are and are not being made: clinician users of the care-plan system by the kind and "
               "place of their organisation, how many log in each month, and the plans created and updated "
               "(reviewed) for the area's residents per clinician who logged in. Monthly, as an XmR chart "
               "(Making Data Count), from the disclosure-controlled counts."),
        html.Div([
            ui.select(ids.ACT_AREA, _areas(data, role), view["area"], "Area"),
            ui.select(ids.ACT_ORG, orgs, view["org"], "Organisation type"),
            ui.radio(ids.ACT_RATE, rates, view["rate"], "Chart"),
            ui.field("Target (empty for none)", dcc.Input(id=ids.ACT_TARGET, type="number", debounce=True,
                                                          value=view["target"]), ids.ACT_TARGET),
            ui.select(ids.ACT_LEVEL, [{"label": f"{lv.upper() if lv in ('ics', 'pcn') else lv.title()}s",
                                       "value": lv} for lv in _levels(role)], view["level"], "List its"),
        ], className="row-controls panel"),
        html.Div(id=ids.ACT_ICONS, className="spc-icons", role="status"),
        html.Div(id=ids.ACT_CHART),
        html.Div(id=ids.ACT_ORGS),
        html.Div(id=ids.ACT_AREAS),
        html.Div([html.Button("Download the area table (CSV)", id=ids.ACT_DOWNLOAD_BUTTON, n_clicks=0),
                  dcc.Download(id=ids.ACT_DOWNLOAD),
                  html.P("Downloads are disclosure-controlled (counts of 1-7 hidden, others rounded to 5) whatever "
                         "your role, and recorded in the audit log.", className="table-note")]),
    ], className="activity-page")


def chart_section(data: AppData, view: dict[str, Any], policy: Any, role: Any) -> tuple[list, html.Section]:
    rate = activity.RATES[view["rate"]]
    org = None if view["org"] == ALL else view["org"]
    chart = activity_chart(data, view["area"], rate.name, org, policy, str(role), target=view["target"])
    badges = [html.P(text, className=cls) for text, cls in (badge("variation", chart.variation),
                                                             badge("assurance", chart.assurance))]
    who = ORGANISATION_LABELS.get(org, "all organisation types") if org else "all organisation types"
    title = f"{rate.label} ({who}), {data.name_of(view['area'])}: XmR chart"
    figure = spc_figure(chart.table, label=rate.label, unit=rate.unit, target=view["target"], height=380)
    table = display_table(chart.table, 2, f"Value ({rate.unit})")
    fired = int((table["Rule fired"] != "").sum())
    summary = describe.describe_series(list(table["Month"])[-6:], list(chart.table["value"])[-6:],
                                       what=f"{rate.label}, last 6 months", unit=rate.unit)
    rules = ui.data_table(ids.ACT_CHART + "-table", [{"name": c, "id": c} for c in table.columns],
                          ui.records(table), page_size=len(table), label=f"{title}: table")
    block = html.Section([
        html.H2(title, className="block-title"),
        html.Div([html.Div([ui.graph(ids.ACT_CHART + "-graph", figure, synthetic=data.synthetic),
                            ui.sr_only(f"{summary} {fired} of {len(table)} months show special-cause variation.")]),
                  html.Details([html.Summary("Rule fired at each month"), rules], className="table-details spc-rules",
                               open=True)], className="spc-grid"),
        html.P(f"{SUPPRESSION_NOTE}. Users are placed by their organisation's site, plans by where the person "
               "lives; the extract does not say who made a plan.", className="table-note"),
    ], className="figure-block panel")
    return badges, block


def orgs_section(data: AppData, view: dict[str, Any], policy: Any, role: Any) -> html.Section:
    level = data.level_of(view["area"])
    frame = org_activity(data, level, view["area"], None, policy, str(role))
    frame = frame[frame["area_code"] == view["area"]]
    month = latest_month(data)
    bars = bar_frame(frame, "organisation", "active_share")
    figure = share_bar_figure(bars, label="Users logging in during the month", unit="% of users")
    columns = {k: ACTIVITY_COLUMNS[k] for k in ("users", "active_users", "active_users_10plus", "logins",
                                                 "active_share", "active_10plus_share", "logins_per_active")}
    shown = display(frame, {"organisation": "Organisation type"}, columns,
                    {"active_share": 1, "active_10plus_share": 1, "logins_per_active": 1})
    heading = f"Users and logins by organisation type, {data.name_of(view['area'])}, {month}"
    table = ui.data_table(ids.ACT_ORGS + "-table", [{"name": c, "id": c} for c in shown.columns], ui.records(shown),
                          page_size=10, label=f"{heading}: table")
    return html.Section([
        html.H2(heading, className="block-title"),
        html.Div([html.Div([ui.graph(ids.ACT_ORGS + "-graph", figure, synthetic=data.synthetic),
                            ui.sr_only(describe.describe_series(list(bars["category"]), list(bars["value"]),
                                                                what="Users logging in", unit="%"))]),
                  html.Div(table, className="gaps-table")], className="gaps-grid"),
        html.P(SUPPRESSION_NOTE, className="table-note"),
    ], className="figure-block panel")


def areas_section(data: AppData, view: dict[str, Any], policy: Any, role: Any) -> html.Section:
    org = None if view["org"] == ALL else view["org"]
    frame = area_activity(data, view["level"], view["area"], None, org, policy, str(role))
    rate = activity.RATES[view["rate"]]
    bars = bar_frame(frame, "area_name", rate.name, 30)
    figure = share_bar_figure(bars, label=rate.label, unit=rate.unit)
    columns = {k: ACTIVITY_COLUMNS[k] for k in ("users", "active_users", "plans_created", "plans_updated",
                                                 *AREA_RATES)}
    shown = display(frame, {"area_code": "Code", "area_name": "Area"}, columns,
                    {"active_share": 1, "active_10plus_share": 1, "plans_created_per_active": 2,
                     "plans_updated_per_active": 2})
    heading = f"{rate.label} by area, {latest_month(data)}"
    table = ui.data_table(ids.ACT_AREAS + "-table", [{"name": c, "id": c} for c in shown.columns], ui.records(shown),
                          page_size=12, label=f"{heading}: table")
    return html.Section([
        html.H2(heading, className="block-title"),
        html.Div([html.Div([ui.graph(ids.ACT_AREAS + "-graph", figure, synthetic=data.synthetic),
                            ui.sr_only(describe.describe_series(list(bars["category"])[:3], list(bars["value"])[:3],
                                                                what=f"{rate.label}, highest", unit=rate.unit))]),
                  html.Div(table, className="gaps-table")], className="gaps-grid"),
        html.P(SUPPRESSION_NOTE, className="table-note"),
    ], className="figure-block panel")


def csv_text(data: AppData, view: dict[str, Any], role: Any) -> str:
    """The area table under the publication policy (analysts' downloads are controlled too)."""
    policy = access.disclosure_policy_for(role, publication=True)
    org = None if view["org"] == ALL else view["org"]
    frame = area_activity(data, view["level"], view["area"], None, org, policy, str(role))
    buffer = io.StringIO()
    buffer.write(f"# Clinician activity: {view['level']} areas in {data.name_of(view['area'])}, "
                 f"{latest_month(data)}, {ORGANISATION_LABELS.get(org, 'all organisation types') if org else 'all organisation types'}; "
                 f"{date.today().isoformat()}\n# {theme.source_note(synthetic=data.synthetic)}\n")
    safe_frame(frame.drop(columns=["parent_code"], errors="ignore")).to_csv(buffer, index=False, float_format="%.6g")
    return buffer.getvalue()


def register(app: Dash, data: AppData) -> None:
    def current_view(search: Any) -> tuple[dict[str, Any], Any, Any]:
        role = current_role()
        view = _view(data, query_from_search(text_value(search, "search")), role)
        _, policy = role_and_policy(data.level_of(view["area"]) if view["area"] != data.region_code else None)
        return view, policy, role

    @app.callback(Output(ids.ACT_URL, "search"), Input(ids.ACT_AREA, "value"), Input(ids.ACT_ORG, "value"),
                  Input(ids.ACT_RATE, "value"), Input(ids.ACT_TARGET, "value"), Input(ids.ACT_LEVEL, "value"),
                  State(ids.ACT_URL, "search"), prevent_initial_call=True)
    def update_url(area: Any, org: Any, rate: Any, target: Any, level: Any, search: Any) -> str:
        target = parse_target(target)
        query = {"area": text_value(area, "area") or "", "org": text_value(org, "org") or ALL,
                 "rate": text_value(rate, "rate") or "", "level": text_value(level, "level") or "",
                 "target": "" if target is None else repr(target)}
        view = _view(data, query, current_role())
        new = _search(view)
        if new == text_value(search, "search"):
            raise PreventUpdate
        return new

    @app.callback(Output(ids.ACT_ICONS, "children"), Output(ids.ACT_CHART, "children"),
                  Output(ids.ACT_ORGS, "children"), Output(ids.ACT_AREAS, "children"),
                  Input(ids.ACT_URL, "search"), State(ids.ACT_URL, "pathname"))
    def send(search: Any, pathname: Any) -> tuple:
        if text_value(pathname, "pathname") != PATH:
            raise PreventUpdate
        view, policy, role = current_view(search)
        try:
            badges, chart = chart_section(data, view, policy, role)
            return badges, chart, orgs_section(data, view, policy, role), areas_section(data, view, policy, role)
        except Exception as exc:
            if isinstance(exc, AccessDenied):
                raise
            return [], ui.notice(f"Not available: {exc}", "warning"), None, None

    @app.callback(Output(ids.ACT_DOWNLOAD, "data"), Input(ids.ACT_DOWNLOAD_BUTTON, "n_clicks"),
                  State(ids.ACT_URL, "search"), prevent_initial_call=True)
    def download(n_clicks: Any, search: Any) -> dict:
        if not n_clicks:
            raise PreventUpdate
        view, _, role = current_view(search)
        content = csv_text(data, view, role)
        audit_export("activity_csv", area=view["area"], level=view["level"], org=view["org"])
        return dcc.send_string(content, f"clinician-activity-{view['level']}-{view['area']}.csv", type="text/csv")
