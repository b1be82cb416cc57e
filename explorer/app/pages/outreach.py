"""Outreach: where to send planning conversations. Places or PCNs ranked by high-risk people
without a plan (or by gap count), a capacity input, and a disclosure-controlled CSV download."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pandas as pd
from dash import Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from explorer.app import components as ui
from explorer.app import exports
from explorer.app import ids
from explorer.app.auth import audit_export, current_role
from explorer.app.context import allowed_levels, current_data, role_and_policy
from explorer.app.filters_ui import area_options
from explorer.app.presenters.format import subject
from explorer.app.presenters.outreach import (
    AUDIT_HEADERS, RANK_NAMES, SUMMARY_HEADERS, audit_text, summary_text, target_areas,
)
from explorer.services.app_data import AppData
from explorer.services.whatif import RANKING_NAMES, UNIT_LEVELS, outreach_whatif
from explorer.services.pcn_info import drawn_lsoas_note
from explorer.app.state import (
    RANK_BY, OutreachView, check_store, parse_capacity, query_from_search, require_canonical, risk_options,
    risk_text, text_value,
)
from explorer.domain import access, stats
from explorer.domain.access import AccessDenied, Capability
from explorer.domain.metrics import risk_label
from explorer.domain.whatif import RANKINGS as WHATIF_RANKINGS
from explorer.export.safe_cells import safe_frame
from explorer.figures import charts, describe, theme
from explorer.vocab import LEVEL_CONTROL_LABELS

MODULE = "explorer.app.pages.outreach"
PATH = "/outreach"
NAME = "Outreach"
ORDER = 3
DESCRIPTION = "Rank places or PCNs by high-risk people without a care plan, within your team's capacity."
FIGURE_AREAS = 15


def whatif_panel(data: AppData, view: OutreachView, role: Any, policy: Any) -> list:
    """'What would this reach do?': coverage and SII before -> after for the area and its parent,
    and the equity audit, as tables (figures computed from controlled counts only)."""
    if view.level not in UNIT_LEVELS or (view.area and data.level_of(view.area) not in ("ics", "place")):
        return [html.H2("What would this reach do?", className="block-title"),
                ui.notice("The what-if works for the region, an ICS or a place, ranked by place or PCN.", "info")]
    result = outreach_whatif(data.engine_call, data.bundle.areas, role, policy, level=view.level,
                             area=view.area, capacity=view.capacity, ranking=view.whatif, risk=view.risk,
                             filters=view.filters)
    summary, audit = summary_text(result.summary), audit_text(result.audit)
    label = [html.Strong("SYNTHETIC DATA. ")] if data.synthetic else []
    return [
        html.H2("What would this reach do?", className="block-title"),
        html.P([*label, (f"{view.capacity:,} conversations with high-risk people without a plan, ranking: "
                         f"{RANKING_NAMES[view.whatif].lower()} (units: each {LEVEL_CONTROL_LABELS[view.level]}'s "
                         "residents in one IMD quintile). Computed from disclosure-controlled counts; people "
                         "reached rounded to the nearest 10. SII: least minus most deprived quintile, so a fall "
                         "towards 0 means the deprivation gap is closing.")], className="muted"),
        ui.data_table(ids.OUT_WHATIF + "-summary", [{"name": n, "id": c} for c, n in SUMMARY_HEADERS],
                      ui.records(summary), caption="Coverage among high-risk people and its SII, before -> after"),
        html.H3("Equity audit: who the selection reaches against who is at high risk", className="block-title"),
        ui.data_table(ids.OUT_WHATIF + "-audit", [{"name": n, "id": c} for c, n in AUDIT_HEADERS],
                      ui.records(audit), page_size=40, label="Equity audit: who the selection reaches"),
    ]


RANK_LEVELS = ("place", "pcn", "lsoa")  # units outreach can rank (the role permitting)


def _levels(role: Any) -> tuple[str, ...]:
    return tuple(lv for lv in RANK_LEVELS if lv in allowed_levels(role))


def _view(data: AppData, query: dict, role: Any) -> OutreachView:
    return OutreachView.from_query(query, levels=_levels(role), area_level=data.area_level,
                                   parent_of=data.parent_of)


def _unavailable(data: AppData, role: Any) -> str | None:
    if not access.permits(role, Capability.OUTREACH):
        return f"Outreach planning is not available to the '{role}' role."
    if not data.has_engine() or "high_risk_without_plan" not in data.metrics:
        return ("Outreach needs the care-plan records and a trained risk model "
                "(`explorer data synth`, then `explorer model train`).")
    return None


def layout(**query: Any) -> html.Div:
    data = current_data()
    try:
        role = current_role()
    except AccessDenied as exc:
        return ui.notice(str(exc), "warning")
    title = html.H1("Outreach: where to offer care-planning conversations", className="page-title")
    problem = _unavailable(data, role)
    if problem:
        return html.Div([title, ui.notice(problem, "warning")])
    view = _view(data, query, role)
    return html.Div([
        dcc.Location(id=ids.OUT_URL, refresh=False),
        dcc.Store(id=ids.OUT_VIEW, data=view.to_query(), storage_type="memory"),
        title,
        html.Div([
            ui.radio(ids.OUT_LEVEL, [(LEVEL_CONTROL_LABELS[lv], lv) for lv in _levels(role)], view.level, "Rank"),
            ui.select(ids.OUT_RISK, risk_options(), risk_text(view.risk), "High-risk definition"),
            ui.radio(ids.OUT_RANK_BY, [(RANK_NAMES[r], r) for r in RANK_BY], view.rank_by, "Rank by"),
            ui.select(ids.OUT_AREA, area_options(data), view.area or "", "Area: rank and spend the capacity within",
                      help_text="Your area on every page; the what-if compares it with its parent."),
            ui.radio(ids.OUT_WHATIF_RANK, [(RANKING_NAMES[r], r) for r in WHATIF_RANKINGS], view.whatif,
                     "What-if ranking"),
            ui.field("We can hold this many planning conversations",
                     dcc.Input(id=ids.OUT_CAPACITY, type="number", min=0, step=50, value=view.capacity,
                               debounce=True, inputMode="numeric"),
                     ids.OUT_CAPACITY, "Each conversation is one high-risk person offered a care plan."),
        ], className="row-controls panel"),
        html.Section(id=ids.OUT_SUMMARY, className="panel", **{"aria-live": "polite"}),
        html.Section(id=ids.OUT_WHATIF, className="panel", **{"aria-live": "polite"}),
        html.Div(id=ids.OUT_FIGURE),
        html.Section([
            html.H2("Ranked areas", className="block-title"),
            html.P(id=ids.OUT_TABLE_CAPTION, className="table-note"),
            ui.data_table(ids.OUT_TABLE, page_size=20, labelled_by=ids.OUT_TABLE_CAPTION),
            html.Button("Download this table (CSV)", id=ids.OUT_DOWNLOAD_BUTTON, n_clicks=0),
            dcc.Download(id=ids.OUT_DOWNLOAD),
            html.P("Downloads are always disclosure-controlled (counts of 1-7 hidden, others rounded to the nearest "
                   "5), whatever your role, and recorded in the audit log.", className="table-note"),
        ], className="figure-block"),
    ], className="outreach-page")


def columns(data: AppData, view: OutreachView) -> list[tuple[str, str, str | None]]:
    """(id, header, d3 number format or None for text) of the ranking's table; the ids are the CSV's
    column names (snake_case, units in the name), the headers what the screen shows."""
    bench = data.name_of(view.area)
    return [("rank", "Rank", "d"), ("area_name", "Area", None), ("area_code", "Code", None),
            ("parent_name", "Parent area", None), ("parent_code", "Parent code", None),
            ("high_risk_people", "High-risk people", ",d"),
            ("without_plan_people", "High-risk people without a plan", ",d"),
            ("coverage_pct", "High-risk with a plan (%)", ".3~r"),
            ("coverage_lower_pct", "Lower 95% CI (%)", ".3~r"), ("coverage_upper_pct", "Upper 95% CI (%)", ".3~r"),
            ("coverage_vs_benchmark", f"Coverage compared with {bench}", None),
            ("expected_admissions", "Expected admissions without a plan (12 months)", ",d"),
            ("gap_count_plans", "Gap count (plans)", ",d"),
            ("cumulative_without_plan_people", "Cumulative people without a plan", ",d"),
            ("reached_people", "People reached within capacity", ",d"), ("targeted", "Target", None),
            ("suppressed", "Suppressed (disclosure control)", None)]


def display_table(data: AppData, view: OutreachView, ranked: pd.DataFrame, benchmark: float) -> pd.DataFrame:
    """The ranking as numbers (suppressed cells empty, named in `suppressed`), the coverage CI in its
    own lower/upper columns, each unit's parent and its coverage against the area's (`benchmark`)."""
    def hide(col: str) -> pd.Series:
        flags = ranked.get(f"{col}_suppressed", pd.Series(False, index=ranked.index)).astype(bool)
        return pd.to_numeric(ranked[col], errors="coerce").astype(float).mask(flags)

    def whole(values: pd.Series) -> pd.Series:
        return values.round().astype("Int64")  # whole numbers in the CSV ("385", not "385.0"); empty if hidden

    parents = [data.parent_of.get(c) for c in ranked["area_code"]]
    cov = "high_risk_plan_coverage"
    hidden = ranked[f"{cov}_suppressed"].astype(bool)
    out = pd.DataFrame({"rank": ranked["rank"], "area_name": ranked["area_name"], "area_code": ranked["area_code"],
                        "parent_name": [data.name_of(p) if p else "" for p in parents],
                        "parent_code": [p or "" for p in parents],
                        "high_risk_people": whole(hide("high_risk")),
                        "without_plan_people": whole(hide("high_risk_without_plan")),
                        "coverage_pct": hide(cov).round(3),
                        "coverage_lower_pct": pd.to_numeric(ranked[f"{cov}_lower"], errors="coerce").mask(hidden).round(3),
                        "coverage_upper_pct": pd.to_numeric(ranked[f"{cov}_upper"], errors="coerce").mask(hidden).round(3)})
    out["coverage_vs_benchmark"] = [str(v) for v in stats.compare_to_benchmark(
        out["coverage_lower_pct"].to_numpy(dtype=float), out["coverage_upper_pct"].to_numpy(dtype=float),
        benchmark, True)]
    out["expected_admissions"] = whole(hide("expected_admissions_without_plan"))
    out["gap_count_plans"] = whole(hide("gap"))
    out["cumulative_without_plan_people"] = whole(ranked["cumulative_without_plan"].astype(float))
    out["reached_people"] = whole(ranked["reach"].astype(float))
    out["targeted"] = ranked["targeted"].map({True: "yes", False: "no"})
    names = {"high_risk": "high-risk people", "high_risk_without_plan": "without a plan", "gap": "gap",
             cov: "coverage", "expected_admissions_without_plan": "expected admissions"}
    out["suppressed"] = ["; ".join(n for c, n in names.items() if bool(row.get(f"{c}_suppressed", False)))
                         for row in ranked.to_dict("records")]
    return out


def scope_benchmark(data: AppData, view: OutreachView, policy: Any) -> float:
    """High-risk coverage (%) of the area ranked within (the region when none), filtered alike."""
    row = data.value_of(view.area, "high_risk_plan_coverage", view.filters.without("risk"), policy, view.risk)
    return float("nan") if bool(row["high_risk_plan_coverage_suppressed"]) else float(row["high_risk_plan_coverage"])


def what_it_shows(data: AppData, view: OutreachView, role: Any) -> Any:
    """The ranking's description (explorer.figures.describe.Subject) for titles, captions and the CSV."""
    return subject(data, f"Outreach ranking of {LEVEL_CONTROL_LABELS[view.level]}s by "
                   f"{RANK_NAMES[view.rank_by].lower()} (high risk = {risk_label(view.risk)}; capacity "
                   f"{view.capacity:,} conversations)", view.area, view.filters.without("risk"), role=role,
                   comparator=data.name_of(view.area), unit="people; coverage in % of high-risk people")


def _ranked(data: AppData, view: OutreachView, policy: Any) -> pd.DataFrame:
    """Units at the level inside the area, ranked; suppression decided on the whole level first."""
    table = data.outreach(view.level, view.filters, view.risk, policy)
    if view.area is not None:
        table = table[table["area_code"].isin(data.codes_within(view.level, view.area))]
    return target_areas(table.reset_index(drop=True), view.capacity, view.rank_by, policy.statistics_rounding)


def csv_bytes(data: AppData, view: OutreachView) -> str:
    """The download: always under the publication policy; a commented header says what it shows
    (area, level, filters, as-at month, role, comparator, units); then one row per unit, numbers as
    numbers (read it with `comment="#"`)."""
    role = current_role()
    policy = access.disclosure_policy_for(role, publication=True)
    ranked = _ranked(data, view, policy)
    table = display_table(data, view, ranked, scope_benchmark(data, view, policy))
    table.insert(0, "as_at", data.as_at.isoformat() if data.as_at else "")
    table.insert(1, "level", view.level)
    buffer = io.StringIO()
    what = what_it_shows(data, view, role)
    lines = [*what.header_lines(), theme.source_note(synthetic=data.synthetic), f"made: {date.today().isoformat()}"]
    buffer.write("".join(f"# {line}\n" for line in lines))
    safe_frame(table).to_csv(buffer, index=False)  # area names could be spreadsheet formulas
    return buffer.getvalue()


def register(app: Dash, data: AppData) -> None:
    def current_view(stored: dict) -> tuple[OutreachView, Any]:
        role = current_role()
        problem = _unavailable(data, role)
        if problem:
            raise AccessDenied(problem, role=str(role))
        view = _view(data, dict(check_store(stored) or {}), role)
        require_canonical(stored, view)
        _, policy = role_and_policy(view.level)
        return view, policy

    @app.callback(
        Output(ids.OUT_VIEW, "data"),
        Output(ids.OUT_URL, "search"),
        Output(ids.OUT_LEVEL, "value"),
        Output(ids.OUT_RISK, "value"),
        Output(ids.OUT_RANK_BY, "value"),
        Output(ids.OUT_CAPACITY, "value"),
        Output(ids.OUT_AREA, "value"),
        Output(ids.OUT_WHATIF_RANK, "value"),
        Input(ids.OUT_LEVEL, "value"),
        Input(ids.OUT_RISK, "value"),
        Input(ids.OUT_RANK_BY, "value"),
        Input(ids.OUT_CAPACITY, "value"),
        Input(ids.OUT_AREA, "value"),
        Input(ids.OUT_WHATIF_RANK, "value"),
        Input(ids.OUT_URL, "search"),
        State(ids.OUT_VIEW, "data"),
        State(ids.OUT_URL, "pathname"),
        prevent_initial_call=True,
    )
    def update_view(level: str, risk: str, rank_by: str, capacity: Any, area: Any, whatif: Any,
                    search: str | None, stored: dict, pathname: str | None) -> tuple:
        role = current_role()
        levels = _levels(role)
        problem = _unavailable(data, role)
        if problem:
            raise AccessDenied(problem, role=str(role))
        current = _view(data, dict(check_store(stored) or {}), role)
        require_canonical(stored, current)
        level, risk, rank_by = text_value(level, "level"), text_value(risk, "risk"), text_value(rank_by, "rank")
        search, pathname = text_value(search, "search"), text_value(pathname, "pathname")
        area, whatif = text_value(area, "area"), text_value(whatif, "whatif")
        capacity = parse_capacity(capacity)
        if level is not None and level not in levels:
            raise AccessDenied(f"Role '{role}' may not rank {level} areas.", role=str(role))
        if ctx.triggered_id == ids.OUT_URL:
            if pathname != PATH:
                raise PreventUpdate
            new = _view(data, query_from_search(search), role)
            if new == current:
                raise PreventUpdate
            return (new.to_query(), no_update, new.level, risk_text(new.risk), new.rank_by, new.capacity,
                    new.area or "", new.whatif)
        query = {**current.to_query(), "level": level, "hr": risk or "", "rank": rank_by,
                 "capacity": "" if capacity is None else str(capacity), "area": area or "", "wif": whatif or ""}
        new = _view(data, query, role)
        if new == current:
            raise PreventUpdate
        adjusted = new.level if new.level != level else no_update  # an area with no such level below it
        return new.to_query(), new.to_search(), adjusted, no_update, no_update, no_update, no_update, no_update

    @app.callback(Output(ids.OUT_WHATIF, "children"), Input(ids.OUT_VIEW, "data"))
    def send_whatif(stored: dict) -> list:
        view, policy = current_view(stored)
        try:
            return whatif_panel(data, view, current_role(), policy)
        except AccessDenied:
            raise
        except Exception as exc:  # noqa: BLE001 - shown, as the ranking's own errors are
            return [html.H2("What would this reach do?", className="block-title"),
                    ui.notice(f"Not available: {exc}", "warning")]

    @app.callback(
        Output(ids.OUT_SUMMARY, "children"),
        Output(ids.OUT_FIGURE, "children"),
        Output(ids.OUT_TABLE, "rowData"),
        Output(ids.OUT_TABLE, "columnDefs"),
        Output(ids.OUT_TABLE_CAPTION, "children"),
        Input(ids.OUT_VIEW, "data"),
    )
    def send_ranking(stored: dict) -> tuple:
        view, policy = current_view(stored)
        try:
            ranked = _ranked(data, view, policy)
        except Exception as exc:  # noqa: BLE001
            return ui.notice(f"Not available: {exc}", "warning"), None, [], [], ""
        level = LEVEL_CONTROL_LABELS[view.level]
        reach, areas = ranked.attrs["reach"], ranked.attrs["areas"]
        scope = data.value_of(view.area, "high_risk_without_plan", view.filters.without("risk"), policy, view.risk)
        total = float(scope["high_risk_without_plan"]) if not bool(scope["high_risk_without_plan_suppressed"]) \
            else ranked.attrs["total"]
        what = what_it_shows(data, view, current_role())
        summary = [
            html.H2(f"What this capacity reaches in {data.name_of(view.area)}", className="block-title"),
            html.P([html.Span(f"{reach:,.0f}", className="big-number"),
                    f" high-risk people without a plan can be offered a conversation by starting in the top "
                    f"{areas} {level}s of {data.name_of(view.area)} (of {total:,.0f} high-risk people without a "
                    f"plan there, {reach / total * 100 if total else 0:.1f}%); every conversation stays in "
                    f"{data.name_of(view.area)}."], id=ids.OUT_SUMMARY + "-reach"),
            html.P(f"High risk = {risk_label(view.risk)} of emergency admission in the next 12 months. Ranked by "
                   f"{RANK_NAMES[view.rank_by].lower()}. Counts are rounded to the nearest 5.", className="muted"),
        ]
        drawn = drawn_lsoas_note(data.bundle, view.level, data.area_level.get(view.area))
        if drawn:  # LSOAs in a PCN are those drawn in it; the PCN's total is apportioned
            summary.append(html.P(drawn + ".", className="muted"))
        top = ranked.head(FIGURE_AREAS)
        figure_frame = pd.DataFrame({"area_name": top["area_name"],
                                     "people": pd.to_numeric(top["high_risk_without_plan"], errors="coerce"),
                                     "targeted": top["targeted"]})
        figure = charts.outreach_figure(figure_frame)
        text = describe.describe_series(list(top["area_name"].head(10)),
                                        list(pd.to_numeric(top["high_risk_without_plan"], errors="coerce").head(10)),
                                        what=f"Top {level}s by high-risk people without a plan", unit="people")
        table = display_table(data, view, ranked, scope_benchmark(data, view, policy))
        block = ui.figure_block(ui.graph(ids.OUT_FIGURE + "-graph", figure, synthetic=data.synthetic), ui.sr_only(text),
                                html.P("The full ranking is in the table below.", className="muted"),
                                title=f"Top {min(FIGURE_AREAS, len(ranked))} {level}s in {data.name_of(view.area)} "
                                      "(targeted areas in colour)",
                                table_label="About this chart", note=None,
                                download=exports.menu("outreach", exports.request_data(
                                    "outreach", view.level, area=view.area, filters=view.filters, risk=view.risk,
                                    capacity=view.capacity, rank_by=view.rank_by)))
        cols = [{"name": name, "id": col} for col, name, _ in columns(data, view)]
        return summary, block, *ui.grid_props(cols, ui.records(table)), what.caption()

    @app.callback(
        Output(ids.OUT_DOWNLOAD, "data"),
        Input(ids.OUT_DOWNLOAD_BUTTON, "n_clicks"),
        State(ids.OUT_VIEW, "data"),
        prevent_initial_call=True,
    )
    def download(n_clicks: int, stored: dict) -> dict:
        if not n_clicks:
            raise PreventUpdate
        view, _ = current_view(stored)
        content = csv_bytes(data, view)
        audit_export("outreach_csv", level=view.level, risk=risk_text(view.risk), capacity=view.capacity,
                     rank_by=view.rank_by)
        name = f"outreach-{view.area or 'region'}-{view.level}-{date.today().isoformat()}.csv"
        return dcc.send_string(content, name, type="text/csv")
