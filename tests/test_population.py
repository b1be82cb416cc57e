"""Age-sex population per LSOA 2021: LSOA 2011 estimates carried for unchanged, split, merged and complex
changes, and Census 2021 age bands split by sex with England's mid-2021 shares elsewhere."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.bundle.population import (
    CELLS,
    NATIONAL_MID2021_THOUSANDS,
    SOURCE_CENSUS,
    SOURCE_PROFILE,
    SOURCE_SAPE,
    carry_age_sex,
    census_split_matrix,
    largest_remainder,
)
from explorer.vocab import CENSUS_AGE6_BANDS


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
    long, sources = carry_age_sex(estimates, lookup, census)
    wide = long.pivot_table(index="lsoa21cd", columns=["sex", "age_band"], values="population")
    assert long.groupby("lsoa21cd")["population"].sum().to_dict() == census.to_dict()  # totals kept
    # every estimate cell is equal, so each 2021 LSOA's ten cells are equal shares of its census total
    assert (wide.loc["B21b"] == 20).all() and (wide.loc["CD21"] == 10).all()
    assert sources == {SOURCE_SAPE: 6, SOURCE_CENSUS: 0, SOURCE_PROFILE: 1}  # Z21: in no file, England's profile
    z = wide.loc["Z21"]
    assert z[("female", "65+")] > z[("male", "65+")]


def age6(code: str, **bands: int) -> dict:
    return {"lsoa21cd": code, **{f"age_{b}": bands.get("_" + b.replace("-", "_").replace("+", "_plus"), 0)
                                 for b in CENSUS_AGE6_BANDS}}


def test_lsoas_outside_the_estimates_get_their_own_census_ages_split_by_national_sex_shares():
    lookup = pd.DataFrame({"lsoa11cd": ["A11"], "lsoa21cd": ["A21"], "change": ["U"]})
    census = pd.Series({"A21": 100, "OLD": 1_000, "YOUNG": 1_000, "MID": 1_000, "NONE": 10})
    ages = pd.DataFrame([age6("A21", _0_15=100), age6("OLD", _65_plus=998),  # Census tables differ by a few
                         age6("YOUNG", _16_24=700, _25_34=300), age6("MID", _25_34=500, _35_49=500)])
    long, sources = carry_age_sex(pd.DataFrame([sape("A11", 10)]), lookup, census, ages)
    wide = long.pivot_table(index="lsoa21cd", columns=["sex", "age_band"], values="population")
    assert sources == {SOURCE_SAPE: 1, SOURCE_CENSUS: 3, SOURCE_PROFILE: 1}
    assert long.groupby("lsoa21cd")["population"].sum().to_dict() == census.to_dict()  # the TS021 totals
    assert (wide.loc["A21"] == 10).all()  # the estimates win where they cover
    old = wide.loc["OLD"]
    assert old.xs("65+", level="age_band").sum() == 1_000 and old[("female", "65+")] > old[("male", "65+")]
    young = wide.loc["YOUNG"]  # 16-24 and 25-29 go to 16-29, 30-34 to 30-44: nothing else
    assert young.xs("16-29", level="age_band").sum() + young.xs("30-44", level="age_band").sum() == 1_000
    share_30_34 = sum(NATIONAL_MID2021_THOUSANDS[(s, "30-34")] for s in ("female", "male")) / sum(
        NATIONAL_MID2021_THOUSANDS[(s, g)] for s in ("female", "male") for g in ("25-29", "30-34"))
    assert young.xs("30-44", level="age_band").sum() == pytest.approx(300 * share_30_34, abs=2)
    mid = wide.loc["MID"]
    assert mid.xs("45-64", level="age_band").sum() > 0 and mid.xs("0-15", level="age_band").sum() == 0
    assert wide.loc["NONE"].sum() == 10  # in neither file: England's profile


def test_split_matrix_rows_are_shares_and_keep_each_census_band_inside_its_bundle_bands():
    matrix = census_split_matrix()
    assert np.allclose(matrix.sum(axis=1), 1.0)
    bands = [band for _, band in CELLS]
    reach = {c: sorted({bands[j] for j in np.nonzero(matrix[i])[0]}) for i, c in enumerate(CENSUS_AGE6_BANDS)}
    assert reach == {"0-15": ["0-15"], "16-24": ["16-29"], "25-34": ["16-29", "30-44"],
                     "35-49": ["30-44", "45-64"], "50-64": ["45-64"], "65+": ["65+"]}


@pytest.mark.slow
def test_england_lsoas_outside_london_have_their_own_census_2021_age_structure(england_bundle, mirror):
    """On the mirror: every LSOA outside London's estimates takes its own Census 2021 ages."""
    manifest = england_bundle.manifest
    assert manifest["lsoas_by_age_structure_source"] == {SOURCE_SAPE: 4_994, SOURCE_CENSUS: 33_755 - 4_994,
                                                         SOURCE_PROFILE: 0}
    cells = england_bundle.age_sex.pivot_table(index="lsoa_code", columns="age_band", values="population",
                                               aggfunc="sum")
    population = england_bundle.lsoas.set_index("lsoa_code")["population"]
    assert cells.sum(axis=1).equals(population.reindex(cells.index).astype(cells.dtypes.iloc[0]))
    raw = pd.read_csv(mirror / "census2021_age6_LSOA21.csv")
    census = raw.pivot_table(index="LSOA21CD", columns="Age (6 categories)", values="Observation").reindex(cells.index)
    outside = ~england_bundle.lsoas.set_index("lsoa_code")["place_code"].str.startswith("E09").reindex(cells.index)
    scaled = census.div(census.sum(axis=1), axis=0).mul(population.reindex(cells.index), axis=0)[outside]
    for bundle_band, census_band in (("0-15", "Aged 15 years and under"), ("65+", "Aged 65 years and over")):
        assert (cells.loc[outside, bundle_band] - scaled[census_band]).abs().max() < 2  # one to one
    middle = scaled.drop(columns=["Aged 15 years and under", "Aged 65 years and over"]).sum(axis=1)
    assert (cells.loc[outside, ["16-29", "30-44", "45-64"]].sum(axis=1) - middle).abs().max() < 4
    share_65 = cells["65+"] / cells.sum(axis=1)
    retirement, students = share_65["E01019957"], share_65["E01035502"]  # East Devon 012B, Nottingham 028I
    assert retirement > 0.6 and students < 0.02


def test_national_figures_agree_with_the_census_band_totals_of_england(mirror):
    """The typed-in national figures, summed per Census band, are England's Census 2021 totals within 1%."""
    from explorer.bundle.population import CENSUS_SPLIT, SEXES
    from explorer.sources.readers import read_census_age6

    census = read_census_age6(mirror / "census2021_age6_LSOA21.csv")
    census = census[census["lsoa21cd"].str.startswith("E01")]
    for band, groups in CENSUS_SPLIT.items():
        national = 1000 * sum(NATIONAL_MID2021_THOUSANDS[(sex, group)] for sex in SEXES for group, _ in groups)
        assert national == pytest.approx(census[f"age_{band}"].sum(), rel=0.01), band
