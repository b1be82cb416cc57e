"""Area summaries and the hierarchy helpers."""

from __future__ import annotations

import pandas as pd
import pytest

from explorer.domain.geography import ancestry, area_summary, child_level, children, imd_weights, lsoas_in


def test_summary_has_one_row_per_area_with_the_documented_columns(london_bundle):
    for level, expected in (("ics", 5), ("place", 33), ("lsoa", 4_994)):
        table = area_summary(london_bundle.lsoas, london_bundle.areas, level)
        assert len(table) == expected
        assert list(table.columns) == ["area_code", "area_name", "parent_code", "population", "lsoa_count",
                                       "imd_score", "imd_prop_most_deprived_10pc", "core20_population_share"]
        assert table["population"].sum() == london_bundle.lsoas["population"].sum()


def test_imd_score_is_the_population_weighted_mean_and_decile1_share_counts_lsoas(london_bundle):
    lsoas = london_bundle.lsoas
    table = area_summary(lsoas, london_bundle.areas, "place").set_index("area_code")
    hackney = lsoas[lsoas["place_name"] == "Hackney"]
    code = hackney["place_code"].iloc[0]
    expected_score = (hackney["imd_score"] * hackney["population"]).sum() / hackney["population"].sum()
    assert table.loc[code, "imd_score"] == pytest.approx(expected_score)
    assert table.loc[code, "imd_prop_most_deprived_10pc"] == pytest.approx((hackney["imd_decile"] == 1).mean())
    core20 = hackney.loc[hackney["imd_decile"] <= 2, "population"].sum() / hackney["population"].sum()
    assert table.loc[code, "core20_population_share"] == pytest.approx(core20)


def test_icb_summaries_agree_with_lsoa_level_aggregation(london_bundle):
    lsoa_level = area_summary(london_bundle.lsoas, london_bundle.areas, "lsoa")
    ics = area_summary(london_bundle.lsoas, london_bundle.areas, "ics").set_index("area_code")
    joined = lsoa_level.merge(london_bundle.lsoas[["lsoa_code", "ics_code"]], left_on="area_code",
                              right_on="lsoa_code")
    decile1 = joined.groupby("ics_code")["imd_prop_most_deprived_10pc"].mean()
    pd.testing.assert_series_equal(decile1, ics["imd_prop_most_deprived_10pc"], check_names=False)


def test_drill_down_helpers_walk_the_hierarchy(london_bundle):
    areas = london_bundle.areas
    lsoa = london_bundle.lsoas.iloc[100]
    chain = ancestry(areas, lsoa["lsoa_code"])
    assert [level for level, _, _ in chain] == ["ics", "place", "pcn", "lsoa"]
    assert chain[0][1] == lsoa["ics_code"] and chain[2][1] == lsoa["pcn_code"]
    assert lsoa["place_code"] in set(children(areas, lsoa["ics_code"])["area_code"])
    assert child_level("pcn") == "lsoa" and child_level("lsoa") is None
    assert set(lsoas_in(london_bundle.lsoas, areas, lsoa["pcn_code"])["pcn_code"]) == {lsoa["pcn_code"]}


def test_imd_score_is_weighted_by_file_7_population_when_the_file_has_it(london_bundle):
    """MHCLG weights its area summaries by File 7's own mid-year population, not the Census."""
    lsoas = london_bundle.lsoas.copy()
    assert imd_weights(lsoas).equals(lsoas["population"].astype(float))  # the mirror: no denominators
    lsoas["imd_population"] = (lsoas["population"] * (1 + (lsoas["imd_decile"] <= 2))).astype("Int64")
    table = area_summary(lsoas, london_bundle.areas, "place").set_index("area_code")
    hackney = lsoas[lsoas["place_name"] == "Hackney"]
    weights = hackney["imd_population"].astype(float)
    expected = (hackney["imd_score"] * weights).sum() / weights.sum()
    assert table.loc[hackney["place_code"].iloc[0], "imd_score"] == pytest.approx(expected)
    census_weighted = area_summary(london_bundle.lsoas, london_bundle.areas, "place").set_index("area_code")
    assert table.loc[hackney["place_code"].iloc[0], "imd_score"] > census_weighted.loc[
        hackney["place_code"].iloc[0], "imd_score"]  # deprived LSOAs weigh more here
    assert table["population"].equals(census_weighted["population"])  # population stays the Census count


@pytest.mark.slow
def test_every_ics_and_place_in_england_follows_mhclgs_method(england_bundle, mirror):
    """All 42 ICSs and 296 places, recomputed straight from the mirror's File 7, ICB lookup and Census
    totals: share of LSOAs in national decile 1 (exact) and the population-weighted IMD score."""
    file7 = pd.read_csv(mirror / "File_7_IoD2025_LSOA21_subset.csv")
    decile = next(c for c in file7.columns if c.startswith("Index of Multiple Deprivation (IMD) Decile"))
    imd = file7.set_index("LSOA code (2021)")[[decile, "Index of Multiple Deprivation (IMD) Score"]]
    imd.columns = ["decile", "score"]
    lookup = pd.read_csv(mirror / "LSOA21_SICBL24_ICB24_LAD24_EN_LU.csv").set_index("LSOA21CD")
    census = pd.read_csv(mirror / "census2021_TS021_ethnic_group_LSOA21.csv")
    people = census.groupby("LSOA21CD")["Observation"].sum()  # the five groups: all usual residents
    joined = lookup[["ICB24CD", "LAD24CD"]].join(imd, how="inner").join(people.rename("people"), how="inner")
    assert len(joined) == 33_755
    # the mirror's File 7 subset has no population denominators, so the weights are Census 2021's
    assert not [c for c in file7.columns if "population" in c.lower() or "denominator" in c.lower()]
    for level, column, count in (("ics", "ICB24CD", 42), ("place", "LAD24CD", 296)):
        groups = joined.groupby(column)
        decile1 = groups["decile"].apply(lambda d: (d == 1).sum() / len(d))
        score = (joined["score"] * joined["people"]).groupby(joined[column]).sum() / groups["people"].sum()
        ours = area_summary(england_bundle.lsoas, england_bundle.areas, level).set_index("area_code")
        assert len(ours) == count and set(ours.index) == set(decile1.index)
        assert (ours["imd_prop_most_deprived_10pc"] == decile1.reindex(ours.index)).all(), level  # exact
        pd.testing.assert_series_equal(ours["imd_score"], score.reindex(ours.index), check_names=False, rtol=1e-9)
        assert (ours["lsoa_count"] == groups.size().reindex(ours.index)).all()
