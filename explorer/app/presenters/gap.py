"""The profile's deprivation gap: the least against the most deprived IMD quintile (difference
and ratio with 95% CIs) and the SII/RII, in words and as a table of numbers
(`explorer.services.app_analyses.AppAnalyses.deprivation_gap` computes them)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from dash import html

from explorer.app import components as ui
from explorer.app import ids
from explorer.app.presenters.format import (
    as_float,
    difference_unit,
    number_text,
    short_unit,
    subject,
)
from explorer.app.state import ProfileView
from explorer.domain import access
from explorer.services.app_data import AppData

_num = number_text


def _isnan(v: Any) -> bool:
    return not math.isfinite(as_float(v))


def gap_section(data: AppData, view: ProfileView, policy: Any, role: Any) -> list:
    """The gap between the least and most deprived IMD quintiles (difference and ratio, 95% CIs) and
    the SII/RII, in words and in a table of numbers, for the area and the filters."""
    info = data.metric(view.metric)
    flt = view.effective_filters
    what = subject(data, f"Deprivation gap in {info.label.lower()}", view.area, flt, role=role,
                   unit=short_unit(info))
    heading = html.H2(what.title(), className="block-title", id=ids.PROFILE_GAP + "-title")
    if info.source == "geography" or not data.has_engine():
        return [heading, ui.notice("The deprivation gap needs a care-plan metric (choose one above).")]
    try:
        gap = data.deprivation_gap(view.area, view.metric, flt, view.risk, policy)
    except Exception as exc:  # noqa: BLE001
        return [heading, ui.notice(f"Not available: {exc}", "warning")]
    unit, most, least = short_unit(info), gap.attrs["most"], gap.attrs["least"]
    words = gap_words(gap, info.label, unit, data.name_of(view.area), flt)
    gap_unit = difference_unit(info)
    units = {"difference": gap_unit, "ratio": "ratio", "sii": gap_unit, "rii": "ratio"}
    names = {"difference": "Gap: least minus most deprived quintile", "ratio": "Ratio: least over most deprived",
             "sii": "Slope index of inequality (SII)", "rii": "Relative index of inequality (RII)"}
    table = pd.DataFrame({
        "measure": [names[m] for m in gap["measure"]], "value": gap["value"].round(3),
        "lower": gap["lower"].round(3), "upper": gap["upper"].round(3), "unit": [units[m] for m in gap["measure"]],
        "most_deprived": _group_value(most), "least_deprived": _group_value(least),
        "method": gap["method"]})
    columns = [{"name": "Measure", "id": "measure"},
               {"name": "Value", "id": "value", "type": "numeric", "format": {"specifier": ",.3~r"}},
               {"name": "Lower 95% CI", "id": "lower", "type": "numeric", "format": {"specifier": ",.3~r"}},
               {"name": "Upper 95% CI", "id": "upper", "type": "numeric", "format": {"specifier": ",.3~r"}},
               {"name": "Units", "id": "unit"},
               {"name": f"Most deprived: quintile {most.get('group', '-')} ({unit})", "id": "most_deprived",
                "type": "numeric", "format": {"specifier": ",.3~r"}},
               {"name": f"Least deprived: quintile {least.get('group', '-')} ({unit})", "id": "least_deprived",
                "type": "numeric", "format": {"specifier": ",.3~r"}},
               {"name": "CI method", "id": "method"}]
    note = access.deprivation_groups_note(policy)
    return [heading,
            html.P(words, id=ids.PROFILE_GAP + "-words"),
            ui.data_table(ids.PROFILE_GAP_TABLE, columns, ui.records(table), labelled_by=ids.PROFILE_GAP + "-caption"),
            html.P(what.caption() + " Computed from disclosure-controlled counts; a suppressed quintile withholds "
                   "the gap." + (f" Quintiles: {note}." if note else ""), className="table-note",
                   id=ids.PROFILE_GAP + "-caption")]


def _group_value(row: dict) -> float:
    return math.nan if not row or row.get("suppressed") else float(row.get("value") or math.nan)


def gap_words(gap: pd.DataFrame, label: str, unit: str, area: str, filters: Any) -> str:
    """The quintile gap and SII/RII in one paragraph; withheld parts say so."""
    by = {m: r for m, r in zip(gap["measure"], gap.to_dict("records"), strict=True)}
    most, least = gap.attrs["most"], gap.attrs["least"]
    who = "everyone" if filters.is_empty else filters.describe()
    if not most or most.get("suppressed") or least.get("suppressed"):
        return (f"{label} in {area} ({who}): the gap between the most and least deprived quintiles is withheld "
                "(a quintile's count is suppressed by disclosure control or no one lives there).")
    gap_unit = "percentage points" if unit == "%" else unit
    text = (f"{label} in {area} ({who}) is {_num(most['value'])} {unit} in the most deprived quintile "
            f"({most['group']}) and {_num(least['value'])} {unit} in the least deprived quintile present "
            f"({least['group']}).")
    d, r = by["difference"], by["ratio"]
    if not _isnan(d["value"]):
        text += (f" Gap (least minus most deprived): {_num(d['value'])} {gap_unit} (95% CI {_num(d['lower'])} to "
                 f"{_num(d['upper'])}); ratio {_num(r['value'])} (95% CI {_num(r['lower'])} to {_num(r['upper'])}).")
    elif not gap.attrs.get("share"):
        text += " The gap's CI is given for shares of people only; see the SII."
    s, ri = by["sii"], by["rii"]
    if not _isnan(s["value"]):
        text += (f" Slope index of inequality {_num(s['value'])} {gap_unit} (95% CI {_num(s['lower'])} to "
                 f"{_num(s['upper'])}); relative index {_num(ri['value'])} (95% CI {_num(ri['lower'])} to "
                 f"{_num(ri['upper'])}).")
    else:
        text += " SII not shown: it needs a value for every quintile present."
    return text
