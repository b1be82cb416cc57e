"""Real GP registrations: the official files read once per session, carried to LSOA 2021 with every
patient accounted for, PCNs from the map; and bad files refused with file, row and column."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from explorer.bundle import build
from explorer.bundle.pcn import UNALLOCATED, pcn_weights
from explorer.bundle.registrations import (
    DROPPED_NO_LSOA,
    DROPPED_WELSH,
    UNMATCHED_PRACTICE,
    convert_registrations,
)
from explorer.cli.data import gp_accounting_lines
from explorer.config import Settings
from explorer.domain.geography import apportioned_pcn_summary
from explorer.errors import SourceFormatError
from explorer.services.build import gp_files
from explorer.sources import readers
from explorer.sources.fetch import cached_source
from explorer.synth.practices import MAP_COLUMNS, REGISTRATION_COLUMNS

LONDON_ICBS = {"E54000027", "E54000028", "E54000029", "E54000030", "E54000031"}


# --------------------------------------------------------------------------- the real files (mirror)


@pytest.fixture(scope="session")
def gp_raw(settings):
    """The official zip, through the registry and fetch path, read once per session (868,505 rows)."""
    return readers.read_gp_registrations(cached_source(settings, "gp_registrations_lsoa"))


@pytest.fixture(scope="session")
def gp_map(settings):
    return readers.read_gp_practice_map(cached_source(settings, "gp_practice_map"))


@pytest.fixture(scope="session")
def gp_converted(settings, gp_raw, gp_map):
    lookup = readers.read_lsoa11_lookup(cached_source(settings, "lsoa11_lsoa21_lookup"))
    census = readers.read_census_ethnicity(cached_source(settings, "census_ethnicity"))
    return convert_registrations(gp_raw, lookup, census.set_index("lsoa21cd").sum(axis=1),
                                 set(gp_map["practice_code"]), lsoa_year=2011, file="gp-reg-pat-prac-lsoa-all.csv")


def test_registry_reads_the_official_zip_and_the_csv_inside_it(settings):
    path = cached_source(settings, "gp_registrations_lsoa")
    assert path.suffix == ".zip" and path.read_bytes()[:2] == b"PK"


def test_the_file_holds_the_published_england_total(gp_raw):
    assert int(gp_raw["patients"].sum()) == 62_581_556
    assert (len(gp_raw), gp_raw["practice_code"].nunique()) == (868_505, 6_378)


def test_every_patient_is_converted_dropped_or_unmatched_with_a_reason(gp_converted):
    acc = gp_converted.accounting
    dropped = sum(v["patients"] for v in acc["dropped"].values())
    unmatched = sum(v["patients"] for v in acc["unmatched"].values())
    assert acc["patients_in_file"] == 62_581_556
    assert acc["converted"] + dropped + unmatched == 62_581_556
    assert int(gp_converted.registrations["patients"].sum()) == acc["converted"]
    assert acc["dropped"][DROPPED_WELSH]["patients"] == 13_769
    assert acc["dropped"][DROPPED_NO_LSOA]["patients"] == 23_317
    assert acc["unmatched"][UNMATCHED_PRACTICE]["patients"] == 292_660  # 292,745 less 85 in Welsh/NO2011 rows
    assert (acc["practices_not_in_map"], acc["practices_not_in_map_patients"]) == (55, 292_745)


def test_conversion_keeps_each_practices_patients_and_lands_on_2021_codes(gp_raw, gp_converted, settings):
    lookup = readers.read_lsoa11_lookup(cached_source(settings, "lsoa11_lsoa21_lookup"))
    converted = gp_converted.registrations
    assert converted["lsoa_code"].isin(set(lookup["lsoa21cd"])).all()
    assert converted["lsoa_code"].str.startswith("E01").all()
    england = gp_raw[gp_raw["lsoa_code"].str.startswith("E01")]
    before = england.groupby("practice_code")["patients"].sum()
    after = converted.groupby("practice_code")["patients"].sum()
    assert after.equals(before.reindex(after.index))
    # a split 2011 LSOA's patients spread over its 2021 LSOAs, in whole patients
    split = lookup[lookup["change"] == "S"]
    code = split["lsoa11cd"].iloc[0]
    targets = set(split.loc[split["lsoa11cd"] == code, "lsoa21cd"])
    assert len(targets) >= 2
    assert converted[converted["lsoa_code"].isin(targets)]["lsoa_code"].nunique() == len(targets)


def test_every_practice_is_in_exactly_one_pcn_and_london_has_about_200(gp_map):
    assert gp_map["practice_code"].is_unique and gp_map["pcn_code"].ne("").all()
    allocated = gp_map[gp_map["pcn_code"] != UNALLOCATED]
    assert (allocated.groupby("practice_code")["pcn_code"].nunique() == 1).all()
    assert allocated["pcn_code"].nunique() == 1_272 and gp_map["icb_code"].nunique() == 42
    assert 190 <= allocated.loc[allocated["icb_code"].isin(LONDON_ICBS), "pcn_code"].nunique() <= 210


def test_pcn_weights_of_each_lsoa_sum_to_one(gp_converted, gp_map):
    weights = pcn_weights(gp_converted.registrations, gp_map)
    sums = weights.groupby("lsoa_code")["weight"].sum()
    assert ((sums - 1).abs() < 1e-9).all() and len(sums) > 33_000
    assert (weights["weight"] > 0).all()


def test_london_bundle_has_the_real_pcns_weights_and_accounting(london_bundle):
    manifest = london_bundle.manifest
    assert manifest["gp_registrations"].startswith("NHS England")
    assert manifest["gp_accounting"]["converted"] == 62_251_810
    pcns = london_bundle.pcns
    assert 190 <= len(pcns) <= 210 and pcns["ics_code"].isin(LONDON_ICBS).mean() > 0.95
    assert pcns["crosses_place"].sum() == manifest["pcns"]["crossing_place_boundary"] > 0
    weights = london_bundle.pcn_weights
    assert list(weights.columns) == ["lsoa_code", "pcn_code", "patients", "weight"]
    assert ((weights.groupby("lsoa_code")["weight"].sum() - 1).abs() < 1e-9).all()
    # the LSOA's drawn PCN is one of those its patients are registered with
    drawn = london_bundle.lsoas.set_index("lsoa_code")["pcn_code"]
    pairs = set(zip(weights["lsoa_code"], weights["pcn_code"]))
    assert sum((lsoa, pcn) in pairs for lsoa, pcn in drawn.items()) / len(drawn) > 0.99


def test_build_output_reports_dropped_and_unmatched_patients(london_bundle):
    text = gp_accounting_lines(london_bundle.manifest)
    assert "62,581,556 patients" in text and "Welsh" in text and "NO2011" in text
    assert "55 practices (292,745 patients)" in text


# --------------------------------------------------------------------------- bad files (crafted)

HEADER = "PUBLICATION,EXTRACT_DATE,PRACTICE_CODE,PRACTICE_NAME,LSOA_CODE,SEX,NUMBER_OF_PATIENTS\n"
MAP_HEADER = "PRACTICE_CODE,PRACTICE_NAME,PCN_CODE,PCN_NAME,ONS_SUB_ICB_LOCATION_CODE,ONS_ICB_CODE\n"
LOOKUP = pd.DataFrame({"lsoa11cd": ["E01000001", "E01000002", "E01000002"],
                       "lsoa21cd": ["E01000001", "E01035001", "E01035002"], "change": ["U", "S", "S"]})


def _row(practice: str, lsoa: str, n: object) -> str:
    return f"GP_PRAC_PAT_LIST,01Jul2023,{practice},P,{lsoa},ALL,{n}\n"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_missing_column_is_named(tmp_path):
    path = _write(tmp_path, "regs.csv", HEADER.replace(",NUMBER_OF_PATIENTS", "") + "x,y,A1,P,E01000001,ALL\n")
    with pytest.raises(SourceFormatError, match=r"file regs\.csv, column 'patients'"):
        readers.read_gp_registrations(path)


def test_a_zip_without_the_all_file_is_refused(tmp_path):
    path = tmp_path / "gp.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("gp-reg-pat-prac-lsoa-male.csv", HEADER + _row("A1", "E01000001", 5))
    with pytest.raises(SourceFormatError, match=r"gp\.zip: the zip archive holds no gp-reg-pat-prac-lsoa-all\.csv"):
        readers.read_gp_registrations(path)


def test_2021_codes_where_2011_were_expected_are_refused_by_row(tmp_path):
    path = _write(tmp_path, "regs.csv", HEADER + _row("A1", "E01000001", 5) + _row("A1", "E01035001", 3))
    regs = readers.read_gp_registrations(path)
    with pytest.raises(SourceFormatError, match=r"row 3, column 'lsoa_code'.*LSOA 2021 code"):
        convert_registrations(regs, LOOKUP, pd.Series(dtype=float), {"A1"}, lsoa_year=2011, file=path.name)


def test_duplicated_practice_lsoa_rows_are_refused(tmp_path):
    path = _write(tmp_path, "regs.csv", HEADER + _row("A1", "E01000001", 5) + _row("A1", "E01000001", 2))
    with pytest.raises(SourceFormatError, match=r"regs\.csv, row 3, column 'lsoa_code'.*more than one row"):
        readers.read_gp_registrations(path)


def test_negative_counts_are_refused(tmp_path):
    path = _write(tmp_path, "regs.csv", HEADER + _row("A1", "E01000001", 5) + _row("A2", "E01000001", -2))
    with pytest.raises(SourceFormatError, match=r"row 3, column 'patients'.*negative"):
        readers.read_gp_registrations(path)


def test_a_practice_in_two_pcns_is_refused(tmp_path):
    path = _write(tmp_path, "map.csv", MAP_HEADER + "A1,P,U1,PCN 1,E38000001,E54000001\n"
                  "A2,Q,U1,PCN 1,E38000001,E54000001\nA1,P,U2,PCN 2,E38000001,E54000001\n")
    with pytest.raises(SourceFormatError, match=r"map\.csv, row 4, column 'pcn_code'.*two PCNs \(U1, U2"):
        readers.read_gp_practice_map(path)


def test_split_lsoas_share_patients_exactly_and_equally_without_census(tmp_path):
    path = _write(tmp_path, "regs.csv", HEADER + _row("A1", "E01000002", 7) + _row("A1", "W01000001", 2)
                  + _row("A1", "NO2011", 1) + _row("B9", "E01000001", 4))
    regs = readers.read_gp_registrations(path)
    converted = convert_registrations(regs, LOOKUP, pd.Series(dtype=float), {"A1"}, lsoa_year=2011, file="x")
    assert sorted(converted.registrations["patients"]) == [3, 4]  # 7 split equally: 4 + 3
    acc = converted.accounting
    assert (acc["converted"], acc["dropped"][DROPPED_WELSH]["patients"], acc["practices_not_in_map"]) == (7, 2, 1)
    by_pop = convert_registrations(regs, LOOKUP, pd.Series({"E01035001": 100.0, "E01035002": 300.0}), {"A1"},
                                   lsoa_year=2011, file="x").registrations
    assert by_pop.set_index("lsoa_code")["patients"].to_dict() == {"E01035001": 2, "E01035002": 5}


def test_bad_registration_files_leave_the_previous_bundle_untouched(london_bundle, tmp_path):
    settings = Settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "data", mirror=london_bundle.directory)
    shutil.copytree(london_bundle.directory, settings.bundle_dir("london"))
    before = (settings.bundle_dir("london") / "manifest.json").read_text()
    regs = _write(tmp_path, "regs.csv", HEADER + _row("A1", "E01000001", -1))
    practice_map = _write(tmp_path, "map.csv", MAP_HEADER + "A1,P,U1,PCN 1,E38000001,E54000001\n")
    geography = build.Geography(region="london", lsoas=london_bundle.lsoas, age_sex=london_bundle.age_sex,
                                england_profile=0, shapes=None, centroids=None)
    with pytest.raises(SourceFormatError, match="negative"):
        build.build_bundle(settings, geography, build.GPFiles(registrations=regs, practice_map=practice_map,
                                                               synthetic=False))
    assert (settings.bundle_dir("london") / "manifest.json").read_text() == before
    assert json.loads(before)["gp_registrations"].startswith("NHS England")


# --------------------------------------------------------------------------- the synthetic fallback


def test_without_the_official_files_the_build_falls_back_to_synthetic_ones_and_says_so(london_bundle, tmp_path):
    empty_mirror = tmp_path / "mirror"
    empty_mirror.mkdir()
    settings = Settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "data", mirror=empty_mirror)
    lsoas = london_bundle.lsoas[london_bundle.lsoas["place_code"] == "E09000007"]  # Camden
    geography = build.Geography(
        region="london", lsoas=lsoas, england_profile=0, shapes=None,
        age_sex=london_bundle.age_sex[london_bundle.age_sex["lsoa_code"].isin(lsoas["lsoa_code"])]
        .rename(columns={"lsoa_code": "lsoa21cd"}),
        centroids=lsoas.set_index("lsoa_code")[["bng_x", "bng_y"]].set_axis(["x", "y"], axis=1))
    files = gp_files(settings, geography, seed=3)
    assert files.synthetic and files.lsoa_year == 2021
    assert "gp-reg-pat-prac-lsoa-male-female-Jul-23.zip" in files.note
    regs = pd.read_csv(files.registrations)
    practice_map = pd.read_csv(files.practice_map)
    assert list(regs.columns) == REGISTRATION_COLUMNS and list(practice_map.columns) == MAP_COLUMNS
    assert int(regs["NUMBER_OF_PATIENTS"].sum()) == int(lsoas["population"].sum())
    sizes = regs.merge(practice_map, on="PRACTICE_CODE").groupby("PCN_CODE")["NUMBER_OF_PATIENTS"].sum()
    assert sizes.between(30_000, 50_000).mean() > 0.8


def test_pcn_deprivation_comes_from_where_its_registered_patients_live(london_bundle):
    weights, lsoas = london_bundle.pcn_weights, london_bundle.lsoas
    summary = apportioned_pcn_summary(lsoas, weights).set_index("pcn_code")
    assert summary["registered"].sum() == weights["patients"].sum()
    assert abs(summary["residents"].sum() - lsoas["population"].sum()) < 1  # residents apportioned, none lost
    one = summary.index[0]
    mine = weights[weights["pcn_code"] == one].merge(lsoas, on="lsoa_code")
    assert summary.loc[one, "imd_score"] == pytest.approx((mine["patients"] * mine["imd_score"]).sum()
                                                         / mine["patients"].sum())
    assert summary["decile1_share"].between(0, 1).all() and summary["core20_share"].ge(summary["decile1_share"]).all()
