"""Map page: choropleth by ICS, place, PCN or LSOA with drill-down, classed legend and a table.

Data flow per filter change (see the performance design in docs and benchmarks/bench_app.py):

1. `update_view` (server, tiny): controls / map click / breadcrumb / back-forward -> the view
   store and the URL query (a new history entry).
2. `send_values` (server): parses the view once and calls `presenters.map.values_view`: compact
   arrays for the map (class per area, 3-s.f. values), the legend and the text alternative.
   Cached in AppData's one cache (key: "map", level, metric, filters, risk, policy, view extras).
3. `mapFigure` (browser, assets/explorer.js): figure = cached geometry for the level + those arrays,
   coloured and labelled from the theme store (sent once by the shell).
4. `send_table_columns` (server) on a view change: the grid's columns; the browser then empties the
   grid's cache (`refreshGrid`) and the grid asks `send_table_rows` for one sorted page
   (`presenters.tables.page_rows`): only 15 rows of an LSOA table are sent.
Geometry goes to the browser once per level (explorer.app.geometry: one gzipped, ETag-cached HTTP
resource per level, fetched by assets/explorer.js `geometryRequest`) and stays in a memory store.
"""

from __future__ import annotations

from typing import Any

from dash import ALL, ClientsideFunction, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from explorer.app import components as ui
from explorer.app import exports
from explorer.app import ids
from explorer.app.context import allowed_levels, current_data, role_and_policy
from explorer.app.presenters import map as present
from explorer.app.filters_ui import population_checklists
from explorer.app.pages._map_nav import climb, drill, pick, picker_options
from explorer.app.presenters import tables
from explorer.services.app_data import AppData
from explorer.services.pcn_info import pcn_note
from explorer.app.state import (
    MODES, PALETTES, SCHEMES, MapView, area_view_query, event_location, parse_risk, query_from_search,
    risk_options, risk_text, text_value, text_values,
)
from explorer.app.auth import current_role
from explorer.domain.access import AccessDenied, Role, deprivation_groups_note, disclosure_policy_for, visible_metrics
from explorer.domain.geography import LEVELS
from explorer.domain.metrics import FilterError, Filters
from explorer.vocab import LEVEL_CONTROL_LABELS

MODULE = "explorer.app.pages.map"
PATH = "/"
NAME = "Map"
ORDER = 0
DESCRIPTION = "Care-plan coverage, deprivation and population by ICS, place, PCN and LSOA."

CONTROLS = ("level", "metric", "mode", "scheme", "palette", "age_band", "sex", "ethnic_group", "imd_quintile",
            "frailty", "risk", "only_high_risk")
MULTI_CONTROLS = ("age_band", "sex", "ethnic_group", "imd_quintile", "frailty", "only_high_risk")  # checklists


def role_metrics(data: AppData, role: Any) -> tuple[str, ...]:
    """The metrics on offer to `role`: social care gets none built from clinical plan content."""
    return tuple(visible_metrics(data.metrics, role))


def view_from_query(data: AppData, query: dict, levels: tuple[str, ...], role: Any) -> MapView:
    query = area_view_query(query, levels, data.area_level, data.parent_of)  # an area from another page
    return MapView.from_query(query, levels=levels, metrics=role_metrics(data, role),
                              default_metric=data.default_metric(), area_level=data.area_level)


def control_values(view: MapView) -> dict[str, Any]:
    f = view.filters
    return {
        "level": view.level, "metric": view.metric, "mode": view.mode, "scheme": view.scheme,
        "palette": view.palette, "age_band": list(f.age_band), "sex": list(f.sex),
        "ethnic_group": list(f.ethnic_group), "imd_quintile": [str(q) for q in f.imd_quintile],
        "frailty": list(f.frailty), "risk": risk_text(view.risk),
        "only_high_risk": ["yes"] if f.risk is not None else [],
    }


def checked_controls(values: dict[str, Any]) -> dict[str, Any]:
    """The controls' values if each has the shape its control sends (InvalidInput, i.e. 400, if not):
    checklists send lists of text, radios and selects text. Unknown choices are handled later."""
    return {name: text_values(v, name) if name in MULTI_CONTROLS else text_value(v, name)
            for name, v in values.items()}


def view_from_controls(values: dict[str, Any], current: MapView, levels: tuple[str, ...],
                       data: AppData, metrics: tuple[str, ...]) -> MapView:
    """A new view from the controls; changing the level keeps `area` only if it still contains it."""
    risk = parse_risk(values.get("risk"))
    try:
        filters = Filters(age_band=tuple(values.get("age_band") or ()), sex=tuple(values.get("sex") or ()),
                          ethnic_group=tuple(values.get("ethnic_group") or ()),
                          imd_quintile=tuple(int(q) for q in values.get("imd_quintile") or ()),
                          frailty=tuple(values.get("frailty") or ()),
                          risk=risk if values.get("only_high_risk") else None)
    except (FilterError, ValueError):
        filters = current.filters
    if values.get("level") not in (None, *levels):  # the radio offers only the role's levels: forged
        raise AccessDenied(f"{LEVEL_CONTROL_LABELS.get(values['level'], values['level'])}-level data is not available to "
                           "your role.")
    level = values.get("level") if values.get("level") in levels else current.level
    area = current.area
    if area is not None and LEVELS.index(data.level_of(area)) >= LEVELS.index(level):
        area = None
    if values.get("metric") in data.metrics and values.get("metric") not in metrics:  # not offered to this role
        raise AccessDenied(f"The metric {values['metric']!r} is not available to your role.")
    metric = values.get("metric") if values.get("metric") in metrics else current.metric
    return current.with_(level=level, area=area, metric=metric, filters=filters, risk=risk,
                         mode=values.get("mode") if values.get("mode") in MODES else current.mode,
                         scheme=values.get("scheme") if values.get("scheme") in SCHEMES else current.scheme,
                         palette=values.get("palette") if values.get("palette") in PALETTES else current.palette)


# --------------------------------------------------------------------------- layout


def _groups_note(role: Role | str) -> str:
    note = deprivation_groups_note(disclosure_policy_for(role))
    return f"; {note}" if note else ""


def controls(data: AppData, view: MapView, levels: tuple[str, ...], metrics: tuple[str, ...],
             role: Role | str) -> html.Div:
    v = control_values(view)
    c = ids.map_control
    filterable = ui.fieldset("Filters (care-plan metrics)", [
        *population_checklists(c, v, _groups_note(role)),
        ui.select(c("risk"), risk_options(), v["risk"], "High-risk definition",
                  help_text="Who counts as at high risk of emergency admission in the risk metrics."),
        ui.checklist(c("only_high_risk"), [("Count only high-risk people", "yes")], v["only_high_risk"],
                     "High-risk people"),
    ], class_name="filters")
    # collapsible, so the map is on the first screen of a small window (assets/explorer.js closes it
    # there on load); a native <details>: its summary is a button for the keyboard and screen readers
    filter_panel = html.Details([html.Summary("Filters", className="filters-summary"), filterable],
                                id=ids.MAP_FILTERS_PANEL, open=True, className="filters-panel")
    return html.Div([
        ui.radio(c("level"), [(LEVEL_CONTROL_LABELS[lv], lv) for lv in levels], v["level"], "Areas to map"),
        ui.select(c("metric"), [o for o in data.metric_options() if o["value"] in metrics], v["metric"], "Metric"),
        ui.radio(c("mode"), [("Value", "value"), ("Difference from the parent area", "difference"),
                             ("Compared with the parent area (95% CI)", "compare")], v["mode"], "Show"),
        ui.radio(c("scheme"), [("Quantiles", "quantile"), ("Natural breaks (Jenks)", "jenks")], v["scheme"],
                 "Colour classes (5)"),
        ui.radio(c("palette"), [("Viridis", "viridis"), ("Cividis", "cividis")], v["palette"],
                 "Palette (colour-blind safe)"),
        filter_panel,
    ], className="controls")


def layout(**query: Any) -> html.Div:
    data = current_data()
    try:
        role = current_role()
    except AccessDenied as exc:
        return ui.notice(str(exc), "warning")
    levels = allowed_levels(role)
    view = view_from_query(data, query, levels, role)
    return html.Div([
        dcc.Location(id=ids.MAP_URL, refresh=False),
        dcc.Store(id=ids.MAP_VIEW, data=view.to_store(), storage_type="memory"),
        dcc.Store(id=ids.MAP_VALUES, storage_type="memory"),
        dcc.Store(id=ids.MAP_NAV_KEY, storage_type="memory"),
        html.H1(id=ids.MAP_TITLE, children="Map", className="page-title"),
        html.Nav(id=ids.MAP_BREADCRUMB, className="breadcrumb", **{"aria-label": "Breadcrumb"}),
        html.Div([
            html.Aside(controls(data, view, levels, role_metrics(data, role), role), className="col-controls",
                       **{"aria-label": "Map settings"}),
            html.Div([
                html.Div(id=ids.MAP_NOTICE),
                exports.menu(exports.MAP_INDEX, exports.map_request(data, view.to_store())),
                ui.graph(ids.MAP_GRAPH, height=600),
                html.P(id=ids.MAP_SUMMARY, className="visually-hidden", **{"aria-live": "polite"}),
                html.P("Click an area to drill down (ICS → place → PCN → LSOA); use the breadcrumb to go back up, "
                       "or pick an area from the list beside the map.", className="hint"),
            ], className="col-map"),
            html.Div([
                html.Div(id=ids.MAP_LEGEND),
                html.Section([html.H3("Area under the pointer", className="block-title"),
                              html.Div(id=ids.MAP_HOVER, **{"aria-live": "polite"}, className="hover-panel",
                                       children=present.HOVER_PROMPT)],
                             className="panel"),
                ui.select(ids.MAP_AREA_PICKER, [], "", "Go to an area", placeholder="Choose an area to drill into"),
                html.P(id=ids.MAP_PICKER_HELP, className="form-help", **{"aria-live": "polite"}),
                html.Div(id=ids.MAP_SELECTION, className="panel"),
            ], className="col-side"),
        ], className="map-layout"),
        html.Section([
            html.H2(id=ids.MAP_TABLE_CAPTION, children="Table", className="block-title"),
            ui.data_table(ids.MAP_TABLE, server_side=True, page_size=ui.TABLE_PAGE_SIZE,
                          labelled_by=ids.MAP_TABLE_CAPTION),
            dcc.Store(id=ids.MAP_TABLE_REFRESH, storage_type="memory"),
            html.P("Sort by clicking a column heading (or Tab to it and press Enter). * = suppressed (1-7 people, or hidden so that a small "
                   "number cannot be worked out from totals); counts rounded to the nearest 5.",
                   className="table-note"),
            html.P(id=ids.MAP_TABLE_PCN_NOTE, className="table-note"),
        ], className="figure-block"),
    ], className="map-page")


# --------------------------------------------------------------------------- callbacks


def _crumbs(data: AppData, view: MapView, levels: tuple[str, ...]) -> list:
    chain = data.ancestry(view.area)
    chain = [c for c in chain if c[0] == "region" or c[0] in levels]
    items = []
    for i, (level, code, name) in enumerate(chain):
        last = i == len(chain) - 1
        label = name if level == "region" else f"{name} ({data.level_label(level, short=True)})"
        if last:
            items.append(html.Li(html.Span(label, **{"aria-current": "location"}), className="crumb"))
        else:
            items.append(html.Li(html.Button(label, id=ids.crumb(code if level != "region" else ""),
                                             className="crumb-button", n_clicks=0), className="crumb"))
    return [html.Ol(items, className="crumb-list")]


def _view(data: AppData, stored: Any) -> tuple[MapView, Any]:
    """The view in the store, as this role may see it, and the role's disclosure policy for its level."""
    role = current_role()
    view = MapView.from_store(stored, levels=allowed_levels(role), metrics=role_metrics(data, role),
                              default_metric=data.default_metric(), area_level=data.area_level)
    _, policy = role_and_policy(view.level)
    return view, policy


def register(app: Dash, data: AppData) -> None:
    control_inputs = [Input(ids.map_control(name), "value") for name in CONTROLS]
    control_outputs = [Output(ids.map_control(name), "value") for name in CONTROLS]

    @app.callback(
        Output(ids.MAP_VIEW, "data"),
        Output(ids.MAP_URL, "search"),
        *control_outputs,
        Output(ids.MAP_AREA_PICKER, "value"),
        *control_inputs,
        Input(ids.MAP_GRAPH, "clickData"),
        Input(ids.crumb(ALL), "n_clicks"),
        Input(ids.MAP_AREA_PICKER, "value"),
        Input(ids.MAP_URL, "search"),
        State(ids.MAP_VIEW, "data"),
        State(ids.MAP_URL, "pathname"),
        prevent_initial_call=True,
    )
    def update_view(*args: Any) -> tuple:
        """The hub: every way of changing the view ends here, and the URL follows the view."""
        n = len(CONTROLS)
        values = dict(zip(CONTROLS, args[:n]))
        click, _crumb_clicks, picked, search, stored, pathname = args[n:]
        checked = checked_controls(values)
        picked, search, pathname = (text_value(picked, "area picker"), text_value(search, "search"),
                                    text_value(pathname, "pathname"))
        role, _ = role_and_policy()
        levels = allowed_levels(role)
        current = MapView.from_store(stored, levels=levels, metrics=role_metrics(data, role),
                                     default_metric=data.default_metric(), area_level=data.area_level)
        trigger = ctx.triggered_id
        if trigger == ids.MAP_URL:  # back/forward: the URL leads, the controls follow
            if pathname not in (None, "/"):
                raise PreventUpdate
            new = view_from_query(data, query_from_search(search), levels, role)
            if new == current:
                raise PreventUpdate
            cv = control_values(new)
            return (new.to_store(), no_update, *[cv[k] for k in CONTROLS], "")
        if trigger == ids.MAP_GRAPH:
            location = event_location(click, "clickData")
            if location is None:
                raise PreventUpdate
            new = drill(current, location, levels, data)
        elif isinstance(trigger, dict) and trigger.get("type") == ids.CRUMB_TYPE:
            if not ctx.triggered or not ctx.triggered[0].get("value"):
                raise PreventUpdate  # a breadcrumb was (re)drawn, not clicked
            new = climb(current, trigger["code"], levels, data)
        elif trigger == ids.MAP_AREA_PICKER:
            if not picked:
                raise PreventUpdate
            new = pick(current, str(picked), levels, data)
        else:
            new = view_from_controls(checked, current, levels, data, role_metrics(data, role))
        if new == current:
            raise PreventUpdate
        cv = control_values(new)
        # controls that the view changed (a drill changes the level) are set; others left alone
        outputs = [cv[k] if trigger != ids.map_control(k) and cv[k] != values[k] else no_update for k in CONTROLS]
        return (new.to_store(), new.to_search(), *outputs, "" if trigger == ids.MAP_AREA_PICKER else no_update)

    app.clientside_callback(  # fetches /_geometry/<level>.json (explorer.app.geometry) once per level
        ClientsideFunction("explorer", "geometryRequest"),
        Output(ids.geometry_store(ALL), "data"),
        Input(ids.MAP_VIEW, "data"),
        State(ids.geometry_store(ALL), "data"),
        State(ids.geometry_store(ALL), "id"),
    )

    @app.callback(
        Output(ids.MAP_VALUES, "data"),
        Output(ids.MAP_LEGEND, "children"),
        Output(ids.MAP_SUMMARY, "children"),
        Output(ids.MAP_TITLE, "children"),
        Output(ids.MAP_NOTICE, "children"),
        Input(ids.MAP_VIEW, "data"),
    )
    def send_values(stored: dict) -> tuple:
        """Compact arrays for the browser's map, the legend and the text alternative."""
        view, policy = _view(data, stored)
        return present.values_view(data, view, policy)

    @app.callback(
        Output(ids.MAP_BREADCRUMB, "children"),
        Output(ids.MAP_AREA_PICKER, "options"),
        Output(ids.MAP_AREA_PICKER, "disabled"),
        Output(ids.MAP_PICKER_HELP, "children"),
        Output(ids.MAP_NAV_KEY, "data"),
        Input(ids.MAP_VIEW, "data"),
        State(ids.MAP_NAV_KEY, "data"),
    )
    def send_navigation(stored: dict, shown_for: str | None) -> tuple:
        """Breadcrumb and area list: sent only when the level or area changes, not per filter."""
        role = current_role()
        levels = allowed_levels(role)
        view = MapView.from_store(stored, levels=levels, metrics=role_metrics(data, role),
                                  default_metric=data.default_metric(), area_level=data.area_level)
        role_and_policy(view.level)
        key = f"{view.level}|{view.area or ''}"
        if key == shown_for:
            raise PreventUpdate
        options, disabled, help_text = picker_options(data, view, levels)
        return _crumbs(data, view, levels), options, disabled, help_text, key

    app.clientside_callback(
        ClientsideFunction("explorer", "mapFigure"),
        Output(ids.MAP_GRAPH, "figure"),
        Input(ids.MAP_VALUES, "data"),
        Input(ids.geometry_store(ALL), "data"),
        State(ids.geometry_store(ALL), "id"),
        State(ids.MAP_THEME, "data"),
    )

    @app.callback(
        Output(ids.MAP_HOVER, "children"),
        Input(ids.MAP_GRAPH, "hoverData"),
        Input(ids.MAP_VIEW, "data"),
        prevent_initial_call=True,
    )
    def send_hover(hover: dict | None, stored: dict) -> Any:
        """CI, numerator and denominator of the hovered area (the figure only carries the value).

        The panel shows (area under the pointer, view), so it follows both: plotly re-hovers after a
        redraw but emits no new hoverData when the point under a resting pointer stays the same, so a
        filter or metric change must redraw the panel itself (issue 14, point 5)."""
        location = event_location(hover, "hoverData")
        if location is None:
            raise PreventUpdate
        view, policy = _view(data, stored)
        if ctx.triggered_id == ids.MAP_VIEW and data.area_level.get(location) != view.level:
            return present.HOVER_PROMPT  # drilled to another level: the old area is not on the map
        return present.hover_panel(data, view, location, policy)

    @app.callback(
        Output(ids.MAP_SELECTION, "children"),
        Input(ids.MAP_VIEW, "data"),
    )
    def send_selection(stored: dict) -> list:
        view, policy = _view(data, stored)
        return present.selection_panel(data, view, policy)

    @app.callback(
        Output(ids.MAP_TABLE, "columnDefs"),
        Output(ids.MAP_TABLE_REFRESH, "data"),
        Output(ids.MAP_TABLE_PCN_NOTE, "children"),
        Input(ids.MAP_VIEW, "data"),
    )
    def send_table_columns(stored: dict) -> tuple:
        """The grid's columns for the view (and the PCN note at PCN level); the store write makes the
        browser refetch page 1."""
        view, _ = _view(data, stored)
        return tables.table_columns(data, view), stored, pcn_note(data.bundle, view.level)

    app.clientside_callback(
        ClientsideFunction("explorer", "refreshGrid"),
        Output(ids.MAP_TABLE_REFRESH, "modified_timestamp"),  # nothing written: the call is the point
        Input(ids.MAP_TABLE_REFRESH, "data"),
        State(ids.MAP_TABLE, "id"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output(ids.MAP_TABLE, "getRowsResponse"),
        Output(ids.MAP_TABLE_CAPTION, "children"),
        Input(ids.MAP_TABLE, "getRowsRequest"),
        State(ids.MAP_VIEW, "data"),
        prevent_initial_call=True,
    )
    def send_table_rows(request: dict | None, stored: dict) -> tuple:
        """One sorted page of the map's table (LSOA level: 5,000 rows stay on the server)."""
        view, policy = _view(data, stored)
        return tables.page_rows(data, view, policy, request, ui.TABLE_PAGE_SIZE)


__all__ = ["DESCRIPTION", "MODULE", "NAME", "ORDER", "PATH", "layout", "register"]
