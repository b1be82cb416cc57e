"""Area profile: key metrics against the parent area and the region, the deprivation gradient,
the trend and care-plan cascade, and who lives there."""

from __future__ import annotations

import math
from typing import Any

from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from explorer.app import board_pack, exports, ids
from explorer.app import components as ui
from explorer.app.auth import current_role
from explorer.app.context import allowed_levels, current_data, role_and_policy
from explorer.app.filters_ui import (
    filter_values,
    filters_from_values,
    population_checklists,
)
from explorer.app.pages.search import practice_panel
from explorer.app.presenters.format import (
    COUNT,
    NUMBER,
    difference_words,
    metric_title,
    number_text,
    numeric_table,
    short_unit,
    subject,
)
from explorer.app.presenters.gap import gap_section
from explorer.app.presenters.profile import key_metrics
from explorer.app.state import (
    GRADIENT_GROUPS,
    InvalidInput,
    ProfileView,
    check_store,
    query_from_search,
    require_canonical,
    text_value,
    text_values,
)
from explorer.domain import access
from explorer.domain.access import (
    AccessDenied,
    deprivation_groups_note,
    disclosure_policy_for,
)
from explorer.domain.stats import TREND_CHI2_THRESHOLD
from explorer.figures import charts, describe
from explorer.services.app_data import NO_BREAKDOWN_METRICS, NO_BREAKDOWN_NOTE, AppData
from explorer.vocab import AGE_SEX_SOURCE

MODULE = "explorer.app.pages.profile"
PATH = "/profile"
NAME = "Area profile"
ORDER = 1
DESCRIPTION = "One area against its parent and the region: key metrics, deprivation gradient, trend, population."
SEARCH_LIMIT = 40
SIG_TEXT = {"better": "Better", "worse": "Worse", "similar": "Similar", "higher": "Higher", "lower": "Lower",
            "not compared": "Not compared"}


def _metrics(data: AppData, role: Any) -> tuple[str, ...]:
    """The metrics on offer to `role` (None: all, for tools and tests outside a request)."""
    return tuple(data.metrics if role is None else access.visible_metrics(data.metrics, role))


def _view(data: AppData, query: dict, levels: tuple[str, ...], role: Any = None) -> ProfileView:
    return ProfileView.from_query(query, levels=levels, metrics=_metrics(data, role),
                                  default_metric=data.default_metric(), area_level=data.area_level)


def _stored_view(data: AppData, stored: dict | None, levels: tuple[str, ...], role: Any) -> ProfileView:
    """The view in a callback's store; AccessDenied (403) if it was not written by the app for this role."""
    view = _view(data, dict(check_store(stored) or {}), levels, role)
    require_canonical(stored, view)
    return view


def _area_option(data: AppData, code: str | None) -> dict:
    if code is None:
        return {"label": f"{data.region_name} (whole region)", "value": data.region_code}
    return {"label": f"{data.name_of(code)} ({data.level_label(data.level_of(code))}, {code})", "value": code}


def _area_options(data: AppData, levels: tuple[str, ...], search: str | None, current: str | None) -> list[dict]:
    """Areas matching the typed text (name or code), at the levels the role may see."""
    text = (search or "").strip().lower()
    options = [_area_option(data, None)]
    if current:
        options.append(_area_option(data, current))
    seen = {o["value"] for o in options}
    for level in levels:
        for code in data.geometry[level].codes:
            if len(options) >= SEARCH_LIMIT:
                return options
            name = data.name_of(code)
            if code in seen or (text and text not in name.lower() and text not in code.lower()):
                continue
            if not text and level == "lsoa":
                continue  # 5,000 LSOAs: only when searched for
            options.append(_area_option(data, code))
            seen.add(code)
    return options


def layout(**query: Any) -> html.Div:
    data = current_data()
    try:
        role = current_role()
    except AccessDenied as exc:
        return ui.notice(str(exc), "warning")
    levels = allowed_levels(role)
    view = _view(data, query, levels, role)
    return html.Div([
        dcc.Location(id=ids.PROFILE_URL, refresh=False),
        dcc.Store(id=ids.PROFILE_VIEW, data=view.to_query(), storage_type="memory"),
        html.H1(id=ids.PROFILE_TITLE, children=f"Area profile: {data.name_of(view.area)}", className="page-title"),
        practice_panel(data, query.get("practice")),  # landed here from a practice in the search
        html.Div([
            ui.field("Find an area (part of its name or code)",
                     dcc.Input(id=ids.PROFILE_AREA_SEARCH, type="search", debounce=0.4, value="",
                               placeholder="e.g. Camden or E01000907", autoComplete="off"),
                     ids.PROFILE_AREA_SEARCH),
            ui.select(ids.PROFILE_AREA, _area_options(data, levels, None, view.area),
                      view.area or data.region_code, "Area",
                      help_text=f"The first {SEARCH_LIMIT} areas that match; LSOAs are listed once you search."),
            ui.select(ids.PROFILE_METRIC, [o for o in data.metric_options() if o["value"] in _metrics(data, role)],
                      view.metric,
                      "Metric for the gradient and trend"),
            ui.radio(ids.PROFILE_GROUPS, [("Deciles", "imd_decile"), ("Quintiles", "imd_quintile")], view.groups,
                     "Deprivation groups" + (f" ({note})" if (note := deprivation_groups_note(disclosure_policy_for(role))) else "")),
        ], className="row-controls panel"),
        html.Section([html.H2("Population filters (care-plan metrics): who the profile counts",
                              className="block-title"),
                      html.Div(population_checklists(_filter_id, filter_values(view.filters),
                                                     (f"; {note}" if (note := deprivation_groups_note(
                                                         disclosure_policy_for(role))) else "")),
                               className="profile-filters")], className="panel"),
        board_pack.controls(),
        html.Div(id=ids.PROFILE_FILTER_NOTE),
        html.Section(id=ids.PROFILE_GAP, className="figure-block panel", **{"aria-live": "polite"}),
        html.Section(id=ids.PROFILE_KEY_TABLE, className="figure-block"),
        html.Div([html.Div(id=ids.PROFILE_GRADIENT), html.Div(id=ids.PROFILE_TREND)], className="grid-2"),
        html.Div(id=ids.PROFILE_CASCADE),
        html.Section([html.H2("Who lives here", className="block-title"),
                      html.Div(id=ids.PROFILE_POPULATION, className="grid-2")], className="panel"),
    ], className="profile-page")


def _filter_id(key: str) -> dict:
    return {"type": ids.PROFILE_FILTERS, "key": key}


def _sig_badge(code: str) -> html.Span:
    return html.Span(SIG_TEXT.get(code, code), className=f"sig sig-{code.split()[0]}")


def key_metrics_section(data: AppData, view: ProfileView, policy: Any, role: Any) -> list:
    """The key metrics against the parent (when it is below the region) and the region, filtered
    alike. Counts are not rated against a benchmark; numerator / denominator only where they are
    the value's own; lower and upper 95% limits in their own columns."""
    frame = key_metrics(data, view.area, view.effective_filters, view.risk, policy)
    parent = frame.attrs.get("parent")
    frame = access.strip_clinical_columns(frame, role, metric_col="metric")  # no completeness for social care
    flt = view.effective_filters
    region = subject(data, "", None, flt, comparator=data.region_name).comparator_label or data.region_name
    above = subject(data, "", parent, flt, comparator=data.name_of(parent)).comparator_label if parent else None
    head = ["Metric (unit)", "Value", "Lower 95% CI", "Upper 95% CI", "Numerator", "Denominator"]
    if above:
        head += [above, f"Compared with {data.name_of(parent)}"]
    if view.area:
        head += [region, f"Compared with {data.region_name}"]
    rows = []
    for _, r in frame.iterrows():
        cells = [html.Th(r["label"], scope="row"), html.Td("*" if r["hidden"] else number_text(r["value"], r["kind"])),
                 html.Td(number_text(r["lower"], r["kind"])), html.Td(number_text(r["upper"], r["kind"])),
                 html.Td(number_text(r["numerator"], "count")), html.Td(number_text(r["denominator"], "count"))]
        if above:
            cells += [html.Td(number_text(r["parent"], r["kind"])), html.Td(_sig_badge(r["_vs_parent"]))]
        if view.area:
            cells += [html.Td(number_text(r["region"], r["kind"])), html.Td(_sig_badge(r["_vs_region"]))]
        rows.append(html.Tr(cells))
    what = subject(data, "Key metrics", view.area, flt, role=role, comparator=None if not view.area else
                   data.region_name)
    caption = what.caption() + " Significance: the area's 95% confidence interval against the benchmark's value."
    hidden = [str(r["label"]) for _, r in frame.iterrows() if r["hidden"]]
    note = (f"* = suppressed: {'; '.join(hidden)} (fewer than 8 people, or hidden so it cannot be worked out "
            "from other figures)." if hidden else "No value in this table is suppressed.")
    return [html.H2("Key metrics", className="block-title"),
            html.Div(html.Table([html.Caption(caption, className="table-note"),
                                 html.Thead(html.Tr([html.Th(h, scope="col") for h in head])),
                                 html.Tbody(rows)], className="key-table"), style={"overflowX": "auto"}),
            html.P(note + " Counts (people, plans, admissions) are sizes, not rates, so they are not compared with "
                   "a benchmark; numerator and denominator are shown only where the value is their ratio. "
                   "Better/worse uses each metric's direction; metrics with no direction show higher/lower.",
                   className="table-note", id=ids.PROFILE_KEY_TABLE + "-note")]


def gradient_section(data: AppData, view: ProfileView, policy: Any) -> list:
    info = data.metric(view.metric)
    group = "decile" if view.groups == "imd_decile" else "quintile"
    title = f"{info.label} by deprivation ({group})"
    if info.source == "geography" or not data.has_engine():
        return [html.Section([html.H2(title, className="block-title"),
                              ui.notice("The deprivation gradient needs a care-plan metric (choose one above).")],
                             className="figure-block")]
    if view.metric in NO_BREAKDOWN_METRICS:
        return [html.Section([html.H2(title, className="block-title"), ui.notice(NO_BREAKDOWN_NOTE)],
                             className="figure-block")]
    try:
        frame, sii = data.gradient(view.area, view.metric, view.groups, view.effective_filters, view.risk, policy)
    except Exception as exc:  # noqa: BLE001
        return [html.Section([html.H2(title, className="block-title"),
                              ui.notice(f"Not available: {exc}", "warning")], className="figure-block")]
    unit = short_unit(info)
    region = data.value_of(None, view.metric, view.effective_filters, policy,
                           view.risk if info.needs_risk else None)[view.metric]
    sii_value = sii.get("sii", math.nan)
    sii_text = (f"Slope index of inequality {sii_value:.3g} (95% CI {sii.get('sii_lower', math.nan):.3g} to "
                f"{sii.get('sii_upper', math.nan):.3g}) {difference_words(unit)}: least minus most deprived"
                if math.isfinite(sii_value) else
                "Slope index of inequality not shown: it needs a value for every deprivation group.")
    figure = charts.gradient_figure(frame, label=info.label, unit=unit, comparator=float(region)
                                    if region is not None and not _isnan(region) else None,
                                    comparator_name=data.region_name)
    summary = describe.describe_gradient(frame, label=info.label, unit=unit, sii=sii_value,
                                         sii_lower=sii.get("sii_lower"), sii_upper=sii.get("sii_upper"),
                                         group=group)
    table, columns = numeric_table(frame, [("label", "IMD group", None), ("value", metric_title(info), NUMBER),
                                           ("lower", "Lower 95% CI", NUMBER), ("upper", "Upper 95% CI", NUMBER),
                                           ("numerator", "Numerator", COUNT),
                                           ("denominator", f"Denominator ({info.denominator})", COUNT)])
    graph = ui.graph(ids.PROFILE_GRADIENT + "-graph", figure, synthetic=data.shows_synthetic(info.name))
    return [ui.figure_block(graph, ui.sr_only(summary),
                            ui.data_table(ids.PROFILE_GRADIENT_TABLE, columns, ui.records(table)),
                            title=title, download=_download(data, view, "gradient", by=view.groups)),
            html.P(sii_text, className="table-note")]


def trend_section(data: AppData, view: ProfileView, policy: Any) -> list:
    info = data.metric(view.metric)
    title = f"{info.label}: monthly trend"
    if info.source == "geography" or not data.has_engine():
        return [html.Section([html.H2(title, className="block-title"),
                              ui.notice("Trends are available for care-plan metrics.")], className="figure-block")]
    if view.metric in NO_BREAKDOWN_METRICS:
        return [html.Section([html.H2(title, className="block-title"), ui.notice(NO_BREAKDOWN_NOTE)],
                             className="figure-block")]
    try:
        frame, test = data.trend(view.area, view.metric, view.effective_filters, view.risk, policy)
    except Exception as exc:  # noqa: BLE001
        return [html.Section([html.H2(title, className="block-title"), ui.notice(f"Not available: {exc}", "warning")],
                             className="figure-block")]
    unit = short_unit(info)
    figure = charts.trend_figure(frame, label=info.label, unit=unit, name=data.name_of(view.area))
    statistic = test.get("statistic", math.nan)
    if statistic is None or not math.isfinite(float(statistic)):
        verdict = "Recent trend (last 5 months): cannot be calculated."
    elif test.get("significant"):
        verdict = (f"Recent trend (last 5 months): {test.get('direction', 'changing')}, statistically significant "
                   f"(chi-square {float(statistic):.2f} > {TREND_CHI2_THRESHOLD}).")
    else:
        verdict = (f"Recent trend (last 5 months): no significant change (chi-square {float(statistic):.2f} ≤ "
                   f"{TREND_CHI2_THRESHOLD}).")
    values = [float(v) if not _isnan(v) else math.nan for v in frame["value"]]
    summary = describe.describe_series(list(frame["period"])[-6:], values[-6:], what=f"{info.label}, last 6 months",
                                       unit=unit) + " " + verdict
    table, columns = numeric_table(frame, [("period", "Month", None), ("value", metric_title(info), NUMBER),
                                           ("lower", "Lower 95% CI", NUMBER), ("upper", "Upper 95% CI", NUMBER),
                                           ("numerator", "Numerator", COUNT),
                                           ("denominator", f"Denominator ({info.denominator})", COUNT)])
    graph = ui.graph(ids.PROFILE_TREND + "-graph", figure, synthetic=data.shows_synthetic(info.name))
    return [ui.figure_block(graph, ui.sr_only(summary),
                            ui.data_table(ids.PROFILE_TREND + "-table", columns, ui.records(table), page_size=6),
                            title=title, download=_download(data, view, "trend")), html.P(verdict, className="table-note")]


def cascade_section(data: AppData, view: ProfileView, policy: Any, role: Any) -> list:
    title = "Care-plan cascade"
    if not data.has_engine() or not any(m.source == "cells" for m in data.metrics.values()):
        return []
    try:
        frame = data.cascade(view.area, view.filters, view.risk, policy)
    except Exception as exc:  # noqa: BLE001
        return [html.Section([html.H2(title, className="block-title"), ui.notice(f"Not available: {exc}", "warning")],
                             className="figure-block")]
    who = "high-risk people" if frame.attrs.get("high_risk") else "registered people (no risk model yet)"
    # steps built on "all key items recorded" (resuscitation decision, ceiling of treatment) are clinical
    frame = access.strip_clinical_columns(frame, role, metric_col="measure")
    figure = charts.cascade_figure(frame)
    summary = describe.describe_series(list(frame["stage"]), list(frame["count"]), what=f"Cascade of {who}",
                                       unit="people")
    table = frame[["stage", "count", "share"]].round(1)
    table = table.astype(object).where(table.notna(), "*")
    table.columns = ["Stage", "People", "% of the first stage"]
    graph = ui.graph(ids.PROFILE_CASCADE + "-graph", figure, synthetic=data.synthetic)
    return [ui.figure_block(graph, ui.sr_only(summary),
                            ui.data_table(ids.PROFILE_CASCADE + "-table", [{"name": c, "id": c} for c in table.columns],
                                          ui.records(table)),
                            title=f"{title}: {who} in {data.name_of(view.area)}",
                            download=_download(data, view, "cascade"))]


def population_section(data: AppData, view: ProfileView, policy: Any) -> list:
    parts = data.population_profile(view.area, policy)
    blocks = []
    pyramid = parts["age_sex"]
    pyr = pyramid.assign(population=[None if s else v for v, s in zip(pyramid["population"],
                                                                        pyramid["population_suppressed"])])
    blocks.append(ui.figure_block(
        ui.graph(ids.PROFILE_POPULATION + "-age-sex", charts.pyramid_figure(pyr)),  # official statistics
        ui.sr_only(describe.describe_series([f"{r.sex} {r.age_band}" for r in pyr.itertuples()],
                                            [float(p) if p is not None else math.nan for p in pyr["population"]],
                                            what=f"Residents by sex and age band ({AGE_SEX_SOURCE})",
                                            unit="people")),
        ui.data_table(ids.PROFILE_POPULATION + "-age-sex-table",
                      [{"name": "Age band", "id": "age_band"}, {"name": "Sex", "id": "sex"},
                       {"name": "People", "id": "population"}],
                      ui.records(pyr.astype(object).where(pyr.notna(), "*"), ["age_band", "sex", "population"]),
                      page_size=10),
        title=f"Age and sex ({AGE_SEX_SOURCE})", download=_download(data, view, "population", by="age_sex")))
    titles = {"ethnic_group": ("Ethnic group (Census 2021)", "Ethnic group"),
              "disability": ("Disability (Census 2021, Equality Act)", "Disability"),
              "imd_decile": ("Residents by IMD 2025 decile (1 = most deprived)", "IMD decile")}
    for key, (title, col) in titles.items():
        frame = parts[key]
        shown = frame.assign(count=[None if s else c for c, s in zip(frame["count"], frame["count_suppressed"])])
        table = shown[["category", "count", "value"]].round(1)
        table = table.astype(object).where(table.notna(), "*")
        table.columns = [col, "People", "% of residents"]
        blocks.append(ui.figure_block(
            ui.graph(f"{ids.PROFILE_POPULATION}-{key}", charts.share_bar_figure(shown, label="Share of residents")),
            ui.sr_only(describe.describe_series(list(frame["category"]), list(frame["value"]),
                                                what=f"{title}: share of residents", unit="%")),
            ui.data_table(f"{ids.PROFILE_POPULATION}-{key}-table", [{"name": c, "id": c} for c in table.columns],
                          ui.records(table), page_size=10),
            title=title, download=_download(data, view, "population", by=key)))
    return blocks


def _download(data: AppData, view: ProfileView, kind: str, by: str | None = None) -> Any:
    """The figure's PNG/SVG/PDF menu: what it shows, for the download callback (explorer.app.exports)."""
    metric = view.metric if kind in ("gradient", "trend") else None
    filters = None if kind == "population" else view.effective_filters if metric else view.filters
    return exports.menu(f"profile-{kind}-{by or ''}", exports.request_data(
        kind, data.level_of(view.area), area=view.area, metric=metric, filters=filters, by=by, risk=view.risk))


def _isnan(v: Any) -> bool:
    try:
        return v is None or math.isnan(float(v))
    except (TypeError, ValueError):
        return True


def register(app: Dash, data: AppData) -> None:
    def current_view(stored: dict) -> tuple[ProfileView, Any]:
        role = current_role()
        view = _stored_view(data, stored, allowed_levels(role), role)
        level = data.level_of(view.area) if view.area else None
        _, policy = role_and_policy(level)
        return view, policy

    @app.callback(
        Output(ids.PROFILE_VIEW, "data"),
        Output(ids.PROFILE_URL, "search"),
        Output(ids.PROFILE_AREA, "value"),
        Output(ids.PROFILE_METRIC, "value"),
        Output(ids.PROFILE_GROUPS, "value"),
        Output(_filter_id(ALL), "value"),
        Input(ids.PROFILE_AREA, "value"),
        Input(ids.PROFILE_METRIC, "value"),
        Input(ids.PROFILE_GROUPS, "value"),
        Input(_filter_id(ALL), "value"),
        Input(ids.PROFILE_URL, "search"),
        State(ids.PROFILE_VIEW, "data"),
        State(ids.PROFILE_URL, "pathname"),
        prevent_initial_call=True,
    )
    def update_view(area: str | None, metric: str | None, groups: str | None, checked: list, search: str | None,
                    stored: dict, pathname: str | None) -> tuple:
        role = current_role()
        keys = [o["id"]["key"] for o in ctx.outputs_list[-1]]
        if not isinstance(checked, list) or len(checked) != len(keys):
            raise InvalidInput("Malformed request: the population filters must be one list per filter.")
        values = {k: text_values(v, k) for k, v in zip(keys, checked, strict=True)}
        levels = allowed_levels(role)
        current = _stored_view(data, stored, levels, role)
        area, metric, groups = text_value(area, "area"), text_value(metric, "metric"), text_value(groups, "groups")
        search, pathname = text_value(search, "search"), text_value(pathname, "pathname")
        if ctx.triggered_id == ids.PROFILE_URL:
            if pathname != PATH:
                raise PreventUpdate
            new = _view(data, query_from_search(search), levels, role)
            if new == current:
                raise PreventUpdate
            shown = filter_values(new.filters)
            return (new.to_query(), no_update, new.area or data.region_code, new.metric, new.groups,
                    [shown.get(k, []) for k in keys])
        code = None if area in (None, "", data.region_code) else area
        if code is not None and (code not in data.area_level or data.level_of(code) not in levels):
            raise AccessDenied(f"Area {code!r} is not one your role may see.", role=str(role))
        access.check_clinical(role, [metric] if metric in data.metrics else [])
        new = current.with_(area=code, metric=metric if metric in data.metrics else current.metric,
                            groups=groups if groups in GRADIENT_GROUPS else current.groups,
                            filters=filters_from_values(values, current.filters) if keys else current.filters)
        if new == current:
            raise PreventUpdate
        return new.to_query(), new.to_search(), no_update, no_update, no_update, [no_update] * len(keys)

    @app.callback(
        Output(ids.PROFILE_AREA, "options"),
        Input(ids.PROFILE_AREA_SEARCH, "value"),
        State(ids.PROFILE_VIEW, "data"),
    )
    def area_options(search: str | None, stored: dict) -> list[dict]:
        role = current_role()
        view = _stored_view(data, stored, allowed_levels(role), role)
        return _area_options(data, allowed_levels(role), text_value(search, "area search"), view.area)

    @app.callback(
        Output(ids.PROFILE_TITLE, "children"),
        Output(ids.PROFILE_FILTER_NOTE, "children"),
        Output(ids.PROFILE_KEY_TABLE, "children"),
        Input(ids.PROFILE_VIEW, "data"),
    )
    def send_key_metrics(stored: dict) -> tuple:
        view, policy = current_view(stored)
        parent = data.parent_of.get(view.area) if view.area else None
        flt = view.effective_filters
        title = subject(data, "Area profile", view.area, flt).title() + (
            f" (in {data.name_of(parent)})" if view.area and parent and parent != data.region_code else "")
        note = None if flt.is_empty else ui.notice(
            f"Care-plan metrics are for: {flt.describe()} (population filters above; kept on every page).", "info")
        return title, note, key_metrics_section(data, view, policy, current_role())

    @app.callback(Output(ids.PROFILE_GAP, "children"), Input(ids.PROFILE_VIEW, "data"))
    def send_gap(stored: dict) -> list:
        view, policy = current_view(stored)
        return gap_section(data, view, policy, current_role())

    @app.callback(Output(ids.PROFILE_GRADIENT, "children"), Input(ids.PROFILE_VIEW, "data"))
    def send_gradient(stored: dict) -> list:
        view, policy = current_view(stored)
        return gradient_section(data, view, policy)

    @app.callback(Output(ids.PROFILE_TREND, "children"), Output(ids.PROFILE_CASCADE, "children"),
                  Input(ids.PROFILE_VIEW, "data"))
    def send_trend(stored: dict) -> tuple:
        view, policy = current_view(stored)
        return trend_section(data, view, policy), cascade_section(data, view, policy, current_role())

    @app.callback(Output(ids.PROFILE_POPULATION, "children"), Input(ids.PROFILE_VIEW, "data"))
    def send_population(stored: dict) -> list:
        view, policy = current_view(stored)
        return population_section(data, view, policy)

    board_pack.register(app, data, lambda stored: current_view(stored)[0].area)
