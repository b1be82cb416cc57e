"""Outreach what-if wired to the metrics engine (issue 17, point 3), for the app and the CLI.

The pure computation (:mod:`explorer.domain.whatif`) is fed only disclosure-controlled counts: the
engine's high-risk plan coverage split by unit (a place or PCN inside the area) and IMD quintile,
and by unit, quintile and each audit dimension, each put through the role's policy
(:func:`explorer.domain.release.control`) as the page's breakdowns are. A suppressed cell counts as
nobody (it cannot be reached or shown). Units are "the quintile-q neighbourhoods of a place or PCN",
so the "closes the deprivation gap fastest" ranking can send conversations to the most deprived
residents of a unit first. Every figure is a function of released counts only, so nothing finer can
be recovered by differencing. The audit splits each unit-quintile's reach across its groups in
proportion to their (controlled) people without a plan, so each dimension sums to the selection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from explorer.domain import access, whatif
from explorer.domain.access import AccessDenied, Capability
from explorer.domain.disclosure import DisclosurePolicy
from explorer.domain.metrics import Filters, check_metric
from explorer.domain.release import as_generic_columns, as_metric_columns, control
from explorer.errors import ExplorerError
from explorer.vocab import LEVELS

METRIC = "high_risk_plan_coverage"  # numerator: high-risk people with a plan; denominator: high-risk people
UNIT_LEVELS = ("place", "pcn")
QUINTILES = (1, 2, 3, 4, 5)
RANKING_NAMES = {"without_plan": "Most high-risk people without a plan first",
                 "deprivation_gap": "Closes the deprivation gap fastest"}
SUMMARY_COLUMNS = ("scope", "area_code", "area_name", "high_risk", "reached", "coverage_before", "coverage_after",
                   "sii_before", "sii_after")
AUDIT_COLUMNS = ("dimension", "group", "reached", "reached_share", "high_risk", "high_risk_share", "difference")

WITHHELD = "withheld"  # the audit's group for people in suppressed or unrecorded cells
EngineCall = Callable[..., pd.DataFrame]


@dataclass(frozen=True)
class WhatIfResult:
    """``summary``: the area (and its parent) before and after; ``audit``: who is reached against
    who is at high risk; ``cells``: the controlled unit x quintile cells with ``reached``."""

    summary: pd.DataFrame
    audit: pd.DataFrame
    cells: pd.DataFrame


def _controlled(call: EngineCall, by: str, filters: Filters, level: str | None, area: str | None, risk: Any,
                policy: DisclosurePolicy) -> pd.DataFrame:
    """The engine's coverage by group, through the policy: area_code, group, with_plan, high_risk
    (0 where suppressed; with_plan never above high_risk after rounding)."""
    rows = call("by_group", METRIC, by, filters, level, area, risk=risk, policy=policy)
    out = as_generic_columns(control(as_metric_columns(rows.assign(_all="all"), METRIC), check_metric(METRIC),
                                     policy, groups=[["_all"]]), METRIC)
    hidden = out["suppressed"].astype(bool)
    den = pd.to_numeric(out["denominator"], errors="coerce").mask(hidden).fillna(0.0).astype(float)
    num = pd.to_numeric(out["numerator"], errors="coerce").mask(hidden).fillna(0.0).astype(float)
    frame = pd.DataFrame({"area_code": out["area_code"], "group": out["group"].astype(str),
                          "high_risk": den, "with_plan": np.minimum(num, den)})
    return frame[frame["group"] != "unknown"].reset_index(drop=True)


def _units_within(areas: pd.DataFrame, level: str, area: str | None) -> pd.Series:
    """Codes of the units at ``level`` inside ``area`` (all of them for the region)."""
    units = areas[areas["level"] == level]
    if area is None:
        return units["area_code"]
    parents = dict(zip(areas["area_code"], areas["parent_code"], strict=True))

    def inside(code: str) -> bool:
        seen = 0
        while code in parents and seen < 10:
            if code == area:
                return True
            code, seen = parents[code], seen + 1
        return code == area

    return units["area_code"][units["area_code"].map(inside)]


def _unit_cells(call: EngineCall, level: str, codes: pd.Series, filters: Filters, risk: Any,
                policy: DisclosurePolicy) -> pd.DataFrame:
    rows = _controlled(call, "imd_quintile", filters, level, None, risk, policy)
    rows = rows[rows["area_code"].isin(set(codes))]
    return pd.DataFrame({"unit": rows["area_code"] + ":" + rows["group"], "imd_quintile": rows["group"].astype(int),
                         "high_risk": rows["high_risk"], "with_plan": rows["with_plan"]}).reset_index(drop=True)


def _audit(call: EngineCall, level: str, codes: pd.Series, reached: pd.DataFrame, filters: Filters, risk: Any,
           policy: DisclosurePolicy) -> pd.DataFrame:
    """Equity audit: IMD quintile from the unit cells; other dimensions from unit x quintile x group
    counts, each unit-quintile's reach shared in proportion to its groups' people without a plan."""
    parts = [whatif.equity_audit(reached, ("imd_quintile",))]
    share = (reached["reached"] / (reached["high_risk"] - reached["with_plan"]).where(lambda s: s > 0)).fillna(0.0)
    share_of = dict(zip(reached["unit"], share, strict=True))
    for dim in whatif.AUDIT_DIMENSIONS[1:]:
        cells = []
        for q in QUINTILES:
            rows = _controlled(call, dim, replace(filters, imd_quintile=(q,)), level, None, risk, policy)
            rows = rows[rows["area_code"].isin(set(codes))]
            cells.append(rows.assign(unit=rows["area_code"] + f":{q}"))
        frame = pd.concat(cells, ignore_index=True).rename(columns={"group": dim})
        without = frame["high_risk"] - frame["with_plan"]
        unit_without = without.groupby(frame["unit"]).transform("sum")
        unit_reach = frame["unit"].map(share_of).fillna(0.0) * unit_without
        frame["reached"] = (unit_reach * without / unit_without.where(unit_without > 0)).fillna(0.0)
        parts.append(whatif.equity_audit(pd.concat([frame, _withheld(reached, frame, dim)]), (dim,)))
    audit = pd.concat(parts, ignore_index=True)
    return audit[list(AUDIT_COLUMNS)]


def _withheld(reached: pd.DataFrame, frame: pd.DataFrame, dim: str) -> pd.DataFrame:
    """What the group cells leave out (suppressed or not recorded), per unit: reach and high-risk
    people, so that each dimension still sums to the selection and to the area's people."""
    units = reached.set_index("unit")[["reached", "high_risk"]]
    shown = frame.groupby("unit")[["reached", "high_risk"]].sum().reindex(units.index, fill_value=0.0)
    rest = (units - shown).clip(lower=0.0)
    rest["reached"] = units["reached"] - shown["reached"]  # exact, so the audit sums to the selection
    return rest.reset_index().assign(**{dim: WITHHELD})


def outreach_whatif(call: EngineCall, areas: pd.DataFrame, role: Any, policy: DisclosurePolicy, *, level: str,
                    area: str | None, capacity: float, ranking: str, risk: Any = None,
                    filters: Filters | None = None) -> WhatIfResult:
    """What reaching ``capacity`` high-risk people without a plan in ``area`` (None = the region),
    unit by unit at ``level`` in ``ranking`` order, would do; for roles with the outreach capability."""
    if not access.permits(role, Capability.OUTREACH):
        raise AccessDenied(f"Outreach planning is not available to the '{role}' role.", role=str(role))
    if level not in UNIT_LEVELS:
        raise ExplorerError(f"--level must be one of {', '.join(UNIT_LEVELS)} (the units conversations go to)")
    if ranking not in whatif.RANKINGS:
        raise ExplorerError(f"unknown ranking '{ranking}': choose from {', '.join(whatif.RANKINGS)}")
    access.check_level(role, level)
    filters = replace(filters or Filters(), risk=None)
    names = dict(zip(areas["area_code"], areas["area_name"], strict=True))
    parent = None
    if area is not None:
        if area not in names:
            raise ExplorerError(f"unknown area '{area}'")
        area_level = areas.loc[areas["area_code"] == area, "level"].iloc[0]
        if area_level not in LEVELS[:LEVELS.index(level)]:
            raise ExplorerError(f"area '{area}' is a {area_level}: choose an area above the {level} level")
        parent = areas.loc[areas["area_code"] == area, "parent_code"].iloc[0]
        parent = parent if isinstance(parent, str) and parent in names else None
    codes = _units_within(areas, level, area)
    cells = _unit_cells(call, level, codes, filters, risk, policy)
    if cells.empty or cells["high_risk"].sum() <= 0:
        raise ExplorerError("no high-risk people to show in this area under the disclosure rules")
    parent_cells = None
    if area is not None:
        parent_cells = _unit_cells(call, level, _units_within(areas, level, parent), filters, risk, policy)
    result = whatif.what_if(cells, capacity, ranking, parent_cells)
    summary = result.summary.assign(area_code=[area or "region", parent or "region"][:len(result.summary)])
    summary["area_name"] = [names.get(c, "Whole region") for c in summary["area_code"]]
    audit = _audit(call, level, codes, result.cells, filters, risk, policy)
    return WhatIfResult(summary[list(SUMMARY_COLUMNS)], audit, result.cells)


def _round10(values: pd.Series) -> pd.Series:
    """Modelled counts of people reached, to the nearest 10 (never 1-7), for printing."""
    return (10 * (values.astype(float) / 10).round()).astype(float)


def whatif_export(level: str, area: str | None, capacity: float, ranking: str, *, role: str, region: str
                  ) -> tuple[pd.DataFrame, dict[str, object]]:
    """What `explorer outreach` prints: one table (the summary rows, then the equity audit) and a
    header (data label, role, area, capacity, ranking); people reached rounded to the nearest 10."""
    from explorer.config import load_settings
    from explorer.services import load_engine
    from explorer.services.app_data import (
        _records_synthetic,  # the app's test: imported tables are real
    )

    if not access.permits(role, Capability.OUTREACH):  # refuse before reading anything
        raise ExplorerError(f"outreach planning is not available to the '{role}' role")
    access.check_level(role, level)
    engine = load_engine(load_settings(), region)
    result = outreach_whatif(lambda name, *a, **k: getattr(engine, name)(*a, **k), engine.geography.areas, role,
                             access.disclosure_policy_for(role), level=level, area=area, capacity=capacity,
                             ranking=ranking)
    summary = result.summary.assign(table="summary", reached=_round10(result.summary["reached"]))
    audit = result.audit.assign(table="equity_audit", reached=_round10(result.audit["reached"]))
    frame = pd.concat([summary, audit], ignore_index=True)
    frame = frame[["table", *SUMMARY_COLUMNS, *[c for c in AUDIT_COLUMNS if c not in SUMMARY_COLUMNS]]]
    header = {"data": "SYNTHETIC" if _records_synthetic(load_settings(), region, engine) else "records",
              "role": role, "level": level, "area": area or "region", "capacity": capacity, "ranking": ranking}
    return frame, header
