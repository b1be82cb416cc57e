"""The app's one door to data: the bundle, the coverage engine (when built) and geometry per level.

`AppData.load(settings, region)` runs once when the app starts; afterwards everything here is
read-only and shared by every request (and, under gunicorn, built once per worker). Heavy results
are cached per instance with `functools.lru_cache`, keyed by hashable arguments (level, metric,
frozen `Filters`, frozen `DisclosurePolicy`).

Every table that leaves through the public methods has been through the disclosure policy the
caller passes (callbacks pass `access.disclosure_policy_for(current_role())`), so suppression is
decided in one place, on the whole level, before any subset is cut from it: a drill-down cannot
reveal a cell that the level view hid.

Geography metrics (population, IMD 2025 score, Core20 share, share of LSOAs in decile 1) come from
the bundle via `geography.area_summary`; care-plan metrics come from
`explorer.domain.coverage.CoverageEngine` when it and the person-level records exist.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import shapely

from explorer.bundle.store import Bundle, load_bundle
from explorer.vocab import LEVEL_LABELS, LEVEL_SHORT_LABELS
from explorer.config import Settings
from explorer.domain import geography, stats
from explorer.domain.disclosure import (
    CountSpec, DisclosurePolicy, RatioSpec, apply_policy, assert_no_small_counts,
)
from explorer.domain.release import (  # one definition for the app, downloads and the CLI
    _wilson, as_generic_columns, as_metric_columns, control,
)
from explorer.app.state import MapView
from explorer.domain.metrics import METRICS, Filters, MetricInfo
from explorer.errors import ExplorerError
from explorer.figures import classify as cl
from explorer.figures import describe
from explorer.figures.classify import format_number
from explorer.records.schema import ETHNIC_LABELS

log = logging.getLogger(__name__)
RAW = DisclosurePolicy.raw()

REGION_LEVEL = "region"
# Levels the app offers per region (default: all). England's LSOA layer is not offered: its
# 33,755 boundaries are 10.7 MB of GeoJSON (about 3 MB gzipped) to send, parse and draw, and
# several hundred MB of memory per gunicorn worker; England is mapped by ICS, place and PCN, and
# LSOA figures for England stay available from `explorer summary --level lsoa`.
REGION_LEVELS = {"england": ("ics", "place", "pcn")}
BUNDLE_SOURCE = "geography"
# The app's extra geography metric (MHCLG's area-summary measure), not in the engine's catalogue.
EXTRA_METRICS = {
    "imd_prop_most_deprived_10pc": MetricInfo(
        "imd_prop_most_deprived_10pc", "LSOAs in England's most deprived 10%", "% of LSOAs", "proportion", 100,
        None, "Share of the area's LSOAs in national IMD 2025 decile 1 (MHCLG area-summary measure). "
        "A count of areas, not people: no disclosure control needed.", "LSOAs", source="geography",
        filterable=False, has_ci=False),
}
CLASS_CHARS = np.frombuffer(b"ns0123456789", dtype="S1")  # class -2 (no data), -1 (suppressed), 0..9
BUNDLE_METRICS = ("population", "imd_score", "core20_population_share", "imd_prop_most_deprived_10pc")
# Short units for values ("45.6%", "12.3 per 1,000"); the long unit from MetricInfo goes in labels.
SHORT_UNITS = {"%": "%", "per 1,000 people": "per 1,000", "per 100,000 people (ESP 2013)": "per 100,000",
               "per 100 live plans": "per 100 plans", "index (region = 100)": "", "people": "people",
               "residents": "people", "admissions in 12 months": "admissions",
               "score (higher = more deprived)": ""}
METRIC_GROUPS = (
    ("Care plans", ("coverage", "plans", "coverage_dsr", "adjusted_coverage", "completeness",
                    "reviewed_in_period", "urgent_care_views")),
    ("High risk of emergency admission", ("high_risk_plan_coverage", "high_risk_without_plan", "high_risk",
                                         "expected_admissions_without_plan")),
    ("Clinician users", ("active_users", "active_users_10plus")),
    ("Population and deprivation", BUNDLE_METRICS),
)


def short_unit(info: MetricInfo) -> str:
    if info.unit.startswith("%"):
        return "%"
    return SHORT_UNITS.get(info.unit, info.unit)


def metric_title(info: MetricInfo) -> str:
    """'Care-plan coverage (per 1,000 people)'; a unit that explains itself is kept as a phrase."""
    unit = info.unit.replace("score (higher = more deprived)", "higher = more deprived")
    return f"{info.label} ({unit})"


def difference_unit(info: MetricInfo) -> str:
    unit = short_unit(info)
    return "pp" if unit == "%" else unit


# --------------------------------------------------------------------------- geometry


@dataclass(frozen=True, eq=False)
class LevelGeometry:
    """A level's boundaries as the browser receives them once (GeoJSON with area codes as ids)."""

    level: str
    codes: tuple[str, ...]
    names: tuple[str, ...]
    position: Mapping[str, int]
    bounds: np.ndarray  # (n, 4): min lon, min lat, max lon, max lat
    geojson: dict

    def payload(self) -> dict:
        return {"level": self.level, "codes": list(self.codes), "names": list(self.names), "geojson": self.geojson}

    def subset_bounds(self, positions: Sequence[int] | None) -> list[float]:
        b = self.bounds if positions is None else self.bounds[np.asarray(positions, dtype=int)]
        if len(b) == 0:
            return []
        return [round(float(b[:, 0].min()), 4), round(float(b[:, 1].min()), 4),
                round(float(b[:, 2].max()), 4), round(float(b[:, 3].max()), 4)]


def _level_geometry(bundle: Bundle, level: str, names: Mapping[str, str]) -> LevelGeometry:
    gdf = bundle.boundaries(level).sort_values(f"{level}_code", ignore_index=True)
    codes = tuple(gdf[f"{level}_code"].astype(str))
    geoms = gdf.geometry.values
    features = [{"type": "Feature", "id": code, "geometry": json.loads(shapely.to_geojson(g))}
                for code, g in zip(codes, geoms)]
    return LevelGeometry(level, codes, tuple(names.get(c, c) for c in codes),
                         {c: i for i, c in enumerate(codes)}, np.asarray(shapely.bounds(geoms)),
                         {"type": "FeatureCollection", "features": features})


# --------------------------------------------------------------------------- the adapter


@dataclass(frozen=True)
class MapPayload:
    """What one map view sends: compact arrays for the browser, the classes for the legend."""

    arrays: dict
    classes: cl.Classes
    description: str
    n_areas: int


@dataclass(frozen=True, eq=False)
class AppData:
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
        levels = tuple(lv for lv in geography.LEVELS if lv in REGION_LEVELS.get(region, geography.LEVELS))
        geometry = {level: _level_geometry(bundle, level, area_name) for level in levels}
        reasons = []
        if str(bundle.manifest.get("gp_registrations", "")).upper().startswith("SYNTHETIC"):
            reasons.append("GP registrations and practices are synthetic")
        if engine is not None and _records_synthetic(settings, region, engine):
            reasons.append("people, care plans and admissions are synthetic")
        data = cls(settings, region, bundle, engine, problem, geometry, metrics, tuple(reasons), area_level,
                   area_name, parent_of, levels)
        data._cache["summary"] = lru_cache(maxsize=8)(data._summary)
        data._cache["raw"] = lru_cache(maxsize=256)(data._raw_table)
        data._cache["controlled"] = lru_cache(maxsize=256)(data._controlled_table)
        data._cache["map"] = lru_cache(maxsize=256)(data._map_payload)
        data._cache["rows"] = lru_cache(maxsize=64)(data._numeric_rows)
        data._cache["within"] = lru_cache(maxsize=1024)(data._codes_within)
        return data

    def warm(self, metrics: Sequence[str] | None = None) -> None:
        """Build the engine's cell tables and the landing views now, not on a user's first click."""
        from explorer.domain.metrics import DEFAULT_RISK
        from explorer.domain.disclosure import DisclosurePolicy

        for name in metrics or self.metrics:
            try:
                for policy in (DisclosurePolicy(), DisclosurePolicy.raw()):
                    self.raw_table(REGION_LEVEL, name, Filters(), DEFAULT_RISK, policy)
            except Exception:  # noqa: BLE001 - the view will show the problem
                log.exception("warming %s failed", name)
        default = self.default_metric()
        for level in self.levels:
            for policy in (DisclosurePolicy(), DisclosurePolicy.raw()):
                try:
                    self.map_payload(MapView(level=level, metric=default), policy)
                except Exception:  # noqa: BLE001
                    log.exception("warming the %s map failed", level)

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
        return self._cache["within"](level, within)

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
        return geography.area_summary(lsoas, areas, level)

    def _bundle_table(self, level: str, metric: str) -> pd.DataFrame:
        s = self._cache["summary"](level)
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
        if self.engine is None:
            raise ExplorerError(f"'{info.label}' needs the care-plan records: {self.engine_problem}")
        table = self.engine.metric_table(level, metric, filters, risk=risk, policy=policy)
        return _standard_columns(table, metric)

    def cache_key(self, metric: str, filters: Filters, risk: Any) -> tuple[Filters, Any]:
        """Filters and risk reduced to what the metric uses, so equal views share cache entries."""
        info = self.metric(metric)
        if info.source == BUNDLE_SOURCE or not info.filterable:
            filters = Filters()
        return filters, (risk if info.needs_risk or filters.risk is not None else None)

    def raw_table(self, level: str, metric: str, filters: Filters, risk: Any = None,
                  policy: DisclosurePolicy = RAW) -> pd.DataFrame:
        filters, risk = self.cache_key(metric, filters, risk)
        return self._cache["raw"](level, metric, filters, risk, policy)

    # ------------------------------------------------------------------ controlled tables
    def _controlled_table(self, level: str, metric: str, filters: Filters, risk: Any, policy: DisclosurePolicy
                          ) -> pd.DataFrame:
        info = self.metric(metric)
        raw = self.raw_table(level, metric, filters, risk, policy)
        # siblings' parent totals are shown elsewhere (the level above): secondary suppression
        groups = [["parent_code"]] if level != REGION_LEVEL and info.source != BUNDLE_SOURCE else None
        return control(raw, info, policy, groups=groups).set_index("area_code", drop=False)

    def controlled(self, level: str, metric: str, filters: Filters, risk: Any, policy: DisclosurePolicy
                   ) -> pd.DataFrame:
        """The whole level's disclosure-controlled table, indexed by area code (cached)."""
        filters, risk = self.cache_key(metric, filters, risk)
        return self._cache["controlled"](level, metric, filters, risk, policy)

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

    # ------------------------------------------------------------------ map views
    def comparator_code(self, within: str | None) -> str | None:
        return None if within in (None, self.region_code) else within

    def _base_value(self, view: MapView, policy: DisclosurePolicy) -> float:
        """The comparator for "difference from": the area the map is within, or the region."""
        row = self.value_of(self.comparator_code(view.area), view.metric, view.effective_filters, policy, view.risk)
        return _f(row[view.metric])

    def diverging(self, view: MapView) -> bool:
        return view.mode == "difference" and self.metric(view.metric).kind != "count"

    def map_payload(self, view: MapView, policy: DisclosurePolicy) -> MapPayload:
        """Compact arrays for the browser's map (class per area, 3-significant-figure values)."""
        return self._cache["map"](view.with_(selected=None), policy)

    def _map_payload(self, view: MapView, policy: DisclosurePolicy) -> MapPayload:
        info = self.metric(view.metric)
        geo = self.geometry[view.level]
        table = self.table(view.level, view.metric, view.effective_filters, policy, view.area, view.risk)
        values = table[view.metric].to_numpy(dtype=float, na_value=np.nan)
        hidden = table[f"{view.metric}_suppressed"].to_numpy(dtype=bool)
        unit = short_unit(info)
        diverging = self.diverging(view)
        if diverging:
            values = values - self._base_value(view, policy)
            unit = difference_unit(info)
        index, classes = cl.classify(values, hidden, scheme=view.scheme, unit=unit, palette=view.palette,
                                     diverging=diverging)
        codes = list(table.index)
        positions = [geo.position[c] for c in codes]
        subset = len(codes) != len(geo.codes)
        shown = np.isfinite(values) & ~hidden
        rounded = cl.round_sig_array(values, 3)
        arrays = {
            "level": view.level,
            "rev": f"{view.level}|{view.area or ''}",
            # numpy arrays: plotly's JSON encoder writes them in one go (NaN -> null)
            "i": np.asarray(positions, dtype=np.int32) if subset else None,
            "c": CLASS_CHARS[index + 2].tobytes().decode("ascii"),
            "v": np.where(shown, rounded, np.nan),
            "colours": list(classes.colours),
            "unit": unit,
            "bounds": geo.subset_bounds(positions if subset else None),
            "synthetic": self.shows_synthetic(view.metric),  # the map figure then says so itself (its PNG too)
        }
        extremes = None
        if shown.any():
            ranked = [i for i in np.argsort(np.where(shown, values, np.inf)) if shown[i]]
            extremes = ((self.name_of(codes[ranked[-1]]), float(values[ranked[-1]])),
                        (self.name_of(codes[ranked[0]]), float(values[ranked[0]])))
        flt = view.effective_filters
        label = info.label + ("" if flt.is_empty or not info.filterable else f" ({flt.describe()})")
        text = describe.describe_map(
            n_areas=len(codes), level_label=self.level_label(view.level), within=self.name_of(view.area),
            metric_label=label, classes=classes, highest=extremes[0] if extremes else None,
            lowest=extremes[1] if extremes else None,
            difference_from=self.name_of(self.comparator_code(view.area)) if diverging else None)
        return MapPayload(arrays, classes, text, len(codes))

    def display_rows(self, view: MapView, policy: DisclosurePolicy) -> pd.DataFrame:
        """The map's table with every row formatted (small levels, exports, tests)."""
        frame = self.numeric_rows(view, policy)
        return self.format_rows(view, frame)

    def numeric_rows(self, view: MapView, policy: DisclosurePolicy) -> pd.DataFrame:
        """The map's table as numbers, one row per area (cached): value, CI, counts, comparisons."""
        return self._cache["rows"](view.with_(selected=None), policy)

    def _numeric_rows(self, view: MapView, policy: DisclosurePolicy) -> pd.DataFrame:
        info = self.metric(view.metric)
        m = view.metric
        t = self.table(view.level, m, view.effective_filters, policy, view.area, view.risk)
        col = {c: t[c].to_numpy(dtype=float, na_value=np.nan) for c in
               (m, f"{m}_lower", f"{m}_upper", f"{m}_numerator", f"{m}_denominator")}
        out = pd.DataFrame({
            "area_name": t["area_name"].astype(str).to_numpy(),
            "area_code": t["area_code"].astype(str).to_numpy(),
            "value": col[m], "lower": col[f"{m}_lower"], "upper": col[f"{m}_upper"],
            "numerator": col[f"{m}_numerator"], "denominator": col[f"{m}_denominator"],
            "hidden": t[f"{m}_suppressed"].to_numpy(dtype=bool),
        })
        if info.has_ci:
            region = self.value_of(None, m, view.effective_filters, policy, view.risk)
            sig = stats.compare_to_benchmark(out["lower"], out["upper"], _f(region[m]), info.higher_is_better)
            out["vs_region"] = np.where(out["hidden"], "suppressed", sig)
        if self.diverging(view):
            out["difference"] = out["value"] - self._base_value(view, policy)
        return out

    SORT_KEYS = {"area_name": "area_name", "area_code": "area_code", "value": "value", "ci": "value",
                 "numerator": "numerator", "denominator": "denominator", "vs_region": "vs_region",
                 "difference": "difference"}

    def table_page(self, view: MapView, policy: DisclosurePolicy, *, sort_column: str | None = None,
                   ascending: bool = False, page: int = 0, page_size: int = 15) -> tuple[pd.DataFrame, int]:
        """One sorted page of the map's table, formatted; only the page's rows are formatted, so a
        filter change at LSOA level costs the same as at ICS level. Returns (rows, total rows)."""
        frame = self.numeric_rows(view, policy)
        key = self.SORT_KEYS.get(sort_column or "value", "value")
        if key not in frame.columns:
            key = "value"
        ordered = frame.sort_values([key, "area_name"], ascending=[ascending, True], na_position="last",
                                    kind="stable")
        chunk = ordered.iloc[page * page_size:(page + 1) * page_size]
        return self.format_rows(view, chunk), len(frame)

    def format_rows(self, view: MapView, frame: pd.DataFrame) -> pd.DataFrame:
        info = self.metric(view.metric)
        unit = short_unit(info)
        count = info.kind == "count"
        rows = zip(frame["value"], frame["lower"], frame["upper"], frame["numerator"], frame["denominator"],
                   frame["hidden"])
        out = pd.DataFrame([{
            "value": _fmt_value(v, h, unit, exact=count), "ci": _fmt_ci(lo, hi, h, unit),
            "numerator": _fmt_count(n, h and info.kind != "mean"), "denominator": _fmt_count(d, False),
        } for v, lo, hi, n, d, h in rows], columns=["value", "ci", "numerator", "denominator"])
        out.insert(0, "area_code", frame["area_code"].to_numpy())
        out.insert(0, "area_name", frame["area_name"].to_numpy())
        if "vs_region" in frame.columns:
            out["vs_region"] = frame["vs_region"].to_numpy()
        if "difference" in frame.columns:
            out["difference"] = [_fmt_value(d, h, difference_unit(info), signed=True)
                                 for d, h in zip(frame["difference"], frame["hidden"])]
        return out

    def table_columns(self, view: MapView) -> list[dict]:
        info = self.metric(view.metric)
        cols = [{"name": "Area", "id": "area_name"}, {"name": "Code", "id": "area_code"},
                {"name": metric_title(info), "id": "value"}]
        if info.has_ci:
            cols.append({"name": "95% CI", "id": "ci"})
        cols += [{"name": "Numerator", "id": "numerator"},
                 {"name": f"Denominator ({info.denominator})", "id": "denominator"}]
        if info.has_ci:
            cols.append({"name": f"Compared with {self.region_name}", "id": "vs_region"})
        if self.diverging(view):
            cols.append({"name": f"Difference from {self.name_of(self.comparator_code(view.area))} "
                                 f"({difference_unit(info)})", "id": "difference"})
        return cols

    def hover_details(self, view: MapView, code: str, policy: DisclosurePolicy) -> dict[str, str]:
        """One area's value, CI, numerator and denominator as display text (level of the view)."""
        info = self.metric(view.metric)
        m = view.metric
        table = self.controlled(view.level, m, view.effective_filters, view.risk, policy)
        if code not in table.index:
            return {}
        row = table.loc[code]
        unit = short_unit(info)
        hidden = bool(row[f"{m}_suppressed"])
        details = {
            "name": str(row["area_name"]), "code": code, "level": self.level_label(view.level),
            "metric": metric_title(info),
            "value": _fmt_value(_f(row[m]), hidden, unit, exact=info.kind == "count"),
            "numerator": _fmt_count(_f(row[f"{m}_numerator"]), hidden and info.kind != "mean"),
            "denominator": f"{_fmt_count(_f(row[f'{m}_denominator']), False)} {info.denominator}".strip(),
        }
        if info.has_ci:
            details["ci"] = _fmt_ci(_f(row[f"{m}_lower"]), _f(row[f"{m}_upper"]), hidden, unit)
        return details

    # ------------------------------------------------------------------ geography profile
    def lsoas_within(self, code: str | None) -> pd.DataFrame:
        return geography.lsoas_in(self.bundle.lsoas, self.bundle.areas, code)

    def population_profile(self, code: str | None, policy: DisclosurePolicy) -> dict[str, pd.DataFrame]:
        """Age/sex, ethnic group, disability and IMD decile breakdowns of the area's residents."""
        lsoas = self.lsoas_within(code)
        age_sex = self.bundle.age_sex[self.bundle.age_sex["lsoa_code"].isin(lsoas["lsoa_code"])]
        pyramid = age_sex.groupby(["age_band", "sex"], as_index=False, sort=True)["population"].sum()
        pyramid = apply_policy(pyramid, "population", policy)
        eth_cols = [c for c in lsoas.columns if c.startswith("ethnic_")]
        labels = {"ethnic_asian": "Asian", "ethnic_black": "Black", "ethnic_mixed": "Mixed",
                  "ethnic_white": "White", "ethnic_other": "Other"}
        ethnic = pd.DataFrame({"category": [labels.get(c, c) for c in eth_cols],
                               "count": [int(lsoas[c].sum()) for c in eth_cols]})
        disability = pd.DataFrame({"category": ["Disabled (Equality Act)", "Not disabled"],
                                   "count": [int(lsoas["disabled"].sum()), int(lsoas["not_disabled"].sum())]})
        deciles = (lsoas.groupby("imd_decile")["population"].sum().reindex(range(1, 11), fill_value=0)
                   .rename_axis("category").reset_index(name="count"))
        deciles["category"] = "Decile " + deciles["category"].astype(str)
        out = {"age_sex": pyramid}
        for name, frame in (("ethnic_group", ethnic), ("disability", disability), ("imd_decile", deciles)):
            total = frame["count"].sum()
            controlled = apply_policy(frame, "count", policy)
            controlled["value"] = (pd.to_numeric(controlled["count"]).astype(float)
                                   / max(float(total), 1.0) * 100)
            controlled.loc[controlled["count_suppressed"], "value"] = np.nan
            out[name] = controlled
        return out

    # ------------------------------------------------------------------ profile: key metrics
    def key_metrics(self, code: str | None, filters: Filters, risk: Any, policy: DisclosurePolicy) -> pd.DataFrame:
        """Every available metric for the area, its parent and the region, with significance.

        Columns: metric, label, value, ci, counts, parent, region, vs_parent, vs_region (text),
        plus _vs_parent/_vs_region codes ("better", "similar", ...)."""
        level = self.level_of(code)
        parent = self.parent_of.get(code) if code else None
        parent = None if parent == self.region_code else parent
        rows = []
        for name, info in self.metrics.items():
            unit = short_unit(info)
            flt = filters if info.filterable else Filters()
            rsk = risk if info.needs_risk or flt.risk is not None else None
            try:
                area = self.value_of(code, name, flt, policy, rsk)
                region = self.value_of(None, name, flt, policy, rsk)
                above = self.value_of(parent, name, flt, policy, rsk) if code else None
            except Exception:  # noqa: BLE001 - a metric the engine cannot serve for this area
                log.exception("key metric %s failed", name)
                continue
            hidden = bool(area[f"{name}_suppressed"])
            exact = info.kind == "count"
            lo, hi = _f(area[f"{name}_lower"]), _f(area[f"{name}_upper"])
            row = {"metric": name, "label": metric_title(info),
                   "value": _fmt_value(_f(area[name]), hidden, unit, exact=exact),
                   "ci": _fmt_ci(lo, hi, hidden, unit) if info.has_ci else "",
                   "counts": _counts_text(area, name, info, hidden),
                   "parent": "" if above is None else _fmt_value(_f(above[name]), bool(above[f"{name}_suppressed"]),
                                                                 unit, exact=exact),
                   "region": _fmt_value(_f(region[name]), bool(region[f"{name}_suppressed"]), unit, exact=exact)}
            for key, bench in (("parent", above), ("region", region)):
                if bench is None or not info.has_ci or hidden or code is None:
                    row[f"_vs_{key}"] = "not compared"
                else:
                    row[f"_vs_{key}"] = str(stats.compare_to_benchmark(lo, hi, _f(bench[name]), info.higher_is_better))
            rows.append(row)
        frame = pd.DataFrame(rows)
        if not frame.empty:
            frame["vs_parent"] = frame["_vs_parent"]
            frame["vs_region"] = frame["_vs_region"]
        frame.attrs["level"] = level
        frame.attrs["parent"] = parent
        return frame

    # ------------------------------------------------------------------ groups and deprivation gradient
    def groups_table(self, code: str | None, metric: str, by: str, filters: Filters, risk: Any,
                     policy: DisclosurePolicy) -> pd.DataFrame:
        """The metric per group of `by` in one area (None = region), disclosure-controlled.

        Columns: group (code), label, value, numerator, denominator, lower, upper, suppressed,
        significance (against the region's overall value)."""
        info = self.metric(metric)
        rsk = risk if info.needs_risk or filters.risk is not None else None
        rows = self.engine_call("by_group", metric, by, filters, None, code, risk=rsk, policy=policy)
        rows = rows.assign(_all="all")
        controlled = control(as_metric_columns(rows, metric), info, policy, groups=[["_all"]])
        out = as_generic_columns(controlled, metric)
        out["label"] = [group_label(by, g) for g in out["group"].astype(str)]
        region = self.value_of(None, metric, filters, policy, rsk)
        if info.has_ci:
            lo = pd.to_numeric(out["lower"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            hi = pd.to_numeric(out["upper"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            out["significance"] = stats.compare_to_benchmark(lo, hi, _f(region[metric]), info.higher_is_better)
        out.attrs["comparator"] = _f(region[metric])
        return out[[c for c in ("group", "label", "value", "numerator", "denominator", "lower", "upper",
                                "suppressed", "significance") if c in out.columns]].reset_index(drop=True)

    def gradient(self, code: str | None, metric: str, by: str, filters: Filters, risk: Any,
                 policy: DisclosurePolicy) -> tuple[pd.DataFrame, dict[str, float]]:
        """Metric by IMD decile/quintile in an area with the slope index of inequality (OHID method).

        The SII is fitted to the shown (controlled) values, so it is only given when every
        quantile has a value; `fitted` is the regression line at each quantile's midpoint."""
        table = self.groups_table(code, metric, by, filters, risk, policy)
        table = table[table["group"] != "unknown"].copy()
        table["decile"] = table["group"].astype(int)
        value = pd.to_numeric(table["value"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        weight = pd.to_numeric(table["denominator"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        lower = pd.to_numeric(table["lower"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        upper = pd.to_numeric(table["upper"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        info = self.metric(metric)
        sii = dict.fromkeys(("sii", "sii_lower", "sii_upper", "rii", "rii_lower", "rii_upper"), math.nan)
        if np.all(np.isfinite(value)) and np.all(weight > 0) and len(value) > 1:
            ci = info.has_ci and np.all(np.isfinite(lower)) and np.all(np.isfinite(upper))
            sii = stats.slope_index_of_inequality(value, weight, lower if ci else None, upper if ci else None,
                                                  n_simulations=2_000, seed=0)
            share = weight / weight.sum()
            x = np.cumsum(share) - share / 2
            table["fitted"] = np.sum(share * value) + sii["sii"] * (x - np.sum(share * x))
        table.attrs.update(table.attrs)
        return table, sii

    # ------------------------------------------------------------------ funnel
    def funnel(self, level: str, metric: str, filters: Filters, risk: Any, policy: DisclosurePolicy,
               within: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame, float]:
        """Areas' values against their denominators with 95% and 99.8% limits around the region.

        Returns (points: area_code, area_name, value, denominator, position; limits; comparator)."""
        info = self.metric(metric)
        kind = {"proportion": "proportion", "rate": "rate", "ratio": "ratio"}.get(info.kind)
        if kind is None or metric == "coverage_dsr":
            raise ExplorerError(f"a funnel plot needs a crude proportion, rate or ratio; {info.label} is a {info.kind}")
        rsk = risk if info.needs_risk or filters.risk is not None else None
        table = self.table(level, metric, filters, policy, within, rsk)
        comparator = _f(self.value_of(None, metric, filters, policy, rsk)[metric])
        shown = table[~table[f"{metric}_suppressed"].astype(bool)]
        value = pd.to_numeric(shown[metric], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        den = pd.to_numeric(shown[f"{metric}_denominator"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        keep = np.isfinite(value) & np.isfinite(den) & (den > 0)
        points = pd.DataFrame({"area_code": shown["area_code"].to_numpy()[keep],
                               "area_name": shown["area_name"].astype(str).to_numpy()[keep],
                               "value": value[keep], "denominator": den[keep]})
        mult = info.multiplier
        lo95, hi95 = stats.funnel_limits(comparator, points["denominator"], kind, 0.95, mult)
        lo998, hi998 = stats.funnel_limits(comparator, points["denominator"], kind, 0.998, mult)
        v = points["value"].to_numpy()
        points["position"] = np.where((v < lo998) | (v > hi998), "outside 99.8%",
                                      np.where((v < lo95) | (v > hi95), "between 95% and 99.8%", "within 95%"))
        if len(points):
            grid = np.unique(np.geomspace(max(points["denominator"].min() * 0.8, 1), points["denominator"].max() * 1.1,
                                          120).round(1))
        else:
            grid = np.array([1.0, 10.0])
        limits = pd.DataFrame({"denominator": grid})
        for conf, a, b in ((0.95, "lower95", "upper95"), (0.998, "lower998", "upper998")):
            lo, hi = stats.funnel_limits(comparator, grid, kind, conf, mult)
            limits[a], limits[b] = lo, hi
        points.attrs["hidden"] = int(len(table) - int(keep.sum()))
        return points, limits, comparator

    # ------------------------------------------------------------------ trend and cascade
    def trend(self, code: str | None, metric: str, filters: Filters, risk: Any, policy: DisclosurePolicy
              ) -> tuple[pd.DataFrame, dict]:
        """Monthly values for the area (24 months) with the Fingertips recent-trend test."""
        info = self.metric(metric)
        rsk = risk if info.needs_risk or filters.risk is not None else None
        frame, test = self.engine_call("trend", metric, filters, code, risk=rsk, policy=policy)
        controlled = as_generic_columns(control(as_metric_columns(frame, metric), info, policy), metric)
        return controlled.rename(columns={"month": "period"}), test

    def cascade(self, code: str | None, filters: Filters, risk: Any, policy: DisclosurePolicy) -> pd.DataFrame:
        """People at risk -> with a plan -> complete -> reviewed -> viewed by urgent care (controlled)."""
        use_risk = risk if getattr(self.engine, "has_risk_scores", False) else None
        table = self.engine_call("cascade", replace_risk(filters, None), code, use_risk, policy=policy)
        controlled = apply_policy(table[["step", "count"]], "count", policy)
        counts = pd.to_numeric(controlled["count"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        first = counts[0] if len(counts) and np.isfinite(counts[0]) and counts[0] > 0 else np.nan
        out = pd.DataFrame({"stage": table["step"], "count": counts, "share": counts / first * 100,
                            "suppressed": controlled["count_suppressed"].to_numpy(dtype=bool),
                            "measure": table["measure"]})  # lets callers drop clinical steps by role
        out.attrs["high_risk"] = use_risk is not None
        return out

    # ------------------------------------------------------------------ outreach
    def outreach(self, level: str, filters: Filters, risk: Any, policy: DisclosurePolicy,
                 within: str | None = None) -> pd.DataFrame:
        """High-risk people without a plan and gap counts per area, disclosure-controlled."""
        table = self.engine_call("outreach", level, risk, replace_risk(filters, None), within=within,
                                 policy=policy)
        table = table.assign(_all="all")
        hr_cov = "high_risk_plan_coverage"
        specs = [CountSpec("high_risk"), CountSpec("high_risk_without_plan"), CountSpec("gap"),
                 RatioSpec(hr_cov, multiplier=1.0, recompute=_wilson_percent),
                 CountSpec("expected_admissions_without_plan")]
        out = apply_policy(table, specs, policy, groups=[["_all"]])
        expected = "expected_admissions_without_plan"
        for bound in ("lower", "upper"):  # its CI rests on rounded inputs; hidden with the value
            out[f"{expected}_{bound}"] = out[f"{expected}_{bound}"].mask(out[f"{expected}_suppressed"])
        assert_no_small_counts(out, ["high_risk", "high_risk_without_plan", "gap", f"{hr_cov}_numerator",
                                     f"{hr_cov}_denominator", expected], policy)
        return out.drop(columns="_all").reset_index(drop=True)

    # ------------------------------------------------------------------ engine pass-throughs
    def has_engine(self) -> bool:
        return self.engine is not None

    def engine_call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """A cached call to a CoverageEngine method (arguments must be hashable)."""
        if self.engine is None:
            raise ExplorerError(f"care-plan records are not loaded: {self.engine_problem}")
        key = ("engine", name, args, tuple(sorted(kwargs.items())))
        cache = self._cache.setdefault("engine_calls", {})
        if key not in cache:
            if len(cache) > 512:
                cache.clear()
            cache[key] = getattr(self.engine, name)(*args, **kwargs)
        return cache[key]


# --------------------------------------------------------------------------- helpers


def _f(x: Any) -> float:
    try:
        return float(x) if x is not None and not pd.isna(x) else math.nan
    except (TypeError, ValueError):
        return math.nan


def _fmt_value(v: float, hidden: bool, unit: str, signed: bool = False, *, exact: bool = False) -> str:
    """A value for display: 3 significant figures with its unit; `exact` counts keep every digit."""
    if hidden:
        return "*"
    if not math.isfinite(v):
        return ""
    if exact and float(v).is_integer():
        text = f"{int(v):,}" + (f" {unit}" if unit else "")
    else:
        text = format_number(v, unit)
    return ("+" + text) if signed and v > 0 else text


def _fmt_ci(lo: float, hi: float, hidden: bool, unit: str) -> str:
    if hidden:
        return "*"
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return ""
    return f"{format_number(lo, unit)} to {format_number(hi, unit)}"


def _fmt_count(n: float, hidden: bool) -> str:
    if hidden:
        return "*"
    if not math.isfinite(n):
        return ""
    return f"{int(round(n)):,}" if abs(n - round(n)) < 1e-9 else f"{n:,.1f}"


def _standard_columns(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    cols = ["area_code", "area_name", "parent_code", metric, f"{metric}_numerator", f"{metric}_denominator",
            f"{metric}_lower", f"{metric}_upper"]
    out = table.copy()
    for c in cols:
        if c not in out.columns:
            out[c] = np.nan
    return out[cols].reset_index(drop=True)


def _load_engine(settings: Settings, region: str) -> tuple[Any | None, str | None]:
    try:
        from explorer.services import load_engine
    except ImportError as exc:
        return None, f"the coverage engine is not installed ({exc})"
    try:
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


GROUP_TITLES = {"imd_decile": "IMD decile", "imd_quintile": "IMD quintile", "ethnic_group": "Ethnic group",
                "age_band": "Age band", "sex": "Sex", "disabled": "Disability", "frailty": "Frailty"}
_FRAILTY = {"fit": "Fit", "mild": "Mild frailty", "moderate": "Moderate frailty", "severe": "Severe frailty",
            "not_assessed": "Not assessed (under 65)"}


def group_label(by: str, group: str) -> str:
    """Display label of a by-group code ("1" -> "1 (most deprived)", "yes" -> "Disabled", ...)."""
    if group == "unknown":
        return "Not recorded"
    if by == "ethnic_group":
        return ETHNIC_LABELS.get(group, group)
    if by == "disabled":
        return {"yes": "Disabled", "no": "Not disabled"}.get(group, group)
    if by == "sex":
        return group.capitalize()
    if by == "frailty":
        return _FRAILTY.get(group, group)
    if by in ("imd_decile", "imd_quintile"):
        last = "10" if by == "imd_decile" else "5"
        return f"{group} (most deprived)" if group == "1" else f"{group} (least deprived)" if group == last else group
    return group


def replace_risk(filters: Filters, risk: Any) -> Filters:
    from dataclasses import replace
    return replace(filters, risk=risk)


def _wilson_percent(num: pd.Series, den: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    value, lo, hi = _wilson(num, den)
    return value * 100, lo * 100, hi * 100


def _counts_text(row: pd.Series, name: str, info: MetricInfo, hidden: bool) -> str:
    num, den = _f(row[f"{name}_numerator"]), _f(row[f"{name}_denominator"])
    if info.kind == "count" or not math.isfinite(den) or not math.isfinite(num) and not hidden:
        return ""
    return f"{_fmt_count(num, hidden)} / {_fmt_count(den, False)}"


def target_areas(table: pd.DataFrame, capacity: int, rank_by: str = "high_risk_without_plan") -> pd.DataFrame:
    """Rank areas and mark those a team with `capacity` planning conversations should start with.

    Areas are taken in rank order (largest `rank_by` first, suppressed last) until their high-risk
    people without a plan reach the capacity; `reach` is how many of those people the
    conversations cover (never more than the capacity). Works on controlled counts only.
    """
    out = table.copy()
    people = pd.to_numeric(out["high_risk_without_plan"], errors="coerce").astype(float)
    key = pd.to_numeric(out[rank_by], errors="coerce").astype(float)
    out = out.assign(_key=key.fillna(-1.0), _people=people.fillna(0.0))
    out = out.sort_values(["_key", "area_code"], ascending=[False, True], kind="stable").reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    cumulative = out["_people"].cumsum()
    before = cumulative - out["_people"]
    out["cumulative_without_plan"] = cumulative
    out["targeted"] = (before < capacity) & (out["_people"] > 0)
    out["reach"] = np.clip(np.minimum(cumulative, capacity) - np.minimum(before, capacity), 0, None)
    out.attrs["reach"] = float(out["reach"].sum())
    out.attrs["areas"] = int(out["targeted"].sum())
    out.attrs["total"] = float(out["_people"].sum())
    return out.drop(columns=["_key", "_people"])
