"""The app's one door to data: the bundle, the coverage engine (when built) and geometry per level.

`AppData.load(settings, region)` does the I/O once when the app starts (the bundle, the engine via
`explorer.services.load_engine`, boundaries per level); afterwards everything here is read-only and
shared by every request (and, under gunicorn, built once per worker).

One cache: every heavy result, here and in the app's presenters, goes through `AppData.cached`, a
single `functools.lru_cache` keyed by a `CacheKey` (what, level, metric, filters, risk, policy,
extra). The engine keeps its own internal cell-table memo; nothing else is memoised.

Every table that leaves through the public methods has been through the disclosure policy the
caller passes (callbacks pass `access.disclosure_policy_for(current_role())`), via
`explorer.domain.release.control`, so suppression is decided in one place, on the whole level,
before any subset is cut from it: a drill-down cannot reveal a cell that the level view hid.

Geography metrics (population, IMD 2025 score, Core20 share, share of LSOAs in decile 1) come from
the bundle via `geography.area_summary`; care-plan metrics come from
`explorer.domain.coverage.CoverageEngine` when it and the person-level records exist. Coverage of
registered patients (`explorer.services.registered_coverage`) divides the *released* plans of a
level by the bundle's GP registrations, so it is controlled by construction. Breakdowns,
funnels, trends, the cascade and outreach tables are in `explorer.services.app_analyses`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from explorer.bundle.store import Bundle, load_bundle
from explorer.config import Settings
from explorer.domain import geography
from explorer.domain.disclosure import DisclosurePolicy
from explorer.domain.metrics import METRICS, Filters, MetricInfo
from explorer.domain.release import (
    control,  # one definition for the app, downloads and the CLI
)
from explorer.errors import ExplorerError
from explorer.services import registered_coverage as regcov
from explorer.services.app_analyses import AppAnalyses
from explorer.services.app_cache import BUILDERS, CACHE_SIZE, RAW, CacheKey, builds
from explorer.services.app_geometry import LevelGeometry, level_geometry
from explorer.services.pcn_info import optional_table
from explorer.vocab import LEVEL_LABELS, LEVEL_SHORT_LABELS

log = logging.getLogger(__name__)

REGION_LEVEL = "region"
# Levels the app offers per region, when fewer than all (none today: England too is mapped down to
# LSOA; its 33,755 boundaries go to the browser once as one gzipped, ETag-cached resource,
# explorer.app.geometry; measured in benchmarks/bench_england_map.py).
REGION_LEVELS: dict[str, tuple[str, ...]] = {}
BUNDLE_SOURCE = "geography"
# The app's extra geography metric (MHCLG's area-summary measure), not in the engine's catalogue.
EXTRA_METRICS = {
    "imd_prop_most_deprived_10pc": MetricInfo(
        "imd_prop_most_deprived_10pc", "LSOAs in England's most deprived 10%", "% of LSOAs", "proportion", 100,
        None, "Share of the area's LSOAs in national IMD 2025 decile 1 (MHCLG area-summary measure). "
        "A count of areas, not people: no disclosure control needed.", "LSOAs", source="geography",
        filterable=False, has_ci=False),
}
# Area figures only, no breakdown by population group or month: coverage of registered patients
# (GP lists have no age, sex or ethnicity, and are one month's, July 2023).
NO_BREAKDOWN_METRICS = (regcov.NAME,)
NO_BREAKDOWN_NOTE = ("Coverage of registered patients is for whole areas only: the GP lists (July 2023) have no "
                     "age, sex or group detail and no monthly series. Choose 'Care-plan coverage of residents'.")
BUNDLE_METRICS = ("population", "imd_score", "core20_population_share", "imd_prop_most_deprived_10pc")
METRIC_GROUPS = (
    ("Care plans", ("coverage", regcov.NAME, "plans", "coverage_dsr", "adjusted_coverage", "completeness",
                    "reviewed_in_period", "urgent_care_views")),
    ("High risk of emergency admission", ("high_risk_plan_coverage", "high_risk_without_plan", "high_risk",
                                         "expected_admissions_without_plan")),
    ("Clinician users", ("active_users", "active_users_10plus")),
    ("Data gaps", ("ethnicity_not_stated", "plans_missing_key_items")),
    ("Population and deprivation", BUNDLE_METRICS),
)


# --------------------------------------------------------------------------- the adapter


@dataclass(frozen=True, eq=False)
class AppData(AppAnalyses):
    """Shared, read-only data for the app; build with :meth:`load`."""

    settings: Settings
    region: str
    bundle: Bundle
    engine: Any | None
    engine_problem: str | None
    geometry: Mapping[str, LevelGeometry]
    metrics: Mapping[str, MetricInfo]
    synthetic_reasons: tuple[str, ...]
    area_level: Mapping[str, str]  # area code -> level (region included)
    area_name: Mapping[str, str]
    parent_of: Mapping[str, str | None]
    levels: tuple[str, ...] = geography.LEVELS  # the levels offered for this region
    _cache: dict = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ construction
    @classmethod
    def load(cls, settings: Settings, region: str = "london", *, engine: Any | None = None,
             use_engine: bool = True) -> AppData:
        bundle = load_bundle(settings, region)
        areas = bundle.areas
        area_level = dict(zip(areas["area_code"], areas["level"]))
        area_level[bundle.region_code] = REGION_LEVEL
        area_name = dict(zip(areas["area_code"], areas["area_name"]))
        area_name[bundle.region_code] = bundle.region_name
        parent_of = dict(zip(areas["area_code"], areas["parent_code"]))
        parent_of[bundle.region_code] = None
        problem = None
        if engine is None and use_engine:
            engine, problem = _load_engine(settings, region)
        metrics = {name: info for name, info in {**METRICS, **EXTRA_METRICS}.items()
                   if name in BUNDLE_METRICS or (engine is not None and _engine_serves(engine, info))}
        if regcov.available(bundle, set(metrics)):
            metrics[regcov.NAME] = regcov.INFO
        levels = tuple(lv for lv in geography.LEVELS if lv in REGION_LEVELS.get(region, geography.LEVELS))
        geometry = {level: level_geometry(bundle, level, area_name) for level in levels}
        reasons = []
        if str(bundle.manifest.get("gp_registrations", "")).upper().startswith("SYNTHETIC"):
            reasons.append("GP registrations and practices are synthetic")
        if engine is not None and _records_synthetic(settings, region, engine):
            reasons.append("people, care plans and admissions are synthetic")
        data = cls(settings, region, bundle, engine, problem, geometry, metrics, tuple(reasons), area_level,
                   area_name, parent_of, levels)
        data._cache["views"] = lru_cache(maxsize=CACHE_SIZE)(lambda key: BUILDERS[key.what](data, key))
        return data

    def cached(self, key: CacheKey) -> Any:
        """The result named by `key`, built by its registered builder on the first request."""
        return self._cache["views"](key)

    def warm(self, metrics: Sequence[str] | None = None) -> None:
        """Build the engine's cell tables now, not on a user's first click (the app's
        `presenters.map.warm` then builds the landing maps)."""
        from explorer.domain.metrics import DEFAULT_RISK

        for name in metrics or self.metrics:
            try:
                for policy in (DisclosurePolicy(), DisclosurePolicy.raw()):
                    self.raw_table(REGION_LEVEL, name, Filters(), DEFAULT_RISK, policy)
            except Exception:  # noqa: BLE001 - the view will show the problem
                log.exception("warming %s failed", name)

    # ------------------------------------------------------------------ facts
    @property
    def synthetic(self) -> bool:
        return bool(self.synthetic_reasons)

    def shows_synthetic(self, metric: str) -> bool:
        """Whether a figure of this metric shows synthetic numbers (deprivation and population
        are official statistics even in the demo)."""
        return self.synthetic and self.metric(metric).source != "geography"

    @property
    def region_code(self) -> str:
        return self.bundle.region_code

    @property
    def region_name(self) -> str:
        return self.bundle.region_name

    def metric(self, name: str) -> MetricInfo:
        if name not in self.metrics:
            raise ExplorerError(f"metric '{name}' is not available here")
        return self.metrics[name]

    def default_metric(self) -> str:
        return "coverage" if "coverage" in self.metrics else "imd_score"

    def metric_options(self) -> list[dict]:
        """Dropdown options grouped by theme, in METRIC_GROUPS order."""
        options = []
        for group, names in METRIC_GROUPS:
            for name in names:
                if name in self.metrics:
                    info = self.metrics[name]
                    options.append({"label": f"{info.label} ({info.unit})", "value": name, "group": group})
        return options

    def name_of(self, code: str | None) -> str:
        return self.region_name if code is None else self.area_name.get(code, code)

    def level_of(self, code: str | None) -> str:
        return REGION_LEVEL if code is None else self.area_level[code]

    def ancestry(self, code: str | None) -> list[tuple[str, str, str]]:
        """(level, code, name) from the region down to `code`, for breadcrumbs."""
        chain = [(REGION_LEVEL, self.region_code, self.region_name)]
        if code is None or code == self.region_code:
            return chain
        return chain + geography.ancestry(self.bundle.areas, code)

    def level_label(self, level: str, *, short: bool = False) -> str:
        if level == REGION_LEVEL:
            return self.region_name
        return (LEVEL_SHORT_LABELS if short else LEVEL_LABELS)[level]

    def codes_within(self, level: str, within: str | None) -> tuple[str, ...]:
        return self.cached(CacheKey("within", level, extra=(within,)))

    def _codes_within(self, level: str, within: str | None) -> tuple[str, ...]:
        codes = self.geometry[level].codes
        if within is None or within == self.region_code:
            return codes
        target_level = self.area_level[within]
        if geography.LEVELS.index(target_level) >= geography.LEVELS.index(level):
            raise ExplorerError(f"a {level} area cannot lie within a {target_level}")
        out = []
        for code in codes:
            parent = code
            for _ in range(geography.LEVELS.index(level) - geography.LEVELS.index(target_level)):
                parent = self.parent_of.get(parent)
            if parent == within:
                out.append(code)
        return tuple(out)


    # ------------------------------------------------------------------ raw metric tables
    def _summary(self, level: str) -> pd.DataFrame:
        lsoas, areas = self.bundle.lsoas, self.bundle.areas
        if level == REGION_LEVEL:  # the region as one area, through the same MHCLG formulas
            lsoas = lsoas.assign(ics_code=self.region_code)
            areas = pd.DataFrame({"level": ["ics"], "area_code": [self.region_code],
                                  "area_name": [self.region_name], "parent_code": [None]})
            level = "ics"
        return geography.area_summary(lsoas, areas, level, optional_table(self.bundle, "pcn_weights"))

    def _bundle_table(self, level: str, metric: str) -> pd.DataFrame:
        s = self.cached(CacheKey("summary", level))
        out = s[["area_code", "area_name", "parent_code"]].copy()
        nan = np.full(len(s), np.nan)
        if metric == "population":
            value, num, den = s["population"].astype(float), s["population"].astype(float), nan
        elif metric == "imd_score":
            value, num, den = s["imd_score"], nan, s["population"].astype(float)
        elif metric == "core20_population_share":
            num = (s["core20_population_share"] * s["population"]).round()
            value, den = s["core20_population_share"] * 100, s["population"].astype(float)
        elif metric == "imd_prop_most_deprived_10pc":
            num = (s["imd_prop_most_deprived_10pc"] * s["lsoa_count"]).round()
            value, den = s["imd_prop_most_deprived_10pc"] * 100, s["lsoa_count"].astype(float)
        else:
            raise ExplorerError(f"metric '{metric}' is not a geography metric")
        out[metric] = np.asarray(value, dtype=float)
        out[f"{metric}_numerator"] = np.asarray(num, dtype=float)
        out[f"{metric}_denominator"] = np.asarray(den, dtype=float)
        out[f"{metric}_lower"] = nan
        out[f"{metric}_upper"] = nan
        return out

    def _raw_table(self, level: str, metric: str, filters: Filters, risk: Any, policy: DisclosurePolicy
                   ) -> pd.DataFrame:
        """One row per area at `level` (or the region): value, numerator, denominator, CI, computed
        for the audience of `policy` (statistics from rounded counts, its deprivation groups) but not
        yet controlled: :meth:`controlled` does that."""
        info = self.metric(metric)
        if info.source == BUNDLE_SOURCE:
            return self._bundle_table(level, metric)
        if metric == regcov.NAME:  # from the released plans: controlled already
            plans = self.controlled(level, regcov.NUMERATOR, Filters(), None, policy).reset_index(drop=True)
            return regcov.coverage_table(plans, self.bundle, regcov.area_index(self.bundle, self.engine), level)
        if self.engine is None:
            raise ExplorerError(f"'{info.label}' needs the care-plan records: {self.engine_problem}")
        return engine_table(self.engine, level, metric, filters, risk, policy)

    def cache_key(self, metric: str, filters: Filters, risk: Any) -> tuple[Filters, Any]:
        """Filters and risk reduced to what the metric uses, so equal views share cache entries."""
        info = self.metric(metric)
        if info.source == BUNDLE_SOURCE or not info.filterable:
            filters = Filters()
        return filters, (risk if info.needs_risk or filters.risk is not None else None)

    def raw_table(self, level: str, metric: str, filters: Filters, risk: Any = None,
                  policy: DisclosurePolicy = RAW) -> pd.DataFrame:
        filters, risk = self.cache_key(metric, filters, risk)
        return self.cached(CacheKey("raw", level, metric, filters, risk, policy))

    # ------------------------------------------------------------------ controlled tables
    def _controlled_table(self, level: str, metric: str, filters: Filters, risk: Any, policy: DisclosurePolicy
                          ) -> pd.DataFrame:
        info = self.metric(metric)
        if metric == regcov.NAME:
            return self.raw_table(level, metric, filters, risk, policy).set_index("area_code", drop=False)
        released = getattr(self.engine, "released_table", None)
        if released is not None and info.source != BUNDLE_SOURCE:  # a release: controlled already
            return released(level, metric, filters, risk, policy).set_index("area_code", drop=False)
        raw = self.raw_table(level, metric, filters, risk, policy)
        return control_level(raw, info, level, policy).set_index("area_code", drop=False)

    def controlled(self, level: str, metric: str, filters: Filters, risk: Any, policy: DisclosurePolicy
                   ) -> pd.DataFrame:
        """The whole level's disclosure-controlled table, indexed by area code (cached)."""
        filters, risk = self.cache_key(metric, filters, risk)
        return self.cached(CacheKey("controlled", level, metric, filters, risk, policy))

    def table(self, level: str, metric: str, filters: Filters, policy: DisclosurePolicy,
              within: str | None = None, risk: Any = None) -> pd.DataFrame:
        """The disclosure-controlled metric table for areas at `level` within `within`."""
        full = self.controlled(level, metric, filters, risk, policy)
        if level == REGION_LEVEL or within is None or within == self.region_code:
            return full
        return full.loc[[c for c in self.codes_within(level, within) if c in full.index]]

    def value_of(self, code: str | None, metric: str, filters: Filters, policy: DisclosurePolicy,
                 risk: Any = None) -> pd.Series:
        """The controlled row of one area (None = the region)."""
        level = self.level_of(code)
        table = self.controlled(level, metric, filters, risk, policy)
        key = self.region_code if code is None else code
        return table.loc[key]

    def comparator_code(self, within: str | None) -> str | None:
        return None if within in (None, self.region_code) else within

    # ------------------------------------------------------------------ engine pass-throughs
    def has_engine(self) -> bool:
        return self.engine is not None

    @property
    def as_at(self) -> Any:
        """The month end the care-plan figures are for (the engine's snapshot); None without records."""
        return getattr(self.engine, "snapshot", None)

    def engine_call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """A cached call to a CoverageEngine method (arguments must be hashable)."""
        if self.engine is None:
            raise ExplorerError(f"care-plan records are not loaded: {self.engine_problem}")
        return self.cached(CacheKey("engine", extra=(name, args, tuple(sorted(kwargs.items())))))


# --------------------------------------------------------------------------- builders of cached results


@builds("within")
def _build_within(data: AppData, key: CacheKey) -> tuple[str, ...]:
    return data._codes_within(key.level, key.extra[0])


@builds("summary")
def _build_summary(data: AppData, key: CacheKey) -> pd.DataFrame:
    return data._summary(key.level)


@builds("raw")
def _build_raw(data: AppData, key: CacheKey) -> pd.DataFrame:
    return data._raw_table(key.level, key.metric, key.filters, key.risk, key.policy)


@builds("controlled")
def _build_controlled(data: AppData, key: CacheKey) -> pd.DataFrame:
    return data._controlled_table(key.level, key.metric, key.filters, key.risk, key.policy)


@builds("engine")
def _build_engine_call(data: AppData, key: CacheKey) -> Any:
    name, args, kwargs = key.extra
    return getattr(data.engine, name)(*args, **dict(kwargs))


# --------------------------------------------------------------------------- helpers


def engine_table(engine: Any, level: str, metric: str, filters: Filters, risk: Any, policy: DisclosurePolicy
                 ) -> pd.DataFrame:
    """The engine's metric table for ``policy``'s audience, not yet controlled (standard columns)."""
    table = engine.metric_table(level, metric, filters, risk=risk, policy=policy)
    return _standard_columns(table, metric)


def control_level(raw: pd.DataFrame, info: MetricInfo, level: str, policy: DisclosurePolicy) -> pd.DataFrame:
    """A whole level's table through the release rules (the app's and a released aggregate's)."""
    # siblings' parent totals are shown elsewhere (the level above): secondary suppression
    groups = [["parent_code"]] if level != REGION_LEVEL and info.source != BUNDLE_SOURCE else None
    return control(raw, info, policy, groups=groups)


def _standard_columns(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    cols = ["area_code", "area_name", "parent_code", metric, f"{metric}_numerator", f"{metric}_denominator",
            f"{metric}_lower", f"{metric}_upper"]
    out = table.copy()
    for c in cols:
        if c not in out.columns:
            out[c] = np.nan
    return out[cols].reset_index(drop=True)


#: a released aggregate to serve instead of records (`explorer serve --release DIR`)
RELEASE_ENV = "EXPLORER_RELEASE"


def _load_engine(settings: Settings, region: str) -> tuple[Any | None, str | None]:
    from explorer.services.engine import load_engine

    try:
        if os.environ.get(RELEASE_ENV):
            from explorer.services.release_set import ReleasedEngine

            return ReleasedEngine.open(Path(os.environ[RELEASE_ENV])), None
        return load_engine(settings, region), None
    except ExplorerError as exc:  # e.g. records not generated yet
        return None, str(exc).splitlines()[0]
    except Exception as exc:  # noqa: BLE001 - the app must still start and show the geography
        log.exception("coverage engine failed to load")
        return None, f"the coverage engine failed to load ({type(exc).__name__}: {exc})"


def _engine_serves(engine: Any, info: MetricInfo) -> bool:
    """Whether the engine can serve a care-plan metric now (records present, risk model if needed)."""
    if info.source == BUNDLE_SOURCE:
        return False
    try:
        return info.name in set(engine.available_metrics())
    except Exception:  # noqa: BLE001 - a broken engine must not stop the geography views
        log.exception("engine.available_metrics failed")
        return False


def _records_synthetic(settings: Settings, region: str, engine: Any) -> bool:
    """True unless the people and plans tables were imported from real extracts."""
    if not getattr(engine, "has_records", False):
        return False
    try:
        from explorer.records.imports import is_real_table
        from explorer.records.store import records_dir
        directory = records_dir(settings, region)
        return not all(is_real_table(directory, t) for t in ("people", "plans"))
    except Exception:  # noqa: BLE001 - unknown provenance: say synthetic rather than pass it off as real
        return True


