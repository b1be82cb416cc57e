"""Carrying LSOA 2011 age-sex estimates to LSOA 2021 for unchanged, split, merged and complex changes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from explorer.bundle.population import CELLS, carry_age_sex, largest_remainder


def sape(code: str, value: int) -> dict:
    return {"lsoa11cd": code, **{f"{sex}s_{band}": value for sex, band in CELLS}}


def test_largest_remainder_keeps_row_totals_exactly():
    shares = np.array([[1, 1, 1], [0.2, 0.3, 0.5], [0, 0, 0]], dtype=float)
    out = largest_remainder(shares, np.array([10, 7, 5]))
    assert out.sum(axis=1).tolist() == [10, 7, 5]
    assert out[1].tolist() == [1, 2, 4] or out[1].sum() == 7


def test_split_merge_and_complex_changes_share_people_by_census_population():
    lookup = pd.DataFrame({
        "lsoa11cd": ["A11", "B11", "B11", "C11", "D11", "E11", "E11", "F11"],
        "lsoa21cd": ["A21", "B21a", "B21b", "CD21", "CD21", "X1", "X2", "X2"],
        "change": ["U", "S", "S", "M", "M", "X", "X", "X"],
    })
    estimates = pd.DataFrame([sape(c, v) for c, v in
                              [("A11", 10), ("B11", 30), ("C11", 5), ("D11", 5), ("E11", 20), ("F11", 10)]])
    census = pd.Series({"A21": 100, "B21a": 100, "B21b": 200, "CD21": 100, "X1": 100, "X2": 300, "Z21": 50})
    long, england_profile = carry_age_sex(estimates, lookup, census)
    wide = long.pivot_table(index="lsoa21cd", columns=["sex", "age_band"], values="population")
    assert long.groupby("lsoa21cd")["population"].sum().to_dict() == census.to_dict()  # totals kept
    # every estimate cell is equal, so each 2021 LSOA's ten cells are equal shares of its census total
    assert (wide.loc["B21b"] == 20).all() and (wide.loc["CD21"] == 10).all()
    assert england_profile == 1  # Z21 is in no 2011 estimate: it takes England's profile
    z = wide.loc["Z21"]
    assert z[("female", "65+")] > z[("male", "65+")]
