"""Which high-risk people without a plan a given capacity reaches, unit (e.g. PCN or LSOA) by unit.

Cells: one row per unit x group (IMD quintile, ethnic group, age band, sex) with ``high_risk`` (people
at high risk) and ``with_plan`` (of them, with a live plan). Conversations go to whole units in rank
order; the last unit reached in part has its reach shared across its cells in proportion to the
people without a plan in each (the expected split when a team picks people at random there).

Rankings:

* ``without_plan``: most high-risk people without a plan first (the outreach page's default);
* ``deprivation_gap``: closes the deprivation gap fastest - units in the quintile whose high-risk
  coverage is lowest first (quintiles in order of coverage, lowest first), and within a quintile the
  most people without a plan first. Every conversation then goes to the group furthest behind until
  its units are exhausted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RANKINGS: tuple[str, ...] = ("without_plan", "deprivation_gap")


def _check(cells: pd.DataFrame) -> pd.DataFrame:
    need = {"unit", "imd_quintile", "high_risk", "with_plan"}
    missing = need - set(cells.columns)
    if missing:
        raise ValueError(f"cells need columns {', '.join(sorted(missing))}")
    if (cells["with_plan"] > cells["high_risk"]).any() or (cells[["high_risk", "with_plan"]] < 0).any(axis=None):
        raise ValueError("with_plan must be between 0 and high_risk in every cell")
    return cells.assign(without_plan=cells["high_risk"] - cells["with_plan"])


def rank_units(cells: pd.DataFrame, ranking: str) -> pd.DataFrame:
    """Units in the order conversations go to them: unit, without_plan, rank (1 = first)."""
    if ranking not in RANKINGS:
        raise ValueError(f"unknown ranking '{ranking}': choose from {', '.join(RANKINGS)}")
    cells = _check(cells)
    units = cells.groupby("unit", sort=True).agg(without_plan=("without_plan", "sum"),
                                                 imd_quintile=("imd_quintile", "first")).reset_index()
    if ranking == "without_plan":
        order = units.sort_values(["without_plan", "unit"], ascending=[False, True], kind="stable")
    else:
        by_q = cells.groupby("imd_quintile")[["with_plan", "high_risk"]].sum()
        coverage = (by_q["with_plan"] / by_q["high_risk"].where(by_q["high_risk"] > 0)).fillna(np.inf)
        units["_coverage"] = units["imd_quintile"].map(coverage)
        order = units.sort_values(["_coverage", "without_plan", "unit"], ascending=[True, False, True],
                                  kind="stable").drop(columns="_coverage")
    order = order[order["without_plan"] > 0].reset_index(drop=True)
    return order.assign(rank=np.arange(1, len(order) + 1))[["unit", "without_plan", "rank"]]


def allocate(cells: pd.DataFrame, capacity: float, ranking: str) -> pd.DataFrame:
    """The cells with ``reached``: high-risk people without a plan the capacity reaches."""
    if not np.isfinite(capacity) or capacity < 0:
        raise ValueError("capacity must be a number of conversations from 0")
    cells = _check(cells)
    order = rank_units(cells, ranking)
    before = np.concatenate([[0.0], np.cumsum(order["without_plan"].to_numpy(dtype=float))[:-1]])
    unit_reach = np.clip(capacity - before, 0, order["without_plan"].to_numpy(dtype=float))
    share = dict(zip(order["unit"], unit_reach / order["without_plan"].to_numpy(dtype=float), strict=True))
    reached = cells["without_plan"] * cells["unit"].map(share).fillna(0.0)
    return cells.assign(reached=reached.astype(float))
