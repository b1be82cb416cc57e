"""Which areas an outreach team with a given capacity should start with (controlled counts only)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def target_areas(table: pd.DataFrame, capacity: int, rank_by: str = "high_risk_without_plan") -> pd.DataFrame:
    """Rank areas and mark those a team with `capacity` planning conversations should start with.

    Areas are taken in rank order (largest `rank_by` first, suppressed last) until their high-risk
    people without a plan reach the capacity; `reach` is how many of those people the
    conversations cover (never more than the capacity). Works on controlled counts only.
    """
    out = table.copy()
    people = pd.to_numeric(out["high_risk_without_plan"], errors="coerce").astype(float)
    key = pd.to_numeric(out[rank_by], errors="coerce").astype(float)
    out = out.assign(_key=key.fillna(-1.0), _people=people.fillna(0.0))
    out = out.sort_values(["_key", "area_code"], ascending=[False, True], kind="stable").reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    cumulative = out["_people"].cumsum()
    before = cumulative - out["_people"]
    out["cumulative_without_plan"] = cumulative
    out["targeted"] = (before < capacity) & (out["_people"] > 0)
    out["reach"] = np.clip(np.minimum(cumulative, capacity) - np.minimum(before, capacity), 0, None)
    out.attrs["reach"] = float(out["reach"].sum())
    out.attrs["areas"] = int(out["targeted"].sum())
    out.attrs["total"] = float(out["_people"].sum())
    return out.drop(columns=["_key", "_people"])
