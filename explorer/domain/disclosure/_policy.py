"""The disclosure policy and its primitives: thresholds, rounding, suppression of single counts,
rates and means from controlled counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

SUPPRESSED = "*"
"""Display token for a suppressed value (tables, hovers, CSV)."""

MISSING = ""
"""Display text for a value that is simply not available (not a disclosure decision)."""

SUPPRESSION_NOTE = (
    "* = 1-7 people, or hidden so that a small number cannot be worked out from totals; "
    "other counts rounded to the nearest 5"
)
"""Footnote every renderer shows next to controlled figures."""

ArrayLike: TypeAlias = pd.Series | np.ndarray | Sequence[float]
GroupKey: TypeAlias = tuple[tuple[str, ...], tuple[Any, ...]]
"""Identifies a group total: (key columns, key values), e.g. ``(("category",), ("q1",))``."""


class DisclosureError(ValueError):
    """Raised when data about to leave the server would break the disclosure policy."""


# --------------------------------------------------------------------------- policy


@dataclass(frozen=True)
class DisclosurePolicy:
    """Thresholds for one audience; ``enabled=False`` passes raw values (analyst role only)."""

    threshold: int = 7
    rounding_base: int = 5
    enabled: bool = True
    deprivation_level: str = "lsoa"
    """The smallest area whose IMD decile places people in deprivation groups and filters. A role
    that may not see LSOAs gets groups of whole areas it may see (``"pcn"``), so that no breakdown
    or IMD filter, however combined, isolates an LSOA (see :mod:`explorer.domain.access`)."""

    def __post_init__(self) -> None:
        if self.threshold < 0:
            raise ValueError(f"threshold must be >= 0, got {self.threshold}")
        if self.rounding_base < 1:
            raise ValueError(f"rounding_base must be >= 1, got {self.rounding_base}")

    @property
    def statistics_rounding(self) -> int | None:
        """The base every count is rounded to before any statistic is computed from it (None: raw).

        This is the rule that makes differencing useless: a released index, DSR, mean, CI or SII
        is a function of rounded counts only, so two requests ("all" and "all but one group")
        give the difference of two rounded numbers, a range, never the hidden small count.
        """
        return self.rounding_base if self.enabled else None

    @classmethod
    def for_publication(cls) -> DisclosurePolicy:
        """Policy for anything published (board packs, public downloads): always enabled."""
        return cls(enabled=True)

    @classmethod
    def raw(cls) -> DisclosurePolicy:
        """No control at all: for the analyst role inside the secure environment."""
        return cls(enabled=False)


_DEFAULT = DisclosurePolicy()


def _policy(policy: DisclosurePolicy | None) -> DisclosurePolicy:
    return _DEFAULT if policy is None else policy


def _series(values: ArrayLike) -> pd.Series:
    return values if isinstance(values, pd.Series) else pd.Series(values)


def _floats(values: pd.Series) -> np.ndarray:
    """Numeric values as float64 with NaN for missing, whatever the nullable dtype."""
    return pd.to_numeric(values, errors="raise").to_numpy(dtype="float64", na_value=np.nan)


def _small(x: np.ndarray, policy: DisclosurePolicy) -> np.ndarray:
    # below threshold + 1, not at most threshold: a fractional count (a gap of 7.3 plans) would
    # otherwise round to 5, a shown count between 1 and 7; for whole counts it is the same as <= 7
    return (x > 0) & (x < policy.threshold + 1)


# --------------------------------------------------------------------------- primitives


def is_small(counts: ArrayLike, policy: DisclosurePolicy | None = None) -> pd.Series:
    """True where a count is 1..threshold people (0 and missing are not small)."""
    s = _series(counts)
    return pd.Series(_small(_floats(s), _policy(policy)), index=s.index, name=s.name)


def _round_to_base(x: np.ndarray, base: int) -> np.ndarray:
    """Nearest multiple of ``base``, halves up: explicit, never banker's rounding."""
    return np.floor(x / base + 0.5) * base


def round_counts(counts: Any, base: int) -> np.ndarray:
    """Counts (any array shape, fractional expected counts too) rounded to the nearest ``base``,
    small ones included (1-2 -> 0, 3-7 -> 5): the inputs of every released statistic.

    Suppression is decided separately, on the exact totals; this only removes the precision that
    differencing two requests would otherwise turn into an exact count.

    >>> round_counts([0, 2, 3, 12, 13], 5).tolist()
    [0.0, 0.0, 5.0, 10.0, 15.0]
    """
    x = np.asarray(counts, dtype="float64")
    return np.where(np.isfinite(x), _round_to_base(np.nan_to_num(x), base), np.nan)


def control_counts(counts: ArrayLike, policy: DisclosurePolicy | None = None) -> pd.Series:
    """Counts as they may be shown: 0 kept, 1-7 -> <NA>, others rounded to the nearest 5.

    Returns a nullable ``Int64`` series (same index and name) where <NA> means
    suppressed or missing; with a disabled policy the input is returned unchanged.

    >>> control_counts(pd.Series([0, 3, 8, 16, 23])).tolist()
    [0, <NA>, 10, 15, 25]
    """
    pol = _policy(policy)
    s = _series(counts)
    if not pol.enabled:
        return s.copy()
    x = _floats(s)
    if np.any(x < 0):
        raise ValueError(f"counts must be non-negative; {s.name or 'counts'} has negatives")
    hide = np.isnan(x) | _small(x, pol)
    rounded = np.where(hide, 0.0, _round_to_base(np.nan_to_num(x), pol.rounding_base))
    data = pd.arrays.IntegerArray(rounded.astype("int64"), hide)
    return pd.Series(data, index=s.index, name=s.name)


def controlled_total(counts: ArrayLike, policy: DisclosurePolicy | None = None) -> Any:
    """Total of unrounded counts, then controlled: never sum already-rounded cells."""
    s = _series(counts)
    total = float(np.nansum(_floats(s)))
    if not _policy(policy).enabled:
        return total
    return control_counts(pd.Series([total]), policy).iloc[0]


def controlled_rate(
    numerator: ArrayLike,
    denominator: ArrayLike,
    multiplier: float = 1.0,
    policy: DisclosurePolicy | None = None,
) -> pd.Series:
    """numerator/denominator x multiplier from *controlled* counts; <NA> if either is suppressed.

    A zero or missing denominator gives <NA> as well (undefined, not a disclosure).
    """
    pol = _policy(policy)
    num, den = _series(numerator), _series(denominator)
    if pol.enabled:
        num, den = control_counts(num, pol), control_counts(den, pol)
    n, d = _floats(num), _floats(den)
    ok = ~np.isnan(n) & ~np.isnan(d) & (d > 0)
    rate = np.divide(n, d, out=np.zeros_like(n), where=ok) * multiplier
    return pd.Series(_nullable_float(np.where(ok, rate, np.nan)), index=num.index)


def controlled_mean(
    values: ArrayLike, n_people: ArrayLike, policy: DisclosurePolicy | None = None
) -> pd.Series:
    """Means/scores with <NA> where they rest on 1-7 people (values are not rounded)."""
    pol = _policy(policy)
    v, n = _series(values), _series(n_people)
    x = _floats(v)
    if pol.enabled:
        x = np.where(_small(_floats(n), pol), np.nan, x)
    return pd.Series(_nullable_float(x), index=v.index, name=v.name)


def _nullable_float(x: np.ndarray) -> pd.arrays.FloatingArray:
    x = np.asarray(x, dtype="float64")
    mask = np.isnan(x)
    return pd.arrays.FloatingArray(np.where(mask, 0.0, x), mask)
