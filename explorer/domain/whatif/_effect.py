"""Coverage among high-risk people and its SII across IMD quintiles, before and after the reach,
for the area and its parent; and the equity audit of the people reached.

The SII follows OHID (:func:`explorer.domain.stats.slope_index_of_inequality`): quintiles most
deprived first, weighted by their high-risk people; SII = least minus most deprived, so a positive
SII means coverage favours the less deprived, and a fall towards 0 means the gap is closing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from explorer.domain import stats
from explorer.domain.whatif._allocate import allocate

AUDIT_DIMENSIONS: tuple[str, ...] = ("imd_quintile", "ethnic_group", "age_band", "sex")


@dataclass(frozen=True)
class WhatIf:
    """``summary``: one row per scope (area, parent) with coverage (%) and SII (percentage points)
    before and after, and the people reached; ``quintiles``: coverage per quintile and scope before
    and after; ``cells``: the area's cells with ``reached``."""

    summary: pd.DataFrame
    quintiles: pd.DataFrame
    cells: pd.DataFrame


def _by_quintile(cells: pd.DataFrame, reached: pd.Series | None) -> pd.DataFrame:
    frame = cells.assign(reached=0.0 if reached is None else reached)
    q = frame.groupby("imd_quintile")[["high_risk", "with_plan", "reached"]].sum().sort_index()
    return q[q["high_risk"] > 0]


def _coverage(with_plan: float, high_risk: float) -> float:
    return 100.0 * with_plan / high_risk if high_risk > 0 else float("nan")


def _sii(q: pd.DataFrame, plans: pd.Series) -> float:
    if len(q) < 2:
        return float("nan")
    values = 100.0 * plans.to_numpy(dtype=float) / q["high_risk"].to_numpy(dtype=float)
    return float(stats.slope_index_of_inequality(values, q["high_risk"].to_numpy(dtype=float),
                                                 n_simulations=0)["sii"])


def _scope(name: str, cells: pd.DataFrame, reached_by_quintile: pd.Series) -> tuple[dict, pd.DataFrame]:
    q = _by_quintile(cells, None)
    gained = reached_by_quintile.reindex(q.index, fill_value=0.0)
    after = q["with_plan"] + gained
    row = {"scope": name, "high_risk": float(q["high_risk"].sum()), "reached": float(gained.sum()),
           "coverage_before": _coverage(q["with_plan"].sum(), q["high_risk"].sum()),
           "coverage_after": _coverage(after.sum(), q["high_risk"].sum()),
           "sii_before": _sii(q, q["with_plan"]), "sii_after": _sii(q, after)}
    per_q = pd.DataFrame({"scope": name, "imd_quintile": q.index, "high_risk": q["high_risk"].to_numpy(),
                          "coverage_before": 100.0 * q["with_plan"].to_numpy() / q["high_risk"].to_numpy(),
                          "coverage_after": 100.0 * after.to_numpy() / q["high_risk"].to_numpy()})
    return row, per_q


def what_if(area_cells: pd.DataFrame, capacity: float, ranking: str,
            parent_cells: pd.DataFrame | None = None) -> WhatIf:
    """Reach ``capacity`` people in the area by ``ranking``; the effect on the area and its parent
    (whose cells include the area's: the same people reached count there too)."""
    cells = allocate(area_cells, capacity, ranking)
    reached_q = cells.groupby("imd_quintile")["reached"].sum()
    rows, quintiles = [], []
    for name, scope_cells in (("area", area_cells), ("parent", parent_cells)):
        if scope_cells is None:
            continue
        row, per_q = _scope(name, scope_cells, reached_q)
        rows.append(row)
        quintiles.append(per_q)
    return WhatIf(pd.DataFrame(rows), pd.concat(quintiles, ignore_index=True), cells)


def equity_audit(cells: pd.DataFrame, dimensions: Sequence[str] = AUDIT_DIMENSIONS) -> pd.DataFrame:
    """Who the selection reaches against who is at high risk, per dimension and group: reached,
    reached_share (% of the selection), high_risk_share (% of the area's high-risk people) and the
    difference; each dimension's reached column sums to the selection."""
    total_reached = float(cells["reached"].sum())
    total_risk = float(cells["high_risk"].sum())
    parts = []
    for dim in dimensions:
        if dim not in cells.columns:
            continue
        g = cells.groupby(dim)[["reached", "high_risk"]].sum().reset_index().rename(columns={dim: "group"})
        g.insert(0, "dimension", dim)
        g["reached_share"] = 100.0 * g["reached"] / total_reached if total_reached > 0 else np.nan
        g["high_risk_share"] = 100.0 * g["high_risk"] / total_risk if total_risk > 0 else np.nan
        g["difference"] = g["reached_share"] - g["high_risk_share"]
        parts.append(g)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
