"""Care-plan metrics: definitions, filters, and pure computations on aggregated cell tables.

Nothing here reads person-level data. :mod:`explorer.records.aggregate` turns the records into
small *cell* tables (counts per LSOA x age group x sex x ethnic group x frailty x disability x
high-risk flag, per snapshot month); this module encodes those cells as integer arrays
(:class:`Cells`), filters them (:class:`Filters`), sums them to any grouping with
``np.bincount`` and turns the sums into values with confidence intervals, following the OHID
conventions of :mod:`explorer.domain.stats`:

* proportions: Wilson score interval;
* crude rates and counts: Byar (exact Poisson below 10);
* ``completeness``: the mean share of the 10 completeness items per plan, with a normal CI from
  the per-plan share's standard deviation (items cluster within plans, so treating the 10 x n
  items as independent Bernoulli trials - Wilson on items - would give CIs that are too narrow);
* ``adjusted_coverage``: indirect standardisation to the region's age band x sex x frailty
  specific coverage (observed / expected x 100, Byar limits on the observed count);
* ``coverage_dsr``: direct standardisation to the 2013 European Standard Population (19 bands),
  Dobson limits.

Every metric comes out as ``value, numerator, denominator, lower, upper``; tables name them
``<metric>``, ``<metric>_numerator``, ``<metric>_denominator``, ``<metric>_lower``,
``<metric>_upper`` (the shape :mod:`explorer.domain.disclosure` expects).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from explorer.domain import stats
from explorer.domain.disclosure import round_counts
from explorer.errors import ExplorerError
from explorer.records.schema import (
    AGE_BANDS, COMPLETENESS_ITEMS, ETHNIC_GROUPS, FRAILTY, SEXES,
)

__all__ = [
    "AGE_GROUP_STARTS", "BY_DIMENSIONS", "CONFIDENCE", "DEFAULT_RISK", "METRICS", "RISK_METRICS",
    "USER_METRICS", "GEOGRAPHY_METRICS", "ROUNDED_INPUT_METRICS", "Cells", "FilterError", "Filters", "MetricInfo", "RiskDefinition",
    "AreaIndex", "cascade_table", "check_metric", "compute_metric", "gap_from_groups", "month_ends",
    "month_end", "sii_summary", "trend_inputs",
]

CONFIDENCE = 0.95
N_ITEMS = len(COMPLETENESS_ITEMS)

# --------------------------------------------------------------------------- risk definition

try:  # the risk engineer's type when it exists; a compatible one otherwise
    from explorer.domain.risk import RiskDefinition  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - depends on what is installed

    @dataclass(frozen=True)
    class RiskDefinition:  # type: ignore[no-redef]
        """Who counts as high risk: the top ``value`` percent of predicted risk in the region
        (``kind="top_percent"``), or everyone with predicted probability >= ``value``
        (``kind="min_probability"``)."""

        kind: Literal["top_percent", "min_probability"] = "top_percent"
        value: float = 10.0

        def __post_init__(self) -> None:
            check_risk(self)


def check_risk(risk: Any) -> tuple[str, float]:
    """(kind, value) of any RiskDefinition-like object, validated."""
    kind, value = getattr(risk, "kind", None), getattr(risk, "value", None)
    if kind == "top_percent":
        if value is None or not 0 < float(value) <= 100:
            raise FilterError(f"top_percent risk definition needs a percentage in (0, 100], got {value!r}")
    elif kind == "min_probability":
        if value is None or not 0 <= float(value) <= 1:
            raise FilterError(f"min_probability risk definition needs a probability in [0, 1], got {value!r}")
    else:
        raise FilterError(f"risk definition kind must be 'top_percent' or 'min_probability', got {kind!r}")
    return str(kind), float(value)


def risk_key(risk: Any | None) -> tuple[str, float] | None:
    """Hashable, class-independent identity of a risk definition (None stays None)."""
    return None if risk is None else check_risk(risk)


def risk_label(risk: Any) -> str:
    kind, value = check_risk(risk)
    return f"top {value:g}% of predicted risk" if kind == "top_percent" else f"predicted risk >= {value:g}"


DEFAULT_RISK = RiskDefinition(kind="top_percent", value=10.0)

# --------------------------------------------------------------------------- vocabularies

#: Lower bounds of the age groups of the cell tables: the common refinement of the explorer's
#: AGE_BANDS (0-15, 16-29, ...) and the 19 ESP 2013 bands (0-4, 5-9, ..., 90+).
AGE_GROUP_STARTS: tuple[int, ...] = (0, 5, 10, 15, 16, *range(20, 95, 5))


def _band_of(start: int, bands: Sequence[str]) -> int:
    for i, band in reversed(list(enumerate(bands))):
        if start >= int(band.rstrip("+").split("-")[0]):
            return i
    raise ValueError(start)


_AGE_GROUP_TO_BAND = np.array([_band_of(s, AGE_BANDS) for s in AGE_GROUP_STARTS] + [len(AGE_BANDS)])
_AGE_GROUP_TO_ESP = np.array([_band_of(s, stats.ESP2013_BANDS) for s in AGE_GROUP_STARTS]
                             + [len(stats.ESP2013_BANDS)])
UNKNOWN = "unknown"
YES_NO = ("no", "yes")

#: Category labels of each cell dimension, in display order (an extra last code means unknown).
VOCAB: dict[str, tuple[Any, ...]] = {
    "age_group": AGE_GROUP_STARTS,
    "age_band": AGE_BANDS,
    "esp_band": stats.ESP2013_BANDS,
    "sex": SEXES,
    "ethnic_group": ETHNIC_GROUPS,
    "frailty": FRAILTY,
    "disabled": YES_NO,
    "high_risk": YES_NO,
    "imd_decile": tuple(range(1, 11)),
    "imd_quintile": tuple(range(1, 6)),
}
#: Dimensions :meth:`CoverageEngine.by_group` can split by (IMD: 1 = most deprived).
BY_DIMENSIONS = ("imd_decile", "imd_quintile", "ethnic_group", "age_band", "sex", "disabled", "frailty")

# --------------------------------------------------------------------------- filters


class FilterError(ExplorerError, ValueError):
    """A filter or metric request that cannot be understood: the message says what is allowed."""


_FILTER_KEYS = ("age_band", "sex", "ethnic_group", "imd_quintile", "imd_decile", "frailty", "disabled", "risk")
_TRUE, _FALSE = ("yes", "true", "1", "y"), ("no", "false", "0", "n")


def _parse_risk(text: str) -> Any:
    text = text.strip().lower()
    if text in ("high", "high_risk", "default"):
        return DEFAULT_RISK
    kind, sep, value = text.partition(":")
    if not sep:
        raise FilterError(f"risk filter '{text}' should look like top_percent:10, min_probability:0.2 or high")
    try:
        number = float(value)
    except ValueError:
        raise FilterError(f"risk filter value '{value}' is not a number") from None
    check_risk(_RiskLike(kind, number))  # a clear FilterError before the real type sees it
    return RiskDefinition(kind=kind, value=number)


@dataclass(frozen=True)
class _RiskLike:
    kind: str
    value: float


def _format_risk(risk: Any) -> str:
    kind, value = check_risk(risk)
    return f"{kind}:{value:g}"


@dataclass(frozen=True)
class Filters:
    """Which people to count. Within a key the values are alternatives (OR); keys combine with AND.

    Empty tuples mean "everyone". ``risk`` restricts to people who are high risk under that
    :class:`RiskDefinition`. Values are normalised (deduplicated, in vocabulary order) so equal
    filters compare and hash equal and can key caches. IMD deciles/quintiles are national,
    1 = most deprived, and apply to the person's LSOA of residence.

    >>> Filters.parse(["frailty=moderate,severe", "age_band=75-84"]).to_query()
    {'age_band': '75-84', 'frailty': 'moderate,severe'}
    """

    age_band: tuple[str, ...] = ()
    sex: tuple[str, ...] = ()
    ethnic_group: tuple[str, ...] = ()
    imd_quintile: tuple[int, ...] = ()
    imd_decile: tuple[int, ...] = ()
    frailty: tuple[str, ...] = ()
    disabled: tuple[bool, ...] = ()
    risk: Any | None = None  # a RiskDefinition

    def __post_init__(self) -> None:
        for key in _FILTER_KEYS[:-1]:
            raw = getattr(self, key)
            if isinstance(raw, (str, int, bool)):
                raw = (raw,)
            values = tuple(_clean_value(key, v) for v in raw)
            order = _allowed(key)
            object.__setattr__(self, key, tuple(v for v in order if v in set(values)))
        if self.risk is not None:
            check_risk(self.risk)

    @classmethod
    def parse(cls, items: Iterable[str] | None) -> Filters:
        """Filters from ``KEY=VALUE[,VALUE...]`` strings (CLI ``--filter``); repeated keys add values."""
        values: dict[str, list[Any]] = {}
        risk = None
        for item in items or ():
            key, sep, text = str(item).partition("=")
            key = key.strip().lower().replace("-", "_")
            if not sep or not text.strip():
                raise FilterError(f"filter '{item}' should look like key=value (e.g. frailty=moderate,severe)")
            if key not in _FILTER_KEYS:
                raise FilterError(f"unknown filter '{key}': choose from {', '.join(_FILTER_KEYS)}")
            if key == "risk":
                risk = _parse_risk(text)
                continue
            values.setdefault(key, []).extend(_clean_value(key, v) for v in text.split(",") if v.strip())
        return cls(**{k: tuple(v) for k, v in values.items()}, risk=risk)

    @classmethod
    def from_query(cls, query: Mapping[str, Any] | None) -> Filters:
        """Filters from URL query values (``str`` or list of ``str``); other keys are ignored."""
        items = []
        for key, value in (query or {}).items():
            if key not in _FILTER_KEYS or value in (None, "", []):
                continue
            for v in value if isinstance(value, (list, tuple)) else [value]:
                items.append(f"{key}={v}")
        return cls.parse(items)

    def to_query(self) -> dict[str, str]:
        """Non-empty filters as URL query values (``from_query`` inverts it)."""
        out = {}
        for key in _FILTER_KEYS[:-1]:
            values = getattr(self, key)
            if values:
                out[key] = ",".join(_format_value(key, v) for v in values)
        if self.risk is not None:
            out["risk"] = _format_risk(self.risk)
        return dict(sorted(out.items()))

    @property
    def is_empty(self) -> bool:
        return not self.to_query()

    def describe(self) -> str:
        """Short text for titles and legends, e.g. 'frailty: moderate, severe; age 75-84'."""
        parts = []
        for key in _FILTER_KEYS[:-1]:
            values = getattr(self, key)
            if values:
                parts.append(f"{key.replace('_', ' ')}: {', '.join(_format_value(key, v) for v in values)}")
        if self.risk is not None:
            parts.append(f"high risk ({risk_label(self.risk)})")
        return "; ".join(parts) or "everyone"

    def without(self, *keys: str) -> Filters:
        return replace(self, **{k: (None if k == "risk" else ()) for k in keys})


def _allowed(key: str) -> tuple[Any, ...]:
    return (False, True) if key == "disabled" else VOCAB[key]


def _clean_value(key: str, value: Any) -> Any:
    allowed = _allowed(key)
    if key == "disabled":
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise FilterError(f"disabled filter value '{value}' should be yes or no")
    if key in ("imd_quintile", "imd_decile"):
        try:
            number = int(str(value).strip())
        except ValueError:
            number = None
        if number not in allowed:
            raise FilterError(f"{key} value '{value}' should be one of {', '.join(map(str, allowed))} "
                              "(1 = most deprived)")
        return number
    text = str(value).strip()
    text = text if key == "age_band" else text.lower()
    if text not in allowed:
        raise FilterError(f"unknown {key} '{value}': choose from {', '.join(map(str, allowed))}")
    return text


def _format_value(key: str, value: Any) -> str:
    if key == "disabled":
        return "yes" if value else "no"
    return str(value)


# --------------------------------------------------------------------------- metric catalogue

Kind = Literal["proportion", "rate", "mean", "count", "ratio", "score"]


@dataclass(frozen=True)
class MetricInfo:
    """What the app needs to offer a metric: label, unit, kind, polarity and where it comes from.

    ``source``: "cells" (people and plans), "users" (clinician users by organisation LSOA) or
    "geography" (the bundle; no CI, filters and dates do not apply). ``filterable``: whether
    :class:`Filters` apply. ``needs_risk``: needs a trained risk model (``risk_scores``).
    """

    name: str
    label: str
    unit: str
    kind: Kind
    multiplier: float
    higher_is_better: bool | None
    description: str
    denominator: str
    source: Literal["cells", "users", "geography"] = "cells"
    filterable: bool = True
    needs_risk: bool = False
    has_ci: bool = True
    decimals: int = 1


_M = MetricInfo
METRICS: dict[str, MetricInfo] = {m.name: m for m in (
    _M("plans", "People with a live care plan", "people", "count", 1, True,
       "People with a live (published, not closed) advance/urgent care plan at the snapshot month end. "
       "95% CI: Byar (exact Poisson below 10).", "registered people", decimals=0),
    _M("coverage", "Care-plan coverage", "per 1,000 people", "rate", 1_000, True,
       "People with a live care plan per 1,000 registered people. 95% CI: Byar.", "registered people"),
    _M("coverage_dsr", "Care-plan coverage, age-standardised", "per 100,000 people (ESP 2013)", "rate", 100_000,
       True, "People with a live plan per 100,000, directly standardised to the 2013 European Standard "
       "Population (19 age bands). 95% CI: Dobson with Byar. Not shown below 10 plans or where an age band has "
       "nobody.", "registered people"),
    _M("adjusted_coverage", "Care-plan coverage, adjusted for age, sex and frailty", "index (region = 100)",
       "ratio", 100, True, "Observed plans / plans expected if the area had the region's age band x sex x "
       "frailty specific coverage (indirect standardisation), x 100. 95% CI: Byar on the observed count. "
       "Numerator: observed plans; denominator: expected plans.", "expected plans"),
    _M("completeness", "Plan completeness", "% of the 10 items", "mean", 100, True,
       "Mean share of the 10 completeness items recorded, over live plans. 95% CI: normal, from the "
       "standard deviation of the per-plan share. Numerator: items recorded; denominator: live plans.",
       "live plans"),
    _M("reviewed_in_period", "Plans reviewed within their review period", "% of live plans", "proportion", 100,
       True, "Live plans whose latest review (or creation, if never reviewed) is within the plan's review "
       "period of the snapshot date. 95% CI: Wilson.", "live plans"),
    _M("urgent_care_views", "Urgent care views", "per 100 live plans", "rate", 100, True,
       "Views by ambulance, NHS 111 and emergency departments in the 12 months to the snapshot (of any "
       "published plan of the area's people) per 100 live plans. 95% CI: Byar.", "live plans"),
    _M("active_users", "Users logging in during the month", "% of users", "proportion", 100, True,
       "Clinician users with at least one login in the snapshot month, by the LSOA of their organisation "
       "(users without one count only in the region total). Person filters do not apply. 95% CI: Wilson.",
       "clinician users", source="users", filterable=False),
    _M("active_users_10plus", "Users logging in more than 10 times", "% of users", "proportion", 100, True,
       "Clinician users with more than 10 logins in the snapshot month, by the LSOA of their organisation. "
       "Person filters do not apply. 95% CI: Wilson.", "clinician users", source="users", filterable=False),
    _M("high_risk", "High-risk people", "people", "count", 1, None,
       "People at high predicted risk of emergency admission (default: top 10% in the region). "
       "Numerator: high-risk people; denominator: registered people. No CI (a fixed share by definition).",
       "registered people", needs_risk=True, has_ci=False, decimals=0),
    _M("high_risk_without_plan", "High-risk people without a plan", "people", "count", 1, False,
       "High-risk people with no live care plan. Denominator: high-risk people. No CI.", "high-risk people",
       needs_risk=True, has_ci=False, decimals=0),
    _M("high_risk_plan_coverage", "High-risk people with a plan", "% of high-risk people", "proportion", 100, True,
       "High-risk people with a live care plan. 95% CI: Wilson.", "high-risk people", needs_risk=True),
    _M("expected_admissions_without_plan", "Expected admissions, high-risk people without a plan",
       "admissions in 12 months", "count", 1, False,
       "Sum of predicted admission probabilities of high-risk people without a live plan. 95% CI: normal, "
       "variance sum p(1-p). Denominator: high-risk people without a plan.", "high-risk people without a plan",
       needs_risk=True),
    _M("imd_score", "IMD 2025 score", "score (higher = more deprived)", "score", 1, None,
       "Population-weighted mean of LSOA IMD 2025 scores (MHCLG area-summary method).", "residents",
       source="geography", filterable=False, has_ci=False),
    _M("core20_population_share", "Core20 population", "% of residents", "proportion", 100, None,
       "Residents living in the most deprived 20% of LSOAs nationally (IMD deciles 1-2).", "residents",
       source="geography", filterable=False, has_ci=False),
    _M("population", "Population", "residents", "count", 1, None,
       "Usual residents (Census 2021).", "residents", source="geography", filterable=False, has_ci=False,
       decimals=0),
)}
RISK_METRICS = tuple(n for n, m in METRICS.items() if m.needs_risk)
USER_METRICS = tuple(n for n, m in METRICS.items() if m.source == "users")
GEOGRAPHY_METRICS = tuple(n for n, m in METRICS.items() if m.source == "geography")


def check_metric(name: str) -> MetricInfo:
    if name not in METRICS:
        raise FilterError(f"unknown metric '{name}': choose from {', '.join(METRICS)}")
    return METRICS[name]


#: Summed measures each cell-based metric needs, (person-side, plan-side); "strata" marks ISR/DSR.
PERSON_MEASURES = ("people", "hr_people", "hr_risk", "hr_risk_var", "admitted")
PLAN_MEASURES = ("plans", "items_sum", "items_sumsq", "key_complete", "reviewed", "kc_reviewed",
                 "kc_reviewed_viewed", "urgent_views", "hr_plans", "hr_risk_plan", "hr_risk_var_plan")
NEEDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "plans": (("people",), ("plans",)),
    "coverage": (("people",), ("plans",)),
    "coverage_dsr": (("people",), ("plans",)),
    "adjusted_coverage": (("people",), ("plans",)),
    "completeness": ((), ("plans", "items_sum", "items_sumsq")),
    "reviewed_in_period": ((), ("plans", "reviewed")),
    "urgent_care_views": ((), ("plans", "urgent_views")),
    "high_risk": (("people", "hr_people"), ()),
    "high_risk_without_plan": (("hr_people",), ("hr_plans",)),
    "high_risk_plan_coverage": (("hr_people",), ("hr_plans",)),
    "expected_admissions_without_plan": (("hr_people", "hr_risk", "hr_risk_var"),
                                         ("hr_plans", "hr_risk_plan", "hr_risk_var_plan")),
    "active_users": (("users", "active_users"), ()),
    "active_users_10plus": (("users", "active_users_10plus"), ()),
}
STRATA = {"adjusted_coverage": "isr_stratum", "coverage_dsr": "esp_band"}

# --------------------------------------------------------------------------- months


def month_end(value: Any) -> dt.date:
    """The month end of a date, 'YYYY-MM', 'YYYY-MM-DD', date or Timestamp."""
    if isinstance(value, str) and len(value.strip()) == 7:
        value = value.strip() + "-01"
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise FilterError(f"'{value}' is not a month (YYYY-MM) or date (YYYY-MM-DD)") from None
    if pd.isna(ts):
        raise FilterError(f"'{value}' is not a month (YYYY-MM) or date (YYYY-MM-DD)")
    return dt.date(ts.year, ts.month, calendar.monthrange(ts.year, ts.month)[1])


def month_ends(last: Any, n: int) -> tuple[dt.date, ...]:
    """The ``n`` month ends up to and including the month of ``last``, oldest first."""
    end = month_end(last)
    out = []
    year, month = end.year, end.month
    for _ in range(n):
        out.append(dt.date(year, month, calendar.monthrange(year, month)[1]))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return tuple(reversed(out))


# --------------------------------------------------------------------------- geography index


class AreaIndex:
    """LSOA -> area index per level, with names: the bridge from cells to the hierarchy.

    Area indices run 0..n-1 in area-code order; index n is "outside" (an LSOA not in the bundle,
    or no LSOA). Level "region" has one area (the region) and is also the outside slot's home
    when ``outside_in_region``.
    """

    def __init__(self, lsoas: pd.DataFrame, areas: pd.DataFrame, region_code: str, region_name: str):
        self.lsoa_codes = pd.Index(lsoas["lsoa_code"].astype(str))
        self.n_lsoa = len(self.lsoa_codes)
        self.region_code, self.region_name = region_code, region_name
        decile = lsoas["imd_decile"].to_numpy()
        self.imd_decile = np.append(np.where(np.isfinite(decile), decile - 1, 10), 10).astype(np.int16)
        quint = ((decile + 1) // 2)
        self.imd_quintile = np.append(np.where(np.isfinite(quint), quint - 1, 5), 5).astype(np.int16)
        self.areas = areas
        self.codes: dict[str, pd.Index] = {}
        self.names: dict[str, pd.DataFrame] = {}
        self.lsoa_to_area: dict[str, np.ndarray] = {}
        for level in ("ics", "place", "pcn", "lsoa"):
            table = (areas[areas["level"] == level][["area_code", "area_name", "parent_code"]]
                     .drop_duplicates("area_code").sort_values("area_code", ignore_index=True))
            codes = pd.Index(table["area_code"].astype(str))
            column = lsoas[f"{level}_code"].astype(str) if level != "lsoa" else lsoas["lsoa_code"].astype(str)
            idx = codes.get_indexer(column)
            idx = np.where(idx < 0, len(codes), idx)
            self.codes[level] = codes
            self.names[level] = table
            self.lsoa_to_area[level] = np.append(idx, len(codes)).astype(np.int32)
        self.codes["region"] = pd.Index([region_code])
        self.names["region"] = pd.DataFrame({"area_code": [region_code], "area_name": [region_name],
                                             "parent_code": [None]})
        self.lsoa_to_area["region"] = np.append(np.zeros(self.n_lsoa, np.int32), 1).astype(np.int32)
        self._imd_score = pd.to_numeric(lsoas.get("imd_score"), errors="coerce").to_numpy(dtype=float) \
            if "imd_score" in lsoas else np.full(self.n_lsoa, np.nan)
        self._imd_weight = pd.to_numeric(lsoas.get("population"), errors="coerce").fillna(0).to_numpy(dtype=float) \
            if "population" in lsoas else np.ones(self.n_lsoa)
        self._national_decile = decile
        self._deprivation: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def deprivation(self, level: str = "lsoa") -> tuple[np.ndarray, np.ndarray]:
        """(decile code, quintile code) per LSOA (plus the outside slot) for deprivation groups
        formed from whole areas at ``level``.

        ``"lsoa"``: each LSOA's own national IMD decile. Any other level: every LSOA takes the decile
        of its area's population-weighted IMD score, placed among the national LSOA deciles by the
        lowest score of each decile among the bundle's LSOAs (exact for England; for London the
        cut-off is the nearest London LSOA's score). Then every deprivation group and IMD filter is a
        union of whole areas of that level, and no difference of two of them can single out an LSOA.
        """
        if level == "lsoa":
            return self.imd_decile, self.imd_quintile
        if level not in self._deprivation:
            area = self.lsoa_to_area[level][:-1]
            n = self.n_areas(level) + 1
            weight = np.where(np.isfinite(self._imd_score), self._imd_weight, 0.0)
            total = np.bincount(area, weights=weight, minlength=n)
            scored = np.bincount(area, weights=np.nan_to_num(self._imd_score) * weight, minlength=n)
            with np.errstate(divide="ignore", invalid="ignore"):
                score = np.where(total > 0, scored / np.where(total > 0, total, 1), np.nan)
            cut = [np.nanmin(np.where(self._national_decile == d, self._imd_score, np.nan))
                   if np.any(self._national_decile == d) else np.inf for d in range(1, 10)]
            area_decile = np.full(n, 10, dtype=np.int16)  # code 10 = unknown
            for a in np.flatnonzero(np.isfinite(score[:-1])):
                area_decile[a] = next((d for d, c in enumerate(cut) if score[a] >= c), 9)
            decile = np.append(area_decile[area], 10).astype(np.int16)
            quintile = np.where(decile < 10, decile // 2, 5).astype(np.int16)
            self._deprivation[level] = (decile, quintile)
        return self._deprivation[level]

    def level_of(self, area_code: str) -> str:
        if area_code == self.region_code:
            return "region"
        for level in ("ics", "place", "pcn", "lsoa"):
            if area_code in self.codes[level]:
                return level
        raise FilterError(f"unknown area code '{area_code}' (not in the {self.region_name} bundle)")

    def n_areas(self, level: str) -> int:
        return len(self.codes[level])

    def ancestor_codes(self, level: str, ancestor_level: str) -> np.ndarray:
        """For each area at ``level`` its ancestor at ``ancestor_level`` via the areas hierarchy."""
        codes = self.names[level]["area_code"].to_numpy(dtype=object)
        if ancestor_level == "region":
            return np.full(len(codes), self.region_code, dtype=object)
        order = ("ics", "place", "pcn", "lsoa")
        current = pd.Series(codes)
        lvl = level
        while lvl != ancestor_level:
            if order.index(lvl) < order.index(ancestor_level):
                raise FilterError(f"a {lvl} area cannot lie within a {ancestor_level}")
            parents = self.names[lvl].set_index("area_code")["parent_code"]
            current = current.map(parents)
            lvl = order[order.index(lvl) - 1]
        return current.to_numpy(dtype=object)


# --------------------------------------------------------------------------- cells


def _codes(values: pd.Series, vocab: Sequence[Any]) -> np.ndarray:
    """Category codes 0..len-1, unknown/missing -> len(vocab)."""
    cat = pd.Categorical(values, categories=list(vocab))
    codes = np.asarray(cat.codes, dtype=np.int16)
    return np.where(codes < 0, len(vocab), codes).astype(np.int8)


def _index_codes(values: pd.Series, index: pd.Index) -> np.ndarray:
    """Positions of values in `index` (-1 if absent), looking up each distinct value once: England's
    8 million cells hold 33,755 LSOA codes, and a Python string per row would cost gigabytes."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    found = index.get_indexer(pd.Index(uniques, dtype=object))
    return np.where(codes < 0, -1, found[np.maximum(codes, 0)]) if len(found) else np.full(len(codes), -1)


#: Measures restricted to high-risk people, derived on the fly from a base measure.
HIGH_RISK_MEASURES = {"hr_people": "people", "hr_risk": "risk_sum", "hr_risk_var": "risk_var",
                      "hr_plans": "plans", "hr_risk_plan": "risk_with_plan",
                      "hr_risk_var_plan": "risk_var_with_plan", "hr_deaths": "deaths",
                      "hr_risk_of_deaths": "risk_of_deaths", "hr_risk_var_of_deaths": "risk_var_of_deaths"}
#: Person-side measure -> the plan-side count of people known to have died by the month end, which
#: is taken off it (the people extract has no date of death; plans closed as "deceased" do).
DEATHS_OF = {"people": "deaths", "hr_people": "hr_deaths", "hr_risk": "hr_risk_of_deaths",
             "hr_risk_var": "hr_risk_var_of_deaths"}
_N_SEX, _N_FRAILTY = len(SEXES) + 1, len(FRAILTY) + 1


class Cells:
    """An encoded cell table: integer codes per dimension and measures, summable with bincount.

    ``frame`` is an aggregate table (see :mod:`explorer.records.aggregate`) with string keys;
    the dimensions present among lsoa_code, month, age_group, sex, ethnic_group, frailty,
    disabled and high_risk are encoded (unknown/missing -> an extra last code), and derived
    dimensions added: age_band, esp_band, isr_stratum (age band x sex x frailty), imd_decile and
    imd_quintile (of the LSOA; outside the bundle -> the extra code). Rows are sorted by month so
    :meth:`for_months` slices without copying. Read-only after construction.
    """

    def __init__(self, frame: pd.DataFrame, index: AreaIndex, measures: Sequence[str],
                 months: Sequence[str] | None = None):
        self.index = index
        self.months = tuple(months or ())
        if "month" in frame:
            frame = frame.sort_values("month", kind="stable", ignore_index=True)
        self.n = len(frame)
        c: dict[str, np.ndarray] = {}
        lsoa = _index_codes(frame["lsoa_code"], index.lsoa_codes)
        c["lsoa"] = np.where(lsoa < 0, index.n_lsoa, lsoa).astype(np.int32)
        c["imd_decile"] = index.imd_decile[c["lsoa"]].astype(np.int8)
        c["imd_quintile"] = index.imd_quintile[c["lsoa"]].astype(np.int8)
        if "month" in frame:
            c["month"] = _codes(frame["month"].astype(str), self.months)
        if "age_group" in frame:
            age = pd.to_numeric(frame["age_group"], errors="coerce").astype("Int64")
            c["age_group"] = _codes(age, AGE_GROUP_STARTS)
            c["age_band"] = _AGE_GROUP_TO_BAND[c["age_group"]].astype(np.int8)
            c["esp_band"] = _AGE_GROUP_TO_ESP[c["age_group"]].astype(np.int8)
            for dim in ("sex", "ethnic_group", "frailty"):
                found = _index_codes(frame[dim], pd.Index(list(VOCAB[dim]), dtype=object))
                c[dim] = np.where(found < 0, len(VOCAB[dim]), found).astype(np.int8)
            dis = frame["disabled"].astype("object")
            c["disabled"] = np.where(dis.isna(), 2, np.where(dis.fillna(False).astype(bool), 1, 0)).astype(np.int8)
            c["high_risk"] = frame["high_risk"].astype("object").fillna(False).astype(bool).to_numpy().astype(np.int8)
            c["isr_stratum"] = ((c["age_band"].astype(np.int16) * _N_SEX + c["sex"]) * _N_FRAILTY
                                + c["frailty"]).astype(np.int16)
        self.codes = c
        self.measures = {m: pd.to_numeric(frame[m], errors="coerce").fillna(0).to_numpy(dtype=np.float32)
                         for m in measures if m in frame}
        self._slices: dict[tuple[str, ...], Cells] = {}

    @classmethod
    def _view(cls, parent: Cells, rows: slice) -> Cells:
        view = cls.__new__(cls)
        view.index, view.months = parent.index, parent.months
        view.codes = {k: v[rows] for k, v in parent.codes.items()}
        view.measures = {k: v[rows] for k, v in parent.measures.items()}
        view.n = len(next(iter(view.codes.values()))) if view.codes else 0
        view._slices = {}
        return view

    def for_months(self, months: Sequence[str]) -> Cells:
        """The rows of a contiguous run of months (a view), or self if there is no month axis."""
        if "month" not in self.codes:
            return self
        key = tuple(months)
        if key not in self._slices:
            codes = sorted(self.months.index(m) for m in key)
            if codes != list(range(codes[0], codes[-1] + 1)):
                raise ValueError("months must be contiguous")
            column = self.codes["month"]
            rows = slice(int(np.searchsorted(column, codes[0], "left")),
                         int(np.searchsorted(column, codes[-1], "right")))
            self._slices[key] = Cells._view(self, rows)
        return self._slices[key]

    def dim_codes(self, dim: str, deprivation_level: str = "lsoa") -> np.ndarray:
        """Codes of a dimension per row; IMD deciles and quintiles of whole areas at
        ``deprivation_level`` when that is not "lsoa" (see :meth:`AreaIndex.deprivation`)."""
        if deprivation_level == "lsoa" or dim not in ("imd_decile", "imd_quintile"):
            return self.codes[dim]
        key = f"{dim}@{deprivation_level}"
        if key not in self.codes:
            decile, quintile = self.index.deprivation(deprivation_level)
            self.codes[key] = (decile if dim == "imd_decile" else quintile)[self.codes["lsoa"]].astype(np.int8)
        return self.codes[key]

    def size(self, dim: str) -> int:
        """Number of codes of a dimension, including the unknown/outside slot."""
        if dim == "month":
            return len(self.months) + 1
        if dim == "isr_stratum":
            return (len(AGE_BANDS) + 1) * _N_SEX * _N_FRAILTY
        if dim == "lsoa":
            return self.index.n_lsoa + 1
        return len(VOCAB[dim]) + 1

    def mask(self, filters: Filters, *, months: Sequence[str] | None = None,
             deprivation_level: str = "lsoa") -> np.ndarray | None:
        """Rows matching the filters (and months, if given); None means every row. IMD filters use
        the deciles of whole areas at ``deprivation_level``."""
        keep: np.ndarray | None = None

        def both(m: np.ndarray) -> np.ndarray:
            return m if keep is None else keep & m

        for key in _FILTER_KEYS[:-1]:
            values = getattr(filters, key)
            if not values:
                continue
            allowed = [1 if v else 0 for v in values] if key == "disabled" else [VOCAB[key].index(v) for v in values]
            table = np.zeros(self.size(key), dtype=bool)
            table[allowed] = True
            keep = both(table[self.dim_codes(key, deprivation_level)])
        if filters.risk is not None:
            keep = both(self.codes["high_risk"] == 1)
        if months is not None and "month" in self.codes:
            table = np.zeros(self.size("month"), dtype=bool)
            table[[self.months.index(m) for m in months]] = True
            keep = both(table[self.codes["month"]])
        return keep

    def area_codes(self, level: str) -> np.ndarray:
        return self.index.lsoa_to_area[level][self.codes["lsoa"]]

    def sums(self, mask: np.ndarray | None, keys: Sequence[tuple[np.ndarray, int]],
             measures: Iterable[str]) -> dict[str, np.ndarray]:
        """Sum ``measures`` over the rows in ``mask`` (None = all) grouped by ``keys``, a list of
        (codes per row, number of codes) pairs. Returns float64 arrays shaped by the key sizes
        (0-d for no keys); a measure the table lacks sums to zeros.
        """
        shape = tuple(size for _, size in keys)
        total = int(np.prod(shape)) if shape else 1

        def pick(a: np.ndarray) -> np.ndarray:
            return a if mask is None else a[mask]

        flat = np.zeros(self.n if mask is None else int(mask.sum()), dtype=np.int64)
        for codes, size in keys:
            flat = flat * size + pick(codes)
        hr = None
        out = {}
        for m in measures:
            base = HIGH_RISK_MEASURES.get(m, m)
            if base not in self.measures:
                out[m] = np.zeros(shape)
                continue
            weights = pick(self.measures[base]).astype(np.float64)
            if m in HIGH_RISK_MEASURES:
                hr = pick(self.codes["high_risk"]) == 1 if hr is None else hr
                weights = np.where(hr, weights, 0.0)
            out[m] = np.bincount(flat, weights=weights, minlength=total).reshape(shape)
        return out


# --------------------------------------------------------------------------- metric values


@dataclass
class Computed:
    """value, numerator, denominator, lower, upper - all float arrays of the same shape."""

    value: np.ndarray
    numerator: np.ndarray
    denominator: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    def frame(self, prefix: str | None = None) -> pd.DataFrame:
        cols = {"value": self.value, "numerator": self.numerator, "denominator": self.denominator,
                "lower": self.lower, "upper": self.upper}
        if prefix:
            cols = {(prefix if k == "value" else f"{prefix}_{k}"): v for k, v in cols.items()}
        return pd.DataFrame({k: np.asarray(v, dtype=float).ravel() for k, v in cols.items()})


def _nan_like(x: np.ndarray) -> np.ndarray:
    return np.full(np.shape(x), np.nan)


def _z() -> float:
    return stats.z_value(CONFIDENCE)


def compute_metric(name: str, s: Mapping[str, np.ndarray], *, reference: np.ndarray | None = None,
                   dsr_bands: np.ndarray | None = None, rounding: int | None = None) -> Computed:
    """A metric's value, numerator, denominator and 95% CI from summed measures.

    ``s`` maps measure names to arrays (broadcastable against each other). For
    ``adjusted_coverage`` the arrays carry a last strata axis and ``reference`` holds the region's
    coverage per person in each stratum; for ``coverage_dsr`` the last axis is the ESP band and
    ``dsr_bands`` (bool per band) which bands the standard covers.

    ``rounding`` (the disclosure rule for released figures): statistics that rest on more than a
    numerator and a denominator - the DSR and its CI (per-band counts), completeness and its CI
    (items, squares, plans) and expected admissions with their CI - are computed from those
    inputs rounded to the nearest ``rounding``; numerator and denominator stay exact, because the
    release decides suppression on them before rounding them itself (``explorer.domain.release``).
    """
    info = check_metric(name)
    if rounding is not None and name in ROUNDED_INPUT_METRICS:
        exact = compute_metric(name, s, reference=reference, dsr_bands=dsr_bands)
        released = compute_metric(name, _rounded_inputs(name, s, rounding), reference=reference,
                                  dsr_bands=dsr_bands)
        return replace(released, numerator=exact.numerator, denominator=exact.denominator)
    mult = info.multiplier
    if name == "plans":
        num = s["plans"] + 0 * s["people"]
        lo, hi = stats.byar_interval(num, CONFIDENCE)
        return Computed(num, num, s["people"] + 0 * num, lo, hi)
    if name in ("coverage", "urgent_care_views"):
        num, den = (s["plans"], s["people"]) if name == "coverage" else (s["urgent_views"], s["plans"])
        num, den = np.broadcast_arrays(num, den)
        value, lo, hi = stats.rate_interval(num, den, mult, CONFIDENCE)
        return Computed(value, num.astype(float), den.astype(float), lo, hi)
    if name in ("reviewed_in_period", "high_risk_plan_coverage", "active_users", "active_users_10plus"):
        num, den = {"reviewed_in_period": ("reviewed", "plans"),
                    "high_risk_plan_coverage": ("hr_plans", "hr_people"),
                    "active_users": ("active_users", "users"),
                    "active_users_10plus": ("active_users_10plus", "users")}[name]
        num, den = np.broadcast_arrays(s[num], s[den])
        lo, hi = stats.wilson_interval(num, den, CONFIDENCE)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
        return Computed(value * mult, num.astype(float), den.astype(float), lo * mult, hi * mult)
    if name == "completeness":
        n, total, sumsq = np.broadcast_arrays(s["plans"], s["items_sum"], s["items_sumsq"])
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(n > 0, total / (N_ITEMS * np.where(n > 0, n, 1)), np.nan)
            var = (sumsq / N_ITEMS**2 - n * mean**2) / (n - 1)
            se = np.where(n > 1, np.sqrt(np.clip(var, 0, None) / n), np.nan)
        lo = np.clip(mean - _z() * se, 0, 1)
        hi = np.clip(mean + _z() * se, 0, 1)
        return Computed(mean * mult, total.astype(float), n.astype(float), lo * mult, hi * mult)
    if name == "high_risk":
        num, den = np.broadcast_arrays(s["hr_people"], s["people"])
        return Computed(num.astype(float), num.astype(float), den.astype(float), _nan_like(num), _nan_like(num))
    if name == "high_risk_without_plan":
        hr, plans = np.broadcast_arrays(s["hr_people"], s["hr_plans"])
        num = hr - plans
        return Computed(num, num, hr.astype(float), _nan_like(num), _nan_like(num))
    if name == "expected_admissions_without_plan":
        e = s["hr_risk"] - s["hr_risk_plan"]
        var = np.clip(s["hr_risk_var"] - s["hr_risk_var_plan"], 0, None)
        den = s["hr_people"] - s["hr_plans"]
        e, var, den = np.broadcast_arrays(e, var, den)
        half = _z() * np.sqrt(var)
        return Computed(e, e, den.astype(float), np.clip(e - half, 0, None), e + half)
    if name == "adjusted_coverage":
        if reference is None:
            raise ValueError("adjusted_coverage needs reference stratum rates")
        plans, people = np.broadcast_arrays(s["plans"], s["people"])
        known = np.isfinite(reference)
        observed = np.sum(np.where(known, plans, 0.0), axis=-1)
        reference = np.where(known, reference, 0.0)
        if reference.ndim == 1:
            expected = stats.expected_counts(np.where(known, people, 0.0), reference)
        else:  # a reference per row (e.g. per month of a trend): the same sum, row by row
            expected = np.sum(np.where(known, people, 0.0) * reference, axis=-1)
        ratio, lo, hi = stats.indirect_standardised_ratio(observed, expected, CONFIDENCE)
        return Computed(ratio * mult, observed, expected, lo * mult, hi * mult)
    if name == "coverage_dsr":
        plans, people = np.broadcast_arrays(s["plans"], s["people"])
        bands = np.ones(plans.shape[-1], bool) if dsr_bands is None else np.asarray(dsr_bands, bool)
        weights = np.asarray(stats.ESP2013_WEIGHTS, float)
        value, lo, hi = stats.directly_standardised_rate(plans[..., bands], people[..., bands], weights[bands],
                                                         mult, CONFIDENCE)
        return Computed(value, plans[..., bands].sum(-1), people[..., bands].sum(-1), lo, hi)
    raise FilterError(f"metric '{name}' is not computed from cells")


#: Metrics whose released value or CI needs more than a rounded numerator and denominator.
ROUNDED_INPUT_METRICS = ("coverage_dsr", "completeness", "expected_admissions_without_plan")


def _rounded_inputs(name: str, s: Mapping[str, np.ndarray], base: int) -> dict[str, np.ndarray]:
    """The summed measures a statistic is computed from, rounded to ``base``. Differences that
    define a measure (high-risk people without a plan, their expected admissions and variance)
    are taken before rounding, so the released figure is the rounded quantity itself."""
    if name == "expected_admissions_without_plan":
        without = {"hr_risk": s["hr_risk"] - s["hr_risk_plan"],
                   "hr_risk_var": np.clip(s["hr_risk_var"] - s["hr_risk_var_plan"], 0, None),
                   "hr_people": s["hr_people"] - s["hr_plans"]}
        zero = {"hr_risk_plan": 0.0, "hr_risk_var_plan": 0.0, "hr_plans": 0.0}
        return {**{k: round_counts(v, base) for k, v in without.items()}, **zero}
    return {k: round_counts(v, base) for k, v in s.items()}


def trend_inputs(name: str, c: Computed) -> tuple[np.ndarray, np.ndarray]:
    """Numerators and denominators for the Fingertips recent-trend test (a proportion test).

    Metrics that are not a share of their denominator (ratios, DSRs, expected counts) give NaN,
    so the test reports "cannot be calculated"; rates whose numerator can exceed the denominator
    (urgent views) are left to the test's own validity check.
    """
    if name in ("adjusted_coverage", "coverage_dsr", "expected_admissions_without_plan"):
        return _nan_like(c.numerator), _nan_like(c.denominator)
    if name == "completeness":
        return c.numerator, c.denominator * N_ITEMS
    return c.numerator, c.denominator


# --------------------------------------------------------------------------- derived tables


def sii_summary(rows: pd.DataFrame, by: str, *, transform: str | None = None,
                n_simulations: int = 10_000) -> pd.DataFrame:
    """SII and RII per area from by-group rows (area_code, group, value, lower, upper, weight).

    Only for deprivation groupings (imd_decile, imd_quintile), ordered most deprived first (1 first),
    weighted by each group's ``weight`` (its denominator population). OHID requires every quantile:
    an area missing one (no people, or a value that cannot be computed) gets NaN. For other
    groupings every value is NaN (SII/RII need an ordered social gradient).
    """
    keys = ("sii", "sii_lower", "sii_upper", "rii", "rii_lower", "rii_upper")
    out = []
    n_groups = len(VOCAB[by]) if by in VOCAB else 0
    for area, part in rows.groupby("area_code", sort=False):
        if by not in ("imd_decile", "imd_quintile"):
            result = dict.fromkeys(keys, np.nan)
        else:
            part = part[part["group"].astype(str) != UNKNOWN].sort_values("group", key=lambda g: g.astype(int))
            usable = part[(part["weight"] > 0) & np.isfinite(part["value"])]
            if len(usable) < n_groups:
                result = dict.fromkeys(keys, np.nan)
            else:
                result = stats.slope_index_of_inequality(
                    usable["value"], usable["weight"], usable["lower"], usable["upper"], transform=transform,
                    confidence=CONFIDENCE, n_simulations=n_simulations, seed=0)
        out.append({"area_code": area, **{k: float(result[k]) for k in keys}})
    return pd.DataFrame(out, columns=["area_code", *keys])


def gap_from_groups(num: np.ndarray, den: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gap count per area from (areas x quintiles) numerators/denominators, quintile 5 = least deprived.

    Reference rate = the area's least deprived quintile with a non-zero denominator; gap = sum over
    quintiles of max(0, reference rate x denominator - numerator). Returns (gap, reference quintile
    1..5, or 0 where the area has nobody).
    """
    num, den = np.asarray(num, float), np.asarray(den, float)
    has = den > 0
    ref_q = np.where(has.any(axis=1), den.shape[1] - 1 - np.argmax(has[:, ::-1], axis=1), -1)
    rows = np.arange(len(num))
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(ref_q >= 0, num[rows, ref_q] / np.where(ref_q >= 0, den[rows, ref_q], 1), 0.0)
    gap = np.clip(rate[:, None] * den - num, 0, None).sum(axis=1)
    return gap, ref_q + 1


CASCADE_STEPS = (
    ("people", "At risk"),
    ("plans", "Has a live plan"),
    ("key_complete", "Plan complete (all key items)"),
    ("kc_reviewed", "Reviewed within period"),
    ("kc_reviewed_viewed", "Viewed by urgent care (12 months)"),
)


def cascade_table(sums: Mapping[str, float], first_label: str = "At risk") -> pd.DataFrame:
    """The care-plan cascade from summed measures: each step a subset of the one before."""
    rows = []
    previous = first = None
    for i, (measure, label) in enumerate(CASCADE_STEPS):
        count = float(np.asarray(sums[measure]))
        share = np.nan if previous in (None, 0) else count / previous
        share_first = np.nan if first in (None, 0) else count / first
        rows.append({"step": first_label if i == 0 else label, "measure": measure, "count": count,
                     "share_of_previous": share, "share_of_first": share_first})
        previous = count
        first = count if first is None else first
    table = pd.DataFrame(rows)
    table["count"] = table["count"].round().astype("int64")
    return table
