"""One exported figure and the numbers behind it, for a role: :func:`build_item`.

An :class:`ExportRequest` names what (kind, metric, groups), where (level, area), for whom (role)
and for which people (filters). :func:`build_item` checks it the way the app checks a view (a
forged or unknown area, a level beyond the role, a bad filter are refused with a clear message),
then draws the figure from the same services the app's pages use (AppData, its analyses and the
figure builders), so its numbers are the screen's. Every number goes through the role's
disclosure policy *for publication*: an analyst's export is controlled too. The figure is framed
for print (explorer.export.style): title, subtitle, legend, footnote with the sources, and the
SYNTHETIC DATA mark when demo data are shown.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from explorer.domain import access
from explorer.domain.access import AccessDenied, Capability
from explorer.domain.disclosure import SUPPRESSION_NOTE, DisclosurePolicy
from explorer.domain.metrics import DEFAULT_RISK, FilterError, Filters, MetricInfo
from explorer.errors import ExplorerError
from explorer.figures import theme
from explorer.figures.describe import Subject
from explorer.services.app_analyses import DEFAULT_CAPACITY, MAX_CAPACITY, RANK_BY
from explorer.services.app_data import REGION_LEVEL, AppData
from explorer.services.pcn_info import pcn_note
from explorer.services.provenance import provenance
from explorer.vocab import LEVEL_CONTROL_LABELS, LEVELS

__all__ = ["AREA_KINDS", "BY_CHOICES", "DEFAULT_BY", "FIGURE_KINDS", "LEVEL_KINDS", "ExportError", "ExportItem",
           "ExportRequest", "Resolved", "build_item", "file_stem", "resolve"]

FIGURE_KINDS: tuple[str, ...] = ("map", "gradient", "cascade", "trend", "inequalities", "funnel", "outreach",
                                 "population", "calibration", "spine", "compare")
LEVEL_KINDS = frozenset({"map", "funnel", "outreach", "compare"})  # the areas at `level`, within `area` (None: the region)
AREA_KINDS = frozenset({"gradient", "cascade", "trend", "inequalities", "population", "spine"})  # about one area
METRIC_KINDS = frozenset({"map", "gradient", "trend", "inequalities", "funnel", "compare"})
CARE_PLAN_KINDS = frozenset({"gradient", "trend", "inequalities", "funnel", "cascade", "outreach", "compare"})
COMPARATORS = {"funnel": "area", "inequalities": "region", "gradient": "region", "spine": "region",
               "compare": "area"}  # whose value a figure compares with
BY_CHOICES: Mapping[str, tuple[str, ...]] = {
    "gradient": ("imd_decile", "imd_quintile"),
    "inequalities": ("ethnic_group", "age_band", "sex", "disabled", "frailty", "imd_quintile", "imd_decile"),
    "population": ("age_sex", "ethnic_group", "disability", "imd_decile"),
}
DEFAULT_BY = {"gradient": "imd_decile", "inequalities": "ethnic_group", "population": "age_sex"}
OUTREACH_LEVELS = ("place", "pcn")
DEFAULT_ROLE = "commissioner"


class ExportError(ExplorerError):
    """A request no export can answer (unknown kind, area, metric, filter...): the message says why.

    Requests beyond the role's rights raise :class:`explorer.domain.access.AccessDenied` instead,
    as everywhere else in the explorer (the CLI prints both without a traceback)."""


@dataclass(frozen=True)
class ExportRequest:
    """What to export. ``area`` None is the whole region; ``filters`` a Filters, a mapping K=V or a
    sequence of "K=V" strings (as `--filter`); ``by`` the grouping of inequalities (ethnic_group,
    age_band, sex, disabled, frailty, imd_quintile, imd_decile), of the gradient (imd_decile,
    imd_quintile) or of the population breakdown (age_sex, ethnic_group, disability, imd_decile);
    ``risk`` the high-risk definition for risk metrics, the cascade and outreach ("top_percent:10",
    "min_probability:0.3"; default: the filters' risk, else the app's default); ``capacity`` (planning
    conversations, a whole number 0 to MAX_CAPACITY, as int or text) and ``rank_by`` (one of RANK_BY)
    the outreach ranking's, as set on the outreach page (default: DEFAULT_CAPACITY, high-risk people
    without a plan)."""

    kind: str
    level: str
    area: str | None = None
    metric: str | None = None
    filters: Any = ()
    role: str = DEFAULT_ROLE
    by: str | None = None
    risk: str | None = None  # high-risk definition, e.g. "top_percent:10" (default: the filters' or top 10%)
    capacity: int | str | None = None  # outreach only
    rank_by: str | None = None  # outreach only


@dataclass
class ExportItem:
    """A figure framed for print and the disclosure-controlled numbers behind it.

    ``table`` has one row per bar/point/area, numbers as numbers (NaN where suppressed, with a
    ``suppressed`` column), CIs in ``lower``/``upper``; ``table.attrs`` may carry extra results
    (the gradient's "sii", the trend's "trend_test", the funnel's "comparator")."""

    figure: go.Figure
    table: pd.DataFrame
    title: str
    subtitle: str
    footnote: str
    alt_text: str
    units: str
    synthetic: bool = False
    slug: str = "figure"  # a file-name stem (file_stem): area_metric-kind_date
    width: int = 1000
    height: int = 700
    made_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


@dataclass(frozen=True)
class Resolved:
    """A checked request: everything the drawing code needs, nothing left to validate."""

    data: AppData
    kind: str
    level: str
    area: str | None
    metric: str | None
    info: MetricInfo | None
    filters: Filters
    risk: Any
    role: str
    policy: DisclosurePolicy
    by: str | None
    capacity: int = DEFAULT_CAPACITY
    rank_by: str = RANK_BY[0]

    @property
    def area_name(self) -> str:
        return self.data.name_of(self.area)


def _filters(value: Any) -> Filters:
    try:
        if isinstance(value, Filters):
            return value
        if value is None:
            return Filters()
        if isinstance(value, Mapping):
            return Filters.parse([f"{k}={v}" for k, v in value.items()])
        if isinstance(value, str):
            return Filters.parse([value])
        if isinstance(value, Sequence):
            return Filters.parse(list(value))
    except FilterError as exc:
        raise ExportError(f"bad filter: {exc}") from None
    raise ExportError(f"filters must be K=V text, a mapping or Filters, not {type(value).__name__}")


def _check_level(data: AppData, kind: str, level: str, role: str) -> None:
    if level != REGION_LEVEL and level not in LEVELS:
        raise ExportError(f"unknown level '{level}': choose from {', '.join(LEVELS)}"
                          + (" or region" if kind not in LEVEL_KINDS else ""))
    if level == REGION_LEVEL:
        if kind in LEVEL_KINDS:
            raise ExportError(f"a {kind} shows areas at a level: choose --level from {', '.join(data.levels)}")
        return
    access.check_level(role, level)  # AccessDenied beyond the role's rights
    if level not in data.levels:
        raise ExportError(f"{LEVEL_CONTROL_LABELS[level]}-level figures are not offered for {data.region_name}")


def _a(level: str) -> str:
    """'an ICS', 'a place', 'a PCN', 'an LSOA'."""
    label = LEVEL_CONTROL_LABELS[level]
    return ("an " if label[0] in "AEIOULS" and label.isupper() else "a ") + (label if label.isupper() else label.lower())


def _check_area(data: AppData, kind: str, level: str, area: str | None, role: str) -> str | None:
    if area in (None, "", data.region_code):
        return None
    if area not in data.area_level:
        raise ExportError(f"unknown area '{area}': not an ICS, place, PCN or LSOA code of {data.region_name}")
    area_level = data.area_level[area]
    access.check_level(role, area_level)
    if area_level not in data.levels:
        raise ExportError(f"{LEVEL_CONTROL_LABELS[area_level]} areas are not offered for {data.region_name}")
    if kind in LEVEL_KINDS and LEVELS.index(area_level) >= LEVELS.index(level):
        raise ExportError(f"area '{area}' is {_a(area_level)}: it holds no "
                          f"{LEVEL_CONTROL_LABELS[level]} areas (choose a level below it)")
    if kind in AREA_KINDS and level != area_level:
        raise ExportError(f"area '{area}' is {_a(area_level)}: use --level {area_level}")
    return area


def _check_metric(data: AppData, kind: str, metric: str | None, role: str) -> tuple[str | None, MetricInfo | None]:
    if kind not in METRIC_KINDS:
        if metric:
            raise ExportError(f"the {kind} figure has no metric to choose: leave out --metric")
        return None, None
    if metric is None:
        metric = data.default_metric() if kind == "map" else "coverage"
    if metric not in data.metrics:
        raise ExportError(f"unknown metric '{metric}': choose from {', '.join(data.metrics)}")
    access.check_clinical(role, [metric])
    info = data.metric(metric)
    if kind in CARE_PLAN_KINDS and (info.source == "geography" or not data.has_engine()):
        raise ExportError(f"the {kind} figure needs a care-plan metric; '{metric}' is "
                          + ("a geography metric" if info.source == "geography" else "not available"))
    return metric, info


def _check_by(kind: str, by: str | None) -> str | None:
    choices = BY_CHOICES.get(kind)
    if choices is None:
        if by:
            raise ExportError(f"the {kind} figure has no groups to choose: leave out --by")
        return None
    by = by or DEFAULT_BY[kind]
    if by not in choices:
        raise ExportError(f"unknown grouping '{by}' for the {kind} figure: choose from {', '.join(choices)}")
    return by


def _check_outreach(kind: str, capacity: int | str | None, rank_by: str | None) -> tuple[int, str]:
    """The outreach ranking's capacity and order: a whole number of conversations from 0 to
    MAX_CAPACITY and one of RANK_BY (refused, not clamped: an export says what it was asked)."""
    if kind != "outreach":
        if capacity is not None or rank_by:
            raise ExportError(f"the {kind} figure has no capacity or ranking: leave out --capacity and --rank-by")
        return DEFAULT_CAPACITY, RANK_BY[0]
    if capacity is None or capacity == "":
        number = DEFAULT_CAPACITY
    elif isinstance(capacity, int) and not isinstance(capacity, bool):
        number = capacity
    elif isinstance(capacity, str) and capacity.strip().isdigit():
        number = int(capacity.strip())
    else:
        raise ExportError(f"bad capacity {str(capacity)[:20]!r}: give a whole number of planning conversations")
    if not 0 <= number <= MAX_CAPACITY:
        raise ExportError(f"capacity must be between 0 and {MAX_CAPACITY:,} planning conversations")
    rank = rank_by or RANK_BY[0]
    if rank not in RANK_BY:
        raise ExportError(f"unknown ranking '{rank}': choose from {', '.join(RANK_BY)}")
    return number, rank


def resolve(data: AppData, request: ExportRequest) -> Resolved:
    """Check `request` against the data and the role; ExportError or AccessDenied if it cannot be made."""
    kind = request.kind
    if kind not in FIGURE_KINDS:
        raise ExportError(f"unknown figure '{kind}': choose from {', '.join(FIGURE_KINDS)}")
    role = str(access.policy_for(request.role).role)  # AccessDenied for an unknown role
    level = request.level or REGION_LEVEL
    _check_level(data, kind, level, role)
    area = _check_area(data, kind, level, request.area, role)
    metric, info = _check_metric(data, kind, request.metric, role)
    by = _check_by(kind, request.by)
    filters = _filters(request.filters)
    capacity, rank_by = _check_outreach(kind, request.capacity, request.rank_by)
    if kind == "outreach":
        if not access.permits(role, Capability.OUTREACH):
            raise AccessDenied(f"Outreach planning is not available to the '{role}' role.", role=role)
        if level not in OUTREACH_LEVELS:
            raise ExportError(f"the outreach ranking is by {' or '.join(OUTREACH_LEVELS)}")
    if kind == "calibration" and not access.permits(role, Capability.MODEL_DIAGNOSTICS):
        raise AccessDenied(f"Model diagnostics are not available to the '{role}' role.", role=role)
    if kind in CARE_PLAN_KINDS and not data.has_engine():
        raise ExportError(f"the {kind} figure needs the care-plan records: {data.engine_problem}")
    if kind in ("population", "calibration") and not filters.is_empty:
        raise ExportError(f"filters do not apply to the {kind} figure: leave out --filter")
    if info is not None and not info.filterable:
        filters = Filters()  # as the app: filters do not apply to this metric (said in the subtitle)
    risk = _filters([f"risk={request.risk}"]).risk if request.risk else filters.risk or DEFAULT_RISK
    policy = access.disclosure_policy_for(role, publication=True)  # exports are published: always controlled
    return Resolved(data, kind, level, area, metric, info, filters, risk, role, policy, by, capacity, rank_by)


# --------------------------------------------------------------------------- framing


def _as_at(data: AppData) -> str:
    when = provenance(data).as_at
    return dt.date.fromisoformat(when).strftime("%-d %B %Y") if when else "the bundle's build"


def subtitle(r: Resolved, units: str) -> str:
    """Level, area, filters, period and role, then units: the line under every exported title."""
    data = r.data
    where = data.name_of(r.area)
    if r.kind in LEVEL_KINDS:
        where = f"{LEVEL_CONTROL_LABELS[r.level]}s in {where}"
    elif r.area:
        where = f"{where} ({LEVEL_CONTROL_LABELS[r.level]}, {r.area})"
    people = "everyone" if r.filters.is_empty else r.filters.describe()
    if r.info is not None and not r.info.filterable:
        people = "all " + r.info.denominator
    parts = [where]
    if r.kind != "population":  # the population breakdown is ONS estimates of all residents, dated in its title
        parts += ([f"People: {people}"] if r.kind != "calibration" else []) + [f"As at {_as_at(data)}"]
    parts.append(f"{r.role.replace('_', ' ').capitalize()} view")
    if units:
        parts.append(units)
    comparator = COMPARATORS.get(r.kind)
    if comparator is not None:  # "Compared with London, same filters" (describe.Subject words it)
        name = data.name_of(r.area if comparator == "area" else None)
        parts.append("Compared with " + str(Subject("", "", "", "" if r.filters.is_empty else r.filters.describe(),
                                                    comparator=name).comparator_label))
    return " · ".join(parts)


def footnote(r: Resolved, synthetic: bool, made_at: dt.datetime, extra: str = "") -> str:
    """Synthetic note, sources with versions, disclosure control, role and when it was made."""
    parts = [theme.SYNTHETIC_NOTE] if synthetic else []
    if extra:
        parts.append(extra)
    parts.append(provenance(r.data).text())
    if pcn_note(r.data.bundle, r.level):  # PCN figures are apportioned; the LSOA map draws majority PCNs
        parts.append(pcn_note(r.data.bundle, r.level) + ".")
    note = access.deprivation_groups_note(r.policy)
    parts.append(f"Disclosure control ({r.role.replace('_', ' ')} export): {SUPPRESSION_NOTE}"
                 + (f"; deprivation {note}" if note and (r.by or "").startswith("imd") else "") + ".")
    parts.append(f"Made {made_at:%Y-%m-%d %H:%M} UTC with the Population Health Explorer.")
    return " ".join(parts)


def build_item(data: AppData, request: ExportRequest, *, width: int = 1000, height: int = 700) -> ExportItem:
    """The figure and its table for `request`, framed for print (ExportError/AccessDenied if refused)."""
    from explorer.export import _kinds
    from explorer.export.style import Frame, frame_figure

    r = resolve(data, request)
    drawn = _kinds.draw(r)
    made_at = dt.datetime.now(dt.UTC)
    sub = subtitle(r, drawn.units)
    foot = footnote(r, drawn.synthetic, made_at, drawn.note)
    frame = Frame(drawn.title, sub, foot, drawn.synthetic, width, height)
    figure = frame_figure(drawn.figure, frame, legend_on_side=drawn.legend_on_side)
    slug = file_stem(data, r.area, r.metric or r.by or "", r.kind)
    return ExportItem(figure, drawn.table, drawn.title, sub, foot, drawn.alt_text, drawn.units, drawn.synthetic,
                      slug, width, height, made_at)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def file_stem(data: AppData, area: str | None, subject: str, kind: str) -> str:
    """A downloaded figure's file name without extension, e.g. ``north-east-london-icb_coverage-map_2026-10-31``:
    the area's name, what is shown (metric or grouping, then the kind of figure) and the date the
    figures are for (the records' month end; the day of the download when no records are loaded).
    The app's export buttons, the chart toolbar's "download plot" and the CLI all name files so."""
    when = provenance(data).as_at or dt.date.today().isoformat()
    what = "-".join(_slug(p) for p in (subject, kind) if p)
    name = data.name_of(None if area == data.region_code else area)
    return f"{_slug(name) or 'area'}_{what or 'figure'}_{when}"
