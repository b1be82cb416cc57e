"""CoverageEngine: the read-only facade the app and CLI use for every care-plan figure.

Built once per process by :func:`explorer.services.load_engine` (``load_engine(settings, region)``):
it holds the region's :class:`~explorer.domain.geography.Geography` and a :class:`CellSource` - the
service that reads the records - and asks it for the cell tables lazily, once per (months, risk
definition), caching them in memory. Every method then filters and sums cells with
:mod:`explorer.domain.metrics` - milliseconds - and returns a DataFrame. Pure: no files, no engines.

Levels are "ics", "place", "pcn", "lsoa" and also "region" (one row: the whole region). Each
level aggregates its own LSOA membership (``lsoas.<level>_code``), so a PCN straddling two places
counts in each place only with its own LSOAs.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

import numpy as np
import pandas as pd

from explorer.domain import metrics as M
from explorer.domain.disclosure import DisclosurePolicy, round_counts
from explorer.domain.geography import Geography, area_summary
from explorer.domain.metrics import (
    DEFAULT_RISK, METRICS, AreaIndex, Cells, Computed, FilterError, Filters, MonthLike, RiskLike, compute_metric,
)
from explorer.domain.stats import recent_trend
from explorer.errors import ExplorerError

LEVELS = ("region", "ics", "place", "pcn", "lsoa")
METRIC_COLUMNS = ("value", "numerator", "denominator", "lower", "upper")
_PERSON_MEASURES = ("people", "admitted_next_12m", "risk_sum", "risk_var")
_PLAN_MEASURES = ("plans", "items_sum", "items_sumsq", "key_complete", "reviewed", "kc_reviewed",
                  "kc_reviewed_viewed", "urgent_views", "risk_with_plan", "risk_var_with_plan", "deaths",
                  "risk_of_deaths", "risk_var_of_deaths")
_USER_MEASURES = ("users", "active_users", "active_users_10plus")
NO_FILTERS = Filters()  # frozen: a safe shared default
RAW = DisclosurePolicy.raw()  # exact figures (the analyst; internal sums)
NO_MODEL = "no risk model has been trained for {region}: run `explorer model train` to score people first"

#: A validated risk definition as the cell tables key it: (kind, value).
RiskKey = tuple[str, float]
#: (codes per cell row, number of codes) for one grouping dimension.
Key = tuple[np.ndarray, int]
_T = TypeVar("_T")


class CellSource(Protocol):
    """Where the engine's aggregate cell tables come from (one row per cell: LSOA code, month, the
    person dimensions and the summed measures). ``RecordCells`` of :mod:`explorer.services.engine`
    reads them from a region's records; a test can serve hand-made frames."""

    @property
    def has_records(self) -> bool:
        """Whether people and plans can be read."""
        ...

    @property
    def has_risk_scores(self) -> bool:
        """Whether a trained risk model has scored the people."""
        ...

    @property
    def has_users(self) -> bool:
        """Whether clinician users can be read."""
        ...

    def person_cells(self, risk: RiskKey | None) -> pd.DataFrame:
        """Person cells, flagged high risk under ``risk`` (None: no flag)."""
        ...

    def plan_cells(self, months: Sequence[dt.date], risk: RiskKey | None) -> pd.DataFrame:
        """Plan cells for these month ends."""
        ...

    def user_cells(self, months: Sequence[dt.date]) -> pd.DataFrame:
        """Clinician-user cells for these month ends."""
        ...


def metric_columns(metric: str) -> list[str]:
    """``<metric>``, ``<metric>_numerator``, ``_denominator``, ``_lower``, ``_upper``."""
    return [metric, *(f"{metric}_{c}" for c in METRIC_COLUMNS[1:])]


@dataclass(frozen=True, eq=False)
class CoverageEngine:
    """Care-plan metrics for one region. Immutable; caches are internal and thread-safe.

    ``geography``: the region's LSOAs and areas. ``cells``: the source of the cell tables.
    ``snapshot``: the extract's month end (any date in the month). ``history_months``: the months
    of history the records hold, ending at the snapshot.
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
        return self._memo("index", lambda: AreaIndex(geo.lsoas, geo.areas, geo.region_code, geo.region_name))

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

        def keys(cells: Cells, dims_: Sequence[str], outside_in_region: bool = False) -> list[Key]:
            return self._keys(cells, dims_, outside_in_region, dep)

        def keep(cells: Cells, flt: Filters, area: bool = True) -> np.ndarray | None:
            mask = cells.mask(flt, deprivation_level=dep)
            if area and restrict is not None:
                in_area = cells.area_codes(restrict[0]) == restrict[1]
                mask = in_area if mask is None else mask & in_area
            return mask

        if info.source == "users":  # clinician users: person filters do not apply
            cells = self.user_cells(month_table).for_months(labels)
            sums = cells.sums(keep(cells, NO_FILTERS), keys(cells, dims, True), M.NEEDS[metric][0])
            return compute_metric(metric, sums, rounding=rounding)

        chosen = self._resolve_risk(metric, filters, risk)
        flt = filters if filters.risk is None else replace(filters, risk=chosen)
        people = self.person_cells(chosen)
        plans = self.plan_cells(month_table, chosen).for_months(labels)
        need_people, need_plans = M.NEEDS[metric]
        stratum = M.STRATA.get(metric)
        extra = [stratum] if stratum else []
        sums = {**_alive(people, plans, keep(people, flt), keep(plans, flt), keys(people, [*dims, *extra]),
                         keys(plans, [*dims, *extra]), need_people),
                **plans.sums(keep(plans, flt), keys(plans, [*dims, *extra]), need_plans)}
        if stratum is None:
            return compute_metric(metric, sums, rounding=rounding)
        # the standard: the whole region under the same filters, by stratum (and month for a trend)
        ref_dims = ["month", stratum] if "month" in dims else [stratum]
        ref_people = _alive(people, plans, keep(people, flt, False), keep(plans, flt, False),
                            keys(people, ref_dims), keys(plans, ref_dims), ["people"])["people"]
        if stratum == "esp_band":
            n_bands = len(M.VOCAB["esp_band"])
            trimmed = {k: v[..., :n_bands] for k, v in sums.items()}
            bands = np.asarray(ref_people)[..., :n_bands] > 0
            return compute_metric(metric, trimmed, dsr_bands=bands.all(axis=0) if bands.ndim > 1 else bands,
                                  rounding=rounding)
        ref_plans = plans.sums(keep(plans, flt, False), keys(plans, ref_dims), ["plans"])["plans"]
        ref_people, ref_plans = np.broadcast_arrays(ref_people, ref_plans)
        with np.errstate(divide="ignore", invalid="ignore"):
            reference = np.where(ref_people > 0, ref_plans / np.where(ref_people > 0, ref_people, 1), np.nan)
        # reference: (strata,) for a snapshot, (months, strata) for a trend - aligned with the sums
        return compute_metric(metric, sums, reference=reference)

    # ------------------------------------------------------------------ area tables

    def _check_level(self, level: str) -> str:
        if level not in LEVELS:
            raise FilterError(f"unknown level '{level}': choose one of {', '.join(LEVELS)}")
        return level

    def _geography_table(self, level: str, metric: str) -> pd.DataFrame:
        geo = self.geography
        lsoas, areas, as_level = geo.lsoas, geo.areas, level
        if level == "region":  # the whole region as one "ics" of area_summary
            lsoas = lsoas.assign(ics_code=geo.region_code)
            areas = pd.DataFrame({"level": ["ics"], "area_code": [geo.region_code],
                                  "area_name": [geo.region_name], "parent_code": [None]})
            as_level = "ics"
        summary = self._memo(("geo", level), lambda: area_summary(lsoas, areas, as_level))
        pop = summary["population"].astype(float)
        nan = np.full(len(summary), np.nan)
        if metric == "population":
            parts = (pop, pop, nan, nan, nan)
        elif metric == "imd_score":
            parts = (summary["imd_score"], nan, pop, nan, nan)
        else:
            share = summary["core20_population_share"].astype(float)
            parts = (share * 100, (share * pop).round(), pop, nan, nan)
        table = summary[["area_code", "area_name", "parent_code"]].copy()
        for col, values in zip(metric_columns(metric), parts, strict=True):
            table[col] = np.asarray(values, dtype=float)
        return table

    def _within(self, table: pd.DataFrame, level: str, within: str | None) -> pd.DataFrame:
        if within is None:
            return table
        within_level = self.index.level_of(within)
        if within_level == "region":
            return table
        if LEVELS.index(within_level) >= LEVELS.index(level):
            raise FilterError(f"{within} is a {within_level}: it has no {level} areas inside it")
        ancestors = pd.Series(self.index.ancestor_codes(level, within_level), index=self.index.codes[level])
        keep = table["area_code"].map(ancestors) == within
        return table[keep.to_numpy()].reset_index(drop=True)

    def metric_table(self, level: str, metric: str, filters: Filters = NO_FILTERS, as_of: MonthLike | None = None,
                     within: str | None = None, *, risk: RiskLike | None = None, policy: DisclosurePolicy = RAW
                     ) -> pd.DataFrame:
        """One row per area at ``level``: area_code, area_name, parent_code, <metric>,
        <metric>_numerator, <metric>_denominator, <metric>_lower, <metric>_upper.

        ``within``: only areas inside that area (any level above). ``as_of``: a month (YYYY-MM)
        up to the extract; default the snapshot. ``risk``: the RiskDefinition for risk metrics
        (default ``filters.risk`` or top 10%). Geography metrics ignore filters and as_of. ``policy``:
        whose figures these are (see :meth:`_evaluate`); the caller still applies the release rules.
        """
        self._check_level(level)
        info = M.check_metric(metric)
        if info.source == "geography":
            return self._within(self._geography_table(level, metric), level, within)
        month = self._as_of(as_of)
        computed = self._evaluate(metric, filters, [month], [f"area:{level}"], risk=risk, policy=policy)
        n = self.index.n_areas(level)
        table = self.index.names[level].reset_index(drop=True).copy()
        values = computed.frame(metric).iloc[:n].reset_index(drop=True)
        table = pd.concat([table, values], axis=1)
        return self._within(table, level, within)

    def comparator(self, metric: str, filters: Filters = NO_FILTERS, as_of: MonthLike | None = None, *,
                   risk: RiskLike | None = None, policy: DisclosurePolicy = RAW) -> dict[str, str | float]:
        """The region's value and CI, for benchmarking areas against (keys: area_code, area_name,
        value, numerator, denominator, lower, upper)."""
        row = self.metric_table("region", metric, filters, as_of, risk=risk, policy=policy).iloc[0]
        out = {"area_code": row["area_code"], "area_name": row["area_name"]}
        for key, col in zip(METRIC_COLUMNS, metric_columns(metric), strict=True):
            out[key] = float(row[col])
        return out

    # ------------------------------------------------------------------ groups and inequality

    def _area_scope(self, level: str | None, area_code: str | None) -> tuple[str, tuple[str, int] | None]:
        if area_code is not None:
            lvl = self.index.level_of(area_code)
            if lvl == "region":
                return lvl, None
            return lvl, (lvl, int(self.index.codes[lvl].get_loc(area_code)))
        return self._check_level(level or "region"), None

    def _group_rows(self, metric: str, by: str, filters: Filters, level: str | None, area_code: str | None,
                    as_of: MonthLike | None, risk: RiskLike | None, policy: DisclosurePolicy = RAW) -> pd.DataFrame:
        info = M.check_metric(metric)
        if by not in M.BY_DIMENSIONS:
            raise FilterError(f"cannot split by '{by}': choose from {', '.join(M.BY_DIMENSIONS)}")
        if info.source == "geography":
            raise FilterError(f"{metric} is an area measure from the bundle: it is not split by {by}")
        if info.source == "users" and by not in ("imd_decile", "imd_quintile"):
            raise FilterError(f"{metric} counts clinician users, who can only be split by the deprivation "
                              "of their organisation's LSOA (imd_decile or imd_quintile)")
        lvl, restrict = self._area_scope(level, area_code)
        month = self._as_of(as_of)
        computed = self._evaluate(metric, filters, [month], [f"area:{lvl}", by], restrict=restrict, risk=risk,
                                  policy=policy)
        if metric == "adjusted_coverage":
            weight = self._evaluate("plans", filters, [month], [f"area:{lvl}", by], restrict=restrict,
                                    risk=risk, policy=policy).denominator
        else:
            weight = computed.denominator
        n_areas = self.index.n_areas(lvl)
        n_groups = len(M.VOCAB[by])
        labels = [*map(str, M.VOCAB[by]), M.UNKNOWN]
        frame = computed.frame()
        frame["weight"] = np.asarray(weight, float).ravel()
        frame["area_code"] = np.repeat([*self.index.codes[lvl], None], n_groups + 1)
        frame["group"] = np.tile(labels, n_areas + 1)
        frame["_g"] = np.tile(np.arange(n_groups + 1), n_areas + 1)
        frame = frame[frame["area_code"].notna()]
        if restrict is not None:
            frame = frame[frame["area_code"] == self.index.codes[lvl][restrict[1]]]
        unknown = frame["_g"] == n_groups
        empty = frame["numerator"].fillna(0).eq(0) & frame["denominator"].fillna(0).eq(0)
        frame = frame[~(unknown & empty)]
        cols = ["area_code", "group", *METRIC_COLUMNS, "weight"]
        return frame[cols].reset_index(drop=True)

    def by_group(self, metric: str, by: str, filters: Filters = NO_FILTERS, level: str | None = None,
                 area_code: str | None = None, *, as_of: MonthLike | None = None, risk: RiskLike | None = None,
                 policy: DisclosurePolicy = RAW) -> pd.DataFrame:
        """The metric per group of ``by`` (imd_decile|imd_quintile|ethnic_group|age_band|sex|disabled|
        frailty): columns area_code, group, value, numerator, denominator, lower, upper.

        ``area_code`` -> that area only; else ``level`` -> every area at the level; else the region.
        Groups come in vocabulary order (IMD 1 = most deprived first); every group is listed (NaN
        where nobody), plus "unknown" only when records with unknown attributes contribute.
        """
        return self._group_rows(metric, by, filters, level, area_code, as_of, risk, policy).drop(columns="weight")

    def inequality(self, level: str, metric: str, by: str, filters: Filters = NO_FILTERS, *,
                   as_of: MonthLike | None = None,
                   risk: RiskLike | None = None, transform: str | None = None, n_simulations: int = 10_000,
                   policy: DisclosurePolicy = RAW) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(rows, summary): the by-group rows for every area at ``level`` and, per area, the slope and
        relative index of inequality (OHID method: weighted regression on the cumulative population
        midpoint of each deprivation quantile, most deprived first, weights = each quantile's
        denominator - people for counts and adjusted coverage; CIs by simulation). SII = least
        minus most deprived end, so a positive SII means higher values in less deprived areas.
        Only for by = imd_decile or imd_quintile; other groupings give NaN SII/RII.
        """
        rows = self._group_rows(metric, by, filters, level, None, as_of, risk, policy)
        summary = M.sii_summary(rows, by, transform=transform, n_simulations=n_simulations)
        return rows.drop(columns="weight"), summary

    # ------------------------------------------------------------------ time

    def trend(self, metric: str, filters: Filters = NO_FILTERS, area_code: str | None = None, *,
              as_of: MonthLike | None = None, risk: RiskLike | None = None, policy: DisclosurePolicy = RAW
              ) -> tuple[pd.DataFrame, dict[str, Any]]:
        """Monthly snapshots over the 24 months to ``as_of`` (default the snapshot) for the region or
        one area: DataFrame[month, value, numerator, denominator, lower, upper] (oldest first) and
        the Fingertips recent-trend test on the last 5 points.
        """
        info = M.check_metric(metric)
        if info.source == "geography":
            raise FilterError(f"{metric} is a fixed area measure from the bundle: it has no monthly trend")
        months = M.month_ends(self._as_of(as_of), self.history_months)
        _, restrict = self._area_scope(None, area_code)
        computed = self._evaluate(metric, filters, months, ["month"], restrict=restrict, risk=risk, policy=policy)
        n = len(months)
        frame = computed.frame()
        if len(frame) == 1:  # metric without a month axis (e.g. high_risk): constant over time
            frame = pd.concat([frame] * (n + 1), ignore_index=True)
        frame = frame.iloc[:n].reset_index(drop=True)
        frame.insert(0, "month", [m.strftime("%Y-%m") for m in months])
        nums, dens = M.trend_inputs(metric, Computed(*(frame[c].to_numpy() for c in METRIC_COLUMNS)))
        if policy.statistics_rounding is not None:  # the test, like every released figure, from rounded counts
            nums, dens = (round_counts(x, policy.statistics_rounding) for x in (nums, dens))
        return frame, recent_trend(nums, dens)

    # ------------------------------------------------------------------ cascade, gaps, outreach

    def cascade(self, filters: Filters = NO_FILTERS, area_code: str | None = None,
                risk: RiskLike | None = DEFAULT_RISK, *,
                as_of: MonthLike | None = None, policy: DisclosurePolicy = RAW) -> pd.DataFrame:
        """People at risk -> with a live plan -> plan complete (all KEY_ITEMS) -> reviewed within
        period -> viewed by urgent care in 12 months; columns step, count, share_of_previous (and
        measure, share_of_first). Each step is a subset of the one before. ``risk=None`` starts
        from everyone matching the filters instead of the high-risk people.
        """
        month = self._as_of(as_of)
        _, restrict = self._area_scope(None, area_code)
        flt = filters if risk is None else replace(filters, risk=risk)
        people = self.person_cells(flt.risk)
        plans = self.plan_cells(self._month_table([month]), flt.risk)

        plans = plans.for_months([month.strftime("%Y-%m")])

        def keep(cells: Cells) -> np.ndarray | None:
            mask = cells.mask(flt, deprivation_level=policy.deprivation_level)
            if restrict is not None:
                in_area = cells.area_codes(restrict[0]) == restrict[1]
                mask = in_area if mask is None else mask & in_area
            return mask

        sums = {**_alive(people, plans, keep(people), keep(plans), [], [], ["people"]),
                **plans.sums(keep(plans), [], [s for s, _ in M.CASCADE_STEPS[1:]])}
        return M.cascade_table(sums, "At risk (high risk)" if flt.risk is not None else "People")

    def gap_count(self, level: str, metric: str = "coverage", filters: Filters = NO_FILTERS, *,
                  as_of: MonthLike | None = None,
                  risk: RiskLike | None = None, policy: DisclosurePolicy = RAW) -> pd.DataFrame:
        """Plans (numerator units) each area needs to bring every IMD quintile up to the rate of its
        least deprived quintile: sum over quintiles of max(0, rate_ref x denominator_q -
        numerator_q), rate_ref = the least deprived quintile present in the area (quintile 5 when
        it has residents). Columns area_code, gap, reference_quintile.
        """
        info = M.check_metric(metric)
        if info.kind not in ("proportion", "rate") or metric == "coverage_dsr":
            raise FilterError(f"a gap count needs a crude proportion or rate; {metric} is a {info.kind}")
        rows = self._group_rows(metric, "imd_quintile", filters, level, None, as_of, risk, policy)
        rows = rows[rows["group"] != M.UNKNOWN]
        codes = self.index.codes[self._check_level(level)]
        num = rows.pivot(index="area_code", columns="group", values="numerator").reindex(codes).fillna(0)
        den = rows.pivot(index="area_code", columns="group", values="denominator").reindex(codes).fillna(0)
        order = [str(q) for q in M.VOCAB["imd_quintile"]]
        num, den = num[order].to_numpy(), den[order].to_numpy()
        if policy.statistics_rounding is not None:  # released gaps rest on rounded group counts
            num, den = (round_counts(x, policy.statistics_rounding) for x in (num, den))
        gap, ref = M.gap_from_groups(num, den)
        return pd.DataFrame({"area_code": list(codes), "gap": gap, "reference_quintile": ref.astype(int)})

    def outreach(self, level: str, risk: RiskLike | None = None, filters: Filters = NO_FILTERS, *,
                 as_of: MonthLike | None = None,
                 within: str | None = None, policy: DisclosurePolicy = RAW) -> pd.DataFrame:
        """High-risk people without a plan, per area, sorted by that count (largest first):
        area_code, area_name, high_risk, high_risk_without_plan, high_risk_plan_coverage (+ _numerator,
        _denominator, _lower, _upper), expected_admissions_without_plan (+ _lower, _upper) and gap (plans
        needed to bring high-risk coverage in every IMD quintile up to the area's least deprived one).
        """
        risk = risk if risk is not None else (filters.risk or self.default_risk)
        flt = replace(filters, risk=None)
        base = self.metric_table(level, "high_risk", flt, as_of, within, risk=risk, policy=policy)
        table = base[["area_code", "area_name", "high_risk"]].copy()
        for metric, cols in (("high_risk_without_plan", ["high_risk_without_plan"]),
                             ("high_risk_plan_coverage", metric_columns("high_risk_plan_coverage")),
                             ("expected_admissions_without_plan", ["expected_admissions_without_plan",
                                                                   "expected_admissions_without_plan_lower",
                                                                   "expected_admissions_without_plan_upper"])):
            part = self.metric_table(level, metric, flt, as_of, within, risk=risk, policy=policy)
            table = table.merge(part[["area_code", *cols]], on="area_code", how="left")
        gap = self.gap_count(level, "high_risk_plan_coverage", flt, as_of=as_of, risk=risk, policy=policy)
        table = table.merge(gap[["area_code", "gap"]], on="area_code", how="left")
        return table.sort_values(["high_risk_without_plan", "area_code"], ascending=[False, True],
                                 ignore_index=True)


def _alive(people: Cells, plans: Cells, people_mask: np.ndarray | None, plans_mask: np.ndarray | None,
           people_keys: list[Key], plans_keys: list[Key], measures: Sequence[str]) -> dict[str, np.ndarray]:
    """Person-side sums less the people known to have died by the month end (plans closed as
    deceased): the population alive at the snapshot as far as the records tell."""
    sums = people.sums(people_mask, people_keys, measures)
    deaths = [M.DEATHS_OF[m] for m in measures if m in M.DEATHS_OF]
    if deaths:
        dead = plans.sums(plans_mask, plans_keys, deaths)
        for m in measures:
            if m in M.DEATHS_OF:
                sums[m] = sums[m] - dead[M.DEATHS_OF[m]]
    return sums


# --------------------------------------------------------------------------- CLI/export tables


def summary_table(engine: CoverageEngine, level: str, metrics: Sequence[str], filters: Filters = NO_FILTERS,
                  as_of: MonthLike | None = None, policy: DisclosurePolicy = RAW) -> pd.DataFrame:
    """The area summary (population, LSOAs, IMD) with, per metric, its five columns appended.

    A metric column that the area summary already has (population, imd_score,
    core20_population_share) is replaced by the metric's version (core20 then in %).
    """
    if level == "region":
        raise FilterError("the area summary needs a level: ics, place, pcn or lsoa")
    table = area_summary(engine.geography.lsoas, engine.geography.areas, level)
    for metric in dict.fromkeys(metrics):
        cols = metric_columns(metric)
        part = engine.metric_table(level, metric, filters, as_of, policy=policy)[["area_code", *cols]]
        table = table.drop(columns=[c for c in cols if c in table.columns]).merge(part, on="area_code", how="left")
    return table

