"""Units and titles of metrics as figures, tables and exports show them (one definition for the
app's pages and the exports)."""

from __future__ import annotations

from explorer.domain.metrics import MetricInfo

__all__ = ["SHORT_UNITS", "difference_of", "difference_unit", "difference_words", "metric_title", "short_unit"]

# Short units for values ("45.6%", "12.3 per 1,000"); the long unit from MetricInfo goes in labels.
SHORT_UNITS = {"%": "%", "per 1,000 people": "per 1,000", "per 1,000 residents": "per 1,000",
               "per 1,000 registered patients": "per 1,000", "per 100,000 people (ESP 2013)": "per 100,000",
               "per 100 live plans": "per 100 plans", "index (region = 100)": "", "people": "people",
               "residents": "people", "admissions in 12 months": "admissions",
               "score (higher = more deprived)": ""}


def short_unit(info: MetricInfo) -> str:
    if info.unit.startswith("%"):
        return "%"
    return SHORT_UNITS.get(info.unit, info.unit)


def metric_title(info: MetricInfo) -> str:
    """'Care-plan coverage of residents (per 1,000 residents)'; a unit that explains itself is kept as a phrase."""
    unit = info.unit.replace("score (higher = more deprived)", "higher = more deprived")
    return f"{info.label} ({unit})"


def difference_of(unit: str) -> str:
    """The short unit of a difference between two values in `unit`: a gap between percentages (an
    SII, a change) is in percentage points, "pp"; other units are their own."""
    return "pp" if unit == "%" else unit


def difference_words(unit: str) -> str:
    """As :func:`difference_of`, spelt out for a legend or a footnote ("percentage points")."""
    return "percentage points" if unit == "%" else unit


def difference_unit(info: MetricInfo) -> str:
    return difference_of(short_unit(info))
