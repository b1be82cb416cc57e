"""Overview ("tartan rug"): the areas of a level within a parent by every care-plan metric, each
cell coloured by the area's significance against the parent, sortable by any column; every cell
is a link to that area's profile (one click, or Tab and Enter)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from dash import Dash, dcc, html

from explorer.app import components as ui
from explorer.app import ids
from explorer.app.auth import current_role
from explorer.app.context import allowed_levels, current_data
from explorer.app.pages import _areas
from explorer.app.presenters.benchmark import (
    SIG_TEXT,
    caption,
    numeric_columns,
    rug_table,
    unit_words,
)
from explorer.app.presenters.format import metric_title, short_unit, value_text
from explorer.app.state_views import NAME_SORT, AreasView
from explorer.domain.access import AccessDenied, Role
from explorer.figures import theme
from explorer.services.app_data import AppData
from explorer.services.area_views import area_frame

MODULE = "explorer.app.pages.overview"
PATH = "/overview"
NAME = "Overview"
ORDER = 6
DESCRIPTION = "Areas by every care-plan metric, coloured by significance against the parent (tartan rug)."
#: Text colour on each significance fill (4.5:1 or better).
TEXT_ON = {"better": "#ffffff"}


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
    return html.Div([
        dcc.Location(id=ids.RUG_URL, refresh="callback-nav"),
        html.H1(f"Overview: {data.level_label(view.level)} areas in {data.name_of(view.area)}", className="page-title"),
        html.Div([
            ui.radio(ids.RUG_LEVEL, _areas.level_options(allowed_levels(role)), view.level, "Areas"),
            ui.select(ids.RUG_AREA, _areas.parent_options(data, role, view.level), view.area or data.region_code,
                      "Within (compared with)"),
        ], className="row-controls panel"),
        rug_section(data, view, role),
    ], className="overview-page")


def _sorted_codes(frames: dict[str, pd.DataFrame], view: AreasView) -> list[str]:
    first = next(iter(frames.values()))
    if view.sort == NAME_SORT or view.sort not in frames:
        ordered = first.sort_values("area_name", ascending=view.ascending, kind="stable")
    else:
        f = frames[view.sort]
        ordered = f.assign(_v=f["value"].where(~f["suppressed"])).sort_values(
            ["_v", "area_name"], ascending=[view.ascending, True], na_position="last", kind="stable")
    return ordered["area_code"].tolist()


def _header(view: AreasView, key: str, label: str) -> html.Th:
    """A column header that sorts by its column (a link: keyboard and screen readers as usual)."""
    active = view.sort == key
    ascending = not view.ascending if active else key == NAME_SORT
    arrow = (" ▲" if view.ascending else " ▼") if active else ""
    link = dcc.Link([label, html.Span(arrow, **{"aria-hidden": "true"})], href=view.href(PATH, sort=key,
                    ascending=ascending), className="rug-sort",
                    title=f"Sort by {label}, {'ascending' if ascending else 'descending'}")
    sort = ("ascending" if view.ascending else "descending") if active else "none"
    return html.Th(link, scope="col", **{"aria-sort": sort})


def _cell(data: AppData, view: AreasView, metric: str, row: dict, code: str, name: str) -> html.Td:
    info = data.metric(metric)
    sig = str(row["significance"])
    text = value_text(float(row["value"]), bool(row["suppressed"]), "", exact=info.kind == "count")
    label = f"{name}, {info.label}: {text} {short_unit(info)}, {SIG_TEXT.get(sig, sig).lower()}. Open the profile."
    style = {"backgroundColor": theme.SIGNIFICANCE_COLOURS.get(sig, "#ffffff"), "color": TEXT_ON.get(sig, theme.TEXT)}
    return html.Td(html.A(text, href=_areas.profile_href(view, code), className="rug-cell",
                            style=style, title=label, **{"aria-label": label}), className=f"rug-td sig-{sig.split()[0]}")


def rug_section(data: AppData, view: AreasView, role: Role) -> html.Section:
    _, _, scope = _areas.scope(view, view.level)
    metrics = _areas.visible(data, role, care_only=True)
    if not metrics:
        return html.Section(ui.notice("Care-plan records are not loaded.", "warning"))
    frames = {m: area_frame(data, view.level, view.area, m, scope) for m in metrics}
    codes = _sorted_codes(frames, view)
    extra = _areas.too_many(len(codes)) if len(codes) > _areas.ROW_LIMIT else None
    codes = codes[:_areas.ROW_LIMIT]
    names = dict(zip(next(iter(frames.values()))["area_code"], next(iter(frames.values()))["area_name"]))
    indexed = {m: f.set_index("area_code").to_dict("index") for m, f in frames.items()}  # plain dicts: quick
    comparator = data.name_of(view.area)
    head = html.Tr([_header(view, NAME_SORT, "Area"),
                    *[_header(view, m, data.metric(m).label) for m in metrics]])
    parent_row = html.Tr([html.Th(f"{comparator} (comparator)", scope="row", className="rug-comparator"),
                          *[html.Td(value_text(frames[m].attrs["comparator"], False, "",
                                               exact=data.metric(m).kind == "count"), className="rug-comparator")
                            for m in metrics]])
    body = [html.Tr([html.Th(dcc.Link(names[c], href=_areas.profile_href(view, c)), scope="row"),
                     *[_cell(data, view, m, indexed[m][c], c, names[c]) for m in metrics]]) for c in codes]
    grid = html.Table([html.Caption(f"{data.level_label(view.level)} areas (rows) by metric (columns); each cell "
                                    f"links to the area's profile"),
                       html.Thead(head), html.Tbody([parent_row, *body])], className="rug", id=ids.RUG_GRID)
    equivalent = rug_table(data, frames, codes, comparator)
    decimals = {metric_title(data.metric(m)): data.metric(m).decimals for m in metrics}
    text = caption(data, what=f"{len(codes):,} {data.level_label(view.level)} areas by {len(metrics)} metrics",
                   where=f"within {comparator}", filters=view.effective_filters, role=role, comparator=comparator,
                   units=unit_words([data.metric(m) for m in metrics]))
    legend = html.Ul([html.Li([html.Span(className="swatch", style={"backgroundColor": theme.SIGNIFICANCE_COLOURS[k]},
                                         **{"aria-hidden": "true"}), SIG_TEXT[k]], className="legend-item")
                      for k in ("better", "similar", "worse", "higher", "lower", "not compared")],
                     className="legend-list rug-legend", **{"aria-label": "Cell colours"})
    synthetic = any(data.shows_synthetic(m) for m in metrics)
    return html.Section([
        _areas.caption_block(data, text, synthetic=synthetic), legend, extra,
        html.Div(grid, className="rug-scroll"),
        html.Details([html.Summary("Table (the same numbers, with significance in words)"),
                      ui.data_table(ids.RUG_TABLE, numeric_columns(equivalent, decimals),
                                    ui.records(equivalent), page_size=25)], className="table-details", open=True),
        html.P("Colour: the area's 95% confidence interval against the comparator's value (the funnel's and the "
               "map's test); counts and metrics without a confidence interval are not compared.", className="table-note"),
    ], className="figure-block")


def register(app: Dash, data: AppData) -> None:
    _areas.register_url_control(app, url_id=ids.RUG_URL, data=data, parse=_view,
                                controls={"level": ids.RUG_LEVEL, "area": ids.RUG_AREA})
