"""Statistical disclosure control: the one policy every path out of the server goes through.

Rules (NHS Digital HES convention, OpenSAFELY 2025), applied below national level:

* a count of 0 stays 0; counts of 1-7 people are suppressed (shown as ``*``);
  every other count is rounded to the nearest 5 (halves round up);
* **every released statistic is computed only from rounded counts, or withheld**: anyone can
  request "all" and "all but one group" and subtract, so a statistic computed from an exact count
  (an index with its expected count, a DSR's interval, a mean of whole items) gives the count back.
  Rates and percentages are recomputed from the *rounded* numerator and denominator (here);
  statistics that need more inputs (DSR per age band, completeness, expected admissions) are
  computed from inputs rounded by :func:`round_counts` (``DisclosurePolicy.statistics_rounding``,
  used by the metrics engine); all are suppressed when a count they rest on is suppressed;
* means and scores based on 1-7 people are suppressed;
* totals are summed from unrounded data and then rounded (:func:`controlled_total`);
* secondary suppression: wherever a suppressed cell could be recovered by subtracting
  the shown cells from a shown total, a complementary cell is hidden too, so that every
  additive group holds either 0 or at least 2 hidden non-zero cells; an audit then checks
  that no hidden cell can be solved exactly by combining groups (:func:`secondary_suppress`).

Dash callbacks, hovers, tables, CSV downloads, the CLI and exports all call
:func:`apply_policy` (or the primitives) and finish with :func:`assert_no_small_counts`.
Pure pandas/numpy: nothing here knows about Dash or plotly.
"""

from explorer.domain.disclosure._display import (
    assert_no_small_counts,
    format_count,
    format_rate,
)
from explorer.domain.disclosure._policy import (
    MISSING,
    SUPPRESSED,
    SUPPRESSION_NOTE,
    DisclosureError,
    DisclosurePolicy,
    GroupKey,
    control_counts,
    controlled_mean,
    controlled_rate,
    controlled_total,
    is_small,
    round_counts,
)
from explorer.domain.disclosure._secondary import (
    Hierarchy,
    SuppressionResult,
    secondary_suppress,
)
from explorer.domain.disclosure._tables import (
    CountSpec,
    MeanSpec,
    MetricSpec,
    RatioSpec,
    apply_policy,
)

__all__ = [
    "MISSING",
    "SUPPRESSED",
    "SUPPRESSION_NOTE",
    "CountSpec",
    "DisclosureError",
    "DisclosurePolicy",
    "GroupKey",
    "Hierarchy",
    "MeanSpec",
    "MetricSpec",
    "RatioSpec",
    "SuppressionResult",
    "apply_policy",
    "assert_no_small_counts",
    "control_counts",
    "controlled_mean",
    "controlled_rate",
    "controlled_total",
    "format_count",
    "format_rate",
    "is_small",
    "round_counts",
    "secondary_suppress",
]
