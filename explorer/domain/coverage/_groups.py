"""Groups: the metric by person group, the slope index of inequality and IMD gap counts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from explorer.domain import metrics as M
from explorer.domain.coverage._common import (
    METRIC_COLUMNS,
    NO_FILTERS,
    RAW,
)
from explorer.domain.disclosure import DisclosurePolicy, round_counts
from explorer.domain.metrics import (
    FilterError,
    Filters,
    MonthLike,
    RiskLike,
)


class _Groups:
    """Mixin of :class:`CoverageEngine`: by group, inequality and gap counts."""

    def _group_rows(self, metric: str, by: str, filters: Filters, level: str | None, area_code: str | None,
                    as_of: MonthLike | None, risk: RiskLike | None, policy: DisclosurePolicy = RAW) -> pd.DataFrame:
        info = M.check_metric(metric)
        if by not in M.BY_DIMENSIONS:
            raise FilterError(f"cannot split by '{by}': choose from {', '.join(M.BY_DIMENSIONS)}")
        if info.source == "geography":
            raise FilterError(f"{metric} is an area measure from the bundle: it is not split by {by}")
        if info.source == "users" and by not in ("imd_decile", "imd_quintile"):
            raise FilterError(f"{metric} counts clinician users, who can only be split by the deprivation "
                              "of their organisation's LSOA (imd_decile or imd_quintile)")
        lvl, restrict = self._area_scope(level, area_code)
        month = self._as_of(as_of)
        computed = self._evaluate(metric, filters, [month], [f"area:{lvl}", by], restrict=restrict, risk=risk,
                                  policy=policy)
        if metric == "adjusted_coverage":
            weight = self._evaluate("plans", filters, [month], [f"area:{lvl}", by], restrict=restrict,
                                    risk=risk, policy=policy).denominator
        else:
            weight = computed.denominator
        n_areas = self.index.n_areas(lvl)
        n_groups = len(M.VOCAB[by])
        labels = [*map(str, M.VOCAB[by]), M.UNKNOWN]
        frame = computed.frame()
        frame["weight"] = np.asarray(weight, float).ravel()
        frame["area_code"] = np.repeat([*self.index.codes[lvl], None], n_groups + 1)
        frame["group"] = np.tile(labels, n_areas + 1)
        frame["_g"] = np.tile(np.arange(n_groups + 1), n_areas + 1)
        frame = frame[frame["area_code"].notna()]
        if restrict is not None:
            frame = frame[frame["area_code"] == self.index.codes[lvl][restrict[1]]]
        unknown = frame["_g"] == n_groups
        empty = frame["numerator"].fillna(0).eq(0) & frame["denominator"].fillna(0).eq(0)
        frame = frame[~(unknown & empty)]
        cols = ["area_code", "group", *METRIC_COLUMNS, "weight"]
        return frame[cols].reset_index(drop=True)

    def by_group(self, metric: str, by: str, filters: Filters = NO_FILTERS, level: str | None = None,
                 area_code: str | None = None, *, as_of: MonthLike | None = None, risk: RiskLike | None = None,
                 policy: DisclosurePolicy = RAW) -> pd.DataFrame:
        """The metric per group of ``by`` (imd_decile|imd_quintile|ethnic_group|age_band|sex|disabled|
        frailty): columns area_code, group, value, numerator, denominator, lower, upper.

        ``area_code`` -> that area only; else ``level`` -> every area at the level; else the region.
        Groups come in vocabulary order (IMD 1 = most deprived first); every group is listed (NaN
        where nobody), plus "unknown" only when records with unknown attributes contribute.
        """
        return self._group_rows(metric, by, filters, level, area_code, as_of, risk, policy).drop(columns="weight")

    def inequality(self, level: str, metric: str, by: str, filters: Filters = NO_FILTERS, *,
                   as_of: MonthLike | None = None,
                   risk: RiskLike | None = None, transform: str | None = None, n_simulations: int = 10_000,
                   policy: DisclosurePolicy = RAW) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(rows, summary): the by-group rows for every area at ``level`` and, per area, the slope and
        relative index of inequality (OHID method: weighted regression on the cumulative population
        midpoint of each deprivation quantile, most deprived first, weights = each quantile's
        denominator - people for counts and adjusted coverage; CIs by simulation). SII = least
        minus most deprived end, so a positive SII means higher values in less deprived areas.
        Only for by = imd_decile or imd_quintile; other groupings give NaN SII/RII.
        """
        rows = self._group_rows(metric, by, filters, level, None, as_of, risk, policy)
        summary = M.sii_summary(rows, by, transform=transform, n_simulations=n_simulations)
        return rows.drop(columns="weight"), summary

    def gap_count(self, level: str, metric: str = "coverage", filters: Filters = NO_FILTERS, *,
                  as_of: MonthLike | None = None,
                  risk: RiskLike | None = None, policy: DisclosurePolicy = RAW) -> pd.DataFrame:
        """Plans (numerator units) each area needs to bring every IMD quintile up to the rate of its
        least deprived quintile: sum over quintiles of max(0, rate_ref x denominator_q -
        numerator_q), rate_ref = the least deprived quintile present in the area (quintile 5 when
        it has residents). Columns area_code, gap, reference_quintile.
        """
        info = M.check_metric(metric)
        if info.kind not in ("proportion", "rate") or metric == "coverage_dsr":
            raise FilterError(f"a gap count needs a crude proportion or rate; {metric} is a {info.kind}")
        rows = self._group_rows(metric, "imd_quintile", filters, level, None, as_of, risk, policy)
        rows = rows[rows["group"] != M.UNKNOWN]
        codes = self.index.codes[self._check_level(level)]
        num = rows.pivot(index="area_code", columns="group", values="numerator").reindex(codes).fillna(0)
        den = rows.pivot(index="area_code", columns="group", values="denominator").reindex(codes).fillna(0)
        order = [str(q) for q in M.VOCAB["imd_quintile"]]
        num, den = num[order].to_numpy(), den[order].to_numpy()
        if policy.statistics_rounding is not None:  # released gaps rest on rounded group counts
            num, den = (round_counts(x, policy.statistics_rounding) for x in (num, den))
        gap, ref = M.gap_from_groups(num, den)
        return pd.DataFrame({"area_code": list(codes), "gap": gap, "reference_quintile": ref.astype(int)})
