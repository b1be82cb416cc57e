"""Spine chart: every metric of one area against the region, its parent or a comparator group,
with the range of the areas at its level, as OHID Fingertips draws it, and the table beside it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from dash import Dash, dcc, html

from explorer.app import components as ui
from explorer.app import exports, ids
from explorer.app.auth import current_role
from explorer.app.context import allowed_levels, current_data
from explorer.app.pages import _areas
from explorer.app.presenters.benchmark import caption, spine_table, unit_words
from explorer.app.presenters.format import short_unit
from explorer.app.state_views import AreasView
from explorer.domain.access import AccessDenied, Role
from explorer.figures import describe
from explorer.figures.spine import spine_figure
from explorer.services import neighbours
from explorer.services.app_data import AppData
from explorer.services.area_views import spine_frame
from explorer.vocab import LEVEL_CONTROL_LABELS

MODULE = "explorer.app.pages.spine"
PATH = "/spine"
NAME = "Spine chart"
ORDER = 5
DESCRIPTION = "Every metric of one area against London, its parent or a comparator group, Fingertips style."
AREA_LEVELS = ("ics", "place", "pcn")  # in the area list; an LSOA is reached by its link (5,000 options)


def _view(data: AppData, query: dict, role: Role) -> AreasView:
    view = _areas.read_view(data, query, role, area_any_level=True)
    if view.area is None:  # a spine needs an area: the first PCN (or the lowest level the role sees)
        levels = [lv for lv in allowed_levels(role) if lv in AREA_LEVELS]
        view = view.with_(area=data.geometry[levels[-1]].codes[0])
    if view.comparator == "parent" and data.comparator_code(data.parent_of.get(view.area)) is None:
        view = view.with_(comparator="region")
    return view.with_(level=data.level_of(view.area))


def _area_options(data: AppData, role: Role, current: str) -> list[dict]:
    options = [{"label": f"{data.name_of(c)} ({LEVEL_CONTROL_LABELS[lv]}, {c})", "value": c}
               for lv in allowed_levels(role) if lv in AREA_LEVELS for c in data.geometry[lv].codes]
    if current not in {o["value"] for o in options}:
        options.insert(0, {"label": f"{data.name_of(current)} ({current})", "value": current})
    return options


def layout(**query: Any) -> html.Div:
    data = current_data()
    try:
        role = current_role()
    except AccessDenied as exc:
        return ui.notice(str(exc), "warning")
    view = _view(data, query, role)
    parent = data.comparator_code(data.parent_of.get(view.area))
    choices = [(data.region_name, "region")]
    if parent:
        choices.append((data.name_of(parent), "parent"))
    if view.group:
        choices.append((f"Comparator group ({len(view.group)} areas)", "group"))
    return html.Div([
        dcc.Location(id=ids.SPINE_URL, refresh="callback-nav"),
        html.H1(f"Spine chart: {data.name_of(view.area)}", className="page-title"),
        html.Div([
            ui.select(ids.SPINE_AREA, _area_options(data, role, view.area), view.area, "Area"),
            ui.radio(ids.SPINE_COMPARATOR, choices, view.comparator, "Significance compared with"),
            neighbours_link(data, view),
        ], className="row-controls panel"),
        spine_section(data, view, role),
    ], className="spine-page")


def neighbours_link(data: AppData, view: AreasView) -> html.P | None:
    """A link that makes the area's nearest neighbours (those with data here) the comparator group."""
    group = neighbours.comparator_group(data.bundle, view.level, view.area)
    if not group or set(group) == set(view.group):
        return None
    href = "/spine?" + urlencode(view.with_(comparator="group", group=group).to_query())
    return html.P([dcc.Link(f"Compare with its {len(group)} nearest neighbours in {data.region_name}", href=href),
                   " (", dcc.Link("how they are chosen", href="/neighbours?" + urlencode({"area": view.area})), ")"],
                  className="neighbours-link")


def spine_section(data: AppData, view: AreasView, role: Role) -> html.Section:
    _, _, scope = _areas.scope(view, view.level)
    metrics = _areas.visible(data, role, care_only=False)
    frame = spine_frame(data, view.area, metrics, scope, comparator=view.comparator, group=view.group)
    if frame.empty:
        return html.Section(ui.notice("No metric can be shown for this area.", "info"), className="figure-block")
    parent = data.comparator_code(data.parent_of.get(view.area))
    parent_name = data.name_of(parent) if parent else None
    group_name = f"Comparator group ({len(view.group)} areas)" if view.group else None
    comparator_name = {"region": data.region_name, "parent": parent_name or data.region_name,
                       "group": group_name or data.region_name}[view.comparator]
    frame["short_unit"] = [short_unit(data.metric(m)) for m in frame["metric"]]
    area_name = data.name_of(view.area)
    figure = spine_figure(frame, area_name=area_name, comparator_name=comparator_name, parent_name=parent_name,
                          group_name=group_name)
    synthetic = any(data.shows_synthetic(m) for m in frame["metric"])
    level_label = data.level_label(view.level)
    text = caption(data, what=f"{len(frame)} metrics for {area_name}",
                   where=f"{level_label}; range: the {frame['areas'].max():,} {level_label} areas of "
                         f"{data.region_name}", filters=view.effective_filters, role=role,
                   comparator=comparator_name, units=unit_words([data.metric(m) for m in frame["metric"]]))
    table = spine_table(data, frame, comparator_name=comparator_name, parent_name=parent_name, group_name=group_name)
    legend = html.P(["Circle: the area, ", html.Strong("blue"), " better / ", html.Strong("orange"),
                     " worse / grey similar to ", comparator_name,
                     (" (95% CI); dark blue: not compared (no better direction, no confidence interval, or a count). "
                      "Bars: the range of areas, darker between the 25th and 75th percentiles; best to the right. "
                      "Counts are centred on their middle quartile.")],
                    className="muted")
    group_note = (html.P(f"Comparator group: {', '.join(data.name_of(c) for c in view.group)}. Its value is "
                         "recomputed from the members' released counts; not shown where a member's count is "
                         "suppressed or the statistic needs more than two counts.", className="table-note")
                  if view.group else None)
    return html.Section([
        _areas.caption_block(data, text, synthetic=synthetic), legend,
        html.Div([
            html.Div([exports.menu("spine", exports.request_data(
                "spine", view.level, area=view.area, filters=view.effective_filters, risk=view.risk)),
                ui.graph(ids.SPINE_GRAPH, figure, synthetic=synthetic)], className="spine-figure"),
            html.Div([html.H2("Table", className="block-title"),
                      ui.data_table(ids.SPINE_TABLE, [{"name": c, "id": c} for c in table.columns],
                                    ui.records(table), page_size=25)], className="spine-table"),
        ], className="side-by-side"),
        ui.sr_only(describe.describe_spine(frame, area_name=area_name, comparator_name=comparator_name)),
        group_note,
    ], className="figure-block")


def register(app: Dash, data: AppData) -> None:
    _areas.register_url_control(app, url_id=ids.SPINE_URL, data=data, parse=_view,
                                controls={"area": ids.SPINE_AREA, "comparator": ids.SPINE_COMPARATOR})
