"""Inequalities: a care-plan metric by ethnic group, age band, sex, disability and IMD quintile,
and a funnel plot of areas against the region with 95% and 99.8% control limits."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from explorer.app import components as ui
from explorer.app import exports
from explorer.app import ids
from explorer.app.auth import current_role
from explorer.app.context import allowed_levels, current_data, role_and_policy
from explorer.app.presenters.format import metric_title, short_unit
from explorer.services.app_analyses import GROUP_TITLES
from explorer.services.app_data import AppData
from explorer.app.state import MapView, check_store, query_from_search, require_canonical, text_value
from explorer.domain import access
from explorer.domain.access import AccessDenied
from explorer.figures import charts, describe
from explorer.figures.classify import format_number
from explorer.vocab import LEVEL_CONTROL_LABELS

MODULE = "explorer.app.pages.inequalities"
PATH = "/inequalities"
NAME = "Inequalities"
ORDER = 2
DESCRIPTION = "Care-plan coverage by population group and a funnel plot of areas against London."
BY = ("ethnic_group", "age_band", "sex", "disabled", "imd_quintile")


def care_metrics(data: AppData, role: Any = None) -> list[str]:
    """Care-plan metrics on offer to `role` (None: all, for tools and tests outside a request)."""
    names = [n for n, m in data.metrics.items() if m.source != "geography"]
    return names if role is None else access.visible_metrics(names, role)


def _view(data: AppData, query: dict, levels: tuple[str, ...], role: Any = None) -> MapView:
    metrics = care_metrics(data, role)
    default = "coverage" if "coverage" in metrics else (metrics[0] if metrics else data.default_metric())
    query = dict(query)
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
        html.H1("Inequalities in care-plan coverage", className="page-title"),
        html.Div([
            ui.select(ids.INEQ_METRIC, options, view.metric, "Metric"),
            ui.radio(ids.INEQ_LEVEL, [(LEVEL_CONTROL_LABELS[lv], lv) for lv in levels], view.level, "Areas in the funnel plot"),
        ], className="row-controls panel"),
        html.Div(id=ids.INEQ_NOTE),
        html.Section([html.H2("By population group (London)", className="block-title"),
                      html.P(["Bars: ", html.Strong("blue"), " = significantly better than London, ",
                              html.Strong("orange"), " = significantly worse, ", html.Strong("grey"),
                              " = similar (95% confidence intervals); light blue / pink = higher / lower for "
                              "metrics with no better direction. Dashed line: London."], className="muted"),
                      html.Div(id=ids.INEQ_GROUPS, className="grid-2")], className="panel"),
        html.Div(id=ids.INEQ_FUNNEL),
    ], className="inequalities-page")


def groups_section(data: AppData, view: MapView, policy: Any) -> list:
    info = data.metric(view.metric)
    unit = short_unit(info)
    blocks = []
    for by in BY:
        title = f"{info.label} by {GROUP_TITLES[by].lower()}"
        if by.startswith("imd_") and (note := access.deprivation_groups_note(policy)):
            title += f" ({note})"
        try:
            frame = data.groups_table(None, view.metric, by, view.effective_filters, view.risk, policy)
        except Exception as exc:  # noqa: BLE001 - e.g. clinician users have no ethnic group
            blocks.append(html.Section([html.H3(title, className="block-title"),
                                        ui.notice(f"Not available: {exc}", "info")], className="figure-block"))
            continue
        comparator = frame.attrs.get("comparator")
        shown = frame.assign(group=frame["label"],
                             value=frame["value"].where(~frame["suppressed"].astype(bool)))
        figure = charts.group_figure(shown, label=info.label, unit=unit, comparator=comparator,
                                     comparator_name=data.region_name)
        summary = describe.describe_groups(shown, label=info.label, unit=unit, by_label=GROUP_TITLES[by].lower(),
                                           comparator=comparator, comparator_name=data.region_name)
        table = _group_table(shown, info)
        blocks.append(ui.figure_block(
            ui.graph(f"{ids.INEQ_GROUPS}-{by}", figure, synthetic=data.shows_synthetic(info.name)), ui.sr_only(summary),
            ui.data_table(f"{ids.INEQ_GROUPS}-{by}-table", [{"name": c, "id": c} for c in table.columns],
                          ui.records(table), page_size=10),
            title=title, download=exports.menu(f"ineq-{by}", exports.request_data(
                "inequalities", "region", metric=view.metric, filters=view.effective_filters, by=by, risk=view.risk))))
    return blocks


def _group_table(frame: Any, info: Any) -> Any:
    table = frame[["group", "value", "lower", "upper", "numerator", "denominator"]
                  + (["significance"] if "significance" in frame.columns else [])].copy()
    for col in ("value", "lower", "upper"):  # 3 s.f. with separators, never "2.38e+03"; counts whole
        table[col] = [("*" if v is None or str(v) in ("nan", "<NA>") else
                       f"{float(v):,.0f}" if info.kind == "count" and col == "value" else format_number(float(v)))
                      for v in table[col]]
    for col in ("numerator", "denominator"):
        table[col] = [f"{int(float(v)):,}" if str(v) not in ("nan", "<NA>", "None") else "*" for v in table[col]]
    table = table.rename(columns={"group": "Group", "value": metric_title(info), "lower": "Lower 95% CI",
                                  "upper": "Upper 95% CI", "numerator": "Numerator",
                                  "denominator": f"Denominator ({info.denominator})",
                                  "significance": "Compared with London"})
    return table


def funnel_section(data: AppData, view: MapView, policy: Any) -> list:
    info = data.metric(view.metric)
    unit = short_unit(info)
    title = f"Funnel plot: {info.label} by {LEVEL_CONTROL_LABELS[view.level]} against {data.region_name}"
    try:
        points, limits, comparator = data.funnel(view.level, view.metric, view.effective_filters, view.risk, policy)
    except Exception as exc:  # noqa: BLE001
        return [html.Section([html.H2(title, className="block-title"), ui.notice(f"Not available: {exc}", "info")],
                             className="figure-block")]
    figure = charts.funnel_figure(points, limits, label=info.label, unit=unit, comparator=comparator,
                                  comparator_name=data.region_name, denominator_label=info.denominator.capitalize())
    summary = describe.describe_funnel(points, label=info.label, comparator_name=data.region_name)
    hidden = points.attrs.get("hidden", 0)
    order = {"outside 99.8%": 0, "between 95% and 99.8%": 1, "within 95%": 2}
    table = points.assign(_o=points["position"].map(order)).sort_values(["_o", "value"], ascending=[True, False])
    table = table[["area_name", "area_code", "value", "denominator", "position"]].copy()
    table["value"] = table["value"].map(lambda v: format_number(float(v)))
    table["denominator"] = table["denominator"].map(lambda v: f"{v:,.0f}")
    table.columns = ["Area", "Code", metric_title(info), f"Denominator ({info.denominator})", "Position"]
    block = ui.figure_block(
        ui.graph(ids.INEQ_FUNNEL + "-graph", figure, synthetic=data.shows_synthetic(info.name)), ui.sr_only(summary),
        ui.data_table(ids.INEQ_FUNNEL_TABLE, [{"name": c, "id": c} for c in table.columns], ui.records(table)),
        title=title, download=exports.menu("ineq-funnel", exports.request_data(
            "funnel", view.level, metric=view.metric, filters=view.effective_filters, risk=view.risk)))
    note = html.P(f"{hidden} area(s) not plotted: suppressed (fewer than 8 people) or no denominator. "
                  "Limits: 95% and 99.8% around the London value (OHID method).", className="table-note")
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
        Input(ids.INEQ_METRIC, "value"),
        Input(ids.INEQ_LEVEL, "value"),
        Input(ids.INEQ_URL, "search"),
        State(ids.INEQ_VIEW, "data"),
        State(ids.INEQ_URL, "pathname"),
        prevent_initial_call=True,
    )
    def update_view(metric: str | None, level: str | None, search: str | None, stored: dict,
                    pathname: str | None) -> tuple:
        role = current_role()
        levels = allowed_levels(role)
        current = _stored_view(data, stored, levels, role)
        metric, level = text_value(metric, "metric"), text_value(level, "level")
        search, pathname = text_value(search, "search"), text_value(pathname, "pathname")
        if ctx.triggered_id == ids.INEQ_URL:
            if pathname != PATH:
                raise PreventUpdate
            new = _view(data, query_from_search(search), levels, role)
            if new == current:
                raise PreventUpdate
            return new.to_store(), no_update, new.metric, new.level
        if level is not None and level not in levels:
            raise AccessDenied(f"Role '{role}' may not see {LEVEL_CONTROL_LABELS.get(level, level)}-level data.", role=str(role))
        access.check_clinical(role, [metric] if metric in data.metrics else [])
        new = current.with_(metric=metric if metric in care_metrics(data, role) else current.metric,
                            level=level if level in levels else current.level)
        if new == current:
            raise PreventUpdate
        return new.to_store(), new.to_search(), no_update, no_update

    @app.callback(
        Output(ids.INEQ_GROUPS, "children"),
        Output(ids.INEQ_NOTE, "children"),
        Input(ids.INEQ_VIEW, "data"),
    )
    def send_groups(stored: dict) -> tuple:
        view, policy = current_view(stored)
        flt = view.effective_filters
        note = None if flt.is_empty else ui.notice(f"For: {flt.describe()} (filters set on the map page).")
        return groups_section(data, view, policy), note

    @app.callback(Output(ids.INEQ_FUNNEL, "children"), Input(ids.INEQ_VIEW, "data"))
    def send_funnel(stored: dict) -> list:
        view, policy = current_view(stored)
        return funnel_section(data, view, policy)
