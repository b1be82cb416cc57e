"""Outreach: the care-plan cascade and the high-risk people without a plan, per area."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from explorer.domain import metrics as M
from explorer.domain.coverage._common import (
    NO_FILTERS,
    RAW,
    _alive,
    metric_columns,
)
from explorer.domain.coverage._sums import Summing
from explorer.domain.disclosure import DisclosurePolicy
from explorer.domain.metrics import (
    DEFAULT_RISK,
    Filters,
    MonthLike,
    RiskLike,
)


class _Outreach:
    """Mixin of :class:`CoverageEngine`: the cascade and outreach tables."""

    def cascade(self, filters: Filters = NO_FILTERS, area_code: str | None = None,
                risk: RiskLike | None = DEFAULT_RISK, *,
                as_of: MonthLike | None = None, policy: DisclosurePolicy = RAW) -> pd.DataFrame:
        """People at risk -> with a live plan -> plan complete (all KEY_ITEMS) -> reviewed within
        period -> viewed by urgent care in 12 months; columns step, count, share_of_previous (and
        measure, share_of_first). Each step is a subset of the one before. ``risk=None`` starts
        from everyone matching the filters instead of the high-risk people.
        """
        month = self._as_of(as_of)
        _, restrict = self._area_scope(None, area_code)
        flt = filters if risk is None else replace(filters, risk=risk)
        people = self.person_cells(flt.risk)
        plans = self.plan_cells(self._month_table([month]), flt.risk)

        plans = plans.for_months([month.strftime("%Y-%m")])
        total = Summing(self.index, (), flt, restrict, policy.deprivation_level,
                        lambda cells, dims: self._keys(cells, dims, False, policy.deprivation_level))
        sums = total.whole({**_alive(total, people, plans, ["people"]),
                            **total(plans, [s for s, _ in M.CASCADE_STEPS[1:]])})
        return M.cascade_table(sums, "At risk (high risk)" if flt.risk is not None else "People")

    def outreach(self, level: str, risk: RiskLike | None = None, filters: Filters = NO_FILTERS, *,
                 as_of: MonthLike | None = None,
                 within: str | None = None, policy: DisclosurePolicy = RAW) -> pd.DataFrame:
        """High-risk people without a plan, per area, sorted by that count (largest first):
        area_code, area_name, high_risk, high_risk_without_plan, high_risk_plan_coverage (+ _numerator,
        _denominator, _lower, _upper), expected_admissions_without_plan (+ _lower, _upper) and gap (plans
        needed to bring high-risk coverage in every IMD quintile up to the area's least deprived one).
        """
        risk = risk if risk is not None else (filters.risk or self.default_risk)
        flt = replace(filters, risk=None)
        base = self.metric_table(level, "high_risk", flt, as_of, within, risk=risk, policy=policy)
        table = base[["area_code", "area_name", "high_risk"]].copy()
        for metric, cols in (("high_risk_without_plan", ["high_risk_without_plan"]),
                             ("high_risk_plan_coverage", metric_columns("high_risk_plan_coverage")),
                             ("expected_admissions_without_plan", ["expected_admissions_without_plan",
                                                                   "expected_admissions_without_plan_lower",
                                                                   "expected_admissions_without_plan_upper"])):
            part = self.metric_table(level, metric, flt, as_of, within, risk=risk, policy=policy)
            table = table.merge(part[["area_code", *cols]], on="area_code", how="left")
        gap = self.gap_count(level, "high_risk_plan_coverage", flt, as_of=as_of, risk=risk, policy=policy)
        table = table.merge(gap[["area_code", "gap"]], on="area_code", how="left")
        return table.sort_values(["high_risk_without_plan", "area_code"], ascending=[False, True],
                                 ignore_index=True)
