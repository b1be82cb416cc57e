"""The processed bundle for London (and England): counts, nesting, boundaries, atomic writes."""

from __future__ import annotations

import json
import shutil

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from explorer.bundle import boundaries as geo
from explorer.config import Settings
from explorer.errors import ExplorerError
from explorer.services.build import build_region
from explorer.synth.practices import generate_gp_files, pcn_count


def test_london_has_the_official_counts(london_bundle):
    counts = london_bundle.manifest["counts"]
    assert (counts["lsoa"], counts["place"], counts["ics"]) == (4_994, 33, 5)
    assert 190 <= counts["pcn"] <= 210  # NHS Digital's map: 199 PCNs in London's five ICBs
    practices = london_bundle.practices
    assert 1_100 <= int(practices["in_region"].sum()) <= 1_250 < counts["practices"] == len(practices)
    assert 8.5e6 < counts["population"] < 9.3e6


def test_every_lsoa_is_in_exactly_one_place_ics_and_pcn_and_places_nest_in_icss(london_bundle):
    lsoas, areas = london_bundle.lsoas, london_bundle.areas
    assert lsoas["lsoa_code"].is_unique
    assert lsoas[["place_code", "ics_code", "pcn_code"]].notna().all().all()
    assert (lsoas.groupby("place_code")["ics_code"].nunique() == 1).all()
    # PCNs nest in places, except where no PCN is based in a place (the City of London)
    outside = lsoas["pcn_code"].map(areas.set_index("area_code")["parent_code"]) != lsoas["place_code"]
    assert outside.sum() == london_bundle.manifest["lsoas_in_a_pcn_based_in_another_place"] < 10
    assert (lsoas[~outside].groupby("pcn_code")["place_code"].nunique() == 1).all()
    parents = areas.set_index("area_code")["parent_code"]
    for level, parent in (("place", "ics"), ("pcn", "place"), ("lsoa", "pcn")):
        level_areas = areas[areas["level"] == level]
        assert level_areas["parent_code"].isin(areas.loc[areas["level"] == parent, "area_code"]).all()
    sample = lsoas[~outside].iloc[0]
    assert parents[sample["pcn_code"]] == sample["place_code"] and parents[sample["place_code"]] == sample["ics_code"]


def test_lsoa_table_has_deprivation_population_and_demographics(london_bundle):
    lsoas = london_bundle.lsoas
    for column in ("imd_score", "imd_rank", "imd_decile", "imd_quintile", "core20", "income_score",
                   "living_environment_decile", "population", "ethnic_white", "disabled", "urban_rural",
                   "place_name", "ics_name", "sicbl_code"):
        assert column in lsoas.columns, column
    assert lsoas["core20"].equals(lsoas["imd_decile"] <= 2)
    assert (lsoas["imd_quintile"] == np.ceil(lsoas["imd_decile"] / 2)).all()
    assert (lsoas["disabled"] + lsoas["not_disabled"] - lsoas["population"]).abs().max() < 50


def test_age_sex_table_adds_up_to_each_lsoas_population(london_bundle):
    totals = london_bundle.age_sex.groupby("lsoa_code")["population"].sum()
    assert totals.equals(london_bundle.lsoas.set_index("lsoa_code")["population"].rename("population")
                         .reindex(totals.index))
    assert set(london_bundle.age_sex["age_band"]) == {"0-15", "16-29", "30-44", "45-64", "65+"}
    assert london_bundle.manifest["lsoas_given_england_age_profile"] == 0


def test_pcn_polygons_cover_london_without_overlaps_or_gaps(london_bundle):
    lsoa = london_bundle.boundaries("lsoa").to_crs(27700)
    pcn = london_bundle.boundaries("pcn").to_crs(27700)
    assert len(pcn) == london_bundle.manifest["counts"]["pcn"]
    overlap, gaps = geo.overlap_and_gap_area(pcn.geometry)
    london_area = float(shapely.union_all(lsoa.geometry.values).area)
    assert overlap / london_area < 1e-4 and gaps / london_area < 1e-4  # 1 m rounding only
    assert abs(pcn.area.sum() - london_area) / london_area < 1e-4


def test_boundaries_are_wgs84_rounded_and_small_enough_for_the_web(london_bundle):
    for level in ("lsoa", "place", "ics", "pcn"):
        frame = london_bundle.boundaries(level)
        assert frame.crs.to_epsg() == 4326
        coords = shapely.get_coordinates(frame.geometry.values[:50])
        assert np.allclose(coords, np.round(coords, 5))
    assert london_bundle.manifest["boundary_geojson_kb"]["lsoa"] < 4_000


def test_manifest_records_sources_with_checksums_and_the_real_gp_data(london_bundle):
    manifest = london_bundle.manifest
    assert set(manifest["sources"]) >= {"imd2025", "lsoa_icb_lookup", "lsoa_boundaries_bgc",
                                        "gp_registrations_lsoa", "gp_practice_map"}
    assert all(len(s["sha256"]) == 64 for s in manifest["sources"].values())
    assert manifest["gp_registrations"].startswith("NHS England")


def test_pcn_count_keeps_mean_size_in_range():
    for registered in (60_000, 95_000, 200_000, 410_000):
        assert 30_000 <= registered / pcn_count(registered) <= 50_000


def test_gp_generator_is_deterministic_for_a_seed():
    rng = np.random.default_rng(1)
    lsoas = pd.DataFrame({
        "lsoa21cd": [f"E0100{i:04d}" for i in range(40)], "lad_code": ["E09000001"] * 40, "lad_name": ["Town"] * 40,
        "sicbl_code": ["E38000001"] * 40, "sicbl_name": ["S"] * 40, "icb_code": ["E54000001"] * 40,
        "icb_ods": ["QAA"] * 40, "icb_name": ["ICB"] * 40, "x": rng.uniform(0, 5000, 40),
        "y": rng.uniform(0, 5000, 40), "female": [800] * 40, "male": [780] * 40,
    })
    a, b = generate_gp_files(lsoas, seed=7), generate_gp_files(lsoas, seed=7)
    assert a.registrations.equals(b.registrations) and a.practice_map.equals(b.practice_map)
    assert a.registrations["NUMBER_OF_PATIENTS"].sum() == 40 * 1_580
    assert not a.registrations.equals(generate_gp_files(lsoas, seed=8).registrations)


def test_a_failed_build_keeps_the_previous_bundle(london_bundle, tmp_path):
    settings = Settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "data", mirror=london_bundle.directory)
    shutil.copytree(london_bundle.directory, settings.bundle_dir("london"))
    before = (settings.bundle_dir("london") / "manifest.json").read_text()
    with pytest.raises(ExplorerError):  # this 'mirror' holds no source files
        build_region(settings, "london")
    assert (settings.bundle_dir("london") / "manifest.json").read_text() == before
    assert not [p for p in settings.bundle_dir("london").parent.iterdir() if p.name.startswith(".")]


def test_unknown_region_is_refused(settings):
    with pytest.raises(ExplorerError, match="unknown region"):
        build_region(settings, "wales")


@pytest.mark.slow
def test_england_has_the_official_counts(england_bundle):
    counts = england_bundle.manifest["counts"]
    assert (counts["lsoa"], counts["place"], counts["ics"]) == (33_755, 296, 42)
    areas = england_bundle.areas
    assert areas.loc[areas["level"] == "place", "area_code"].is_unique
    lsoas = england_bundle.lsoas
    outside = lsoas["pcn_code"].map(areas.set_index("area_code")["parent_code"]) != lsoas["place_code"]
    assert outside.sum() == england_bundle.manifest["lsoas_in_a_pcn_based_in_another_place"] < 50
    assert (lsoas[~outside].groupby("pcn_code")["place_code"].nunique() == 1).all()
    assert len(gpd.read_parquet(england_bundle.directory / "boundaries_ics.parquet")) == 42
    assert json.loads((england_bundle.directory / "manifest.json").read_text())["region"] == "england"
