"""The view of the spine chart, overview and compare-areas pages and its round trip through the
URL (pure Python, no Dash), as `state.py` does for the other pages.

Read forgivingly from a URL (level, area, metric, filters and risk through `MapView.from_query`,
so every page parses them one way; unknown or forbidden values fall back to defaults) and
rebuilt by the server on every request: these pages keep no view store a request could forge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from explorer.app.state import MapView, _first, check_risk, risk_text
from explorer.domain.geography import LEVELS
from explorer.domain.metrics import DEFAULT_RISK, Filters, RiskDefinition
from explorer.services.area_views import COMPARATORS

MAX_GROUP = 30  # areas in a comparator group (nearest neighbours are 15)
NAME_SORT = "area_name"


@dataclass(frozen=True)
class AreasView:
    """`level`: the areas shown (overview, compare) or ranged (spine); `area`: the spine's area, or
    the parent the overview and compare pages look within (None: the region); `metric`: compare's
    metric; `comparator`: region, parent or group (spine); `group`: comparator group codes, all at
    one level; `sort`/`ascending`: the overview's sort (a metric or the area name)."""

    level: str = "place"
    area: str | None = None
    metric: str = "coverage"
    filters: Filters = field(default_factory=Filters)
    risk: RiskDefinition = DEFAULT_RISK
    comparator: str = "region"
    group: tuple[str, ...] = ()
    sort: str = NAME_SORT
    ascending: bool = True

    def to_query(self) -> dict[str, str]:
        query: dict[str, str] = {"level": self.level, "metric": self.metric}
        if self.area:
            query["area"] = self.area
        query.update(self.filters.to_query())
        if check_risk(self.risk) != check_risk(DEFAULT_RISK):
            query["hr"] = risk_text(self.risk)
        if self.comparator != "region":
            query["cmp"] = self.comparator
        if self.group:
            query["group"] = ",".join(self.group)
        if self.sort != NAME_SORT:
            query["sort"] = self.sort
        if not self.ascending:
            query["dir"] = "desc"
        return query

    def to_search(self) -> str:
        return "?" + urlencode(self.to_query(), safe=",:")

    def href(self, path: str, **changes: Any) -> str:
        return path + self.with_(**changes).to_search()

    @classmethod
    def from_query(cls, query: Mapping[str, Any] | None, *, levels: Sequence[str] = LEVELS,
                   metrics: Sequence[str] = (), default_metric: str = "coverage",
                   area_level: Mapping[str, str] | None = None, default_level: str | None = None,
                   area_any_level: bool = False) -> AreasView:
        """A valid view from URL values. `area_any_level`: the spine's area may be at any level the
        role sees (the overview's and compare's area must lie above `level`)."""
        query = dict(query or {})
        if default_level in levels and _first(query, "level") not in levels:
            query["level"] = default_level
        base = MapView.from_query(query, levels=levels, metrics=metrics, default_metric=default_metric,
                                  area_level=area_level)
        known = area_level or {}
        area = base.area
        if area_any_level:
            area = _first(query, "area")
            area = area if area in known and known[area] in levels else None
        group = _group(_first(query, "group"), known, levels)
        cmp = _first(query, "cmp")
        cmp = cmp if cmp in COMPARATORS and (cmp != "group" or group) else "region"
        sort = _first(query, "sort")
        sort = sort if sort in (*metrics, NAME_SORT) else NAME_SORT
        return cls(level=base.level, area=area, metric=base.metric, filters=base.filters, risk=base.risk,
                   comparator=cmp, group=group, sort=sort, ascending=_first(query, "dir") != "desc")

    def with_(self, **changes: Any) -> AreasView:
        return replace(self, **changes)

    @property
    def effective_filters(self) -> Filters:
        return self.filters if self.filters.risk is None else replace(self.filters, risk=self.risk)


def _group(text: str | None, known: Mapping[str, str], levels: Sequence[str]) -> tuple[str, ...]:
    """Comparator group codes from 'A,B,C': known areas the role may see, at the first one's level,
    without repeats, at most MAX_GROUP; anything else is dropped."""
    out: list[str] = []
    for code in (text or "").split(","):
        code = code.strip()
        if code in known and known[code] in levels and code not in out:
            if out and known[code] != known[out[0]]:
                continue
            out.append(code)
    return tuple(out[:MAX_GROUP])
