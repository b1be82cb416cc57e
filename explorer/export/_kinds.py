"""The drawing of each figure kind from a checked request: the app's services and figure builders,
with the numbers behind each figure as a tidy table (numbers as numbers, NaN where suppressed)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from explorer.domain import access
from explorer.domain.disclosure import CountSpec, apply_policy
from explorer.export.items import ExportError, Resolved
from explorer.figures import charts, describe, maps, theme
from explorer.figures import classify as cl
from explorer.figures.model_card import calibration_figure, calibration_summary
from explorer.figures.spine import spine_figure
from explorer.figures.units import difference_words, metric_title, short_unit
from explorer.services.app_analyses import GROUP_TITLES, RANK_NAMES, target_areas
from explorer.services.app_cache import CacheKey, builds
from explorer.services.app_geometry import print_features
from explorer.services.area_views import Scope, area_frame, ordered_metrics, spine_frame
from explorer.vocab import AGE_SEX_SOURCE, LEVEL_CONTROL_LABELS

OUTREACH_AREAS = 15  # as the outreach page's chart
COUNT_TEXT = "%{x:,.0f}"


@dataclass
class Drawn:
    figure: go.Figure
    table: pd.DataFrame
    title: str
    alt_text: str
    units: str
    synthetic: bool
    legend_on_side: bool = False
    note: str = ""  # a sentence for the footnote (e.g. areas not plotted)
    extra: dict = field(default_factory=dict)


def _num(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _units(r: Resolved) -> str:
    info = r.info
    if info is None:
        return ""
    return f"Units: {info.unit}" + (f"; denominator: {info.denominator}" if info.denominator else "")


def _suppressed_key(fig: go.Figure, shown: bool) -> None:
    """A legend key for the suppressed class, drawn only in the legend (bars and points have gaps)."""
    if shown:
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=theme.SUPPRESSED_LABEL + " (not drawn)",
                                 marker={"symbol": "square", "size": 12, "color": theme.SUPPRESSED_COLOUR},
                                 hoverinfo="skip", showlegend=True))
        fig.update_layout(showlegend=True)


def _metric_table(table: pd.DataFrame, m: str) -> pd.DataFrame:
    hidden = table[f"{m}_suppressed"].astype(bool).to_numpy()
    out = pd.DataFrame({"area_code": table["area_code"].astype(str).to_numpy(),
                        "area_name": table["area_name"].astype(str).to_numpy()})
    for col, src in (("value", m), ("numerator", f"{m}_numerator"), ("denominator", f"{m}_denominator"),
                     ("lower", f"{m}_lower"), ("upper", f"{m}_upper")):
        values = _num(table[src])
        if col != "denominator":
            values = np.where(hidden, np.nan, values)
        out[col] = values
    out["suppressed"] = hidden
    return out


# --------------------------------------------------------------------------- kinds


@builds("print_geometry")
def _build_print_geometry(data, key: CacheKey) -> list[dict]:
    """The boundaries of a level within an area, simplified for print (cached: built once per view)."""
    return print_features(data.geometry[key.level], data.codes_within(key.level, key.extra[0]))


def _map(r: Resolved) -> Drawn:
    data, m, info = r.data, r.metric, r.info
    table = data.table(r.level, m, r.filters, r.policy, r.area, r.risk)
    tidy = _metric_table(table.reset_index(drop=True), m)
    unit = short_unit(info)
    values = tidy["value"].to_numpy(dtype=float)
    index, classes = cl.classify(values, tidy["suppressed"].to_numpy(), unit=unit)
    subset = {"type": "FeatureCollection", "features": data.cached(CacheKey("print_geometry", r.level,
                                                                           extra=(r.area,)))}
    fig = maps.vector_choropleth_figure(subset, tidy["area_code"].tolist(), tidy["area_name"].tolist(), values,
                                        index, classes, legend_title=metric_title(info))
    tidy["class"] = [classes.legend[[e.klass for e in classes.legend].index(int(i))].label
                     if int(i) in {e.klass for e in classes.legend} else "" for i in index]
    shown = np.isfinite(values)
    extremes = None
    if shown.any():
        order = np.argsort(np.where(shown, values, np.inf))
        lo, hi = order[0], order[int(shown.sum()) - 1]
        extremes = ((tidy["area_name"][hi], float(values[hi])), (tidy["area_name"][lo], float(values[lo])))
    level_label = LEVEL_CONTROL_LABELS[r.level]
    text = describe.describe_map(n_areas=len(tidy), level_label=level_label, within=r.area_name,
                                 metric_label=info.label, classes=classes,
                                 highest=extremes[0] if extremes else None, lowest=extremes[1] if extremes else None)
    title = f"{info.label} by {level_label} in {r.area_name}"
    return Drawn(fig, tidy, title, text, _units(r), data.shows_synthetic(m), legend_on_side=True,
                 note="Classes: quantiles of the areas shown.")


def _gradient(r: Resolved) -> Drawn:
    data, m, info = r.data, r.metric, r.info
    frame, sii = data.gradient(r.area, m, r.by, r.filters, r.risk, r.policy)
    unit = short_unit(info)
    gap = difference_words(unit)  # the SII is a gap: percentage points for a percentage
    region = data.value_of(None, m, r.filters, r.policy, r.risk)[m]
    value = sii.get("sii", math.nan)
    sii_value = (f"Slope index of inequality {value:.3g} (95% CI {sii['sii_lower']:.3g} to {sii['sii_upper']:.3g})"
                 f" {gap}" if math.isfinite(value) else "")
    sii_text = (f"{sii_value}: least minus most deprived" if sii_value else
                "Slope index of inequality not shown: it needs a value for every deprivation group.")
    shown = frame.assign(value=frame["value"].where(~frame["suppressed"].astype(bool)))
    fig = charts.gradient_figure(shown, label=info.label, unit=unit, comparator=float(region) if pd.notna(region)
                                 else None, comparator_name=data.region_name)
    if sii_value:  # the SII in the legend, beside its line (the chart's own note would meet the footnote)
        fig.update_traces(name=sii_value, selector={"mode": "lines"})
    _suppressed_key(fig, bool(frame["suppressed"].astype(bool).any()))
    table = shown[["group", "label", "value", "lower", "upper", "numerator", "denominator", "suppressed"]
                  + (["fitted"] if "fitted" in shown else [])].copy()
    for col in ("value", "lower", "upper", "numerator", "denominator"):
        table[col] = _num(table[col])
    table.attrs["sii"] = dict(sii)
    group = "decile" if r.by == "imd_decile" else "quintile"
    alt = describe.describe_gradient(shown, label=info.label, unit=unit, sii=value, sii_lower=sii.get("sii_lower"),
                                     sii_upper=sii.get("sii_upper"), group=group)
    return Drawn(fig, table, f"{info.label} by deprivation {group} in {r.area_name}", alt, _units(r),
                 data.shows_synthetic(m), note=sii_text + ".")


def _trend(r: Resolved) -> Drawn:
    data, m, info = r.data, r.metric, r.info
    frame, test = data.trend(r.area, m, r.filters, r.risk, r.policy)
    unit = short_unit(info)
    hidden = frame["suppressed"].astype(bool) if "suppressed" in frame else pd.Series(False, index=frame.index)
    shown = frame.assign(value=frame["value"].where(~hidden))
    fig = charts.trend_figure(shown, label=info.label, unit=unit, name=r.area_name)
    _suppressed_key(fig, bool(hidden.any()))
    stat = test.get("statistic")
    verdict = ("Recent trend (last 5 months): cannot be calculated." if stat is None or not math.isfinite(float(stat))
               else f"Recent trend (last 5 months): {test.get('direction', 'changing')}, statistically significant."
               if test.get("significant") else "Recent trend (last 5 months): no significant change.")
    table = pd.DataFrame({"period": shown["period"].astype(str)})
    for col in ("value", "lower", "upper", "numerator", "denominator"):
        table[col] = _num(shown[col]) if col in shown else np.nan
    table["suppressed"] = hidden.to_numpy()
    table.attrs["trend_test"] = dict(test)
    alt = describe.describe_series(list(table["period"])[-6:], list(table["value"])[-6:],
                                   what=f"{info.label}, last 6 months", unit=unit) + " " + verdict
    return Drawn(fig, table, f"{info.label} in {r.area_name}: monthly trend", alt, _units(r),
                 data.shows_synthetic(m), note=verdict)


def _cascade(r: Resolved) -> Drawn:
    data = r.data
    frame = data.cascade(r.area, r.filters, r.risk, r.policy)
    who = "high-risk people" if frame.attrs.get("high_risk") else "registered people"
    frame = access.strip_clinical_columns(frame, r.role, metric_col="measure").reset_index(drop=True)
    fig = charts.cascade_figure(frame)
    fig.update_traces(texttemplate=COUNT_TEXT, textposition="outside", cliponaxis=False, selector={"type": "bar"})
    fig.update_xaxes(tickformat=",")
    _suppressed_key(fig, bool(frame["suppressed"].any()))
    table = frame[["stage", "count", "share", "suppressed"]].copy()
    alt = describe.describe_series(list(table["stage"]), list(table["count"]), what=f"Cascade of {who}",
                                   unit="people")
    return Drawn(fig, table, f"Care-plan cascade: {who} in {r.area_name}", alt, "Units: people (counts)",
                 data.synthetic)


def _inequalities(r: Resolved) -> Drawn:
    data, m, info = r.data, r.metric, r.info
    frame = data.groups_table(r.area, m, r.by, r.filters, r.risk, r.policy)
    unit = short_unit(info)
    comparator = frame.attrs.get("comparator")
    hidden = frame["suppressed"].astype(bool)
    shown = frame.assign(group=frame["label"], value=frame["value"].where(~hidden))
    cname = data.region_name
    fig = charts.group_figure(shown, label=info.label, unit=unit, comparator=comparator, comparator_name=cname)
    _suppressed_key(fig, bool(hidden.any()))
    table = frame.rename(columns={"group": "group_code", "label": "group"}).copy()
    for col in ("value", "lower", "upper", "numerator", "denominator"):
        table[col] = np.where(hidden & (col != "denominator"), np.nan, _num(table[col]))
    table.attrs["comparator"] = comparator
    by = GROUP_TITLES[r.by].lower()
    alt = describe.describe_groups(shown, label=info.label, unit=unit, by_label=by, comparator=comparator,
                                   comparator_name=cname)
    return Drawn(fig, table, f"{info.label} by {by} in {r.area_name}", alt, _units(r), data.shows_synthetic(m),
                 note=f"Bars: blue = significantly better than {cname}, orange = worse, grey = similar (95% CIs).")


def _funnel(r: Resolved) -> Drawn:
    data, m, info = r.data, r.metric, r.info
    # as the inequalities page: the areas inside `area` around its own value (the region's without one)
    points, limits, comparator = data.funnel(r.level, m, r.filters, r.risk, r.policy, within=r.area,
                                             benchmark=r.area)
    unit = short_unit(info)
    cname = data.name_of(r.area)
    fig = charts.funnel_figure(points, limits, label=info.label, unit=unit, comparator=comparator,
                               comparator_name=cname, denominator_label=info.denominator.capitalize())
    hidden = int(points.attrs.get("hidden", 0))
    _suppressed_key(fig, hidden > 0)
    # every area at the level, as the other tables: plotted ones, then those not plotted (NaN values,
    # `suppressed` True where disclosure control withheld the value, False where there was none)
    left = pd.DataFrame(points.attrs.get("not_plotted", []), columns=["area_code", "area_name", "suppressed"])
    table = pd.concat([points.assign(suppressed=False),
                       left.assign(value=np.nan, denominator=np.nan, position="not plotted")],
                      ignore_index=True)[[*points.columns, "suppressed"]]
    table["suppressed"] = table["suppressed"].astype(bool)
    table.attrs = {"comparator": comparator, "hidden": hidden}
    alt = describe.describe_funnel(points, label=info.label, comparator_name=cname)
    return Drawn(fig, table, f"Funnel plot: {info.label} by {LEVEL_CONTROL_LABELS[r.level]} against "
                 f"{cname}", alt, _units(r), data.shows_synthetic(m),
                 note=f"{hidden} area(s) not plotted (suppressed or no denominator). Limits: 95% and 99.8% around "
                      f"the {cname} value.")


def _outreach(r: Resolved) -> Drawn:
    data = r.data
    ranked = target_areas(data.outreach(r.level, r.filters, r.risk, r.policy, within=r.area), r.capacity, r.rank_by,
                          r.policy.statistics_rounding)
    top = ranked.head(OUTREACH_AREAS)
    people = _num(top["high_risk_without_plan"])
    fig = charts.outreach_figure(pd.DataFrame({"area_name": top["area_name"], "people": people,
                                               "targeted": top["targeted"]}))
    fig.update_traces(texttemplate=COUNT_TEXT, textposition="outside", cliponaxis=False, selector={"type": "bar"})
    fig.update_xaxes(tickformat=",")
    _suppressed_key(fig, bool(top["high_risk_without_plan_suppressed"].astype(bool).any()))
    keep = ["rank", "area_code", "area_name", "high_risk", "high_risk_without_plan", "high_risk_plan_coverage",
            "high_risk_plan_coverage_lower", "high_risk_plan_coverage_upper", "expected_admissions_without_plan",
            "gap", "targeted"]
    table = ranked[[c for c in keep if c in ranked]].copy()
    table.attrs.update(capacity=r.capacity, rank_by=r.rank_by)  # with reach, areas, total: the plan's terms
    for col in table.columns:
        if col not in ("rank", "area_code", "area_name", "targeted"):
            table[col] = _num(table[col])
    level = LEVEL_CONTROL_LABELS[r.level]
    alt = describe.describe_series(list(top["area_name"].head(10)), list(people[:10]),
                                   what=f"Top {level}s by high-risk people without a plan", unit="people")
    return Drawn(fig, table, f"Top {min(OUTREACH_AREAS, len(ranked))} {level}s in {r.area_name} by "
                 f"{RANK_NAMES[r.rank_by].lower()}", alt, "Units: people (counts)", data.synthetic,
                 note=f"Bars: high-risk people without a care plan. Coloured: the areas a team with {r.capacity:,} "
                      "planning conversations would start with.")


POPULATION_TITLES = {"age_sex": f"Residents by age and sex ({AGE_SEX_SOURCE})",
                     "ethnic_group": "Residents by ethnic group (Census 2021)",
                     "disability": "Residents by disability (Census 2021, Equality Act)",
                     "imd_decile": "Residents by IMD 2025 decile (1 = most deprived)"}


def _population(r: Resolved) -> Drawn:
    parts = r.data.population_profile(r.area, r.policy)
    frame = parts[r.by]
    if r.by == "age_sex":
        hidden = frame["population_suppressed"].astype(bool)
        table = frame.assign(population=np.where(hidden, np.nan, _num(frame["population"])), suppressed=hidden)
        table = table[["age_band", "sex", "population", "suppressed"]]
        fig = charts.pyramid_figure(table)
        values, labels, unit = list(table["population"]), [f"{s} {a}" for a, s in zip(table["age_band"],
                                                                                         table["sex"])], "people"
    else:
        hidden = frame["count_suppressed"].astype(bool)
        table = pd.DataFrame({"category": frame["category"], "count": np.where(hidden, np.nan, _num(frame["count"])),
                              "share": _num(frame["value"]), "suppressed": hidden.to_numpy()})
        fig = charts.share_bar_figure(table.rename(columns={"share": "value"}), label="Share of residents")
        fig.update_traces(texttemplate="%{x:.1f}%", textposition="outside", cliponaxis=False)
        values, labels, unit = list(table["share"]), list(table["category"]), "%"
    _suppressed_key(fig, bool(hidden.any()))
    title = f"{POPULATION_TITLES[r.by]}: {r.area_name}"
    alt = describe.describe_series(labels, values, what=title, unit=unit)
    units = "Units: people" if r.by == "age_sex" else "Units: % of residents"
    return Drawn(fig, table.reset_index(drop=True), title, alt, units, False)  # official statistics


def _calibration(r: Resolved) -> Drawn:
    from explorer.services.models import region_report

    report = region_report(r.data.settings, r.data.region)
    fig = calibration_figure(report)
    fig.update_layout(title=None, legend=None)
    theme.house_style(fig)
    deciles = pd.DataFrame(report["deciles"])
    table = apply_policy(deciles, [CountSpec("n"), CountSpec("observed")], r.policy)
    table = table.rename(columns={"observed_rate_lower": "lower", "observed_rate_upper": "upper"})
    summary = calibration_summary(report)
    note = f"{summary[:1].upper()}{summary[1:]} (held-out people)." if summary else ""
    alt = describe.describe_series([f"decile {d}" for d in deciles["decile"]], list(deciles["observed_rate"] * 100),
                                   what="Observed emergency admission rate by predicted-risk decile", unit="%")
    return Drawn(fig, table, "Risk model calibration: observed against predicted emergency admission", alt,
                 "Units: share of people admitted in 12 months", r.data.synthetic, note=note)


def _spine(r: Resolved) -> Drawn:
    """The spine chart of one area against the region (the page's comparator choices and groups stay
    on screen: an export is one request, checked like the others)."""
    data = r.data
    if r.area is None:
        raise ExportError("a spine chart is of one area: give --area (an ICS, place, PCN or LSOA code)")
    metrics = ordered_metrics(data, access.visible_metrics(list(data.metrics), r.role))
    frame = spine_frame(data, r.area, metrics, Scope(r.filters, r.risk, r.policy))
    frame["short_unit"] = [short_unit(data.metric(m)) for m in frame["metric"]]
    parent = frame.attrs.get("parent")
    fig = spine_figure(frame, area_name=r.area_name, comparator_name=data.region_name,
                       parent_name=data.name_of(parent) if parent else None)
    table = frame.drop(columns=["short_unit"])
    table.loc[table["suppressed"].astype(bool), ["value", "lower", "upper"]] = np.nan
    alt = describe.describe_spine(frame, area_name=r.area_name, comparator_name=data.region_name)
    return Drawn(fig, table, f"Spine chart: {r.area_name} against {data.region_name}", alt,
                 "Units: each metric's own (see the table)", any(data.shows_synthetic(m) for m in frame["metric"]),
                 note=f"Bars: the range of the {LEVEL_CONTROL_LABELS[r.level]} areas of {data.region_name} (darker: "
                      "25th to 75th percentile); circles: better / similar / worse by 95% CI; counts not compared.")


def _compare(r: Resolved) -> Drawn:
    """The compare-areas bars: the areas at the level within the area, against it, highest first."""
    data, m, info = r.data, r.metric, r.info
    frame = area_frame(data, r.level, r.area, m, Scope(r.filters, r.risk, r.policy))
    comparator, cname = frame.attrs["comparator"], frame.attrs["comparator_name"]
    frame = frame.assign(_v=frame["value"].where(~frame["suppressed"])).sort_values(
        ["_v", "area_name"], ascending=[False, True], na_position="last", kind="stable")
    unit = short_unit(info)
    bars = frame.assign(group=frame["area_name"], value=frame["_v"])
    fig = charts.group_figure(bars, label=info.label, unit=unit, comparator=comparator, comparator_name=cname)
    _suppressed_key(fig, bool(frame["suppressed"].any()))
    table = frame.drop(columns=["_v"]).assign(value=frame["_v"]).reset_index(drop=True)
    table.attrs["comparator"] = comparator
    alt = describe.describe_groups(bars, label=info.label, unit=unit, by_label="area", comparator=comparator,
                                   comparator_name=cname)
    return Drawn(fig, table, f"{info.label} by {LEVEL_CONTROL_LABELS[r.level]} in {r.area_name}", alt, _units(r),
                 data.shows_synthetic(m),
                 note=f"Bars: blue = significantly better than {cname}, orange = worse, grey = similar (95% CIs).")


DRAW: dict[str, Callable[[Resolved], Drawn]] = {
    "map": _map, "gradient": _gradient, "cascade": _cascade, "trend": _trend, "inequalities": _inequalities,
    "funnel": _funnel, "outreach": _outreach, "population": _population, "calibration": _calibration,
    "spine": _spine, "compare": _compare}


def draw(r: Resolved) -> Drawn:
    return DRAW[r.kind](r)
