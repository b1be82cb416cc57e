"""Inequalities: a care-plan metric by ethnic group, age band, sex, disability and IMD quintile,
and a funnel plot of areas against the region with 95% and 99.8% control limits."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dash import Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from explorer.app import components as ui
from explorer.app import exports
from explorer.app import ids
from explorer.app.auth import current_role
from explorer.app.context import allowed_levels, current_data, role_and_policy
from explorer.app.presenters.format import metric_title, short_unit
from explorer.services.app_analyses import GROUP_TITLES
from explorer.services.app_data import NO_BREAKDOWN_METRICS, AppData
from explorer.app.filters_ui import area_options
from explorer.app.presenters.format import subject
from explorer.app.state import (
    MapView, area_view_query, check_store, query_from_search, require_canonical, text_value,
)
from explorer.domain import access, stats
from explorer.domain.access import AccessDenied
from explorer.figures import charts, describe
from explorer.vocab import LEVEL_CONTROL_LABELS

MODULE = "explorer.app.pages.inequalities"
PATH = "/inequalities"
NAME = "Inequalities"
ORDER = 2
DESCRIPTION = "Care-plan coverage by population group and a funnel plot of areas against London."
BY = ("ethnic_group", "age_band", "sex", "disabled", "imd_quintile")


def care_metrics(data: AppData, role: Any = None) -> list[str]:
    """Care-plan metrics on offer to `role` (None: all, for tools and tests outside a request)."""
    names = [n for n, m in data.metrics.items() if m.source != "geography" and n not in NO_BREAKDOWN_METRICS]
    return names if role is None else access.visible_metrics(names, role)


def _view(data: AppData, query: dict, levels: tuple[str, ...], role: Any = None) -> MapView:
    metrics = care_metrics(data, role)
    default = "coverage" if "coverage" in metrics else (metrics[0] if metrics else data.default_metric())
    query = area_view_query(query, levels, data.area_level, data.parent_of)  # an area from another page
    query.setdefault("level", "pcn" if "pcn" in levels else levels[-1])
    return MapView.from_query(query, levels=levels, metrics=tuple(metrics), default_metric=default,
                              area_level=data.area_level)


def _stored_view(data: AppData, stored: dict | None, levels: tuple[str, ...], role: Any) -> MapView:
    """The view in a callback's store; AccessDenied (403) if it was not written by the app for this role."""
    view = _view(data, dict(check_store(stored) or {}), levels, role)
    require_canonical(stored, view)
    return view


def layout(**query: Any) -> html.Div:
    data = current_data()
    try:
        role = current_role()
    except AccessDenied as exc:
        return ui.notice(str(exc), "warning")
    levels = allowed_levels(role)
    metrics = care_metrics(data, role)
    if not metrics:
        return html.Div([html.H1("Inequalities", className="page-title"),
                         ui.notice("Care-plan records are not loaded, so there is nothing to compare yet: "
                                   f"{data.engine_problem or 'run explorer data synth'}.", "warning")])
    view = _view(data, query, levels, role)
    options = [o for o in data.metric_options() if o["value"] in metrics]
    return html.Div([
        dcc.Location(id=ids.INEQ_URL, refresh=False),
        dcc.Store(id=ids.INEQ_VIEW, data=view.to_store(), storage_type="memory"),
        html.H1("Inequalities in care-plan coverage", className="page-title", id=ids.INEQ_AREA + "-title"),
        html.Div([
            ui.select(ids.INEQ_AREA, area_options(data, [lv for lv in ("ics", "place", "pcn") if lv in levels[:-1]]),
                      view.area or "", "Area: groups within it, and its areas in the funnel plot"),
            ui.select(ids.INEQ_METRIC, options, view.metric, "Metric"),
            ui.radio(ids.INEQ_LEVEL, [(LEVEL_CONTROL_LABELS[lv], lv) for lv in levels], view.level, "Areas in the funnel plot"),
        ], className="row-controls panel"),
        html.Div(id=ids.INEQ_NOTE),
        html.Section([html.H2(f"By population group ({data.name_of(view.area)})", className="block-title",
                              id=ids.INEQ_GROUPS + "-title"),
                      html.P(["Bars: ", html.Strong("blue"), f" = significantly better than {data.name_of(view.area)}, ",
                              html.Strong("orange"), " = significantly worse, ", html.Strong("grey"),
                              " = similar (95% confidence intervals); light blue / pink = higher / lower for "
                              f"metrics with no better direction. Dashed line: {data.name_of(view.area)}; the "
                              f"table also compares each group with {data.region_name}."], className="muted"),
                      html.Div(id=ids.INEQ_GROUPS, className="grid-2")], className="panel"),
        html.Div(id=ids.INEQ_FUNNEL),
    ], className="inequalities-page")


def groups_section(data: AppData, view: MapView, policy: Any, role: Any = None) -> list:
    """Each grouping of the metric within the area, against the area's value and the region's."""
    info = data.metric(view.metric)
    unit = short_unit(info)
    blocks = []
    rsk = view.risk if info.needs_risk or view.effective_filters.risk is not None else None
    area_value = _value(data, view.area, view, policy, rsk) if view.area else None
    bench = subject(data, "", view.area, view.effective_filters, comparator=data.name_of(view.area)).comparator_label
    region = subject(data, "", None, view.effective_filters, comparator=data.region_name).comparator_label
    for by in BY:
        title = subject(data, f"{info.label} by {GROUP_TITLES[by].lower()}", view.area, view.effective_filters,
                        role=role).title()
        if by.startswith("imd_") and (note := access.deprivation_groups_note(policy)):
            title += f" ({note})"
        try:
            frame = data.groups_table(view.area, view.metric, by, view.effective_filters, view.risk, policy)
        except Exception as exc:  # noqa: BLE001 - e.g. clinician users have no ethnic group
            blocks.append(html.Section([html.H3(title, className="block-title"),
                                        ui.notice(f"Not available: {exc}", "info")], className="figure-block"))
            continue
        comparator = frame.attrs.get("comparator")
        shown = frame.assign(group=frame["label"],
                             value=frame["value"].where(~frame["suppressed"].astype(bool)))
        if area_value is not None and info.has_ci:  # each group against the area itself; the region's stays
            shown["significance_area"] = stats.compare_to_benchmark(
                pd.to_numeric(shown["lower"], errors="coerce").to_numpy(dtype=float, na_value=np.nan),
                pd.to_numeric(shown["upper"], errors="coerce").to_numpy(dtype=float, na_value=np.nan),
                area_value, info.higher_is_better)
            shown = shown.assign(significance_region=shown["significance"], significance=shown["significance_area"])
            comparator = area_value
        figure = charts.group_figure(shown, label=info.label, unit=unit, comparator=comparator,
                                     comparator_name=data.name_of(view.area))  # short: the title says the filters
        summary = describe.describe_groups(shown, label=info.label, unit=unit, by_label=GROUP_TITLES[by].lower(),
                                           comparator=comparator, comparator_name=bench or data.region_name)
        table, columns = _group_table(shown, info, bench or region, region)
        level = data.level_of(view.area)
        blocks.append(ui.figure_block(
            ui.graph(f"{ids.INEQ_GROUPS}-{by}", figure, synthetic=data.shows_synthetic(info.name)), ui.sr_only(summary),
            ui.data_table(f"{ids.INEQ_GROUPS}-{by}-table", columns, ui.records(table), page_size=10),
            title=title, download=exports.menu(f"ineq-{by}", exports.request_data(
                "inequalities", level, area=view.area, metric=view.metric, filters=view.effective_filters, by=by,
                risk=view.risk))))
    return blocks


NUMBER = {"type": "numeric", "format": {"specifier": ",.3~r"}}  # 3 significant figures, as numbers
COUNT = {"type": "numeric", "format": {"specifier": ",d"}}


def _group_table(frame: Any, info: Any, bench: str, region: str) -> tuple[pd.DataFrame, list[dict]]:
    """(rows as numbers, columns with number formats): value and CI bounds, counts, and the group
    compared with the area (`bench`) and, when that is not the region, with the region."""
    cols = ["group", "value", "lower", "upper", "numerator", "denominator"]
    cols += [c for c in ("significance", "significance_region") if c in frame.columns]
    table = frame[cols].copy()
    hidden = frame["suppressed"].astype(bool) if "suppressed" in frame.columns else pd.Series(False, index=frame.index)
    for col in ("value", "lower", "upper", "numerator", "denominator"):
        table[col] = pd.to_numeric(table[col], errors="coerce").astype(float)
    table.loc[hidden, ["value", "lower", "upper", "numerator"]] = np.nan
    table["suppressed"] = hidden.map({True: "suppressed", False: ""})
    names = {"group": ("Group", {}), "value": (metric_title(info), COUNT if info.kind == "count" else NUMBER),
             "lower": ("Lower 95% CI", NUMBER), "upper": ("Upper 95% CI", NUMBER),
             "numerator": ("Numerator", COUNT), "denominator": (f"Denominator ({info.denominator})", COUNT),
             "significance": (f"Compared with {bench}", {}), "significance_region": (f"Compared with {region}", {}),
             "suppressed": ("Disclosure control", {})}
    return table, [{"name": names[c][0], "id": c, **names[c][1]} for c in table.columns]


def _value(data: AppData, code: str | None, view: MapView, policy: Any, risk: Any) -> float | None:
    row = data.value_of(code, view.metric, view.effective_filters, policy, risk)
    return None if bool(row[f"{view.metric}_suppressed"]) else float(row[view.metric])


def funnel_section(data: AppData, view: MapView, policy: Any) -> list:
    info = data.metric(view.metric)
    unit = short_unit(info)
    flt = view.effective_filters
    bench = subject(data, "", view.area, flt, comparator=data.name_of(view.area)).comparator_label
    region = subject(data, "", None, flt, comparator=data.region_name).comparator_label
    title = subject(data, f"Funnel plot: {info.label}, {LEVEL_CONTROL_LABELS[view.level]}s against {bench}",
                    view.area, flt).title()
    try:
        points, limits, comparator = data.funnel(view.level, view.metric, flt, view.risk, policy,
                                                 within=view.area, benchmark=view.area)
    except Exception as exc:  # noqa: BLE001
        return [html.Section([html.H2(title, className="block-title"), ui.notice(f"Not available: {exc}", "info")],
                             className="figure-block")]
    figure = charts.funnel_figure(points, limits, label=info.label, unit=unit, comparator=comparator,
                                  comparator_name=bench, denominator_label=info.denominator.capitalize())
    summary = describe.describe_funnel(points, label=info.label, comparator_name=bench)
    hidden = points.attrs.get("hidden", 0)
    order = {"outside 99.8%": 0, "between 95% and 99.8%": 1, "within 95%": 2}
    table = points.assign(_o=points["position"].map(order)).sort_values(["_o", "value"], ascending=[True, False])
    table = table[["area_name", "area_code", "value", "numerator", "denominator", "position", "position_region"]].copy()
    table.insert(2, "parent_name", [data.name_of(data.parent_of.get(c)) for c in table["area_code"]])
    columns = [{"name": "Area", "id": "area_name"}, {"name": "Code", "id": "area_code"},
               {"name": "Parent area", "id": "parent_name"}, {"name": metric_title(info), "id": "value", **NUMBER},
               {"name": "Numerator", "id": "numerator", **COUNT},
               {"name": f"Denominator ({info.denominator})", "id": "denominator", **COUNT},
               {"name": f"Position against {bench}", "id": "position"},
               {"name": f"Position against {region}", "id": "position_region"}]
    if view.area is None:
        columns.pop()
    block = ui.figure_block(
        ui.graph(ids.INEQ_FUNNEL + "-graph", figure, synthetic=data.shows_synthetic(info.name)), ui.sr_only(summary),
        ui.data_table(ids.INEQ_FUNNEL_TABLE, columns, ui.records(table)),
        title=title, download=exports.menu("ineq-funnel", exports.request_data(
            "funnel", view.level, area=view.area, metric=view.metric, filters=flt, risk=view.risk)))
    note = html.P(f"{hidden} area(s) not plotted: suppressed (fewer than 8 people) or no denominator. "
                  f"Limits: 95% and 99.8% around the value of {bench} (OHID method).", className="table-note")
    return [block, note]


def register(app: Dash, data: AppData) -> None:
    def current_view(stored: dict) -> tuple[MapView, Any]:
        role = current_role()
        view = _stored_view(data, stored, allowed_levels(role), role)
        _, policy = role_and_policy(view.level)
        return view, policy

    @app.callback(
        Output(ids.INEQ_VIEW, "data"),
        Output(ids.INEQ_URL, "search"),
        Output(ids.INEQ_METRIC, "value"),
        Output(ids.INEQ_LEVEL, "value"),
        Output(ids.INEQ_AREA, "value"),
        Input(ids.INEQ_METRIC, "value"),
        Input(ids.INEQ_LEVEL, "value"),
        Input(ids.INEQ_AREA, "value"),
        Input(ids.INEQ_URL, "search"),
        State(ids.INEQ_VIEW, "data"),
        State(ids.INEQ_URL, "pathname"),
        prevent_initial_call=True,
    )
    def update_view(metric: str | None, level: str | None, area: str | None, search: str | None, stored: dict,
                    pathname: str | None) -> tuple:
        role = current_role()
        levels = allowed_levels(role)
        current = _stored_view(data, stored, levels, role)
        metric, level, area = text_value(metric, "metric"), text_value(level, "level"), text_value(area, "area")
        search, pathname = text_value(search, "search"), text_value(pathname, "pathname")
        if ctx.triggered_id == ids.INEQ_URL:
            if pathname != PATH:
                raise PreventUpdate
            new = _view(data, query_from_search(search), levels, role)
            if new == current:
                raise PreventUpdate
            return new.to_store(), no_update, new.metric, new.level, new.area or ""
        if level is not None and level not in levels:
            raise AccessDenied(f"Role '{role}' may not see {LEVEL_CONTROL_LABELS.get(level, level)}-level data.", role=str(role))
        access.check_clinical(role, [metric] if metric in data.metrics else [])
        code = area or None
        if code is not None and (code not in data.area_level or data.level_of(code) not in levels):
            raise AccessDenied(f"Area {code!r} is not one your role may see.", role=str(role))
        level = level if level in levels else current.level
        if ctx.triggered_id == ids.INEQ_AREA and code != current.area:  # a new area: its children in the funnel
            query = area_view_query({"area": code} if code else {}, levels, data.area_level, data.parent_of)
            level = query.get("level", level)
        query = {**current.to_query(), "metric": metric if metric in care_metrics(data, role) else current.metric,
                 "level": level, "area": code or ""}
        query.pop("sel", None)
        new = _view(data, {k: v for k, v in query.items() if v}, levels, role)
        if new == current:
            raise PreventUpdate
        return (new.to_store(), new.to_search(), no_update, new.level if new.level != level else no_update,
                new.area or "" if new.area != code else no_update)

    @app.callback(
        Output(ids.INEQ_GROUPS, "children"),
        Output(ids.INEQ_NOTE, "children"),
        Input(ids.INEQ_VIEW, "data"),
    )
    def send_groups(stored: dict) -> tuple:
        view, policy = current_view(stored)
        flt = view.effective_filters
        note = None if flt.is_empty else ui.notice(f"For: {flt.describe()} (filters set on the map page).")
        return groups_section(data, view, policy, current_role()), note

    @app.callback(Output(ids.INEQ_FUNNEL, "children"), Input(ids.INEQ_VIEW, "data"))
    def send_funnel(stored: dict) -> list:
        view, policy = current_view(stored)
        return funnel_section(data, view, policy)
