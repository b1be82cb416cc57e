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
from explorer.app.presenters.outreach import (
    AUDIT_HEADERS, RANK_NAMES, SUMMARY_HEADERS, audit_text, summary_text, target_areas,
)
from explorer.services.app_data import AppData
from explorer.services.whatif import RANKING_NAMES, outreach_whatif
from explorer.app.state import (
    RANK_BY, OutreachView, check_store, parse_capacity, query_from_search, require_canonical, risk_options,
    risk_text, text_value,
)
from explorer.domain import access
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


def _area_options(data: AppData) -> list[dict]:
    """The region and its ICSs and places (the what-if's area; its units are the level ranked)."""
    areas = data.bundle.areas
    rows = areas[areas["level"].isin(("ics", "place"))].sort_values(["level", "area_name"])
    return [{"label": f"{data.region_name} (whole region)", "value": ""},
            *({"label": f"{name} ({LEVEL_CONTROL_LABELS.get(lv, lv)})", "value": code}
              for code, name, lv in zip(rows["area_code"], rows["area_name"], rows["level"], strict=True))]


def whatif_panel(data: AppData, view: OutreachView, role: Any, policy: Any) -> list:
    """'What would this reach do?': coverage and SII before -> after for the area and its parent,
    and the equity audit, as tables (figures computed from controlled counts only)."""
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


def _levels(role: Any) -> tuple[str, ...]:
    return tuple(lv for lv in ("place", "pcn") if lv in allowed_levels(role))


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
    view = OutreachView.from_query(query, levels=_levels(role))
    return html.Div([
        dcc.Location(id=ids.OUT_URL, refresh=False),
        dcc.Store(id=ids.OUT_VIEW, data=view.to_query(), storage_type="memory"),
        title,
        html.Div([
            ui.radio(ids.OUT_LEVEL, [(LEVEL_CONTROL_LABELS[lv], lv) for lv in _levels(role)], view.level, "Rank"),
            ui.select(ids.OUT_RISK, risk_options(), risk_text(view.risk), "High-risk definition"),
            ui.radio(ids.OUT_RANK_BY, [(RANK_NAMES[r], r) for r in RANK_BY], view.rank_by, "Rank by"),
            ui.select(ids.OUT_AREA, _area_options(data), view.area or "", "What-if area (and its parent)"),
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
            ui.data_table(ids.OUT_TABLE, page_size=20, caption="Every area in rank order (sort by any column)"),
            html.Button("Download this table (CSV)", id=ids.OUT_DOWNLOAD_BUTTON, n_clicks=0),
            dcc.Download(id=ids.OUT_DOWNLOAD),
            html.P("Downloads are always disclosure-controlled (counts of 1-7 hidden, others rounded to the nearest "
                   "5), whatever your role, and recorded in the audit log.", className="table-note"),
        ], className="figure-block"),
    ], className="outreach-page")


COLUMNS = [("rank", "Rank"), ("area_name", "Area"), ("area_code", "Code"), ("high_risk", "High-risk people"),
           ("high_risk_without_plan", "High-risk without a plan"),
           ("high_risk_plan_coverage", "High-risk with a plan (%)"), ("coverage_ci", "95% CI (%)"),
           ("expected_admissions_without_plan", "Expected admissions without a plan (12 months)"),
           ("gap", "Gap count (plans)"), ("cumulative_without_plan", "Cumulative without a plan"),
           ("reach", "Reached within capacity"), ("targeted", "Target")]


def display_table(ranked: pd.DataFrame) -> pd.DataFrame:
    """Ranked rows as text: '*' for suppressed, thousands separators, 3 s.f. for rates."""
    out = pd.DataFrame({"rank": ranked["rank"], "area_name": ranked["area_name"], "area_code": ranked["area_code"]})

    def count(col: str) -> list[str]:
        flags = ranked.get(f"{col}_suppressed", pd.Series(False, index=ranked.index)).astype(bool)
        return ["*" if f else ("" if pd.isna(v) else f"{float(v):,.0f}") for v, f in zip(ranked[col], flags)]

    for col in ("high_risk", "high_risk_without_plan", "gap"):
        out[col] = count(col)
    hidden = ranked["high_risk_plan_coverage_suppressed"].astype(bool)
    out["high_risk_plan_coverage"] = ["*" if h or pd.isna(v) else f"{float(v):.3g}"
                                      for v, h in zip(ranked["high_risk_plan_coverage"], hidden)]
    out["coverage_ci"] = ["*" if h or pd.isna(lo) else f"{float(lo):.3g} to {float(hi):.3g}"
                          for lo, hi, h in zip(ranked["high_risk_plan_coverage_lower"],
                                               ranked["high_risk_plan_coverage_upper"], hidden)]
    exp_hidden = ranked["expected_admissions_without_plan_suppressed"].astype(bool)
    out["expected_admissions_without_plan"] = ["*" if h or pd.isna(v) else f"{float(v):,.0f}"
                                               for v, h in zip(ranked["expected_admissions_without_plan"], exp_hidden)]
    out["cumulative_without_plan"] = ranked["cumulative_without_plan"].map(lambda v: f"{v:,.0f}")
    out["reach"] = ranked["reach"].map(lambda v: f"{v:,.0f}")
    out["targeted"] = ranked["targeted"].map({True: "Yes", False: ""})
    return out


def _ranked(data: AppData, view: OutreachView, policy: Any) -> pd.DataFrame:
    table = data.outreach(view.level, view.filters, view.risk, policy)
    return target_areas(table, view.capacity, view.rank_by)


def csv_bytes(data: AppData, view: OutreachView) -> str:
    """The download: always under the publication policy, with the synthetic/source note."""
    ranked = _ranked(data, view, access.disclosure_policy_for(current_role(), publication=True))
    table = display_table(ranked)[[col for col, _ in COLUMNS]]  # headers must label their own columns
    table.columns = [name for _, name in COLUMNS]
    buffer = io.StringIO()
    note = theme.source_note(synthetic=data.synthetic)
    buffer.write(f"# Outreach ranking: {LEVEL_CONTROL_LABELS[view.level]} by {RANK_NAMES[view.rank_by].lower()}; "
                 f"high risk = {risk_label(view.risk)}; capacity {view.capacity:,} conversations; "
                 f"{date.today().isoformat()}\n# {note}\n")
    safe_frame(table).to_csv(buffer, index=False)  # area names could be spreadsheet formulas
    return buffer.getvalue()


def register(app: Dash, data: AppData) -> None:
    def current_view(stored: dict) -> tuple[OutreachView, Any]:
        role = current_role()
        problem = _unavailable(data, role)
        if problem:
            raise AccessDenied(problem, role=str(role))
        view = OutreachView.from_query(check_store(stored) or {}, levels=_levels(role))
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
        current = OutreachView.from_query(check_store(stored) or {}, levels=levels)
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
            new = OutreachView.from_query(query_from_search(search), levels=levels)
            if new == current:
                raise PreventUpdate
            return (new.to_query(), no_update, new.level, risk_text(new.risk), new.rank_by, new.capacity,
                    new.area or "", new.whatif)
        query = {**current.to_query(), "level": level, "hr": risk or "", "rank": rank_by,
                 "capacity": "" if capacity is None else str(capacity), "area": area or "", "wif": whatif or ""}
        new = OutreachView.from_query(query, levels=levels)
        if new == current:
            raise PreventUpdate
        return new.to_query(), new.to_search(), no_update, no_update, no_update, no_update, no_update, no_update

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
        Input(ids.OUT_VIEW, "data"),
    )
    def send_ranking(stored: dict) -> tuple:
        view, policy = current_view(stored)
        try:
            ranked = _ranked(data, view, policy)
        except Exception as exc:  # noqa: BLE001
            return ui.notice(f"Not available: {exc}", "warning"), None, [], []
        level = LEVEL_CONTROL_LABELS[view.level]
        reach, areas = ranked.attrs["reach"], ranked.attrs["areas"]
        region = data.value_of(None, "high_risk_without_plan", view.filters.without("risk"), policy, view.risk)
        total = float(region["high_risk_without_plan"]) if not bool(region["high_risk_without_plan_suppressed"]) \
            else ranked.attrs["total"]
        summary = [
            html.H2("What this capacity reaches", className="block-title"),
            html.P([html.Span(f"{reach:,.0f}", className="big-number"),
                    f" high-risk people without a plan can be offered a conversation by starting in the top "
                    f"{areas} {level}s (of {total:,.0f} high-risk people without a plan in {data.region_name}, "
                    f"{reach / total * 100 if total else 0:.1f}%)."]),
            html.P(f"High risk = {risk_label(view.risk)} of emergency admission in the next 12 months. Ranked by "
                   f"{RANK_NAMES[view.rank_by].lower()}. Counts are rounded to the nearest 5.", className="muted"),
        ]
        top = ranked.head(FIGURE_AREAS)
        figure_frame = pd.DataFrame({"area_name": top["area_name"],
                                     "people": pd.to_numeric(top["high_risk_without_plan"], errors="coerce"),
                                     "targeted": top["targeted"]})
        figure = charts.outreach_figure(figure_frame)
        text = describe.describe_series(list(top["area_name"].head(10)),
                                        list(pd.to_numeric(top["high_risk_without_plan"], errors="coerce").head(10)),
                                        what=f"Top {level}s by high-risk people without a plan", unit="people")
        table = display_table(ranked)
        block = ui.figure_block(ui.graph(ids.OUT_FIGURE + "-graph", figure, synthetic=data.synthetic), ui.sr_only(text),
                                html.P("The full ranking is in the table below.", className="muted"),
                                title=f"Top {min(FIGURE_AREAS, len(ranked))} {level}s (targeted areas in colour)",
                                table_label="About this chart", note=None,
                                download=exports.menu("outreach", exports.request_data(
                                    "outreach", view.level, filters=view.filters, risk=view.risk,
                                    capacity=view.capacity, rank_by=view.rank_by)))
        return summary, block, *ui.grid_props([{"name": name, "id": col} for col, name in COLUMNS], ui.records(table))

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
        return dcc.send_string(content, f"outreach-{view.level}-{date.today().isoformat()}.csv", type="text/csv")
