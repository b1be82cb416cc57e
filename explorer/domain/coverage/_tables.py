"""Area tables: one row per area at a level, the region comparator, and the CLI/export summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from explorer.domain import metrics as M
from explorer.domain.coverage._common import (
    LEVELS,
    METRIC_COLUMNS,
    NO_FILTERS,
    RAW,
    metric_columns,
)
from explorer.domain.disclosure import DisclosurePolicy
from explorer.domain.geography import area_summary, with_crossing
from explorer.domain.metrics import (
    FilterError,
    Filters,
    MonthLike,
    RiskLike,
)

if TYPE_CHECKING:
    from explorer.domain.coverage._engine import CoverageEngine


class _AreaTables:
    """Mixin of :class:`CoverageEngine`: the metric per area and the region's comparator."""

    def _geography_table(self, level: str, metric: str) -> pd.DataFrame:
        geo = self.geography
        lsoas, areas, as_level = geo.lsoas, geo.areas, level
        if level == "region":  # the whole region as one "ics" of area_summary
            lsoas = lsoas.assign(ics_code=geo.region_code)
            areas = pd.DataFrame({"level": ["ics"], "area_code": [geo.region_code],
                                  "area_name": [geo.region_name], "parent_code": [None]})
            as_level = "ics"
        summary = self._memo(("geo", level), lambda: area_summary(lsoas, areas, as_level, geo.pcn_weights))
        pop = summary["population"].astype(float)
        nan = np.full(len(summary), np.nan)
        if metric == "population":
            parts = (pop, pop, nan, nan, nan)
        elif metric == "imd_score":
            parts = (summary["imd_score"], nan, pop, nan, nan)
        else:
            share = summary["core20_population_share"].astype(float)
            parts = (share * 100, (share * pop).round(), pop, nan, nan)
        table = summary[["area_code", "area_name", "parent_code"]].copy()
        for col, values in zip(metric_columns(metric), parts, strict=True):
            table[col] = np.asarray(values, dtype=float)
        return table

    def _within(self, table: pd.DataFrame, level: str, within: str | None) -> pd.DataFrame:
        if within is None:
            return table
        within_level = self.index.level_of(within)
        if within_level == "region":
            return table
        if LEVELS.index(within_level) >= LEVELS.index(level):
            raise FilterError(f"{within} is a {within_level}: it has no {level} areas inside it")
        ancestors = pd.Series(self.index.ancestor_codes(level, within_level), index=self.index.codes[level])
        keep = table["area_code"].map(ancestors) == within
        return table[keep.to_numpy()].reset_index(drop=True)

    def metric_table(self, level: str, metric: str, filters: Filters = NO_FILTERS, as_of: MonthLike | None = None,
                     within: str | None = None, *, risk: RiskLike | None = None, policy: DisclosurePolicy = RAW
                     ) -> pd.DataFrame:
        """One row per area at ``level``: area_code, area_name, parent_code, <metric>,
        <metric>_numerator, <metric>_denominator, <metric>_lower, <metric>_upper.

        ``within``: only areas inside that area (any level above). ``as_of``: a month (YYYY-MM)
        up to the extract; default the snapshot. ``risk``: the RiskDefinition for risk metrics
        (default ``filters.risk`` or top 10%). Geography metrics ignore filters and as_of. ``policy``:
        whose figures these are (see :meth:`_evaluate`); the caller still applies the release rules.
        """
        self._check_level(level)
        info = M.check_metric(metric)
        if info.source == "geography":
            return self._within(self._geography_table(level, metric), level, within)
        month = self._as_of(as_of)
        computed = self._evaluate(metric, filters, [month], [f"area:{level}"], risk=risk, policy=policy)
        n = self.index.n_areas(level)
        table = self.index.names[level].reset_index(drop=True).copy()
        values = computed.frame(metric).iloc[:n].reset_index(drop=True)
        table = pd.concat([table, values], axis=1)
        return self._within(table, level, within)

    def comparator(self, metric: str, filters: Filters = NO_FILTERS, as_of: MonthLike | None = None, *,
                   risk: RiskLike | None = None, policy: DisclosurePolicy = RAW) -> dict[str, str | float]:
        """The region's value and CI, for benchmarking areas against (keys: area_code, area_name,
        value, numerator, denominator, lower, upper)."""
        row = self.metric_table("region", metric, filters, as_of, risk=risk, policy=policy).iloc[0]
        out = {"area_code": row["area_code"], "area_name": row["area_name"]}
        for key, col in zip(METRIC_COLUMNS, metric_columns(metric), strict=True):
            out[key] = float(row[col])
        return out


# --------------------------------------------------------------------------- CLI/export tables


def summary_table(engine: CoverageEngine, level: str, metrics: Sequence[str], filters: Filters = NO_FILTERS,
                  as_of: MonthLike | None = None, policy: DisclosurePolicy = RAW) -> pd.DataFrame:
    """The area summary (population, LSOAs, IMD) with, per metric, its five columns appended.

    A metric column that the area summary already has (population, imd_score,
    core20_population_share) is replaced by the metric's version (core20 then in %). PCNs: the
    apportioned population's figures (see :func:`explorer.domain.geography.area_summary`), and
    ``crosses_place`` when the bundle's PCN table has it.
    """
    if level == "region":
        raise FilterError("the area summary needs a level: ics, place, pcn or lsoa")
    geo = engine.geography
    table = with_crossing(area_summary(geo.lsoas, geo.areas, level, geo.pcn_weights), level, geo.pcns)
    for metric in dict.fromkeys(metrics):
        cols = metric_columns(metric)
        part = engine.metric_table(level, metric, filters, as_of, policy=policy)[["area_code", *cols]]
        table = table.drop(columns=[c for c in cols if c in table.columns]).merge(part, on="area_code", how="left")
    return table
