"""The core of :class:`CoverageEngine`: construction, caches, cell tables, scopes and the one
evaluator, :meth:`CoverageEngine._evaluate`, every figure goes through."""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

import numpy as np

from explorer.domain import metrics as M
from explorer.domain.coverage._common import (
    _PERSON_MEASURES,
    _PLAN_MEASURES,
    _USER_MEASURES,
    LEVELS,
    NO_MODEL,
    RAW,
    Key,
    _alive,
)
from explorer.domain.coverage._groups import _Groups
from explorer.domain.coverage._outreach import _Outreach
from explorer.domain.coverage._source import CellSource, RiskKey
from explorer.domain.coverage._sums import Summing
from explorer.domain.coverage._tables import _AreaTables
from explorer.domain.coverage._time import _Time
from explorer.domain.disclosure import DisclosurePolicy
from explorer.domain.geography import Geography
from explorer.domain.metrics import (
    DEFAULT_RISK,
    METRICS,
    AreaIndex,
    Cells,
    Computed,
    FilterError,
    Filters,
    MonthLike,
    RiskLike,
    compute_metric,
)
from explorer.errors import ExplorerError

_T = TypeVar("_T")


@dataclass(frozen=True, eq=False)
class CoverageEngine(_AreaTables, _Groups, _Time, _Outreach):
    """Care-plan metrics for one region. Immutable; caches are internal and thread-safe.

    ``geography``: the region's LSOAs and areas. ``cells``: the source of the cell tables.
    ``snapshot``: the extract's month end (any date in the month). ``history_months``: the months
    of history the records hold, ending at the snapshot.

    This class is the core - construction, caches, cell tables, scopes and the one evaluator
    :meth:`_evaluate`; the public figures come from its mixins (area tables, groups, time, outreach).
    """

    geography: Geography
    cells: CellSource
    snapshot: dt.date
    history_months: int
    default_risk: RiskLike = DEFAULT_RISK
    #: build the plan cells of all history months at once (the app: trends come free); False builds
    #: only the months asked for (a one-shot CLI call needs one snapshot: about 24 times less work)
    eager_history: bool = True
    #: cell tables kept in memory (least recently used dropped first); each London table is ~50-150 MB
    max_cell_tables: int = 6
    _cache: dict[Hashable, object] = field(default_factory=dict, init=False, repr=False)
    _locks: dict[Hashable, threading.Lock] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _lru: OrderedDict[Hashable, None] = field(default_factory=OrderedDict, init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "snapshot", M.month_end(self.snapshot))

    # ------------------------------------------------------------------ caches and cells

    def _memo(self, key: Hashable, build: Callable[[], _T], *, evictable: bool = False) -> _T:
        with self._lock:
            if key in self._cache:
                if key in self._lru:
                    self._lru.move_to_end(key)
                return self._cache[key]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # one build per key even under concurrent callbacks
            with self._lock:
                if key in self._cache:
                    return self._cache[key]
            value = build()
            with self._lock:
                self._cache[key] = value
                if evictable:
                    self._lru[key] = None
                    while len(self._lru) > self.max_cell_tables:
                        old, _ = self._lru.popitem(last=False)
                        self._cache.pop(old, None)
            return value

    @property
    def index(self) -> AreaIndex:
        geo = self.geography
        return self._memo("index", lambda: AreaIndex(geo.lsoas, geo.areas, geo.region_code, geo.region_name,
                                                     geo.pcn_weights))

    @property
    def months(self) -> tuple[dt.date, ...]:
        """The history's month ends, oldest first, ending at the snapshot."""
        return M.month_ends(self.snapshot, self.history_months)

    @property
    def has_risk_scores(self) -> bool:
        return self.cells.has_risk_scores

    @property
    def has_records(self) -> bool:
        return self.cells.has_records

    def available_metrics(self) -> list[str]:
        """Metric names this engine can serve now (risk metrics need a trained model)."""
        out = []
        for name, info in METRICS.items():
            if info.source == "geography":
                out.append(name)
            elif info.source == "users":
                if self.cells.has_users:
                    out.append(name)
            elif self.has_records and (not info.needs_risk or self.has_risk_scores):
                out.append(name)
        return out

    def _risk_key(self, risk: RiskLike | None) -> RiskKey | None:
        """The cells' risk definition. With risk scores present, cells for metrics that do not need
        one are built with the default definition too, so every metric shares one set of cells."""
        key = M.risk_key(risk)
        if key is None:
            return M.risk_key(self.default_risk) if self.has_risk_scores else None
        if not self.has_risk_scores:
            raise ExplorerError(NO_MODEL.format(region=self.geography.region))
        return key

    def person_cells(self, risk: RiskLike | None = None) -> Cells:
        """Encoded person cells (built on first use, then cached) for a risk definition."""
        key = self._risk_key(risk)
        return self._memo(("person", key), lambda: Cells(
            self.cells.person_cells(key), self.index, _PERSON_MEASURES),
            evictable=True)

    def plan_cells(self, months: Sequence[dt.date], risk: RiskLike | None = None) -> Cells:
        """Encoded plan cells for these month ends (built on first use, then cached)."""
        key = self._risk_key(risk)
        months = tuple(months)
        labels = [m.strftime("%Y-%m") for m in months]
        return self._memo(("plan", months, key), lambda: Cells(
            self.cells.plan_cells(months, key), self.index, _PLAN_MEASURES,
            months=labels), evictable=True)

    def user_cells(self, months: Sequence[dt.date]) -> Cells:
        """Encoded clinician-user cells for these month ends."""
        months = tuple(months)
        labels = [m.strftime("%Y-%m") for m in months]
        return self._memo(("users", months), lambda: Cells(
            self.cells.user_cells(months), self.index, _USER_MEASURES,
            months=labels), evictable=True)

    def _month_table(self, months: Sequence[dt.date]) -> tuple[dt.date, ...]:
        """The month table to build/use for ``months``: the whole history when it covers them
        (and ``eager_history``, or it is already built), else just these months."""
        months = tuple(months)
        if all(m in self.months for m in months):
            if self.eager_history or months == self.months:
                return self.months
            with self._lock:  # the history is already built (for any risk definition): use it
                built = any(isinstance(k, tuple) and k[:2] == ("plan", self.months) for k in self._cache)
            if built:
                return self.months
        return months

    def _as_of(self, as_of: MonthLike | None) -> dt.date:
        month = self.snapshot if as_of is None else M.month_end(as_of)
        if month > self.snapshot:
            raise FilterError(f"as_of {month:%Y-%m} is after the extract ({self.snapshot:%Y-%m})")
        return month

    # ------------------------------------------------------------------ scopes

    def _check_level(self, level: str) -> str:
        if level not in LEVELS:
            raise FilterError(f"unknown level '{level}': choose one of {', '.join(LEVELS)}")
        return level

    def _area_scope(self, level: str | None, area_code: str | None) -> tuple[str, tuple[str, int] | None]:
        if area_code is not None:
            lvl = self.index.level_of(area_code)
            if lvl == "region":
                return lvl, None
            return lvl, (lvl, int(self.index.codes[lvl].get_loc(area_code)))
        return self._check_level(level or "region"), None

    # ------------------------------------------------------------------ the one evaluator

    def _resolve_risk(self, metric: str, filters: Filters, risk: RiskLike | None) -> RiskLike | None:
        chosen = risk if risk is not None else filters.risk
        if chosen is None and METRICS[metric].needs_risk:
            chosen = self.default_risk
        return chosen

    def _keys(self, cells: Cells, dims: Sequence[str], outside_in_region: bool,
              deprivation_level: str = "lsoa") -> list[Key]:
        keys = []
        for dim in dims:
            if dim.startswith("area:"):
                level = dim[5:]
                if level == "region" and outside_in_region:
                    keys.append((np.zeros(cells.n, np.int32), 2))
                else:
                    keys.append((cells.area_codes(level), self.index.n_areas(level) + 1))
            elif dim == "month":
                if "month" in cells.codes:
                    keys.append((cells.codes["month"], cells.size("month")))
            else:
                if dim not in cells.codes:
                    raise FilterError(f"cannot split by {dim} here")
                keys.append((cells.dim_codes(dim, deprivation_level), cells.size(dim)))
        return keys

    def _evaluate(self, metric: str, filters: Filters, months: Sequence[dt.date], dims: Sequence[str], *,
                  restrict: tuple[str, int] | None = None, risk: RiskLike | None = None,
                  policy: DisclosurePolicy = RAW) -> Computed:
        """The metric for every combination of ``dims`` (arrays include the unknown/outside slots).

        ``months``: one month for a snapshot, or several with "month" as the first dim (trend).
        ``restrict``: (level, area index) to keep only one area's cells. ``policy``: the disclosure
        rules of the figures' audience - statistics from rounded inputs
        (:func:`explorer.domain.metrics.compute_metric`) and deprivation groups of whole areas.
        """
        info = M.check_metric(metric)
        if info.source == "geography":
            raise FilterError(f"{metric} comes from the bundle and is not split by group or month")
        labels = [m.strftime("%Y-%m") for m in months]
        month_table = self._month_table(months)

        rounding, dep = policy.statistics_rounding, policy.deprivation_level

        def summing(dims_: Sequence[str], flt: Filters, area: bool = True) -> Summing:
            return Summing(self.index, tuple(dims_), flt, restrict if area else None, dep,
                           lambda cells, d: self._keys(cells, d, False, dep))

        if info.source == "users":  # clinician users, counted where their organisation is: not apportioned
            cells = self.user_cells(month_table).for_months(labels)
            in_area = None if restrict is None else cells.area_codes(restrict[0]) == restrict[1]
            sums = cells.sums(in_area, self._keys(cells, dims, True, dep), M.NEEDS[metric][0])
            return compute_metric(metric, sums, rounding=rounding)

        chosen = self._resolve_risk(metric, filters, risk)
        flt = filters if filters.risk is None else replace(filters, risk=chosen)
        people = self.person_cells(chosen)
        plans = self.plan_cells(month_table, chosen).for_months(labels)
        need_people, need_plans = M.NEEDS[metric]
        stratum = M.STRATA.get(metric)
        extra = [stratum] if stratum else []
        total = summing([*dims, *extra], flt)
        sums = total.whole({**_alive(total, people, plans, need_people), **total(plans, need_plans)})
        if stratum is None:
            return compute_metric(metric, sums, rounding=rounding)
        # the standard: the whole region under the same filters, by stratum (and month for a trend)
        ref_dims = ["month", stratum] if "month" in dims else [stratum]
        region = summing(ref_dims, flt, area=False)
        ref_people = _alive(region, people, plans, ["people"])["people"]
        if stratum == "esp_band":
            n_bands = len(M.VOCAB["esp_band"])
            trimmed = {k: v[..., :n_bands] for k, v in sums.items()}
            bands = np.asarray(ref_people)[..., :n_bands] > 0
            return compute_metric(metric, trimmed, dsr_bands=bands.all(axis=0) if bands.ndim > 1 else bands,
                                  rounding=rounding)
        ref_plans = region(plans, ["plans"])["plans"]
        ref_people, ref_plans = np.broadcast_arrays(ref_people, ref_plans)
        with np.errstate(divide="ignore", invalid="ignore"):
            reference = np.where(ref_people > 0, ref_plans / np.where(ref_people > 0, ref_people, 1), np.nan)
        # reference: (strata,) for a snapshot, (months, strata) for a trend - aligned with the sums
        return compute_metric(metric, sums, reference=reference)
