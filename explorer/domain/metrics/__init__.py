"""Care-plan metrics: definitions, filters, and pure computations on aggregated cell tables.

Nothing here reads person-level data. The records service (``explorer.services.engine``) turns the records into
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

The package's modules are private; import from here. ``_catalogue`` (what each metric is),
``_filters`` (filters, risk definitions, vocabularies, months), ``_cells`` (AreaIndex, Cells),
``_compute`` (one function per metric, :func:`compute_metric`), ``_tables`` (SII, gaps, the
cascade, trend inputs) and ``_apportion`` (PCN figures from the apportioned registered population).
"""

from __future__ import annotations

from explorer.domain.metrics._apportion import FRACTIONAL_MEASURES, contract_lsoas, weight_matrix, whole_persons
from explorer.domain.metrics._catalogue import (
    CONFIDENCE, GEOGRAPHY_METRICS, METRICS, N_ITEMS, NEEDS, PERSON_MEASURES, PLAN_MEASURES, RISK_METRICS,
    ROUNDED_INPUT_METRICS, STRATA, USER_METRICS, Kind, MetricInfo, check_metric,
)
from explorer.domain.metrics._cells import DEATHS_OF, HIGH_RISK_MEASURES, AreaIndex, Cells
from explorer.domain.metrics._compute import REGISTRY, Calculator, Computed, Standard, Sums, compute_metric
from explorer.domain.metrics._filters import (
    AGE_GROUP_STARTS, BY_DIMENSIONS, DEFAULT_RISK, UNKNOWN, VOCAB, YES_NO, FilterError, Filters, MonthLike,
    RiskDefinition, RiskLike, check_risk, month_end, month_ends, risk_key, risk_label,
)
from explorer.domain.metrics._tables import CASCADE_STEPS, cascade_table, gap_from_groups, sii_summary, trend_inputs

__all__ = [
    "AGE_GROUP_STARTS", "BY_DIMENSIONS", "CASCADE_STEPS", "CONFIDENCE", "DEATHS_OF", "DEFAULT_RISK",
    "FRACTIONAL_MEASURES",
    "GEOGRAPHY_METRICS", "HIGH_RISK_MEASURES", "METRICS", "NEEDS", "N_ITEMS", "PERSON_MEASURES", "PLAN_MEASURES",
    "REGISTRY", "RISK_METRICS", "ROUNDED_INPUT_METRICS", "STRATA", "UNKNOWN", "USER_METRICS", "VOCAB", "YES_NO",
    "AreaIndex", "Calculator", "Cells", "Computed", "FilterError", "Filters", "Kind", "MetricInfo", "MonthLike",
    "RiskDefinition", "RiskLike", "Standard", "Sums",
    "cascade_table", "check_metric", "check_risk", "compute_metric", "contract_lsoas", "gap_from_groups",
    "month_end", "month_ends",
    "risk_key", "risk_label", "sii_summary", "trend_inputs", "weight_matrix", "whole_persons",
]
