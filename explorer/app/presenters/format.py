"""Units, titles and display text of values, confidence intervals and counts.

Suppressed cells show `disclosure.SUPPRESSED`, absent ones `disclosure.MISSING`; counts use
`disclosure.format_count`, values 3 significant figures (`classify.format_number`).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from explorer.domain.disclosure import MISSING, SUPPRESSED, format_count, format_rate
from explorer.domain.metrics import MetricInfo
from explorer.figures.classify import format_number
from explorer.figures.describe import Subject, as_at_text
from explorer.figures.units import (  # noqa: F401 - re-exported
    SHORT_UNITS,
    difference_unit,
    difference_words,
    metric_title,
    short_unit,
)


def as_float(x: Any) -> float:
    try:
        return float(x) if x is not None and not pd.isna(x) else math.nan
    except (TypeError, ValueError):
        return math.nan


def value_text(v: float, hidden: bool, unit: str, signed: bool = False, *, exact: bool = False) -> str:
    """A value for display: 3 significant figures with its unit; `exact` counts keep every digit."""
    if hidden:
        return SUPPRESSED
    if not math.isfinite(v):
        return MISSING
    if exact and float(v).is_integer():
        text = format_count(v) + (f" {unit}" if unit else "")
    else:
        text = format_number(v, unit)
    return ("+" + text) if signed and v > 0 else text


def ci_text(lo: float, hi: float, hidden: bool, unit: str) -> str:
    if hidden:
        return SUPPRESSED
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return MISSING
    return f"{format_number(lo, unit)} to {format_number(hi, unit)}"


def count_text(n: float, hidden: bool) -> str:
    """A count (whole numbers with separators; a fractional expected count to 1 decimal)."""
    if hidden:
        return SUPPRESSED
    if not math.isfinite(n):
        return MISSING
    return format_count(n) if abs(n - round(n)) < 1e-9 else format_rate(n, decimals=1)


def counts_text(row: pd.Series, name: str, info: MetricInfo, hidden: bool) -> str:
    """'numerator / denominator' of one controlled row, or '' where they do not apply."""
    num, den = as_float(row[f"{name}_numerator"]), as_float(row[f"{name}_denominator"])
    if info.kind == "count" or not math.isfinite(den) or not math.isfinite(num) and not hidden:
        return ""
    return f"{count_text(num, hidden)} / {count_text(den, False)}"


def subject(data: Any, what: str, code: str | None, filters: Any = None, *, role: Any = None,
            comparator: str | None = None, unit: str | None = None, dated: bool = True) -> Subject:
    """What an output of the app shows (`explorer.figures.describe.Subject`): the area and its level
    from `data`, the filters' text, the records' "as at" month end (`dated`: care-plan figures) and
    the role, so every title, caption and download of a view is written by one function."""
    level = "region" if code is None else data.level_label(data.level_of(code))
    flt = "" if filters is None or filters.is_empty else filters.describe()
    return Subject(what=what, area=data.name_of(code), level=level, filters=flt,
                   as_at=as_at_text(data.as_at) if dated else None,
                   role=None if role is None else str(getattr(role, "value", role)), comparator=comparator,
                   unit=unit)


def number_text(v: Any, kind: str = "") -> str:
    """A number on screen (the unit is in the row's label): whole counts, else 3 significant figures."""
    if not math.isfinite(as_float(v)):
        return ""
    return f"{float(v):,.0f}" if kind == "count" else format_number(float(v))


NUMBER = {"type": "numeric", "format": {"specifier": ",.3~r"}}  # 3 significant figures, kept as numbers
COUNT = {"type": "numeric", "format": {"specifier": ",d"}}


def numeric_table(frame: pd.DataFrame, spec: list[tuple[str, str, dict | None]]) -> tuple[pd.DataFrame, list[dict]]:
    """(rows, columns) of a table of numbers: `spec` is (column, header, number format or None for
    text); a suppressed row's values are empty and its `suppressed` column says so."""
    hidden = frame["suppressed"].astype(bool) if "suppressed" in frame.columns else pd.Series(False, index=frame.index)
    table = pd.DataFrame(index=frame.index)
    for col, _, fmt in spec:
        values = frame[col]
        if fmt is not None:
            values = pd.to_numeric(values, errors="coerce").astype(float)
            values = values.mask(hidden) if col != "denominator" else values
            values = values.round().astype("Int64") if fmt is COUNT else values.round(4)
        table[col] = values
    table["suppressed"] = hidden.map({True: "suppressed", False: ""})
    columns = [{"name": name, "id": col, **(fmt or {})} for col, name, fmt in spec]
    return table.reset_index(drop=True), [*columns, {"name": "Disclosure control", "id": "suppressed"}]
