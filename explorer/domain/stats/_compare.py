"""Significance of each confidence interval against a benchmark (Fingertips labels)."""

from __future__ import annotations

import numpy as np

from explorer.domain.stats._arrays import ArrayLike, _arr


def compare_to_benchmark(
    lower: ArrayLike,
    upper: ArrayLike,
    benchmark: ArrayLike,
    higher_is_better: bool | None = True,
) -> np.ndarray:
    """Fingertips-style significance comparison of each CI against a benchmark.

    CI wholly above the benchmark -> "better" (or "worse" if ``higher_is_better`` is
    False); wholly below -> the opposite; overlapping (touching counts as
    overlapping) -> "similar"; any of lower/upper/benchmark NaN -> "not compared".
    ``higher_is_better=None`` (no polarity) gives "higher"/"lower"/"similar".
    Returns an array of str with the broadcast shape of the inputs.
    Source: OHID Fingertips technical guidance (benchmarking against a goal/comparator).
    """
    lo, hi, b = np.broadcast_arrays(_arr(lower), _arr(upper), _arr(benchmark))
    if higher_is_better is None:
        above, below = "higher", "lower"
    elif higher_is_better:
        above, below = "better", "worse"
    else:
        above, below = "worse", "better"
    with np.errstate(invalid="ignore"):
        result = np.where(lo > b, above, np.where(hi < b, below, "similar"))
    missing = np.isnan(lo) | np.isnan(hi) | np.isnan(b)
    return np.where(missing, "not compared", result).astype(str)
