"""The SPC page's view and its round trip through the URL (pure Python, no Dash), as `state.py`
does for the other pages: forgiving when read from a URL, canonical when written to a store."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from explorer.app.state import InvalidInput, MapView, _first, check_risk, risk_text
from explorer.domain.geography import LEVELS
from explorer.domain.metrics import DEFAULT_RISK, Filters, RiskDefinition

MAX_TARGET = 1e9


def _number_text(x: float) -> str:
    """A target as the URL writes it: '75' for whole numbers, else the shortest exact form."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def parse_target(value: Any) -> float | None:
    """The target box: a finite number (None when empty); anything else is InvalidInput."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidInput("The target must be a number.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput("The target must be a number.") from None
    if not math.isfinite(number) or abs(number) > MAX_TARGET:
        raise InvalidInput(f"The target must be a number between -{MAX_TARGET:g} and {MAX_TARGET:g}.")
    return number


@dataclass(frozen=True)
class SpcView:
    """The SPC page: an area (None = the region), a metric, filters and risk (as the map page), the
    target (None: no assurance icon), the baseline (limits from the first N months) and a rebase month."""

    area: str | None = None
    metric: str = "coverage"
    filters: Filters = field(default_factory=Filters)
    risk: RiskDefinition = DEFAULT_RISK
    target: float | None = None
    baseline: int | None = None
    rebase: str | None = None

    def to_query(self) -> dict[str, str]:
        query: dict[str, str] = {"metric": self.metric}
        if self.area:
            query["area"] = self.area
        query.update(self.filters.to_query())
        if check_risk(self.risk) != check_risk(DEFAULT_RISK):
            query["hr"] = risk_text(self.risk)
        if self.target is not None:
            query["target"] = _number_text(self.target)
        if self.baseline is not None:
            query["baseline"] = str(self.baseline)
        if self.rebase:
            query["rebase"] = self.rebase
        return query

    def to_search(self) -> str:
        return "?" + urlencode(self.to_query(), safe=",:")

    @classmethod
    def from_query(cls, query: Mapping[str, Any] | None, *, levels: Sequence[str] = LEVELS,
                   metrics: Sequence[str] = (), default_metric: str = "coverage",
                   area_level: Mapping[str, str] | None = None, months: Sequence[str] = ()) -> SpcView:
        """A valid view from URL values; unknown, forbidden or unusable values fall back to defaults.
        ``months``: the series' months (a baseline is 2..len(months), a rebase one of months[1:])."""
        base = MapView.from_query(query, levels=levels, metrics=metrics, default_metric=default_metric,
                                  area_level=area_level)
        query = dict(query or {})
        area = _first(query, "area")
        known = area_level or {}
        if area is not None and (area not in known or known[area] not in levels):
            area = None
        try:
            target = parse_target(_first(query, "target"))
        except InvalidInput:
            target = None
        baseline_text = _first(query, "baseline") or ""
        baseline = int(baseline_text) if baseline_text.isdigit() and 2 <= int(baseline_text) <= len(months) else None
        rebase = _first(query, "rebase")
        rebase = rebase if rebase in tuple(months)[1:] else None
        return cls(area=area, metric=base.metric, filters=base.filters, risk=base.risk, target=target,
                   baseline=baseline, rebase=rebase)

    def with_(self, **changes: Any) -> SpcView:
        return replace(self, **changes)

    @property
    def effective_filters(self) -> Filters:
        return self.filters if self.filters.risk is None else replace(self.filters, risk=self.risk)
