"""What the data-gaps and clinician-activity pages show, as plain values: tables for display ('*'
where the policy hid a value, numbers rounded) and the frames their bar charts take."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from explorer.domain import activity
from explorer.domain.disclosure import SUPPRESSED
from explorer.domain.gaps import RATIO, REGISTERED, RESIDENTS

GAP_MEASURES = {RATIO: ("Registered per 100 residents", "per 100 residents"),
                "ethnicity_not_stated": ("Ethnic group not recorded", "%"),
                "plans_missing_key_items": ("Plans missing a key item", "%")}
"""The gap measures a chart can show: column -> (label, unit)."""

GAP_COLUMNS = {REGISTERED: "Registered (GP lists)", RESIDENTS: "Residents (Census 2021)",
               RATIO: "Registered per 100 residents", "ethnicity_not_stated": "Ethnic group not recorded (%)",
               "ethnicity_not_stated_numerator": "People not recorded",
               "plans_missing_key_items": "Plans missing a key item (%)",
               "plans_missing_key_items_numerator": "Plans missing a key item",
               "plans_missing_key_items_denominator": "Live plans"}

ACTIVITY_COLUMNS = {"organisation": "Organisation type", "users": "Users", "active_users": "Logged in",
                    "active_users_10plus": "More than 10 logins", "logins": "Logins",
                    "plans_created": "Plans created", "plans_updated": "Plans updated",
                    **{r.name: f"{r.label} ({r.unit})" for r in activity.RATES.values()}}


def _cell(value: object, hidden: bool, digits: int) -> object:
    if hidden:
        return SUPPRESSED
    x = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    if pd.isna(x):
        return ""
    return f"{x:,.0f}" if digits == 0 else f"{x:,.{digits}f}"


def _flag(frame: pd.DataFrame, column: str) -> np.ndarray:
    base = column.removesuffix("_numerator").removesuffix("_denominator")
    for name in (f"{column}_suppressed", f"{base}_suppressed"):
        if name in frame:
            return frame[name].fillna(False).astype(bool).to_numpy()
    return np.zeros(len(frame), bool)


def display(frame: pd.DataFrame, first: Mapping[str, str], columns: Mapping[str, str],
            digits: Mapping[str, int] | None = None) -> pd.DataFrame:
    """A controlled table for the page: the ``first`` (label) columns as they are, then ``columns``
    (present ones only) formatted, '*' where the value was hidden."""
    out = pd.DataFrame({title: frame[c].to_numpy() for c, title in first.items() if c in frame})
    for column, title in columns.items():
        if column not in frame:
            continue
        d = (digits or {}).get(column, 0 if frame[column].dtype.kind in "iu" or column in _COUNTS else 1)
        hidden = _flag(frame, column)
        out[title] = [_cell(v, h, d) for v, h in zip(frame[column], hidden)]
    return out


_COUNTS = {REGISTERED, RESIDENTS, "ethnicity_not_stated_numerator", "plans_missing_key_items_numerator",
           "plans_missing_key_items_denominator", *activity.USER_COUNTS, *activity.PLAN_COUNTS}


def bar_frame(frame: pd.DataFrame, category: str, value: str, limit: int | None = None, *, ranked: bool = True
              ) -> pd.DataFrame:
    """category, value for a bar chart (hidden values left out); ``ranked``: largest first, at most
    ``limit``; else in the frame's order (e.g. IMD quintiles)."""
    v = pd.to_numeric(frame[value], errors="coerce")
    hidden = _flag(frame, value)
    out = pd.DataFrame({"category": frame[category].astype(str).to_numpy(), "value": v.to_numpy(float)})
    out = out[~hidden & np.isfinite(out["value"].to_numpy())]
    if not ranked:
        return out
    out = out.sort_values("value", ascending=False, kind="stable")
    return out.head(limit) if limit else out


def quintile_labels(groups: Sequence[object]) -> list[str]:
    names = {"1": "1 (most deprived)", "5": "5 (least deprived)"}
    return [names.get(str(g), str(g)) for g in groups]
