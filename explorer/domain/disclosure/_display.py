"""Controlled figures as text, and the last guard before anything leaves the server."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from explorer.domain.disclosure._policy import (
    MISSING,
    SUPPRESSED,
    DisclosureError,
    DisclosurePolicy,
    _floats,
    _policy,
    _small,
)

# --------------------------------------------------------------------------- display and guard


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def format_count(value: Any, suppressed: bool = False) -> str:
    """A controlled count for display: ``1,235``; SUPPRESSED if flagged; MISSING if absent."""
    if suppressed:
        return SUPPRESSED
    if _is_missing(value):
        return MISSING
    return f"{int(round(float(value))):,}"


def format_rate(
    value: Any, suppressed: bool = False, *, decimals: int = 1, suffix: str = ""
) -> str:
    """A controlled rate/percentage for display: ``1,234.5`` + suffix; SUPPRESSED if flagged."""
    if suppressed:
        return SUPPRESSED
    if _is_missing(value):
        return MISSING
    return f"{float(value):,.{decimals}f}{suffix}"


def assert_no_small_counts(
    table: pd.DataFrame,
    count_cols: Sequence[str],
    policy: DisclosurePolicy | None = None,
) -> None:
    """Defence in depth before anything is emitted: no 1-7 counts, all counts rounded.

    Raises :class:`DisclosureError` naming the column and first offending row. A disabled
    policy (analyst, raw data) skips the check; the default is the publication policy.
    """
    pol = _policy(policy)
    if not pol.enabled:
        return
    problems: list[str] = []
    for col in count_cols:
        if col not in table.columns:
            raise KeyError(f"assert_no_small_counts: column {col!r} not in table")
        x = _floats(table[col])
        small = _small(x, pol)
        unrounded = ~np.isnan(x) & ~small & (np.mod(x, pol.rounding_base) != 0)
        for bad, what in ((small, f"between 1 and {pol.threshold}"),
                          (unrounded, f"not rounded to a multiple of {pol.rounding_base}")):
            if bad.any():
                first = table.index[np.flatnonzero(bad)[0]]
                problems.append(
                    f"column {col!r} has {int(bad.sum())} value(s) {what} (first at row {first!r})"
                )
    if problems:
        raise DisclosureError(
            "Refusing to emit unsafe counts: " + "; ".join(problems)
            + ". Apply the disclosure policy (apply_policy) before export."
        )
