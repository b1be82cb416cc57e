"""Measuring improvement: a metric's XmR (SPC) chart for an area, Making Data Count style, with the
rule fired at each month, the variation and assurance icons as words, and the area's summary of
change (every metric by variation and assurance icon, each linking to its chart)."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from dash import Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from explorer.app import components as ui
from explorer.app import ids
from explorer.app.auth import audit_export, current_role
from explorer.app.context import allowed_levels, current_data, role_and_policy
from explorer.app.pages.profile import (
    _area_options,  # the same area picker as the profile
)
from explorer.app.presenters.format import metric_title, short_unit
from explorer.app.presenters.spc import (
    ASSURANCE_COLUMNS,
    RULE_SHORT,
    badge,
    change_matrix,
    display_table,
)
from explorer.app.state import (
    check_store,
    query_from_search,
    require_canonical,
    text_value,
)
from explorer.app.state_spc import SpcView, parse_target
from explorer.domain import access, spc
from explorer.domain.access import AccessDenied
from explorer.domain.disclosure import SUPPRESSION_NOTE
from explorer.export.items import file_stem
from explorer.export.safe_cells import safe_frame
from explorer.figures import describe, theme
from explorer.figures.spc import spc_figure
from explorer.services.app_data import NO_BREAKDOWN_METRICS, AppData
from explorer.services.spc import (
    ROW_COLUMNS,
    app_series,
    change_summary,
    icons_header,
    spc_chart,
)

MODULE = "explorer.app.pages.spc"
PATH = "/spc"
NAME = "Measuring improvement"
ORDER = 4
DESCRIPTION = "SPC charts (Making Data Count): special causes, variation and assurance icons, summary of change."
BASELINES = (6, 9, 12, 15, 18)
ALL, NONE = "all", "none"  # the selects' "no baseline" and "no rebase" (a native select shows "" as blank)


def _months(data: AppData) -> tuple[str, ...]:
    engine = data.engine
    return tuple(m.strftime("%Y-%m") for m in engine.months) if engine is not None else ()


def _metrics(data: AppData, role: Any) -> tuple[str, ...]:
    """Care-plan metrics with a monthly series that the role may see."""
    shown = data.metrics if role is None else access.visible_metrics(data.metrics, role)
    return tuple(m for m in shown if data.metric(m).source != "geography" and m not in NO_BREAKDOWN_METRICS)


def _view(data: AppData, query: dict, levels: tuple[str, ...], role: Any = None) -> SpcView:
    metrics = _metrics(data, role)
    default = "reviewed_in_period" if "reviewed_in_period" in metrics else (metrics[0] if metrics else "coverage")
    return SpcView.from_query(query, levels=levels, metrics=metrics, default_metric=default,
                              area_level=data.area_level, months=_months(data))


def _stored_view(data: AppData, stored: dict | None, levels: tuple[str, ...], role: Any) -> SpcView:
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
    if not data.has_engine():
        return html.Div([html.H1("Measuring improvement", className="page-title"),
                         ui.notice("SPC charts need the care-plan records (explorer data synth or import).")])
    view = _view(data, query, levels, role)
    months = _months(data)
    metric_options = [o for o in data.metric_options() if o["value"] in _metrics(data, role)]
    baselines = [{"label": "All months of each segment", "value": ALL}] + [
        {"label": f"First {n} months", "value": str(n)} for n in BASELINES if n <= len(months)]
    rebases = [{"label": "No rebase", "value": NONE}] + [{"label": m, "value": m} for m in months[1:]]
    return html.Div([
        dcc.Location(id=ids.SPC_URL, refresh=False),
        dcc.Store(id=ids.SPC_VIEW, data=view.to_query(), storage_type="memory"),
        html.H1(id=ids.SPC_TITLE, children="Measuring improvement", className="page-title"),
        html.P("Statistical process control as NHS England's Making Data Count does it: an XmR chart with "
               "natural process limits (mean ± 2.66 × mean moving range) and its four special-cause rules, "
               "computed from the disclosure-controlled monthly values."),
        html.Div([
            ui.field("Find an area (part of its name or code)",
                     dcc.Input(id=ids.SPC_AREA_SEARCH, type="search", debounce=0.4, value="",
                               placeholder="e.g. Camden", autoComplete="off"), ids.SPC_AREA_SEARCH),
            ui.select(ids.SPC_AREA, _area_options(data, levels, None, view.area), view.area or data.region_code,
                      "Area"),
            ui.select(ids.SPC_METRIC, metric_options, view.metric, "Metric"),
            ui.field("Target (in the metric's unit; empty for none)",
                     dcc.Input(id=ids.SPC_TARGET, type="number", debounce=True, value=view.target,
                               inputMode="decimal"), ids.SPC_TARGET),
            ui.select(ids.SPC_BASELINE, baselines, str(view.baseline or ALL), "Limits from"),
            ui.select(ids.SPC_REBASE, rebases, view.rebase or NONE, "Rebase (new limits from)"),
        ], className="row-controls panel"),
        html.Div(id=ids.SPC_NOTE),
        html.Div(id=ids.SPC_ICONS, className="spc-icons", role="status"),
        html.Div(id=ids.SPC_CHART),
        html.Div([html.Button("Download this chart's table (CSV)", id=ids.SPC_DOWNLOAD_BUTTON, n_clicks=0),
                  dcc.Download(id=ids.SPC_DOWNLOAD),
                  html.P("Downloads are disclosure-controlled (counts of 1-7 hidden, others rounded to 5) whatever "
                         "your role, and recorded in the audit log.", className="table-note")]),
        html.Section(id=ids.SPC_SUMMARY, className="panel"),
    ], className="spc-page")


def chart_section(data: AppData, view: SpcView, policy: Any) -> tuple[list, list]:
    """(icon badges, chart block with its rule table) for the view."""
    info = data.metric(view.metric)
    title = f"{info.label}: XmR chart, {data.name_of(view.area)}"
    chart = _chart(data, view, policy)
    badges = [html.P(text, className=cls) for text, cls in (badge("variation", chart.variation),
                                                             badge("assurance", chart.assurance))]
    unit = short_unit(info)
    figure = spc_figure(chart.table, label=info.label, unit=info.unit, target=view.target, height=420)
    table = display_table(chart.table, info.decimals, f"Value ({unit})" if unit else "Value")
    fired = table[table["Rule fired"] != ""]
    summary = describe.describe_series(list(table["Month"])[-6:], list(chart.table["value"])[-6:],
                                       what=f"{info.label}, last 6 months", unit=unit)
    summary += f" {len(fired)} of {len(table)} months show special-cause variation."
    graph = ui.graph(ids.SPC_CHART + "-graph", figure, synthetic=data.shows_synthetic(info.name),
                     filename=file_stem(data, view.area, info.name, "spc"))
    rules = ui.data_table(ids.SPC_TABLE, [{"name": c, "id": c} for c in table.columns], ui.records(table),
                          page_size=len(table), label=f"{title}: rule fired at each month")
    block = html.Section([
        html.H2(title, className="block-title"),
        html.Div([html.Div([graph, ui.sr_only(summary)]),
                  html.Details([html.Summary("Rule fired at each month"), rules], className="table-details spc-rules",
                               open=True)], className="spc-grid"),
        html.P(SUPPRESSION_NOTE, className="table-note")], className="figure-block")
    polarity = {True: "higher is better", False: "lower is better", None: "no good direction"}[info.higher_is_better]
    definitions = "; ".join(f"{RULE_SHORT[r]}: {spc.RULE_LABELS[r]}" for r in spc.RULES)
    note = html.P(f"{metric_title(info)}: {polarity}. Rules: {definitions}.", className="table-note")
    return badges, [html.Div(block, className="spc-chart-block"), note]


def _chart(data: AppData, view: SpcView, policy: Any) -> Any:
    series = app_series(data, view.area, view.metric, view.effective_filters, view.risk, policy)
    return spc_chart(series, data.metric(view.metric), target=view.target, baseline=view.baseline,
                     rebase=[view.rebase] if view.rebase else [])


def csv_text(data: AppData, view: SpcView, role: Any) -> str:
    """The download: the chart's table under the publication policy (whatever the role: analysts'
    downloads are controlled too), the icons and the data note in '#' lines above it."""
    info = data.metric(view.metric)
    chart = _chart(data, view, access.disclosure_policy_for(role, publication=True))
    icons = icons_header(chart, info, view.target)
    flt = view.effective_filters
    buffer = io.StringIO()
    buffer.write(f"# XmR chart: {info.label} ({info.unit}), {data.name_of(view.area)}"
                 + ("" if flt.is_empty else f"; {flt.describe()}") + f"; {date.today().isoformat()}\n"
                 f"# Variation: {icons['variation_label'] or 'not enough values'}; assurance: "
                 f"{icons['assurance_label'] or 'no target'}\n# {theme.source_note(synthetic=data.synthetic)}\n")
    safe_frame(chart.table[[*ROW_COLUMNS, "point_type"]]).to_csv(buffer, index=False, float_format="%.6g")
    return buffer.getvalue()


def summary_section(data: AppData, view: SpcView, policy: Any, role: Any) -> list:
    """The area's summary of change: a matrix of metrics by variation (rows) and assurance (columns)."""
    metrics = _metrics(data, role)
    targets = {view.metric: view.target} if view.target is not None else None
    summary = change_summary(data, view.area, metrics, view.effective_filters, view.risk, policy, targets)

    def link(metric: str) -> str:
        keep_target = view.target if metric == view.metric else None
        return SpcView(area=view.area, metric=metric, filters=view.filters, risk=view.risk,
                       target=keep_target).to_search()

    rows = change_matrix(summary, link)
    head = html.Thead(html.Tr([html.Th("Variation \\ assurance", scope="col")]
                              + [html.Th(label, scope="col") for _, label in ASSURANCE_COLUMNS]))
    body = html.Tbody([html.Tr([html.Th(r["label"], scope="row", className=f"spc-row spc-{r['key']}")]
                               + [html.Td(html.Ul([html.Li(dcc.Link(label, href=f"{PATH}{href}"))
                                                   for label, href in r["cells"][key]], className="plain-list"))
                                  for key, _ in ASSURANCE_COLUMNS]) for r in rows])
    caption = (f"Summary of change for {data.name_of(view.area)}: each metric's latest point by its variation "
               "icon, and by its assurance icon where a target is set (the target above applies to the metric "
               "charted). Each link opens that metric's chart; a metric with fewer than 2 months shown (the rest "
               "hidden as small numbers) is left out.")
    return [html.H2("Summary of change", className="block-title"),
            html.Div(html.Table([html.Caption(caption, className="table-note"), head, body],
                                className="key-table spc-matrix", id=ids.SPC_SUMMARY + "-table"),
                     style={"overflowX": "auto"})]


def register(app: Dash, data: AppData) -> None:
    def current_view(stored: dict) -> tuple[SpcView, Any, Any]:
        role = current_role()
        view = _stored_view(data, stored, allowed_levels(role), role)
        _, policy = role_and_policy(data.level_of(view.area) if view.area else None)
        return view, policy, role

    @app.callback(
        Output(ids.SPC_VIEW, "data"), Output(ids.SPC_URL, "search"), Output(ids.SPC_AREA, "value"),
        Output(ids.SPC_METRIC, "value"), Output(ids.SPC_TARGET, "value"), Output(ids.SPC_BASELINE, "value"),
        Output(ids.SPC_REBASE, "value"),
        Input(ids.SPC_AREA, "value"), Input(ids.SPC_METRIC, "value"), Input(ids.SPC_TARGET, "value"),
        Input(ids.SPC_BASELINE, "value"), Input(ids.SPC_REBASE, "value"), Input(ids.SPC_URL, "search"),
        State(ids.SPC_VIEW, "data"), State(ids.SPC_URL, "pathname"),
        prevent_initial_call=True,
    )
    def update_view(area: Any, metric: Any, target: Any, baseline: Any, rebase: Any, search: Any,
                    stored: dict, pathname: Any) -> tuple:
        role = current_role()
        levels = allowed_levels(role)
        current = _stored_view(data, stored, levels, role)
        area, metric = text_value(area, "area"), text_value(metric, "metric")
        baseline, rebase = text_value(baseline, "baseline") or ALL, text_value(rebase, "rebase") or NONE
        baseline, rebase = ("" if baseline == ALL else baseline), ("" if rebase == NONE else rebase)
        search, pathname = text_value(search, "search"), text_value(pathname, "pathname")
        if ctx.triggered_id == ids.SPC_URL:
            if pathname != PATH:
                raise PreventUpdate
            new = _view(data, query_from_search(search), levels, role)
            if new == current:
                raise PreventUpdate
            return (new.to_query(), no_update, new.area or data.region_code, new.metric, new.target,
                    str(new.baseline or ALL), new.rebase or NONE)
        code = None if area in (None, "", data.region_code) else area
        if code is not None and (code not in data.area_level or data.level_of(code) not in levels):
            raise AccessDenied(f"Area {code!r} is not one your role may see.", role=str(role))
        if metric not in _metrics(data, role):
            raise AccessDenied(f"Metric {str(metric)[:40]!r} is not one your role may chart.", role=str(role))
        months = _months(data)
        chosen = _view(data, {**current.to_query(), "baseline": baseline, "rebase": rebase}, levels, role)
        if (baseline and chosen.baseline is None) or (rebase and chosen.rebase is None):
            raise AccessDenied("Request refused: a baseline or rebase month this page does not offer.",
                               role=str(role))
        new = current.with_(area=code, metric=metric, target=parse_target(target), baseline=chosen.baseline,
                            rebase=chosen.rebase if rebase in months else None)
        if new == current:
            raise PreventUpdate
        return new.to_query(), new.to_search(), no_update, no_update, no_update, no_update, no_update

    @app.callback(Output(ids.SPC_AREA, "options"), Input(ids.SPC_AREA_SEARCH, "value"), State(ids.SPC_VIEW, "data"))
    def area_options(search: Any, stored: dict) -> list[dict]:
        role = current_role()
        view = _stored_view(data, stored, allowed_levels(role), role)
        return _area_options(data, allowed_levels(role), text_value(search, "area search"), view.area)

    @app.callback(Output(ids.SPC_TITLE, "children"), Output(ids.SPC_NOTE, "children"),
                  Output(ids.SPC_ICONS, "children"), Output(ids.SPC_CHART, "children"),
                  Input(ids.SPC_VIEW, "data"))
    def send_chart(stored: dict) -> tuple:
        view, policy, _ = current_view(stored)
        flt = view.effective_filters
        note = None if flt.is_empty else ui.notice(f"For: {flt.describe()} (from the link or the map page).", "info")
        try:
            badges, chart = chart_section(data, view, policy)
        except Exception as exc:  # noqa: BLE001 - e.g. a metric this engine cannot serve for the filters
            return no_update, note, [], ui.notice(f"Not available: {exc}", "warning")
        return f"Measuring improvement: {data.name_of(view.area)}", note, badges, chart

    @app.callback(Output(ids.SPC_DOWNLOAD, "data"), Input(ids.SPC_DOWNLOAD_BUTTON, "n_clicks"),
                  State(ids.SPC_VIEW, "data"), prevent_initial_call=True)
    def download(n_clicks: Any, stored: dict) -> dict:
        if not n_clicks:
            raise PreventUpdate
        view, _, role = current_view(stored)
        content = csv_text(data, view, role)
        audit_export("spc_csv", area=view.area or data.region_code, metric=view.metric,
                     filters=view.filters.to_query(), target=view.target, baseline=view.baseline, rebase=view.rebase)
        return dcc.send_string(content, f"spc-{view.metric}-{view.area or data.region_code}.csv", type="text/csv")

    @app.callback(Output(ids.SPC_SUMMARY, "children"), Input(ids.SPC_VIEW, "data"))
    def send_summary(stored: dict) -> list:
        view, policy, role = current_view(stored)
        return summary_section(data, view, policy, role)
