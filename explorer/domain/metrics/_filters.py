"""Filters (which people to count), risk definitions as filters, the cell vocabularies and month helpers."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
import pandas as pd

from explorer.domain import stats
from explorer.domain.risk import RiskDefinition
from explorer.errors import ExplorerError
from explorer.vocab import AGE_BANDS, ETHNIC_GROUPS, FRAILTY, SEXES

#: A month: 'YYYY-MM', 'YYYY-MM-DD', a date or a Timestamp.
MonthLike = str | dt.date | pd.Timestamp
#: One value of a filter key: a category label, an IMD decile/quintile or a disabled flag.
FilterValue = str | int | bool


class RiskLike(Protocol):
    """Anything shaped like a :class:`RiskDefinition` (validated by :func:`check_risk`)."""

    @property
    def kind(self) -> str: ...

    @property
    def value(self) -> float: ...


class FilterError(ExplorerError, ValueError):
    """A filter or metric request that cannot be understood: the message says what is allowed."""


# --------------------------------------------------------------------------- risk definition

def check_risk(risk: object) -> tuple[str, float]:
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


def risk_key(risk: RiskLike | None) -> tuple[str, float] | None:
    """Hashable, class-independent identity of a risk definition (None stays None)."""
    return None if risk is None else check_risk(risk)


def risk_label(risk: RiskLike) -> str:
    kind, value = check_risk(risk)
    return f"top {value:g}% of predicted risk" if kind == "top_percent" else f"predicted risk >= {value:g}"


DEFAULT_RISK = RiskDefinition(kind="top_percent", value=10.0)

# --------------------------------------------------------------------------- vocabularies

#: Lower bounds of the age groups of the cell tables: the common refinement of the explorer's
#: AGE_BANDS (0-15, 16-29, ...) and the 19 ESP 2013 bands (0-4, 5-9, ..., 90+).
AGE_GROUP_STARTS: tuple[int, ...] = (0, 5, 10, 15, 16, *range(20, 95, 5))
UNKNOWN = "unknown"
YES_NO = ("no", "yes")

#: Category labels of each cell dimension, in display order (an extra last code means unknown).
VOCAB: dict[str, tuple[str | int, ...]] = {
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


_FILTER_KEYS = ("age_band", "sex", "ethnic_group", "imd_quintile", "imd_decile", "frailty", "disabled", "risk")
_TRUE, _FALSE = ("yes", "true", "1", "y"), ("no", "false", "0", "n")


def _parse_risk(text: str) -> RiskDefinition:
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


def _format_risk(risk: RiskLike) -> str:
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
    risk: RiskLike | None = None  # a RiskDefinition

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
        values: dict[str, list[FilterValue]] = {}
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
    def from_query(cls, query: Mapping[str, str | Sequence[str] | None] | None) -> Filters:
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


def _allowed(key: str) -> tuple[FilterValue, ...]:
    return (False, True) if key == "disabled" else VOCAB[key]


def _clean_value(key: str, value: object) -> FilterValue:
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


def _format_value(key: str, value: FilterValue) -> str:
    if key == "disabled":
        return "yes" if value else "no"
    return str(value)

# --------------------------------------------------------------------------- months


def month_end(value: MonthLike | None) -> dt.date:
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


def month_ends(last: MonthLike, n: int) -> tuple[dt.date, ...]:
    """The ``n`` month ends up to and including the month of ``last``, oldest first."""
    end = month_end(last)
    out = []
    year, month = end.year, end.month
    for _ in range(n):
        out.append(dt.date(year, month, calendar.monthrange(year, month)[1]))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return tuple(reversed(out))

