"""Age-sex population per LSOA 2021: mid-2020 estimates where the mirror has them, else the LSOA's
own Census 2021 age bands split by sex with national shares.

Two sources, in order of preference:
1. Small-area population estimates, mid-2020 (SAPE, LSOA 2011; the mirror's file is London only):
   kept where they cover because they carry each LSOA's *own* sex split within every age band and
   their bands are the bundle's (0-15, 16-29, 30-44, 45-64, 65+), so nothing is borrowed from
   national figures. They are carried from 2011 to 2021 LSOAs by the ONS change indicator CHGIND:
   - U (unchanged): the 2011 LSOA's counts go to the same 2021 LSOA.
   - M (merged): several 2011 LSOAs feed one 2021 LSOA; their counts are summed.
   - S (split) and X (complex, many to many): each 2011 LSOA's counts are shared among its 2021
     targets in proportion to their Census 2021 usual residents.
   One rule covers all four: weight(2011 -> 2021) = census(2021) / sum of census over the 2011
   LSOA's targets.
2. Census 2021 age in six bands (0-15, 16-24, 25-34, 35-49, 50-64, 65+; no sex), for every other
   LSOA. Each band is split into the bundle's sex x band cells with national shares: ONS mid-2021
   population estimates for England by sex and single year of age (MYE2, released 21 December
   2022), summed to the age groups the split needs (NATIONAL_MID2021_THOUSANDS). Bands 0-15 and 65+
   map one to one; 16-24 goes to 16-29; 25-34 is cut at 30 and 35-49 at 45 in the national ratio;
   50-64 goes to 45-64. So an LSOA's age structure is its own; only the sex split (and the two
   cuts) are national.
In both cases the shares are scaled to each 2021 LSOA's Census 2021 total (TS021), so that
`population` is the same number in every table of the bundle (largest-remainder rounding). An LSOA
in neither file takes England's mid-2021 age-sex profile (none does with the mirror's files); the
manifest counts LSOAs by the source of their age structure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from explorer.sources.readers import SAPE_BANDS
from explorer.vocab import CENSUS_AGE6_BANDS

SEXES = ("female", "male")
AGE_BANDS = SAPE_BANDS
CELLS = [(sex, band) for sex in SEXES for band in AGE_BANDS]
SOURCE_SAPE, SOURCE_CENSUS, SOURCE_PROFILE = "sape_mid2020", "census2021_age6", "england_mid2021_profile"
SOURCE_LABELS = {SOURCE_SAPE: "mid-2020 estimates", SOURCE_CENSUS: "Census 2021 age bands",
                 SOURCE_PROFILE: "England's mid-2021 profile"}

# ONS, "Population estimates for the UK, England and Wales, Scotland and Northern Ireland: mid-2021"
# (MYE2, England, by sex and single year of age, released 21 December 2022), summed into the age
# groups below and rounded to the nearest 10 thousand (England: 56.5 million). Only ratios within
# a Census band are used, so the rounding moves no share by more than 0.2 percentage points.
# Entered from the published table, which is not in the data mirror. Checked against the mirror's
# Census 2021 age file: each Census band's England total agrees within 0.6% (tests/test_population.py);
# the sex split and the cuts at 30 and 45 within a band are not checked here.
NATIONAL_MID2021_THOUSANDS: dict[tuple[str, str], int] = {
    ("female", "0-15"): 5_140, ("male", "0-15"): 5_400,
    ("female", "16-24"): 2_910, ("male", "16-24"): 3_050,
    ("female", "25-29"): 1_870, ("male", "25-29"): 1_860,
    ("female", "30-34"): 2_010, ("male", "30-34"): 1_950,
    ("female", "35-44"): 3_720, ("male", "35-44"): 3_630,
    ("female", "45-49"): 1_840, ("male", "45-49"): 1_780,
    ("female", "50-64"): 5_560, ("male", "50-64"): 5_400,
    ("female", "65+"): 5_670, ("male", "65+"): 4_730,
}
# Census 2021 band -> the national age groups it holds, each with the bundle band it belongs to.
CENSUS_SPLIT: dict[str, tuple[tuple[str, str], ...]] = {
    "0-15": (("0-15", "0-15"),),
    "16-24": (("16-24", "16-29"),),
    "25-34": (("25-29", "16-29"), ("30-34", "30-44")),
    "35-49": (("35-44", "30-44"), ("45-49", "45-64")),
    "50-64": (("50-64", "45-64"),),
    "65+": (("65+", "65+"),),
}


def census_split_matrix() -> np.ndarray:
    """6 x 10 matrix: the share of each Census 2021 band's residents in each bundle (sex, band) cell.

    Rows follow CENSUS_AGE6_BANDS, columns CELLS; each row sums to 1."""
    matrix = np.zeros((len(CENSUS_AGE6_BANDS), len(CELLS)))
    for row, census_band in enumerate(CENSUS_AGE6_BANDS):
        groups = CENSUS_SPLIT[census_band]
        total = sum(NATIONAL_MID2021_THOUSANDS[(sex, group)] for sex in SEXES for group, _ in groups)
        for group, band in groups:
            for sex in SEXES:
                matrix[row, CELLS.index((sex, band))] += NATIONAL_MID2021_THOUSANDS[(sex, group)] / total
    return matrix


def england_profile() -> np.ndarray:
    """England's mid-2021 share of all persons in each (sex, band) cell: the last-resort fallback."""
    profile = np.zeros(len(CELLS))
    for groups in CENSUS_SPLIT.values():
        for group, band in groups:
            for sex in SEXES:
                profile[CELLS.index((sex, band))] += NATIONAL_MID2021_THOUSANDS[(sex, group)]
    return profile / profile.sum()


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


def _carried_estimates(sape11: pd.DataFrame, lookup: pd.DataFrame, census_total: pd.Series) -> pd.DataFrame:
    """The mid-2020 estimates carried to 2021 LSOAs (columns `<sex>s_<band>`), NaN where not covered."""
    targets = lookup[lookup["lsoa11cd"].isin(sape11["lsoa11cd"])][["lsoa11cd", "lsoa21cd"]].copy()
    targets["census"] = targets["lsoa21cd"].map(census_total).fillna(0.0).astype(float)
    sums = targets.groupby("lsoa11cd")["census"].transform("sum")
    counts = targets["lsoa11cd"].map(targets.groupby("lsoa11cd").size())
    targets["weight"] = np.where(sums > 0, targets["census"] / sums.where(sums > 0, 1), 1.0 / counts)
    cols = [f"{sex}s_{band}" for sex, band in CELLS]
    carried = targets.merge(sape11[["lsoa11cd", *cols]], on="lsoa11cd")
    carried[cols] = carried[cols].mul(carried["weight"], axis=0)
    return carried.groupby("lsoa21cd")[cols].sum().reindex(census_total.index)


def carry_age_sex(sape11: pd.DataFrame, lookup: pd.DataFrame, census_total: pd.Series,
                  census_age6: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict[str, int]]:
    """Long table (lsoa21cd, sex, age_band, population) and the number of LSOAs per age source.

    `census_total` is indexed by lsoa21cd (the 2021 LSOAs to produce); `census_age6` is
    `readers.read_census_age6`'s table (lsoa21cd, age_0-15 ... age_65+), or None."""
    per21 = _carried_estimates(sape11, lookup, census_total)
    from_sape = (per21.notna().all(axis=1) & (per21.sum(axis=1) > 0)).to_numpy()
    shares = per21.fillna(0.0).to_numpy()
    from_census = np.zeros(len(census_total), dtype=bool)
    if census_age6 is not None:
        age6 = (census_age6.set_index("lsoa21cd")[[f"age_{b}" for b in CENSUS_AGE6_BANDS]]
                .reindex(census_total.index).to_numpy(dtype=float))
        from_census = ~from_sape & ~np.isnan(age6).any(axis=1) & (np.nan_to_num(age6).sum(axis=1) > 0)
        shares[from_census] = age6[from_census] @ census_split_matrix()
    fallback = ~from_sape & ~from_census
    shares[fallback] = england_profile()
    counts21 = largest_remainder(shares, census_total.to_numpy().astype(np.int64))
    wide = pd.DataFrame(counts21, index=census_total.index, columns=pd.MultiIndex.from_tuples(CELLS))
    long = wide.stack([0, 1], future_stack=True).rename("population").reset_index()
    long.columns = ["lsoa21cd", "sex", "age_band", "population"]
    sources = {SOURCE_SAPE: int(from_sape.sum()), SOURCE_CENSUS: int(from_census.sum()),
               SOURCE_PROFILE: int(fallback.sum())}
    return long, sources
