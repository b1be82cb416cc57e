"""Compare areas: the areas of a level within a parent (or a comparator group) as horizontal bars
with 95% confidence intervals, coloured by significance against the parent, sorted, with the
table beside it."""

from __future__ import annotations

from typing import Any

from dash import Dash, dcc, html

from explorer.app import components as ui
from explorer.app import exports, ids
from explorer.app.auth import current_role
from explorer.app.context import allowed_levels, current_data
from explorer.app.pages import _areas
from explorer.app.presenters.benchmark import caption, compare_table, numeric_columns
from explorer.app.presenters.format import metric_title, short_unit
from explorer.app.state_views import AreasView
from explorer.domain.access import AccessDenied, Role
from explorer.figures import charts, describe
from explorer.services.app_data import AppData
from explorer.services.area_views import area_frame

MODULE = "explorer.app.pages.compare"
PATH = "/compare"
NAME = "Compare areas"
ORDER = 7
DESCRIPTION = "Areas of a level as bars with 95% confidence intervals, coloured by significance against the parent."


def _view(data: AppData, query: dict, role: Role) -> AreasView:
    levels = allowed_levels(role)
    return _areas.read_view(data, query, role, default_level="place" if "place" in levels else levels[0])


def layout(**query: Any) -> html.Div:
    data = current_data()
    try:
        role = current_role()
    except AccessDenied as exc:
        return ui.notice(str(exc), "warning")
    view = _view(data, query, role)
    metrics = _areas.visible(data, role, care_only=True)
    options = [o for o in data.metric_options() if o["value"] in metrics]
    return html.Div([
        dcc.Location(id=ids.CMP_URL, refresh="callback-nav"),
        html.H1(f"Compare areas: {data.metric(view.metric).label}", className="page-title"),
        html.Div([
            ui.select(ids.CMP_METRIC, options, view.metric, "Metric"),
            ui.radio(ids.CMP_LEVEL, _areas.level_options(allowed_levels(role)), view.level, "Areas"),
            ui.select(ids.CMP_AREA, _areas.parent_options(data, role, view.level), view.area or data.region_code,
                      "Within (compared with)"),
        ], className="row-controls panel"),
        compare_section(data, view, role) if metrics else ui.notice("Care-plan records are not loaded.", "warning"),
        group_funnel_section(data, view) if metrics and view.group else None,
    ], className="compare-page")


def group_funnel_section(data: AppData, view: AreasView) -> html.Section:
    """The comparator group (e.g. nearest neighbours) as a funnel plot around the region's value, with
    OHID's limits; each group member controlled as part of its whole level."""
    level = data.level_of(view.group[0])
    role, policy, scope = _areas.scope(view, level)
    info = data.metric(view.metric)
    title = f"Funnel plot: {info.label}, the comparator group of {len(view.group)} areas against {data.region_name}"
    try:
        points, limits, comparator = data.funnel(level, view.metric, scope.filters, scope.risk, policy,
                                                 codes=view.group)
    except Exception as exc:  # noqa: BLE001 - a metric with no funnel (a DSR, a mean) says so
        return html.Section([html.H2(title, className="block-title"), ui.notice(f"Not available: {exc}", "info")],
                            className="figure-block")
    unit = short_unit(info)
    figure = charts.funnel_figure(points, limits, label=info.label, unit=unit, comparator=comparator,
                                  comparator_name=data.region_name, denominator_label=info.denominator.capitalize())
    table = points[["area_name", "area_code", "value", "numerator", "denominator", "position"]]
    columns = [{"name": "Area", "id": "area_name"}, {"name": "Code", "id": "area_code"},
               {"name": metric_title(info), "id": "value"}, {"name": "Numerator", "id": "numerator"},
               {"name": f"Denominator ({info.denominator})", "id": "denominator"},
               {"name": f"Position against {data.region_name}", "id": "position"}]
    text = caption(data, what=f"{metric_title(info)}: funnel of {len(points)} areas",
                   where=f"a comparator group of {len(view.group)} {data.level_label(level)} areas",
                   filters=view.effective_filters, role=role, comparator=data.region_name,
                   units=info.unit)
    hidden = points.attrs.get("hidden", 0)
    return ui.figure_block(
        ui.graph(ids.CMP_FUNNEL, figure, synthetic=data.shows_synthetic(view.metric)),
        ui.sr_only(describe.describe_funnel(points, label=info.label, comparator_name=data.region_name)),
        ui.data_table(ids.CMP_FUNNEL_TABLE, columns, ui.records(table)),
        title=title, note=f"{text} {hidden} area(s) not plotted: suppressed or no denominator. Limits: 95% and "
                          f"99.8% around {data.region_name}'s value (OHID method).")


def compare_section(data: AppData, view: AreasView, role: Role) -> html.Section:
    group = view.group
    level = data.level_of(group[0]) if group else view.level
    _, _, scope = _areas.scope(view, level)
    info = data.metric(view.metric)
    frame = area_frame(data, level, view.area, view.metric, scope, codes=group or None)
    comparator, comparator_name = frame.attrs["comparator"], frame.attrs["comparator_name"]
    frame = frame.assign(_v=frame["value"].where(~frame["suppressed"])).sort_values(
        ["_v", "area_name"], ascending=[False, True], na_position="last", kind="stable")
    extra = _areas.too_many(len(frame)) if len(frame) > _areas.ROW_LIMIT else None
    frame = frame.head(_areas.ROW_LIMIT)
    unit = short_unit(info)
    bars = frame.assign(group=frame["area_name"], value=frame["_v"])  # the chart lists from the top
    figure = charts.group_figure(bars, label=info.label, unit=unit, comparator=comparator,
                                 comparator_name=comparator_name)
    synthetic = data.shows_synthetic(view.metric)
    where = (f"a comparator group of {len(group)} {data.level_label(level)} areas" if group
             else f"{data.level_label(level)} areas within {data.name_of(view.area)}")
    text = caption(data, what=f"{metric_title(info)} for {len(frame):,} areas", where=where,
                   filters=view.effective_filters, role=role, comparator=comparator_name, units=info.unit)
    table = compare_table(data, frame, info, comparator_name)
    decimals = {c: (0 if i >= 5 else info.decimals) for i, c in enumerate(table.columns[2:7], start=2)}
    summary = describe.describe_groups(bars.assign(group=bars["area_name"]), label=info.label, unit=unit,
                                       by_label="area", comparator=comparator, comparator_name=comparator_name)
    return html.Section([
        _areas.caption_block(data, text, synthetic=synthetic),
        html.P(["Bars: ", html.Strong("blue"), " = significantly better than ", comparator_name, ", ",
                html.Strong("orange"), (" = significantly worse, grey = similar (95% confidence intervals, the "
                                        "funnel's test); white = not compared. Sorted highest first; suppressed "
                                        "areas last.")], className="muted"),
        extra,
        html.Div([
            html.Div([None if group else exports.menu("compare", exports.request_data(
                "compare", level, area=view.area, metric=view.metric, filters=view.effective_filters,
                risk=view.risk)),  # a group's bars are not an export request (yet)
                ui.graph(ids.CMP_GRAPH, figure, synthetic=synthetic)], className="compare-figure"),
            html.Div([html.H2("Table", className="block-title"),
                      ui.data_table(ids.CMP_TABLE, numeric_columns(table, decimals), ui.records(table),
                                    page_size=25, label=f"Table: {metric_title(info)}, {where}")],
                     className="compare-table"),
        ], className="side-by-side"),
        ui.sr_only(summary),
    ], className="figure-block")


def register(app: Dash, data: AppData) -> None:
    _areas.register_url_control(app, url_id=ids.CMP_URL, data=data, parse=_view,
                                controls={"metric": ids.CMP_METRIC, "level": ids.CMP_LEVEL, "area": ids.CMP_AREA})
