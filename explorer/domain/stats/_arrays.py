"""Array coercion shared by every statistics module: inputs broadcast with numpy rules, outputs float64."""

from __future__ import annotations

from typing import Any

import numpy as np

ArrayLike = Any  # scalar, sequence, np.ndarray or pandas Series


def _arr(x: ArrayLike) -> np.ndarray:
    """Coerce to a float64 array (pandas Series/DataFrame included)."""
    return np.asarray(x, dtype=float)


def _out(x: ArrayLike) -> np.ndarray:
    """Normalise a result to an ndarray of float64 (0-d for scalar inputs)."""
    return np.asarray(x, dtype=float)
