"""Where the data is weakest (issue 17, point 4): per area, registered (GP lists) against resident
(Census 2021) population, the share of people whose ethnic group is not recorded and the share of
live plans missing a key item, and the same gaps by IMD 2025 quintile; each chart beside its table.
Every number is the role's disclosure-controlled figure (:mod:`explorer.services.gaps`)."""

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
from explorer.app.presenters.gaps import (
    GAP_COLUMNS,
    GAP_MEASURES,
    bar_frame,
    display,
    quintile_labels,
)
from explorer.app.state import query_from_search, text_value
from explorer.domain import access
from explorer.domain.access import AccessDenied
from explorer.domain.disclosure import SUPPRESSION_NOTE
from explorer.domain.gaps import RATIO
from explorer.export.safe_cells import safe_frame
from explorer.figures import describe, theme
from explorer.figures.charts import share_bar_figure
from explorer.services.app_data import AppData
from explorer.services.gaps import area_gaps, quintile_gaps, record_metrics

MODULE = "explorer.app.pages.gaps"
PATH = "/gaps"
NAME = "Data gaps"
ORDER = 10
DESCRIPTION = "Where the data is weakest: GP lists against Census residents, ethnicity not recorded, plans missing key items."
BAR_LIMIT = 20
REGION = "region"


def _plural(level: str) -> str:
    return f"{level.upper()}s" if level in ("ics", "pcn") else "places" if level == "place" else level


def _levels(role: Any) -> tuple[str, ...]:
    return tuple(lv for lv in allowed_levels(role) if lv != "lsoa")


def _areas(data: AppData, role: Any) -> list[dict]:
    """The region and every ICS and place the role may see (the areas whose parts are listed)."""
    options = [{"label": data.region_name, "value": data.region_code}]
    for level in ("ics", "place"):
        if level in allowed_levels(role):
            options += [{"label": f"{data.name_of(c)} ({level.upper() if level == 'ics' else level})", "value": c}
                        for c in data.geometry[level].codes]
    return options


def _view(data: AppData, query: dict, role: Any) -> dict[str, str]:
    """The page's state from its URL, checked: area, level (of the areas listed), measure."""
    levels = _levels(role)
    area = query.get("area") or data.region_code
    if area not in {o["value"] for o in _areas(data, role)}:
        raise AccessDenied(f"Area {area[:20]!r} is not one this page offers your role.", role=str(role))
    level = query.get("level") or ("ics" if area == data.region_code else "pcn" if "pcn" in levels else "place")
    if level not in levels:
        raise AccessDenied(f"Level {level[:10]!r} is not one your role may list here.", role=str(role))
    measures = _measures(data, role)
    measure = query.get("measure") or RATIO
    if measure not in measures:
        raise AccessDenied(f"Measure {measure[:30]!r} is not one your role may see.", role=str(role))
    return {"area": area, "level": level, "measure": measure}


def _measures(data: AppData, role: Any) -> dict[str, tuple[str, str]]:
    allowed = (RATIO, *record_metrics(data, role))
    return {k: v for k, v in GAP_MEASURES.items() if k in allowed}


def layout(**query: Any) -> html.Div:
    data = current_data()
    try:
        role = current_role()
        view = _view(data, {k: str(v) for k, v in query.items()}, role)
    except AccessDenied as exc:
        return ui.notice(str(exc), "warning")
    measures = _measures(data, role)
    return html.Div([
        dcc.Location(id=ids.GAPS_URL, refresh=False),
        html.H1("Where the data is weakest", className="page-title"),
        html.P("Integrated care partnerships are asked to look first where data are weakest. Three gaps per "
               "area: people registered with a GP who live there (NHS Digital, July 2023) against its Census "
               "2021 residents (well above 100 per 100: lists inflated by people who have moved away; below: "
               "residents not registered), people whose ethnic group is not recorded, and live care plans "
               "missing a key item (resuscitation decision, preferred place of care, ceiling of treatment, key "
               "contacts). The same gaps by deprivation are below."),
        html.Div([
            ui.select(ids.GAPS_AREA, _areas(data, role), view["area"], "Area"),
            ui.select(ids.GAPS_LEVEL, [{"label": _plural(lv), "value": lv} for lv in _levels(role)], view["level"],
                      "List its"),
            ui.radio(ids.GAPS_MEASURE, [(label, key) for key, (label, _) in measures.items()], view["measure"],
                     "Chart"),
        ], className="row-controls panel"),
        html.Div(id=ids.GAPS_AREAS),
        html.Div(id=ids.GAPS_QUINTILES),
        html.Div([html.Button("Download the area table (CSV)", id=ids.GAPS_DOWNLOAD_BUTTON, n_clicks=0),
                  dcc.Download(id=ids.GAPS_DOWNLOAD),
                  html.P("Downloads are disclosure-controlled (counts of 1-7 hidden, others rounded to 5) whatever "
                         "your role, and recorded in the audit log.", className="table-note")]),
    ], className="gaps-page")


def _chart_and_table(data: AppData, frame: Any, category: str, measure: str, title: str, table_id: str,
                     first: dict[str, str], synthetic: bool, ranked: bool = True) -> html.Section:
    label, unit = GAP_MEASURES[measure]
    bars = bar_frame(frame, category, measure, BAR_LIMIT, ranked=ranked)
    figure = share_bar_figure(bars, label=label, unit=unit)
    summary = describe.describe_series(list(bars["category"])[:3], list(bars["value"])[:3],
                                       what=f"{label}, highest", unit=unit) if len(bars) else "No value to show."
    shown = display(frame, first, GAP_COLUMNS, {RATIO: 1, "ethnicity_not_stated": 1, "plans_missing_key_items": 1})
    table = ui.data_table(table_id, [{"name": c, "id": c} for c in shown.columns], ui.records(shown), page_size=12,
                          label=title)
    more = f" (the {BAR_LIMIT} highest shown; all in the table)" if len(frame) > BAR_LIMIT else ""
    return html.Section([
        html.H2(title, className="block-title"),
        html.Div([html.Div([ui.graph(table_id + "-graph", figure, synthetic=synthetic and measure != RATIO),
                            ui.sr_only(summary + more)]),
                  html.Div(table, className="gaps-table")], className="gaps-grid"),
        html.P(f"{SUPPRESSION_NOTE}. Rates are computed from the rounded counts. Registered and resident counts are "
               "official statistics; the other columns come from the care-plan records"
               + (" (SYNTHETIC in this demo)." if data.synthetic else "."), className="table-note"),
    ], className="figure-block panel")


def areas_section(data: AppData, view: dict[str, str], policy: Any, role: Any) -> html.Section:
    frame = area_gaps(data, view["level"], view["area"], policy, str(role))
    title = f"{GAP_MEASURES[view['measure']][0]}: {_plural(view['level'])} in {data.name_of(view['area'])}"
    return _chart_and_table(data, frame, "area_name", view["measure"], title, ids.GAPS_AREAS + "-table",
                            {"area_code": "Code", "area_name": "Area"}, data.synthetic)


def quintiles_section(data: AppData, view: dict[str, str], policy: Any, role: Any) -> html.Section:
    code = None if view["area"] == data.region_code else view["area"]
    frame = quintile_gaps(data, code, policy, str(role))
    frame = frame.assign(quintile=quintile_labels(frame["group"]))
    deprivation = ("whole PCNs" if getattr(policy, "deprivation_level", "lsoa") != "lsoa" else "LSOAs")
    title = f"The same gaps by IMD 2025 quintile ({deprivation}), {data.name_of(view['area'])}"
    section = _chart_and_table(data, frame, "quintile", view["measure"], title, ids.GAPS_QUINTILES + "-table",
                               {"quintile": "IMD quintile"}, data.synthetic, ranked=False)
    return section


def csv_text(data: AppData, view: dict[str, str], role: Any) -> str:
    """The area table under the publication policy (analysts' downloads are controlled too)."""
    policy = access.disclosure_policy_for(role, publication=True)
    frame = area_gaps(data, view["level"], view["area"], policy, str(role)).drop(columns=["parent_code"],
                                                                              errors="ignore")
    buffer = io.StringIO()
    buffer.write(f"# Data gaps: {view['level']} areas in {data.name_of(view['area'])}; {date.today().isoformat()}\n"
                 "# GP registrations: NHS Digital, July 2023 (LSOA 2021); residents: Census 2021\n"
                 f"# {theme.source_note(synthetic=data.synthetic)}\n")
    safe_frame(frame).to_csv(buffer, index=False, float_format="%.6g")
    return buffer.getvalue()


def register(app: Dash, data: AppData) -> None:
    def current_view(search: Any) -> tuple[dict[str, str], Any, Any]:
        role = current_role()
        view = _view(data, query_from_search(text_value(search, "search")), role)
        _, policy = role_and_policy(data.level_of(view["area"]) if view["area"] != data.region_code else None)
        return view, policy, role

    @app.callback(Output(ids.GAPS_URL, "search"), Input(ids.GAPS_AREA, "value"), Input(ids.GAPS_LEVEL, "value"),
                  Input(ids.GAPS_MEASURE, "value"), State(ids.GAPS_URL, "search"), prevent_initial_call=True)
    def update_url(area: Any, level: Any, measure: Any, search: Any) -> str:
        role = current_role()
        query = {"area": text_value(area, "area") or data.region_code, "level": text_value(level, "level") or "",
                 "measure": text_value(measure, "measure") or RATIO}
        view = _view(data, query, role)
        new = "?" + "&".join(f"{k}={v}" for k, v in view.items())
        if new == text_value(search, "search"):
            raise PreventUpdate
        return new

    @app.callback(Output(ids.GAPS_AREAS, "children"), Output(ids.GAPS_QUINTILES, "children"),
                  Input(ids.GAPS_URL, "search"), State(ids.GAPS_URL, "pathname"))
    def send(search: Any, pathname: Any) -> tuple:
        if text_value(pathname, "pathname") != PATH:
            raise PreventUpdate
        view, policy, role = current_view(search)
        try:
            return areas_section(data, view, policy, role), quintiles_section(data, view, policy, role)
        except Exception as exc:
            if isinstance(exc, AccessDenied):
                raise
            return ui.notice(f"Not available: {exc}", "warning"), None

    @app.callback(Output(ids.GAPS_DOWNLOAD, "data"), Input(ids.GAPS_DOWNLOAD_BUTTON, "n_clicks"),
                  State(ids.GAPS_URL, "search"), prevent_initial_call=True)
    def download(n_clicks: Any, search: Any) -> dict:
        if not n_clicks:
            raise PreventUpdate
        view, _, role = current_view(search)
        content = csv_text(data, view, role)
        audit_export("gaps_csv", area=view["area"], level=view["level"])
        return dcc.send_string(content, f"data-gaps-{view['level']}-{view['area']}.csv", type="text/csv")
