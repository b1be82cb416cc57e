"""What goes on each slide of an area's board pack: figures from the export items, numbers and
sentences from the same disclosure-controlled tables.

Each chart is the figure export's own drawing (``_figures.chart``: the request checked by
``explorer.export.items.resolve``, drawn from the role's controlled tables, framed for a slide and
rendered to PNG by the warm renderer); the sentences beside it are written by
:mod:`explorer.domain.narrative` from that chart's own table, so a sentence can never quote a
number the chart does not show, nor one that was suppressed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pandas as pd

from explorer.domain import access, narrative
from explorer.domain.access import Capability
from explorer.domain.metrics import DEFAULT_RISK, Filters
from explorer.domain.narrative import Estimate
from explorer.export.items import ExportRequest, resolve
from explorer.export.notes import ExportNotes, export_notes
from explorer.export.pack._figures import Chart, Renderer, chart, default_renderer
from explorer.export.pack._model import Pack, Slide
from explorer.figures.theme import SYNTHETIC_NOTE
from explorer.figures.units import short_unit
from explorer.services.app_data import AppData
from explorer.vocab import LEVEL_LABELS

__all__ = ["KEY_METRICS", "PACK_LEVELS", "build_pack", "check_pack", "key_numbers", "pack_metric"]

PACK_LEVELS = ("ics", "place", "pcn")
KEY_METRICS = ("coverage", "high_risk_plan_coverage", "high_risk_without_plan", "coverage_dsr",
               "reviewed_in_period", "urgent_care_views", "completeness", "imd_score", "population")
INEQUALITY_GROUPS = (("ethnic_group", "Ethnic group"), ("age_band", "Age band"), ("sex", "Sex"))
OUTREACH_TOP = 5
# what the narrative calls a headline measure ("Coverage among high-risk people in X is ...")
PHRASES = {"high_risk_plan_coverage": "Care-plan coverage among high-risk people", "coverage": "Care-plan coverage of residents"}


def pack_metric(data: AppData) -> str:
    """The pack's headline measure: coverage among high-risk people when a risk model exists."""
    return "high_risk_plan_coverage" if "high_risk_plan_coverage" in data.metrics else "coverage"


def check_pack(data: AppData, level: str, area: str, role: str) -> None:
    """Refuse a pack the role may not have, for an unknown or forged area, or at the wrong level
    (ExportError or AccessDenied, before anything is drawn)."""
    from explorer.export.items import ExportError

    if level not in PACK_LEVELS:
        raise ExportError(f"a board pack is made for an ICS, place or PCN: --level {' | '.join(PACK_LEVELS)}")
    if not area:
        raise ExportError("a board pack needs --area CODE (or --all for every area of the level)")
    resolve(data, ExportRequest("cascade", level, area, role=role))  # area, level and role as every export


def _est(row: pd.Series) -> Estimate:
    """A generic row (value, lower, upper, numerator, denominator, suppressed) as an Estimate."""
    return _metric_est(row.rename({"value": "v", "lower": "v_lower", "upper": "v_upper", "numerator": "v_numerator",
                                   "denominator": "v_denominator", "suppressed": "v_suppressed"}), "v")


def _metric_est(row: pd.Series, metric: str) -> Estimate:
    def f(col: str) -> float | None:
        v = row.get(col)
        return float(v) if v is not None and not pd.isna(v) else None

    return Estimate(f(metric), f(f"{metric}_lower"), f(f"{metric}_upper"), bool(row.get(f"{metric}_suppressed", False)),
                    f(f"{metric}_numerator"), f(f"{metric}_denominator"))


def _text(est: Estimate, unit: str, *, exact: bool = False) -> str:
    if est.suppressed:
        return "*"
    if est.value is None:
        return "n/a"
    return f"{est.value:,.0f}" if exact else narrative.format_value(est.value, "%" if unit == "%" else "")


def _ci(est: Estimate) -> str:
    if not est.has_ci:
        return ""
    return f"{narrative.format_value(est.lower)} to {narrative.format_value(est.upper)}"


def _verdict(area: Estimate, bench: Estimate) -> str:
    word = narrative.compare_estimates(area, bench)
    return {"higher": "Higher", "lower": "Lower", "similar": "Similar"}.get(word, "")


def key_numbers(data: AppData, area: str, role: str) -> tuple[pd.DataFrame, list[str]]:
    """The key-numbers table (text cells, suppressed as *) and its sentences: the area against its
    parent and the region, with 95% CIs; every value from the role's controlled tables."""
    policy = access.disclosure_policy_for(role, publication=True)
    parent = data.parent_of.get(area)
    parent = None if parent in (None, data.region_code) else parent
    names = [m for m in access.visible_metrics(KEY_METRICS, role) if m in data.metrics]
    rows, sentences = [], []
    for name in names:
        info = data.metric(name)
        flt = Filters()
        risk = DEFAULT_RISK if info.needs_risk else None
        own = _metric_est(data.value_of(area, name, flt, policy, risk), name)
        region = _metric_est(data.value_of(None, name, flt, policy, risk), name)
        above = _metric_est(data.value_of(parent, name, flt, policy, risk), name) if parent else None
        unit = short_unit(info)
        exact = info.kind == "count"
        row = {"Measure": f"{info.label} ({info.unit})", data.name_of(area): _text(own, unit, exact=exact),
               "95% CI": _ci(own) if info.has_ci else ""}
        if above is not None:
            row[data.name_of(parent)] = _text(above, unit, exact=exact)
            row[f"vs {data.name_of(parent)}"] = _verdict(own, above) if info.has_ci else ""
        row[data.region_name] = _text(region, unit, exact=exact)
        row[f"vs {data.region_name}"] = _verdict(own, region) if info.has_ci else ""
        rows.append(row)
        if name in ("coverage", "high_risk_plan_coverage"):
            benches = ([(data.name_of(parent), above)] if above is not None else []) + [(data.region_name, region)]
            what = PHRASES.get(name, info.label)
            sentence = narrative.benchmark_sentence(what, unit, data.name_of(area), own, benches)
            if sentence:
                sentences.append(sentence)
    return pd.DataFrame(rows), sentences


def _gradient_sentences(table: pd.DataFrame, label: str, unit: str) -> list[str]:
    rows = table[table["group"].astype(str) != "unknown"] if "group" in table else table
    out = []
    if len(rows) >= 2:
        most, least = rows.iloc[0], rows.iloc[-1]
        fifth = "fifth" if len(rows) == 5 else "tenth"
        s = narrative.gap_sentence(label, "", f"the most deprived {fifth}", f"the least deprived {fifth}",
                                   _est(most), _est(least), unit)
        if s:
            out.append(s)
    sii = table.attrs.get("sii") or {}
    s = narrative.sii_sentence(label, unit, Estimate(sii.get("sii"), sii.get("sii_lower"), sii.get("sii_upper")),
                               Estimate(sii.get("rii"), sii.get("rii_lower"), sii.get("rii_upper")))
    if s:
        out.append(s)
    return out


def _trend_sentence(table: pd.DataFrame, label: str, unit: str, name: str) -> list[str]:
    test = table.attrs.get("trend_test") or {}
    if table.empty:
        return []
    last = table.iloc[-1]
    period = str(last.get("period", ""))
    try:  # "2026-10" -> "October 2026"
        period = datetime.strptime(period[:7], "%Y-%m").strftime("%B %Y")
    except ValueError:
        pass
    s = narrative.trend_sentence(label, name, test.get("direction"), test.get("significant"), _est(last), unit, period)
    return [s] if s else []


def _cascade_sentence(table: pd.DataFrame, who: str) -> list[str]:
    if table.empty or "count" not in table:
        return []
    first = None if bool(table.iloc[0].get("suppressed", False)) else table.iloc[0]["count"]
    shares = [(str(r["stage"]), None if bool(r.get("suppressed", False)) else r.get("share"))
              for _, r in table.iloc[1:].iterrows()]
    s = narrative.cascade_sentence(who, first, shares)
    return [s] if s else []


def _groups_sentence(table: pd.DataFrame, label: str, by_label: str, region: str) -> list[str]:
    if "significance" not in table:
        return []
    groups = [(str(r.get("label", r.get("group"))), "not compared" if bool(r.get("suppressed", False))
               else str(r["significance"])) for _, r in table.iterrows()]
    s = narrative.groups_sentence(label, region, by_label, groups)
    return [s] if s else []


def _outreach_sentence(table: pd.DataFrame, plural: str) -> list[str]:
    """How many of the high-risk people without a plan the top areas hold; nothing when any area's
    count is hidden (a total would then rest on numbers the table does not show)."""
    col = "high_risk_without_plan"
    if col not in table or table.empty:
        return []
    values = pd.to_numeric(table[col], errors="coerce")
    if values.isna().any():
        return []
    top = values.sort_values(ascending=False).head(OUTREACH_TOP)
    s = narrative.outreach_sentence(plural, len(top), float(top.sum()), float(values.sum()))
    return [s] if s else []


def build_pack(data: AppData, level: str, area: str, role: str, *, renderer: Renderer | None = None) -> Pack:
    """Every slide of `area`'s board pack for `role` (ExportError/AccessDenied if it may not be made)."""
    check_pack(data, level, area, role)
    role = str(access.policy_for(role).role)
    draw = renderer or default_renderer
    metric = pack_metric(data)
    info = data.metric(metric)
    unit = short_unit(info)
    name = data.name_of(area)
    phrase = PHRASES.get(metric, info.label)
    parent = data.parent_of.get(area) or data.region_code
    notes = export_notes(data, role, f"Board pack: {name}", [m for m in KEY_METRICS if m in data.metrics])

    def fig(kind: str, lvl: str, where: str | None, highlight: str | None = None, **kw: Any) -> Chart:
        return chart(data, ExportRequest(kind, lvl, where, role=role, **kw), draw, highlight=highlight)

    key_table, key_sentences = key_numbers(data, area, role)
    gradient = fig("gradient", level, area, metric=metric, by="imd_quintile")
    grad_sentences = _gradient_sentences(gradient.table, phrase, unit)
    trend = fig("trend", level, area, metric=metric)
    trend_sentences = _trend_sentence(trend.table, phrase, unit, name)
    against = data.region_name if parent == data.region_code else f"{data.name_of(parent)} and {data.region_name}"
    slides = [
        Slide(f"{name}: advance and urgent care plans", _title_subtitle(data, level, area, role, notes),
              (*key_sentences[:2], *grad_sentences[:1], *trend_sentences), kind="title"),
        Slide("Key numbers", f"{name} against {against}, with 95% confidence intervals", tuple(key_sentences),
              table=key_table),
    ]
    where = None if parent == data.region_code else parent
    area_map = fig("map", level, where, highlight=area, metric=metric)
    slides.append(Slide(f"Map: {LEVEL_LABELS[level]}s of {data.name_of(parent)}", area_map.subtitle,
                        tuple(_map_sentences(area_map.table, area, name, unit)), picture=area_map.picture))
    slides.append(Slide("Deprivation gradient", gradient.subtitle, tuple(grad_sentences), picture=gradient.picture))
    cascade = fig("cascade", level, area)
    slides.append(Slide("Care-plan cascade", cascade.subtitle,
                        tuple(_cascade_sentence(cascade.table, "high-risk people" if info.needs_risk else "people")),
                        picture=cascade.picture))
    slides.append(Slide("Trend", trend.subtitle, tuple(trend_sentences), picture=trend.picture))
    for by, by_label in INEQUALITY_GROUPS:
        groups = fig("inequalities", level, area, metric=metric, by=by)
        slides.append(Slide(f"Inequalities by {by_label.lower()}", groups.subtitle,
                            tuple(_groups_sentence(groups.table, phrase, by_label, data.region_name)),
                            picture=groups.picture))
    slides.extend(_outreach_slides(data, level, area, role, fig))
    slides.append(Slide("Methods and sources", "How the numbers were made", _methods(notes), kind="methods"))
    return Pack(area, name, level, role, notes, tuple(slides))


def _map_sentences(table: pd.DataFrame, area: str, name: str, unit: str) -> list[str]:
    """Where the area ranks among the areas on the map, from shown values only."""
    row = table[table["area_code"].astype(str) == area]
    if row.empty:
        return []
    if bool(row["suppressed"].iloc[0]) or pd.isna(row["value"].iloc[0]):
        return [f"{name}'s value is suppressed on this map."]
    value = float(row["value"].iloc[0])
    shown = pd.to_numeric(table.loc[~table["suppressed"].astype(bool), "value"], errors="coerce").dropna()
    rank = int((shown > value).sum()) + 1
    return [(f"{name} ({narrative.format_value(value, unit)}) is outlined: it ranks {rank} of {len(shown)} areas "
             "shown, highest first.")]


def _outreach_slides(data: AppData, level: str, area: str, role: str, fig: Callable[..., Chart]) -> list[Slide]:
    """The outreach ranking of the area's PCNs (for a PCN: its place's PCNs, the finest ranking the
    figure offers) when the role may plan outreach."""
    if not access.permits(role, Capability.OUTREACH) or not data.has_engine():
        return []
    where = area if level in ("ics", "place") else data.parent_of.get(area)
    ranking = fig("outreach", "pcn", where, highlight=None)
    return [Slide("Outreach ranking", ranking.subtitle, tuple(_outreach_sentence(ranking.table, "PCNs")),
                  picture=ranking.picture)]


def _title_subtitle(data: AppData, level: str, area: str, role: str, notes: ExportNotes) -> str:
    return (f"Board pack · {LEVEL_LABELS[level]} {area} in {data.region_name} · "
            f"{role.replace('_', ' ')} view · made {notes.made_at[:10]}")


METHODS = (
    ("Coverage is people with a live advance or urgent care plan; high risk is the top 10% of predicted "
     "12-month emergency-admission risk (the explorer's risk model)."),
    ("95% confidence intervals: Wilson for proportions, Byar for rates, Dobson for standardised rates. "
     "'Higher' or 'lower' means the interval excludes the comparator (between two groups: the interval of "
     "their ratio excludes 1); otherwise 'similar'."),
    ("Deprivation: English Indices of Deprivation 2025 quintiles (1 = most deprived); slope and relative "
     "index of inequality by OHID's method. Recent trend: chi-square test for trend over the last 5 months."),
)


def _methods(notes: ExportNotes) -> tuple[str, ...]:
    synthetic = (SYNTHETIC_NOTE,) if notes.synthetic else ()
    return (*synthetic, *METHODS, notes.suppression, *notes.sources)


__all__ = ["KEY_METRICS", "PACK_LEVELS", "build_pack", "check_pack", "key_numbers", "pack_metric"]
