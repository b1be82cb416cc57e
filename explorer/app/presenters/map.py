"""The map page's presentation: one view's values payload, legend and text; hover and selection.

`values_view` is the one call behind a filter change: the map's arrays for the browser
(assets/explorer.js draws them on the level's cached geometry), the legend, the text alternative,
the title and any notice. Payloads are cached in AppData's one cache under "map", keyed by the
view reduced to what the metric uses. `theme` is the map's colours and labels, sent to the
browser once (the page's theme store), so none of them is repeated in JavaScript.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from dash import dcc, html

from explorer.app import components as ui
from explorer.app.presenters.format import (
    as_float,
    ci_text,
    count_text,
    difference_unit,
    metric_title,
    short_unit,
    subject,
    value_text,
)
from explorer.app.state import MapView
from explorer.domain import stats
from explorer.domain.disclosure import DisclosurePolicy
from explorer.errors import ExplorerError
from explorer.export.items import file_stem
from explorer.figures import classify as cl
from explorer.figures import describe, maps, theme
from explorer.figures.labels import escape_labels
from explorer.services.app_cache import CacheKey, builds
from explorer.services.app_data import AppData
from explorer.services.pcn_info import crossing_pcns, drawn_lsoas_note, pcn_note
from explorer.vocab import CROSSES_PLACE_LABEL

log = logging.getLogger(__name__)
CLASS_CHARS = np.frombuffer(b"ns0123456789", dtype="S1")  # class -2 (no data), -1 (suppressed), 0..9


def theme_payload() -> dict:
    """The map's colours, labels and fonts for assets/explorer.js (sent once, in a store)."""
    return {"suppressedColour": theme.SUPPRESSED_COLOUR, "noDataColour": theme.NO_DATA_COLOUR,
            "boundaryColour": theme.BOUNDARY_COLOUR, "suppressedLabel": theme.SUPPRESSED_LABEL,
            "noDataLabel": theme.NO_DATA_LABEL, "fontFamily": theme.FONT_FAMILY, "text": theme.TEXT, "background": theme.BACKGROUND,
            "hoverTemplate": maps.HOVER_TEMPLATE, "syntheticMark": theme.SYNTHETIC_MARK,
            "syntheticColour": theme.SYNTHETIC_COLOUR}


@dataclass(frozen=True)
class MapPayload:
    """What one map view sends: compact arrays for the browser, the classes for the legend."""

    arrays: dict
    classes: cl.Classes
    description: str
    n_areas: int


def view_key(data: AppData, what: str, view: MapView, policy: DisclosurePolicy, *extra: Any) -> CacheKey:
    """The cache key of a map view: filters and risk reduced to what its metric uses."""
    filters, risk = data.cache_key(view.metric, view.effective_filters, view.risk)
    return CacheKey(what, view.level, view.metric, filters, risk, policy, (view.area, *extra))


def comparator_code(data: AppData, within: str | None) -> str | None:
    return None if within in (None, data.region_code) else within


def diverging(data: AppData, metric: str, mode: str) -> bool:
    return mode == "difference" and data.metric(metric).kind != "count"


def compared(mode: str) -> bool:
    """The "compared with the parent" colouring: better / similar / worse by each area's 95% CI."""
    return mode == "compare"


def significance_index(data: AppData, key: CacheKey, table: Any, hidden: np.ndarray) -> tuple[np.ndarray, cl.Classes]:
    """Each area's 95% CI against its parent's value (stats.compare_to_benchmark: the significance
    the bars, tables and funnel show), as map classes with the metric's polarity."""
    info = data.metric(key.metric)
    if not info.has_ci:
        raise ExplorerError(f"{info.label} has no confidence interval, so it cannot be compared with the "
                            "parent area; choose Value or Difference")
    lower = table[f"{key.metric}_lower"].to_numpy(dtype=float, na_value=np.nan)
    upper = table[f"{key.metric}_upper"].to_numpy(dtype=float, na_value=np.nan)
    sig = stats.compare_to_benchmark(lower, upper, base_value(data, key), info.higher_is_better)
    return cl.significance_classes(sig, hidden, higher_is_better=info.higher_is_better,
                                   comparator=data.name_of(comparator_code(data, key.extra[0])))


def base_value(data: AppData, key: CacheKey) -> float:
    """The comparator for "difference from": the area the map is within, or the region."""
    row = data.value_of(comparator_code(data, key.extra[0]), key.metric, key.filters, key.policy, key.risk)
    return as_float(row[key.metric])


def map_payload(data: AppData, view: MapView, policy: DisclosurePolicy) -> MapPayload:
    """Compact arrays for the browser's map (class per area, 3-significant-figure values), cached."""
    return data.cached(view_key(data, "map", view, policy, view.mode, view.scheme, view.palette))


@builds("map")
def _build_map_payload(data: AppData, key: CacheKey) -> MapPayload:
    area, mode, scheme, palette = key.extra
    info = data.metric(key.metric)
    geo = data.geometry[key.level]
    table = data.table(key.level, key.metric, key.filters, key.policy, area, key.risk)
    values = table[key.metric].to_numpy(dtype=float, na_value=np.nan)
    hidden = table[f"{key.metric}_suppressed"].to_numpy(dtype=bool)
    unit = short_unit(info)
    div = diverging(data, key.metric, mode)
    if div:
        values = values - base_value(data, key)
        unit = difference_unit(info)
    if compared(mode):
        index, classes = significance_index(data, key, table, hidden)
    else:
        index, classes = cl.classify(values, hidden, scheme=scheme, unit=unit, palette=palette, diverging=div)
    codes = list(table.index)
    positions = [geo.position[c] for c in codes]
    subset = len(codes) != len(geo.codes)
    shown = np.isfinite(values) & ~hidden
    rounded = cl.round_sig_array(values, 3)
    arrays = {
        "level": key.level,
        "rev": f"{key.level}|{area or ''}",
        # numpy arrays: plotly's JSON encoder writes them in one go (NaN -> null)
        "i": np.asarray(positions, dtype=np.int32) if subset else None,
        "c": CLASS_CHARS[index + 2].tobytes().decode("ascii"),
        "v": np.where(shown, rounded, np.nan),
        "colours": list(classes.colours),
        "unit": unit,
        "bounds": geo.subset_bounds(positions if subset else None),
        "synthetic": data.shows_synthetic(key.metric),  # the map figure then says so itself (its PNG too)
        "filename": file_stem(data, area, key.metric, "map"),  # the chart toolbar's PNG, as the exports name it
    }
    if compared(mode):  # the hover says which class too: the colour alone is not the answer
        arrays["classLabels"] = escape_labels([e.label for e in classes.legend if e.klass >= 0])  # plotly hover: HTML
    extremes = None
    if shown.any():
        ranked = [i for i in np.argsort(np.where(shown, values, np.inf)) if shown[i]]
        extremes = ((data.name_of(codes[ranked[-1]]), float(values[ranked[-1]])),
                    (data.name_of(codes[ranked[0]]), float(values[ranked[0]])))
    flt = key.filters
    label = info.label + ("" if flt.is_empty or not info.filterable else f" ({flt.describe()})")
    text = describe.describe_map(
        n_areas=len(codes), level_label=data.level_label(key.level), within=data.name_of(area),
        metric_label=label, classes=classes, highest=extremes[0] if extremes else None,
        lowest=extremes[1] if extremes else None,
        difference_from=data.name_of(comparator_code(data, area)) if div or compared(mode) else None)
    return MapPayload(arrays, classes, text, len(codes))


def title(data: AppData, view: MapView) -> str:
    """"Care-plan coverage by PCN in X; frailty: severe; as at 31 October 2026": the filters and the
    records' month for care-plan metrics (geography metrics are official statistics, undated here)."""
    info = data.metric(view.metric)
    care = info.source != "geography"
    what = subject(data, "", view.area, view.effective_filters if info.filterable else None, dated=care)
    return f"{info.label} by {data.level_label(view.level)} in {data.name_of(view.area)}" + what.qualifiers()


def values_view(data: AppData, view: MapView, policy: DisclosurePolicy) -> tuple:
    """(map arrays, legend, text alternative, page title, notice) for one map view."""
    info = data.metric(view.metric)
    try:
        payload = map_payload(data, view, policy)
    except Exception as exc:  # noqa: BLE001 - say what is missing instead of a blank map
        return None, None, "", title(data, view), ui.notice(f"This view cannot be shown: {exc}", "warning")
    note = None
    if not info.filterable and not view.effective_filters.is_empty:
        note = ui.notice(f"Filters do not apply to {info.label.lower()}: it describes all "
                         f"{info.denominator}.", "info")
    unit = "percentage points" if payload.classes.unit == "pp" else info.unit
    parent = data.name_of(comparator_code(data, view.area))
    heading = (f"Difference from {parent} ({unit})" if diverging(data, view.metric, view.mode)
               else f"{metric_title(info)} compared with {parent}" if compared(view.mode) else metric_title(info))
    legend = ui.legend(payload.classes, heading)
    pcn = pcn_note(data.bundle, view.level) or drawn_lsoas_note(
        data.bundle, view.level, data.area_level.get(view.area))
    if pcn:  # PCN figures are apportioned, but each LSOA is drawn in one PCN: the legend says so
        legend = html.Div([legend, html.P(pcn, className="legend-note pcn-note")])
    return payload.arrays, legend, payload.description, title(data, view), note


# --------------------------------------------------------------------------- hover and selection

HOVER_PROMPT = html.P("Point at an area to see its numbers.", className="muted")


def hover_details(data: AppData, view: MapView, code: str, policy: DisclosurePolicy) -> dict[str, str]:
    """One area's value, CI, numerator and denominator as display text (level of the view)."""
    info = data.metric(view.metric)
    m = view.metric
    table = data.controlled(view.level, m, view.effective_filters, view.risk, policy)
    if code not in table.index:
        return {}
    row = table.loc[code]
    unit = short_unit(info)
    hidden = bool(row[f"{m}_suppressed"])
    details = {
        "name": str(row["area_name"]), "code": code, "level": data.level_label(view.level),
        "metric": metric_title(info),
        "value": value_text(as_float(row[m]), hidden, unit, exact=info.kind == "count"),
        "numerator": count_text(as_float(row[f"{m}_numerator"]), hidden and info.kind != "mean"),
        "denominator": f"{count_text(as_float(row[f'{m}_denominator']), False)} {info.denominator}".strip(),
    }
    if info.has_ci:
        details["ci"] = ci_text(as_float(row[f"{m}_lower"]), as_float(row[f"{m}_upper"]), hidden, unit)
    if view.level == "pcn" and code in crossing_pcns(data.bundle):
        details["pcn"] = f"This PCN {CROSSES_PLACE_LABEL}: 10% or more of its registered patients live in other places"
    return details


def details_list(details: dict[str, str]) -> html.Dl:
    rows = [("Area", f"{details['name']} ({details['level']}, {details['code']})"),
            ("Metric", details["metric"]), ("Value", details["value"] or "not available")]
    if "ci" in details:
        rows.append(("95% confidence interval", details["ci"] or "not available"))
    rows += [("Numerator", details["numerator"] or "not applicable"),
             ("Denominator", details["denominator"] or "not applicable")]
    if "pcn" in details:
        rows.append(("Place boundary", details["pcn"]))
    children = []
    for term, value in rows:
        children += [html.Dt(term), html.Dd(value)]
    return html.Dl(children, className="details-list")


def hover_panel(data: AppData, view: MapView, code: str, policy: DisclosurePolicy) -> Any:
    """The 'area under the pointer' panel: CI and counts the figure itself does not carry."""
    details = hover_details(data, view, code, policy)
    return details_list(details) if details else html.P("No data for this area.")


def selection_panel(data: AppData, view: MapView, policy: DisclosurePolicy) -> list:
    code = view.selected or view.area
    if code is None:
        return [html.P(["Selected: ", html.Strong(data.region_name)]),
                dcc.Link(f"Open the {data.region_name} profile", href=f"/profile?metric={view.metric}",
                         className="button-link")]
    level = data.level_of(code)
    try:
        details = hover_details(data, view.with_(level=level), code, policy)
    except Exception:  # noqa: BLE001 - a metric not available at this level
        details = {}
    query = MapView(metric=view.metric, filters=view.filters, risk=view.risk).to_query()
    query.pop("level", None)
    href = "/profile?" + "&".join(f"{k}={v}" for k, v in {"area": code, **query}.items())
    return [html.H3(f"Selected: {data.name_of(code)}", className="block-title"),
            details_list(details) if details else html.P(data.level_label(level)),
            dcc.Link("Open the area profile", href=href, className="button-link")]


def warm(data: AppData, metrics: Any = None) -> None:
    """Engine tables, then the landing map of every level, built before the first user asks."""
    data.warm(metrics)
    default = data.default_metric()
    for level in data.levels:
        for policy in (DisclosurePolicy(), DisclosurePolicy.raw()):
            try:
                map_payload(data, MapView(level=level, metric=default), policy)
            except Exception:  # noqa: BLE001
                log.exception("warming the %s map failed", level)
