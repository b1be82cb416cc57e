"""PCN figures from the apportioned registered population: the LSOA x PCN weight matrix and the two
operations every PCN figure goes through (contracting an LSOA axis, rounding to whole persons).

A PCN is a set of practices, not a set of LSOAs: the people of an LSOA are registered with several
PCNs. The bundle's ``pcn_weights`` (NHS Digital registrations, July 2023) split each LSOA among PCNs
by where its registered patients' practices belong, weights of an LSOA summing to 1. A PCN's count of
any measure is then ``sum over LSOAs of weight(lsoa, pcn) x the LSOA's count``. Weight given to a PCN
outside the bundle (a London LSOA's patients at a Surrey practice) goes to the "outside" slot; an
LSOA without registrations keeps its drawn (majority) PCN with weight 1.

Whole persons: an apportioned count is fractional (0.37 of a person). Every count measure is
rounded half up to a whole number once apportioned, at the grain of the request (each cell of the
summed table, after differences such as people less deaths), before any statistic or disclosure
control, so the policy's suppression and
rounding apply to whole counts exactly as for any other area. Risk sums and their variances stay
floats (they are expected counts already).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import sparse

#: Base measures that are sums of probabilities or variances, not counts of people or plans.
FRACTIONAL_MEASURES = frozenset({"risk_sum", "risk_var", "risk_with_plan", "risk_var_with_plan",
                                 "risk_of_deaths", "risk_var_of_deaths"})


def weight_matrix(lsoa_codes: pd.Index, pcn_codes: pd.Index, drawn: np.ndarray,
                  weights: pd.DataFrame | None) -> sparse.csr_matrix:
    """(LSOA + outside) x (PCN + outside) weights, CSR, rows summing to 1.

    ``drawn``: each LSOA's drawn PCN index (outside = ``len(pcn_codes)``), used for LSOAs the weights
    do not cover (and for all of them when ``weights`` is None)."""
    n_lsoa, n_pcn = len(lsoa_codes), len(pcn_codes)
    rows = np.arange(n_lsoa + 1)
    cols = np.append(drawn[:n_lsoa], n_pcn)
    vals = np.ones(n_lsoa + 1)
    if weights is not None and len(weights):
        row = lsoa_codes.get_indexer(pd.Index(weights["lsoa_code"].astype(str)))
        col = pcn_codes.get_indexer(pd.Index(weights["pcn_code"].astype(str)))
        ok = row >= 0
        row, col = row[ok], np.where(col[ok] < 0, n_pcn, col[ok])
        val = pd.to_numeric(weights["weight"]).to_numpy(dtype=float)[ok]
        covered = np.zeros(n_lsoa + 1, bool)
        covered[row] = True
        keep = ~covered
        rows, cols, vals = (np.concatenate([a[keep], b]) for a, b in ((rows, row), (cols, col), (vals, val)))
    matrix = sparse.coo_matrix((vals, (rows, cols)), shape=(n_lsoa + 1, n_pcn + 1)).tocsr()
    matrix.sum_duplicates()
    return matrix


def contract_lsoas(values: np.ndarray, axis: int, matrix: sparse.csr_matrix) -> np.ndarray:
    """``values`` with its LSOA axis (``axis``, length n_lsoa + 1) replaced by a PCN axis:
    each PCN's sum of weight x value over LSOAs."""
    moved = np.moveaxis(np.asarray(values, dtype=float), axis, 0)
    flat = moved.reshape(moved.shape[0], -1)
    out = np.asarray(matrix.T @ flat)
    return np.moveaxis(out.reshape((matrix.shape[1], *moved.shape[1:])), 0, axis)


def whole_persons(sums: Mapping[str, np.ndarray], base_of: Mapping[str, str]) -> dict[str, np.ndarray]:
    """Apportioned sums with every count measure rounded half up to a whole number; risk sums kept.
    ``base_of``: a derived measure's base measure (hr_risk -> risk_sum)."""
    return {m: v if base_of.get(m, m) in FRACTIONAL_MEASURES else np.floor(np.asarray(v) + 0.5)
            for m, v in sums.items()}
