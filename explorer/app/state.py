"""What one view shows, and its round trip through the URL query (pure Python, no Dash).

The URL is the only place per-user view state lives between page loads: pasting a link
reproduces the view, and the browser's back/forward buttons walk through earlier views.
`MapView.from_query` is forgiving (unknown values fall back to defaults) because URLs are typed,
pasted and truncated by people; the server still checks the role on every callback.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs, urlencode

from explorer.domain.access import AccessDenied
from explorer.domain.geography import LEVELS
from explorer.services.app_analyses import DEFAULT_CAPACITY, MAX_CAPACITY, RANK_BY  # noqa: F401 - defined there, re-exported
from explorer.domain.whatif import RANKINGS as WHATIF_RANKINGS
from explorer.domain.metrics import DEFAULT_RISK, FilterError, Filters, RiskDefinition, check_risk, risk_label

SCHEMES = ("quantile", "jenks")
MODES = ("value", "difference", "compare")  # compare: better/similar/worse than the parent (95% CI)
PALETTES = ("viridis", "cividis")
RISK_CHOICES = (("top_percent", 5.0), ("top_percent", 10.0), ("top_percent", 20.0),
                ("min_probability", 0.2), ("min_probability", 0.3), ("min_probability", 0.5))
FILTER_KEYS = ("age_band", "sex", "ethnic_group", "imd_quintile", "frailty")  # offered in the app
AREA_KEY = "area"  # the user's area (ICS, place, PCN or LSOA code) in every page's URL
SELECTED_KEY = "sel"  # the map's selected area (a click at the lowest level): the user's area too
# What every page shares: the area and the population (filters, "high-risk only" and its definition).
# Carried in the nav links and by each page's URL, so switching page keeps them and a link reproduces them.
SHARED_KEYS = (AREA_KEY, *FILTER_KEYS, "risk", "hr")


class InvalidInput(ValueError):
    """A callback input no control of the app can produce: wrong type, out of range, unknown choice.

    The app's own controls and stores never send these, so the request was made by hand or garbled;
    `explorer.app.factory` answers it with HTTP 400 and ``str(exc)``, short and free of data, instead
    of letting a TypeError or OverflowError deep in a callback become an HTTP 500.
    """


def check_store(stored: Any, name: str = "view") -> Mapping[str, str] | None:
    """A view store as the server writes it: None, or a mapping of text keys to text values.

    Anything else (a list, a number, nested values) is malformed: InvalidInput. Whether the values
    are ones the server would write for this role is `require_canonical`'s question (403).
    """
    if stored is None:
        return None
    if not isinstance(stored, Mapping):
        raise InvalidInput(f"Malformed request: the {name} store must be an object, not {type(stored).__name__}.")
    odd = [k for k, v in stored.items() if not isinstance(k, str) or not isinstance(v, str)]
    if odd:
        raise InvalidInput(f"Malformed request: the {name} store must hold text values "
                           f"(check {', '.join(map(str, odd[:3]))}).")
    return stored


def text_value(value: Any, name: str) -> str | None:
    """A single-choice control's value (radio, select, search box, URL): text or None."""
    if value is None or isinstance(value, str):
        return value
    raise InvalidInput(f"Malformed request: {name} must be text, not {type(value).__name__}.")


def text_values(value: Any, name: str) -> tuple[str, ...]:
    """A checklist's value: None or a list of text (the app's checklists send only strings)."""
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"Malformed request: {name} must be a list of text values.")
    return tuple(value)


def parse_capacity(value: Any) -> int | None:
    """The outreach capacity input: a whole number from 0 to MAX_CAPACITY; None when the box is empty.

    The browser's number box sends a number or None; text, negatives, fractions, NaN and huge values
    (1e309 is infinity) are refused with InvalidInput rather than clamped, so a bad request is not
    silently answered for a capacity nobody asked for.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidInput("Capacity must be a whole number of conversations.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput("Capacity must be a whole number of conversations.") from None
    if not math.isfinite(number) or number != int(number):
        raise InvalidInput("Capacity must be a whole number of conversations.")
    if not 0 <= number <= MAX_CAPACITY:
        raise InvalidInput(f"Capacity must be between 0 and {MAX_CAPACITY:,} conversations.")
    return int(number)


def parse_rows(request: Any, max_rows: int) -> tuple[int, int]:
    """A grid's getRowsRequest -> (startRow, endRow): whole numbers, 0 <= start < end, at most
    `max_rows` rows (so no request takes a whole LSOA table at once)."""
    if not isinstance(request, Mapping):
        raise InvalidInput("Malformed request: getRowsRequest must be {startRow, endRow, sortModel}.")
    start, end = request.get("startRow", 0), request.get("endRow")
    if any(isinstance(v, bool) or not isinstance(v, int) for v in (start, end)) or not 0 <= start < end:
        raise InvalidInput("Malformed request: the rows asked for must be whole numbers, startRow < endRow.")
    if end - start > max_rows:
        raise InvalidInput(f"Malformed request: at most {max_rows} rows at a time.")
    return start, end


def parse_sort(sort_model: Any, columns: Sequence[str], default: str = "value") -> tuple[str, bool]:
    """A grid's sortModel ([{"colId": ..., "sort": "asc"|"desc"}]) -> (column, ascending).

    Empty means the default column, descending. A column the table does not show, or any other
    shape, is InvalidInput.
    """
    if sort_model is None or sort_model == []:
        return default, False
    first = sort_model[0] if isinstance(sort_model, list) else None
    if not isinstance(first, Mapping) or first.get("sort") not in ("asc", "desc"):
        raise InvalidInput("Malformed request: sortModel must be a list of {colId, sort: asc|desc}.")
    column = first.get("colId")
    if not isinstance(column, str) or column not in columns:
        raise InvalidInput(f"Cannot sort by {str(column)[:40]!r}: not a column of this table.")
    return column, first["sort"] == "asc"


def event_location(event: Any, name: str) -> str | None:
    """The area code in a graph's clickData/hoverData ({"points": [{"location": code}]}), if any."""
    if event is None:
        return None
    points = event.get("points") if isinstance(event, Mapping) else None
    if points is None or not isinstance(points, list) or (points and not isinstance(points[0], Mapping)):
        raise InvalidInput(f"Malformed request: {name} must be {{points: [{{location: ...}}]}}.")
    if not points or "location" not in points[0]:
        return None
    location = points[0]["location"]
    if not isinstance(location, str):
        raise InvalidInput(f"Malformed request: the {name} location must be an area code.")
    return location


def risk_text(risk: Any) -> str:
    kind, value = check_risk(risk)
    return f"{kind}:{value:g}"


def risk_options() -> list[dict]:
    """The high-risk definitions offered in the app, as select options ("Top 10% of predicted risk")."""
    return [{"label": risk_label(parse_risk(f"{k}:{x:g}")).capitalize(), "value": f"{k}:{x:g}"}
            for k, x in RISK_CHOICES]


def parse_risk(text: str | None) -> RiskDefinition:
    """A risk definition from 'top_percent:10' / 'min_probability:0.3'; default if unusable."""
    if not text:
        return DEFAULT_RISK
    kind, _, value = str(text).partition(":")
    try:
        risk = RiskDefinition(kind=kind, value=float(value))
        check_risk(risk)
    except (ValueError, TypeError, FilterError):
        return DEFAULT_RISK
    return risk


def require_canonical(stored: Mapping[str, Any] | None, view: Any) -> None:
    """Refuse a view store the server did not write.

    Stores hold ``view.to_query()`` as the server wrote it (layout or callback), so a store that
    does not read back to exactly itself was made by hand: a level, area or metric the role may not
    see, or an extra field such as ``role`` or ``policy``. URLs stay forgiving (``from_query``);
    forged callback requests get a refusal (AccessDenied -> 403), never a quiet fallback.
    """
    if stored is None:
        return
    given = dict(stored)
    expected = view.to_query()
    if given != expected:
        odd = sorted(k for k in set(given) | set(expected) if given.get(k) != expected.get(k))
        raise AccessDenied("Request refused: the view was not made by this app for your role "
                           f"(unexpected {', '.join(map(str, odd[:5]))}).")


def _first(query: Mapping[str, Any], key: str) -> str | None:
    value = query.get(key)
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    return None if value in (None, "") else str(value)


def query_from_search(search: str | None) -> dict[str, str]:
    """'?a=1&b=x,y' -> {'a': '1', 'b': 'x,y'} (last value wins for repeated keys)."""
    parsed = parse_qs((search or "").lstrip("?"), keep_blank_values=False)
    return {k: v[-1] for k, v in parsed.items() if v}


def shared_query(query: Mapping[str, Any] | None) -> dict[str, str]:
    """The part of a page's URL query every page shares (SHARED_KEYS); the map's selected area,
    when there is one, is the user's area."""
    query = dict(query or {})
    out = {k: v for k in SHARED_KEYS if (v := _first(query, k)) is not None}
    selected = _first(query, SELECTED_KEY)
    if selected is not None:
        out[AREA_KEY] = selected
    return out


def page_href(path: str, query: Mapping[str, Any] | None) -> str:
    """A nav link to `path` carrying the shared part of the current query."""
    shared = shared_query(query)
    return path + ("?" + urlencode(shared, safe=",:") if shared else "")


def area_view_query(query: Mapping[str, Any] | None, levels: Sequence[str],
                    area_level: Mapping[str, str] | None, parent_of: Mapping[str, str | None] | None = None
                    ) -> dict[str, str]:
    """A query that names an area but no level (a shared link from another page), completed so the
    area's children are shown (`level` one below it) or, for an area at the lowest level the role
    may see, the area is selected among its siblings. Queries with a level are returned unchanged."""
    query = dict(query or {})
    area = _first(query, AREA_KEY)
    known = area_level or {}
    if _first(query, "level") is not None or area is None or known.get(area) not in levels:
        return query
    index = list(levels).index(known[area])
    if index + 1 < len(levels):
        return {**query, "level": levels[index + 1]}
    parent = (parent_of or {}).get(area)
    rest = {k: v for k, v in query.items() if k != AREA_KEY}
    if parent is not None and known.get(parent) in levels:
        rest[AREA_KEY] = parent
    return {**rest, "level": known[area], SELECTED_KEY: area}


@dataclass(frozen=True)
class MapView:
    """The map page's view: level shown, the area it is within, the selection, metric and filters.

    `area` None means the whole region. `selected` is the area picked for the detail card
    (a click at the lowest level the role may see). `only_high_risk` restricts every count to
    high-risk people under `risk` (it becomes `Filters.risk`).
    """

    level: str = "ics"
    area: str | None = None
    selected: str | None = None
    metric: str = "population"
    filters: Filters = field(default_factory=Filters)
    risk: RiskDefinition = DEFAULT_RISK
    scheme: str = "quantile"
    mode: str = "value"
    palette: str = "viridis"

    # ------------------------------------------------------------------ URL
    def to_query(self) -> dict[str, str]:
        query: dict[str, str] = {"level": self.level, "metric": self.metric}
        if self.area:
            query["area"] = self.area
        if self.selected:
            query["sel"] = self.selected
        query.update(self.filters.to_query())
        if (check_risk(self.risk)) != check_risk(DEFAULT_RISK):
            query["hr"] = risk_text(self.risk)
        if self.scheme != "quantile":
            query["scheme"] = self.scheme
        if self.mode != "value":
            query["mode"] = self.mode
        if self.palette != "viridis":
            query["palette"] = self.palette
        return query

    def to_search(self) -> str:
        return "?" + urlencode(self.to_query(), safe=",:")

    @classmethod
    def from_query(cls, query: Mapping[str, Any] | None, *, levels: Sequence[str] = LEVELS,
                   metrics: Sequence[str] = (), default_metric: str = "population",
                   area_level: Mapping[str, str] | None = None) -> MapView:
        """A valid view from URL values: unknown or forbidden values fall back to defaults.

        `levels`: the levels the role may see (top first); `metrics`: those on offer;
        `area_level`: area code -> level, to drop unknown areas and keep `area` above `level`.
        """
        query = dict(query or {})
        level = _first(query, "level")
        level = level if level in levels else levels[0]
        metric = _first(query, "metric")
        metric = metric if metric in metrics else default_metric
        known = area_level or {}
        area = _first(query, "area")
        if area is not None and area not in known:
            area = None
        if area is not None and LEVELS.index(known[area]) >= LEVELS.index(level):
            area = None  # an area can only contain levels below it
        if area is not None and known[area] not in levels:
            area = None
        selected = _first(query, "sel")
        if selected is not None and (selected not in known or known[selected] not in levels):
            selected = None
        try:
            filters = Filters.from_query({k: query[k] for k in (*FILTER_KEYS, "risk") if k in query})
        except FilterError:
            filters = Filters()
        risk = parse_risk(_first(query, "hr"))
        scheme = _first(query, "scheme")
        mode = _first(query, "mode")
        palette = _first(query, "palette")
        return cls(level=level, area=area, selected=selected, metric=metric, filters=filters, risk=risk,
                   scheme=scheme if scheme in SCHEMES else "quantile", mode=mode if mode in MODES else "value",
                   palette=palette if palette in PALETTES else "viridis")

    # ------------------------------------------------------------------ store (dcc.Store data)
    def to_store(self) -> dict[str, Any]:
        return self.to_query()

    @classmethod
    def from_store(cls, data: Mapping[str, Any] | None, **kwargs: Any) -> MapView:
        """The view a callback received in its store; AccessDenied if the store was forged."""
        view = cls.from_query(check_store(data) or {}, **kwargs)
        require_canonical(data, view)
        return view

    def with_(self, **changes: Any) -> MapView:
        return replace(self, **changes)

    @property
    def effective_filters(self) -> Filters:
        """Filters as the engine applies them: the 'only high-risk people' switch uses `risk`."""
        return self.filters if self.filters.risk is None else replace(self.filters, risk=self.risk)


GRADIENT_GROUPS = ("imd_decile", "imd_quintile")


@dataclass(frozen=True)
class ProfileView:
    """The area profile's view: which area (None = the region), the metric for the gradient and
    trend, the filters and risk definition, and deciles or quintiles for the gradient."""

    area: str | None = None
    metric: str = "coverage"
    filters: Filters = field(default_factory=Filters)
    risk: RiskDefinition = DEFAULT_RISK
    groups: str = "imd_decile"

    def to_query(self) -> dict[str, str]:
        query: dict[str, str] = {"metric": self.metric}
        if self.area:
            query["area"] = self.area
        query.update(self.filters.to_query())
        if check_risk(self.risk) != check_risk(DEFAULT_RISK):
            query["hr"] = risk_text(self.risk)
        if self.groups != "imd_decile":
            query["groups"] = self.groups
        return query

    def to_search(self) -> str:
        return "?" + urlencode(self.to_query(), safe=",:")

    @classmethod
    def from_query(cls, query: Mapping[str, Any] | None, *, levels: Sequence[str] = LEVELS,
                   metrics: Sequence[str] = (), default_metric: str = "coverage",
                   area_level: Mapping[str, str] | None = None) -> ProfileView:
        base = MapView.from_query(query, levels=levels, metrics=metrics, default_metric=default_metric,
                                  area_level=area_level)
        query = dict(query or {})
        area = _first(query, "area")
        known = area_level or {}
        if area is not None and (area not in known or known[area] not in levels):
            area = None
        groups = _first(query, "groups")
        return cls(area=area, metric=base.metric, filters=base.filters, risk=base.risk,
                   groups=groups if groups in GRADIENT_GROUPS else "imd_decile")

    def with_(self, **changes: Any) -> ProfileView:
        return replace(self, **changes)

    @property
    def effective_filters(self) -> Filters:
        return self.filters if self.filters.risk is None else replace(self.filters, risk=self.risk)


def _outreach_scope(area: str, level: str, levels: Sequence[str], area_level: Mapping[str, str],
                    parent_of: Mapping[str, str | None]) -> tuple[str | None, str]:
    """(area, level ranked) for outreach: an LSOA stands for its PCN; the level is below the area."""
    if area_level.get(area) == "lsoa":
        area = parent_of.get(area) or ""
    if area_level.get(area) not in LEVELS:
        return None, level
    below = [lv for lv in levels if LEVELS.index(lv) > LEVELS.index(area_level[area])]
    if not below:
        return None, level
    return area, level if level in below else below[0]


_AREA_CODE = re.compile(r"[A-Za-z0-9]{3,12}")  # an area code; anything else in a URL is dropped


@dataclass(frozen=True)
class OutreachView:
    """The outreach page: areas at `level` ranked by `rank_by` for the `risk` definition, and the
    number of planning conversations the team can hold (`capacity`)."""

    level: str = "pcn"
    risk: RiskDefinition = DEFAULT_RISK
    capacity: int = DEFAULT_CAPACITY
    rank_by: str = "high_risk_without_plan"
    filters: Filters = field(default_factory=Filters)
    area: str | None = None  # the area ranked within, and the what-if's (None = the region)
    whatif: str = WHATIF_RANKINGS[0]  # the what-if's ranking (explorer.domain.whatif.RANKINGS)

    def to_query(self) -> dict[str, str]:
        query = {"level": self.level, "capacity": str(self.capacity)}
        if self.area:
            query["area"] = self.area
        if self.whatif != WHATIF_RANKINGS[0]:
            query["wif"] = self.whatif
        if check_risk(self.risk) != check_risk(DEFAULT_RISK):
            query["hr"] = risk_text(self.risk)
        if self.rank_by != "high_risk_without_plan":
            query["rank"] = self.rank_by
        query.update(self.filters.without("risk").to_query())
        return query

    def to_search(self) -> str:
        return "?" + urlencode(self.to_query(), safe=",:")

    @classmethod
    def from_query(cls, query: Mapping[str, Any] | None, *, levels: Sequence[str] = ("place", "pcn"),
                   area_level: Mapping[str, str] | None = None,
                   parent_of: Mapping[str, str | None] | None = None) -> OutreachView:
        """`levels`: the levels the role may rank; with `area_level` (and `parent_of`) the area is
        checked: an LSOA stands for its PCN, and the level ranked is always below the area (the
        first level below it the role may rank, or no area when there is none)."""
        query = dict(query or {})
        level = _first(query, "level")
        default = "pcn" if "pcn" in levels else (levels[-1] if levels else "pcn")
        level = level if level in levels else default
        try:
            capacity = int(float(_first(query, "capacity") or DEFAULT_CAPACITY))
        except (ValueError, OverflowError):  # "abc", "nan", "1e309" in a URL: the default
            capacity = DEFAULT_CAPACITY
        capacity = min(max(capacity, 0), MAX_CAPACITY)
        rank = _first(query, "rank")
        try:
            filters = Filters.from_query({k: query[k] for k in FILTER_KEYS if k in query})
        except FilterError:
            filters = Filters()
        area = _first(query, AREA_KEY) or None
        area = area if area and _AREA_CODE.fullmatch(area) else None
        if area is not None and area_level is not None:
            area, level = _outreach_scope(area, level, levels, area_level, parent_of or {})
        wif = _first(query, "wif")
        return cls(level=level, risk=parse_risk(_first(query, "hr")), capacity=capacity,
                   rank_by=rank if rank in RANK_BY else "high_risk_without_plan", filters=filters,
                   area=area, whatif=wif if wif in WHATIF_RANKINGS else WHATIF_RANKINGS[0])

    def with_(self, **changes: Any) -> OutreachView:
        return replace(self, **changes)
