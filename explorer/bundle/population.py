"""Age-sex population per LSOA 2021, carried from mid-2020 estimates on LSOA 2011 geography.

How 2011 estimates reach 2021 LSOAs (ONS change indicator CHGIND):
- U (unchanged): the 2011 LSOA's counts go to the same 2021 LSOA.
- M (merged): several 2011 LSOAs feed one 2021 LSOA; their counts are summed.
- S (split) and X (complex, many to many): each 2011 LSOA's counts are shared among its 2021
  targets in proportion to their Census 2021 usual residents.
One rule covers all four: weight(2011 -> 2021) = census(2021) / sum of census over the 2011 LSOA's
targets. The carried age-sex *shares* are then scaled to each 2021 LSOA's Census 2021 total, so that
`population` is the same number in every table of the bundle (largest-remainder rounding).
LSOAs the estimates do not cover (the mirror's file is London only) take England's age-sex profile,
and the bundle's manifest counts them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from explorer.sources.readers import SAPE_BANDS

SEXES = ("female", "male")
AGE_BANDS = SAPE_BANDS
# England, mid-2020 (ONS mid-year estimates), share of all persons by sex and broad age band; only
# for LSOAs outside the estimates file. Rounded to 0.1 percentage points; sums to 100.
ENGLAND_PROFILE = {
    ("male", "0-15"): 9.8, ("male", "16-29"): 8.9, ("male", "30-44"): 9.8,
    ("male", "45-64"): 12.7, ("male", "65+"): 8.3,
    ("female", "0-15"): 9.3, ("female", "16-29"): 8.5, ("female", "30-44"): 9.9,
    ("female", "45-64"): 13.0, ("female", "65+"): 9.8,
}
CELLS = [(sex, band) for sex in SEXES for band in AGE_BANDS]


def largest_remainder(shares: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Integers per row proportional to `shares` that add up exactly to each row's total."""
    shares = np.where(shares.sum(axis=1, keepdims=True) > 0, shares, 1.0)
    exact = shares / shares.sum(axis=1, keepdims=True) * totals[:, None]
    floors = np.floor(exact).astype(np.int64)
    short = (totals - floors.sum(axis=1)).astype(np.int64)
    order = np.argsort(-(exact - floors), axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(order.shape[1])[None, :].repeat(len(order), 0), axis=1)
    return floors + (ranks < short[:, None])


def carry_age_sex(
    sape11: pd.DataFrame, lookup: pd.DataFrame, census_total: pd.Series
) -> tuple[pd.DataFrame, int]:
    """Long table (lsoa21cd, sex, age_band, population) and the number of LSOAs given England's profile.

    `census_total` is indexed by lsoa21cd (the 2021 LSOAs to produce)."""
    targets = lookup[lookup["lsoa11cd"].isin(sape11["lsoa11cd"])][["lsoa11cd", "lsoa21cd"]].copy()
    targets["census"] = targets["lsoa21cd"].map(census_total).fillna(0.0).astype(float)
    sums = targets.groupby("lsoa11cd")["census"].transform("sum")
    counts = targets["lsoa11cd"].map(targets.groupby("lsoa11cd").size())
    targets["weight"] = np.where(sums > 0, targets["census"] / sums.where(sums > 0, 1), 1.0 / counts)
    cols = [f"{sex}s_{band}" for sex, band in CELLS]
    carried = targets.merge(sape11[["lsoa11cd", *cols]], on="lsoa11cd")
    carried[cols] = carried[cols].mul(carried["weight"], axis=0)
    per21 = carried.groupby("lsoa21cd")[cols].sum().reindex(census_total.index)
    uncovered = per21.isna().any(axis=1) | (per21.sum(axis=1) <= 0)
    profile = np.array([ENGLAND_PROFILE[cell] for cell in CELLS])
    shares = per21.fillna(0.0).to_numpy()
    shares[uncovered.to_numpy()] = profile
    counts21 = largest_remainder(shares, census_total.to_numpy().astype(np.int64))
    wide = pd.DataFrame(counts21, index=census_total.index, columns=pd.MultiIndex.from_tuples(CELLS))
    long = wide.stack([0, 1], future_stack=True).rename("population").reset_index()
    long.columns = ["lsoa21cd", "sex", "age_band", "population"]
    return long, int(uncovered.sum())
