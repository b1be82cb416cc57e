"""The extract window's dates and the small seeded drawing helpers the care-plan generators share.

Everything is dated relative to schema.EXTRACT_DATE (2026-10-31); events cover the 24 months
before it (HISTORY_MONTHS), plans were created from CMC's start in 2011, most of them recently.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from explorer.records.schema import AGE_BANDS, EXTRACT_DATE, HISTORY_MONTHS

DEFAULT_SEED = 20261122
EXTRACT = np.datetime64(EXTRACT_DATE, "D")
WINDOW_START = (np.datetime64(EXTRACT_DATE[:7], "M") - HISTORY_MONTHS + 1).astype("datetime64[D]")  # 2024-11-01
REVIEWS_FROM = (np.datetime64(EXTRACT_DATE[:7], "M") - 2 * HISTORY_MONTHS + 1).astype("datetime64[D]")
CMC_START = np.datetime64("2011-01-01", "D")
DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = DAYS_PER_YEAR / 12


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def lookup(mapping: dict, keys: Iterable) -> np.ndarray:
    return np.array([mapping[k] for k in keys], dtype=float)


def age_band7(age: np.ndarray) -> np.ndarray:
    lows = np.array([int(b.rstrip("+").split("-")[0]) for b in AGE_BANDS])
    return np.searchsorted(lows, age, side="right") - 1


def category_codes(values: pd.Series, labels: tuple) -> np.ndarray:
    codes = pd.Categorical(values, categories=list(labels)).codes
    if (codes < 0).any():
        raise ValueError(f"unexpected values {sorted(set(values) - set(labels))[:3]}")
    return codes.astype(np.int64)


def prior_category(prior: np.ndarray) -> np.ndarray:
    return np.minimum(prior, 3)


def to_dates(days: np.ndarray) -> np.ndarray:
    """Day offsets from the extract date (negative = before) as datetime64[D]; NaN -> NaT."""
    days = np.asarray(days, dtype=float)
    out = np.full(len(days), np.datetime64("NaT"), dtype="datetime64[D]")
    ok = ~np.isnan(days)
    out[ok] = EXTRACT + np.floor(days[ok]).astype("timedelta64[D]")
    return out


def date_series(days: np.ndarray) -> pd.Series:
    return pd.Series(to_dates(days).astype("datetime64[s]"))


def choose(rng: np.random.Generator, shares: dict, size: int) -> np.ndarray:
    """Indices into list(shares) drawn with the given shares."""
    p = np.array(list(shares.values()), dtype=float)
    return np.minimum(np.searchsorted(np.cumsum(p / p.sum()), rng.random(size), side="right"), len(p) - 1)


def labels_at(shares: dict | tuple, index: np.ndarray) -> pd.Series:
    return pd.Series(pd.array(np.asarray(list(shares), dtype=object)[index], dtype="str"))


def largest_remainder(weights: np.ndarray, total: int) -> np.ndarray:
    exact = weights / weights.sum() * total
    counts = np.floor(exact).astype(np.int64)
    counts[np.argsort(-(exact - counts), kind="stable")[: total - counts.sum()]] += 1
    return counts
