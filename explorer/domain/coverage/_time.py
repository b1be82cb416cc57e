"""Time: monthly snapshots and the Fingertips recent-trend test."""

from __future__ import annotations

from typing import Any

import pandas as pd

from explorer.domain import metrics as M
from explorer.domain.coverage._common import (
    METRIC_COLUMNS,
    NO_FILTERS,
    RAW,
)
from explorer.domain.disclosure import DisclosurePolicy, round_counts
from explorer.domain.metrics import (
    Computed,
    FilterError,
    Filters,
    MonthLike,
    RiskLike,
)
from explorer.domain.stats import recent_trend


class _Time:
    """Mixin of :class:`CoverageEngine`: the trend."""

    def trend(self, metric: str, filters: Filters = NO_FILTERS, area_code: str | None = None, *,
              as_of: MonthLike | None = None, risk: RiskLike | None = None, policy: DisclosurePolicy = RAW
              ) -> tuple[pd.DataFrame, dict[str, Any]]:
        """Monthly snapshots over the 24 months to ``as_of`` (default the snapshot) for the region or
        one area: DataFrame[month, value, numerator, denominator, lower, upper] (oldest first) and
        the Fingertips recent-trend test on the last 5 points.
        """
        info = M.check_metric(metric)
        if info.source == "geography":
            raise FilterError(f"{metric} is a fixed area measure from the bundle: it has no monthly trend")
        months = M.month_ends(self._as_of(as_of), self.history_months)
        _, restrict = self._area_scope(None, area_code)
        computed = self._evaluate(metric, filters, months, ["month"], restrict=restrict, risk=risk, policy=policy)
        n = len(months)
        frame = computed.frame()
        if len(frame) == 1:  # metric without a month axis (e.g. high_risk): constant over time
            frame = pd.concat([frame] * (n + 1), ignore_index=True)
        frame = frame.iloc[:n].reset_index(drop=True)
        frame.insert(0, "month", [m.strftime("%Y-%m") for m in months])
        nums, dens = M.trend_inputs(metric, Computed(*(frame[c].to_numpy() for c in METRIC_COLUMNS)))
        if policy.statistics_rounding is not None:  # the test, like every released figure, from rounded counts
            nums, dens = (round_counts(x, policy.statistics_rounding) for x in (nums, dens))
        return frame, recent_trend(nums, dens)
