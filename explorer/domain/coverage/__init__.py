"""CoverageEngine: the read-only facade the app and CLI use for every care-plan figure.

Built once per process by :func:`explorer.services.load_engine` (``load_engine(settings, region)``):
it holds the region's :class:`~explorer.domain.geography.Geography` and a :class:`CellSource` - the
service that reads the records - and asks it for the cell tables lazily, once per (months, risk
definition), caching them in memory. Every method then filters and sums cells with
:mod:`explorer.domain.metrics` - milliseconds - and returns a DataFrame. Pure: no files, no engines.

Levels are "ics", "place", "pcn", "lsoa" and also "region" (one row: the whole region). ICS, place
and LSOA figures aggregate their own LSOA membership (``lsoas.<level>_code``); PCN figures - a PCN
table, or any figure restricted to a PCN - are made from the apportioned registered population
(each LSOA's counts shared among PCNs by the bundle's ``pcn_weights``, see ``_sums``), while lists
of LSOAs in a PCN stay the LSOAs drawn in it.

The package's modules are private; import from here. ``_engine`` holds the core (construction,
caches, cell tables, scopes and the one evaluator :meth:`CoverageEngine._evaluate`); the public
methods come from mixins over it: ``_tables`` (area tables, comparator, :func:`summary_table`),
``_groups`` (by group, inequality, gap counts), ``_time`` (trend) and ``_outreach`` (cascade,
outreach). ``_source`` is the :class:`CellSource` protocol; ``_common`` the shared constants;
``_sums`` how one request's cells are summed (filters, keys, PCN apportioning).
"""

from __future__ import annotations

from explorer.domain.coverage._common import (
    LEVELS,
    METRIC_COLUMNS,
    NO_FILTERS,
    NO_MODEL,
    RAW,
    Key,
    metric_columns,
)
from explorer.domain.coverage._engine import CoverageEngine
from explorer.domain.coverage._source import CellSource, RiskKey
from explorer.domain.coverage._tables import summary_table

__all__ = [
    "LEVELS", "METRIC_COLUMNS", "NO_FILTERS", "NO_MODEL", "RAW",
    "CellSource", "CoverageEngine", "Key", "RiskKey",
    "metric_columns", "summary_table",
]
