"""What the SPC page shows, as plain values: the chart's table for display, the icon badges' text
and colour, and the summary-of-change matrix (metric links per variation x assurance cell)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from explorer.domain import spc

VARIATION_ROWS = (("improving", "Special cause: improving"), ("concerning", "Special cause: concerning"),
                  ("neither", "Special cause: no good direction"), ("common", "Common cause"))
ASSURANCE_COLUMNS = (("consistently_pass", "Consistently passing"), ("hit_and_miss", "Hit and miss"),
                     ("consistently_fail", "Consistently failing"), ("", "No target set"))
SHORT_VARIATION = {"common_cause": "Common cause", "improving_high": "Improving, high",
                   "improving_low": "Improving, low", "concerning_high": "Concerning, high",
                   "concerning_low": "Concerning, low", "neither_high": "High (no direction)",
                   "neither_low": "Low (no direction)"}


RULE_SHORT = {"beyond_limits": "Beyond a limit", "two_of_three": "2 of 3 near a limit",
              "shift": "Shift", "trend": "Trend"}
"""Short rule names for the table beside the chart (the full definitions are in the note under it)."""


def rule_text(special_cause: str) -> str:
    """'shift; trend' -> 'Shift; Trend', for people."""
    return "; ".join(RULE_SHORT.get(r, r) for r in special_cause.split("; ") if r)


def display_table(table: pd.DataFrame, decimals: int, value_title: str = "Value") -> pd.DataFrame:
    """The chart's table for the page: rounded, '*' for a hidden month, rules and point types in words.
    ``value_title``: the metric with its unit, so a count of people is labelled as one."""
    out = pd.DataFrame({"Month": table["month"]})
    for column, title in (("value", value_title), ("mean", "Mean"), ("lower_limit", "Lower"),
                          ("upper_limit", "Upper")):
        x = pd.to_numeric(table[column], errors="coerce").round(max(decimals, 1) + 1)
        out[title] = x.astype(object).where(x.notna(), "*" if column == "value" else "")
    out["Rule fired"] = [rule_text(s) for s in table["special_cause"].astype(str)]
    out["Point"] = [SHORT_VARIATION.get(t, t) if np.isfinite(v) else "hidden"
                    for t, v in zip(table["point_type"], pd.to_numeric(table["value"], errors="coerce"))]
    return out


def variation_group(point_type: str | None) -> str:
    """improving / concerning / neither / common (a matrix row) for a point type."""
    return (point_type or "common_cause").split("_")[0]


def badge(kind: str, name: str | None) -> tuple[str, str]:
    """(text, CSS class) of a variation or assurance badge: MDC's meaning in words, coloured by class."""
    if kind == "variation":
        if name is None:
            return "Variation: not enough values to chart", "spc-badge spc-common"
        return f"Variation: {spc.VARIATION_LABELS[name]}", f"spc-badge spc-{variation_group(name)}"
    if name is None:
        return "Assurance: set a target (metrics with a good direction) to see it", "spc-badge spc-none"
    return f"Assurance: {spc.ASSURANCE_LABELS[name]}", f"spc-badge spc-{name.replace('_', '-')}"


def change_matrix(summary: pd.DataFrame, link: Callable[[str], str]) -> list[dict]:
    """Rows of the summary of change: per variation row, per assurance column, the metrics in that
    cell as [(label, href)], with ``link(metric)`` giving each metric's SPC view URL."""
    rows = []
    for row_key, row_label in VARIATION_ROWS:
        in_row = summary[[variation_group(v or None) == row_key for v in summary["variation"]]]
        cells = {}
        for col_key, _ in ASSURANCE_COLUMNS:
            hits = in_row[in_row["assurance"].fillna("") == col_key]
            cells[col_key] = [(label, link(metric)) for metric, label in zip(hits["metric"], hits["label"])]
        rows.append({"key": row_key, "label": row_label, "cells": cells})
    return rows
