"""Outreach presenters: `target_areas` (which areas a team with a given capacity should start with;
it lives in explorer.services.app_analyses, exports use it too) and the what-if panel's tables as text.

People reached are modelled (shares of controlled counts): shown rounded to the nearest 10, so no
1-7 appears where a count of people is expected; high-risk people are sums of controlled counts."""

from __future__ import annotations

import pandas as pd

from explorer.services.app_analyses import RANK_NAMES, group_label, target_areas
from explorer.services.whatif import WITHHELD

__all__ = ["AUDIT_HEADERS", "RANK_NAMES", "SUMMARY_HEADERS", "audit_text", "round10", "summary_text", "target_areas"]

SUMMARY_HEADERS = [("area_name", "Area"), ("high_risk", "High-risk people"), ("reached", "Reached"),
                   ("coverage", "High-risk with a plan (%), before -> after"),
                   ("sii", "SII between IMD quintiles (pp), before -> after")]
AUDIT_HEADERS = [("dimension", "Group of"), ("group", "Group"), ("reached", "Reached"),
                 ("reached_share", "Share of those reached (%)"), ("high_risk_share", "Share of high-risk people (%)"),
                 ("difference", "Difference (pp)")]
_DIMENSIONS = {"imd_quintile": "IMD quintile", "ethnic_group": "Ethnic group", "age_band": "Age band", "sex": "Sex"}


def round10(value: float) -> str:
    """A count of people to the nearest 10 (never 1-7); sums of controlled counts are unchanged in
    meaning, modelled reach loses a spurious precision."""
    return "" if pd.isna(value) else f"{10 * round(float(value) / 10):,.0f}"


def _pair(before: float, after: float, fmt: str = ".1f") -> str:
    if pd.isna(before) or pd.isna(after):
        return "not available"
    return f"{before:{fmt}} -> {after:{fmt}}"


def summary_text(summary: pd.DataFrame) -> pd.DataFrame:
    """Area and parent rows: people, reach and before -> after as text."""
    return pd.DataFrame({
        "area_name": summary["area_name"], "high_risk": summary["high_risk"].map(lambda v: "" if pd.isna(v) else f"{v:,.0f}"),
        "reached": summary["reached"].map(round10),
        "coverage": [_pair(b, a) for b, a in zip(summary["coverage_before"], summary["coverage_after"], strict=True)],
        "sii": [_pair(b, a, "+.1f") for b, a in zip(summary["sii_before"], summary["sii_after"], strict=True)]})


def audit_text(audit: pd.DataFrame) -> pd.DataFrame:
    """The equity audit with readable group names and shares to one decimal place."""
    def pct(v: float, fmt: str = ".1f") -> str:
        return "" if pd.isna(v) else f"{v:{fmt}}"

    def label(dim: str, group: str) -> str:
        return "Not shown (suppressed or not recorded)" if group == WITHHELD else group_label(dim, group)

    return pd.DataFrame({
        "dimension": audit["dimension"].map(_DIMENSIONS), "group": [label(d, str(g)) for d, g in
                                                                   zip(audit["dimension"], audit["group"], strict=True)],
        "reached": audit["reached"].map(round10), "reached_share": audit["reached_share"].map(pct),
        "high_risk_share": audit["high_risk_share"].map(pct), "difference": audit["difference"].map(lambda v: pct(v, "+.1f"))})
