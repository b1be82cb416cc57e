"""Public-health statistics following OHID (Fingertips) conventions.

Implemented from the published formulas (sources cited per function), not from
OHID's PHEindicatormethods or DHSC's PHStatsMethods (GPL-3).

Conventions shared by every function here:

* Inputs may be Python scalars, sequences, numpy arrays or pandas Series; they are
  broadcast together with numpy rules (pandas index labels are *not* aligned).
* Numeric outputs are always ``np.ndarray`` of float64 with the broadcast shape of
  the inputs (0-d for scalar inputs, so ``float(x)`` works).
* Where a value is undefined (denominator 0, negative or missing inputs) the
  result is NaN; these functions do not raise for bad data, only for bad
  arguments (e.g. an unknown ``kind``).
* ``confidence`` is two-sided, e.g. 0.95 or 0.998.

The package's modules are private; import from here. One module per family of statistics, as
DHSC's PHStatsMethods groups them: ``_intervals`` (z values, Wilson, Byar / exact Poisson, crude
rates), ``_standardisation`` (ESP 2013, DSRs with Dobson limits, indirect standardisation,
expected counts), ``_gaps`` (difference and ratio of two proportions), ``_inequality`` (slope and relative index of inequality), ``_funnel`` (funnel
limits and positions), ``_trend`` (recent trend test) and ``_compare`` (significance against a
benchmark); ``_arrays`` holds the array coercion they share.
"""

from __future__ import annotations

from explorer.domain.stats._compare import compare_to_benchmark
from explorer.domain.stats._funnel import (
    FUNNEL_POSITIONS,
    funnel_limits,
    funnel_position,
    statistic_interval,
)
from explorer.domain.stats._gaps import proportion_difference, proportion_ratio
from explorer.domain.stats._inequality import slope_index_of_inequality
from explorer.domain.stats._intervals import (
    byar_interval,
    rate_interval,
    wilson_interval,
    z_value,
)
from explorer.domain.stats._standardisation import (
    ESP2013_BANDS,
    ESP2013_WEIGHTS,
    directly_standardised_rate,
    expected_counts,
    indirect_standardised_ratio,
)
from explorer.domain.stats._trend import TREND_CHI2_THRESHOLD, recent_trend

__all__ = [
    "ESP2013_BANDS",
    "ESP2013_WEIGHTS",
    "FUNNEL_POSITIONS",
    "TREND_CHI2_THRESHOLD",
    "byar_interval",
    "compare_to_benchmark",
    "directly_standardised_rate",
    "expected_counts",
    "funnel_limits",
    "funnel_position",
    "indirect_standardised_ratio",
    "proportion_difference",
    "proportion_ratio",
    "rate_interval",
    "recent_trend",
    "slope_index_of_inequality",
    "statistic_interval",
    "wilson_interval",
    "z_value",
]
