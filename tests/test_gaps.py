"""Where the data is weakest (issue 17, point 4): registered against resident population checked by
hand against the NHS Digital and Census files, the record gaps from the engine, the importer's
not-stated values, and every number through the disclosure rule (app tables, CLI)."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from explorer.cli import app
from explorer.domain import access, gaps
from explorer.domain.disclosure import DisclosurePolicy, round_counts
from explorer.domain.metrics import AreaIndex, Filters
from explorer.records.imports import ImportContext, validate_extract
from explorer.records.schema import LAYOUTS
from explorer.services.gaps import area_gaps, quintile_gaps, record_metrics

runner = CliRunner()
#: Worked by hand from the files (two LSOAs unchanged 2011 -> 2021, so no conversion is involved):
#: patients of practices in the January 2024 map whose LSOA is the code (gp-reg-pat-prac-lsoa-all.csv,
#: July 2023), and the sum of the five TS021 groups (Census 2021 usual residents).
HAND = {"E01001715": (1_667, 1_284),  # Hackney
        "E01000907": (1_703, 1_487)}  # Camden
COUNTS = ("registered", "residents", "ethnicity_not_stated_numerator", "plans_missing_key_items_numerator",
          "plans_missing_key_items_denominator")


def _from_files(mirror) -> dict[str, tuple[int, int]]:
    """The two LSOAs' figures read straight from the mirror with pandas (no bundle code)."""
    with zipfile.ZipFile(mirror / "gp-reg-pat-prac-lsoa-male-female-Jul-23.zip") as zf:
        reg = pd.read_csv(zf.open("gp-reg-pat-prac-lsoa-all.csv"), usecols=["PRACTICE_CODE", "LSOA_CODE",
                                                                             "NUMBER_OF_PATIENTS"])
    practices = set(pd.read_csv(mirror / "gp-reg-pat-prac-map.csv", usecols=["PRACTICE_CODE"])["PRACTICE_CODE"])
    census = pd.read_csv(mirror / "census2021_TS021_ethnic_group_LSOA21.csv")
    lookup = pd.read_csv(mirror / "LSOA11_LSOA21_LAD22_EW_LU.csv", usecols=["LSOA11CD", "LSOA21CD", "CHGIND"])
    out = {}
    for code in HAND:
        assert lookup.loc[lookup["LSOA21CD"] == code, "CHGIND"].tolist() == ["U"]
        rows = reg[(reg["LSOA_CODE"] == code) & reg["PRACTICE_CODE"].isin(practices)]
        out[code] = (int(rows["NUMBER_OF_PATIENTS"].sum()),
                     int(census.loc[census["LSOA21CD"] == code, "Observation"].sum()))
    return out


def test_registered_and_resident_counts_match_the_files_by_hand(mirror, london_bundle):
    assert _from_files(mirror) == HAND
    b = london_bundle
    index = AreaIndex(b.lsoas, b.areas, b.region_code, b.region_name)
    raw = gaps.registration_by_area(gaps.lsoa_registrations(b.lsoas, b.practice_shares), index, "lsoa")
    raw = raw.set_index("area_code")
    controlled = gaps.control_registration(raw.reset_index(), DisclosurePolicy(), siblings="parent_code")
    controlled = controlled.set_index("area_code")
    for code, (registered, residents) in HAND.items():
        assert (raw.loc[code, "registered"], raw.loc[code, "residents"]) == (registered, residents)
        shown = (int(round_counts(registered, 5)), int(round_counts(residents, 5)))
        assert (controlled.loc[code, "registered"], controlled.loc[code, "residents"]) == shown
        assert controlled.loc[code, gaps.RATIO] == pytest.approx(100 * shown[0] / shown[1])
    # Hackney's LSOA has 129.8 registered per 100 residents, Camden's 114.5 (shown from rounded counts)
    assert controlled.loc["E01001715", gaps.RATIO] == pytest.approx(100 * 1_665 / 1_285)


def test_area_sums_are_the_lsoas_sums(london_bundle):
    b = london_bundle
    index = AreaIndex(b.lsoas, b.areas, b.region_code, b.region_name)
    per = gaps.lsoa_registrations(b.lsoas, b.practice_shares)
    ics = gaps.registration_by_area(per, index, "ics")
    region = gaps.registration_by_area(per, index, "region")
    assert ics["residents"].sum() == region["residents"].iloc[0] == b.lsoas["population"].sum()
    assert ics["registered"].sum() == region["registered"].iloc[0] > 1.1 * region["residents"].iloc[0]
    quintiles = gaps.registration_by_quintile(per, index, "region", b.region_code)
    assert quintiles["residents"].sum() == region["residents"].iloc[0]


@pytest.mark.parametrize("role", ["commissioner", "strategist", "social_care"])
def test_every_gap_count_is_controlled_for_non_analysts(london_app_data, role):
    data = london_app_data
    policy = access.disclosure_policy_for(role)
    level = "lsoa" if role == "commissioner" else "pcn"
    ics = data.geometry["ics"].codes[0]
    frames = [area_gaps(data, level, ics, policy, role), quintile_gaps(data, ics, policy, role)]
    for frame in frames:
        for column in (c for c in COUNTS if c in frame):
            x = pd.to_numeric(frame[column], errors="coerce").dropna().to_numpy(float)
            assert not ((x > 0) & (x < 8)).any(), (role, column)
            assert (x % 5 == 0).all(), (role, column)
    assert ("plans_missing_key_items" in record_metrics(data, role)) == (role != "social_care")


def test_ethnicity_not_stated_is_the_records_share_and_shows_by_deprivation(london_app_data, london_records):
    data = london_app_data
    raw = data.raw_table("region", "ethnicity_not_stated", Filters(), None)
    share = raw["ethnicity_not_stated_numerator"].iloc[0] / raw["ethnicity_not_stated_denominator"].iloc[0]
    assert share == pytest.approx(london_records["calibration"]["ethnicity_not_recorded_share"], abs=0.002)
    table = quintile_gaps(data, None, access.disclosure_policy_for("commissioner"), "commissioner")
    assert list(table["group"].astype(str)) == ["1", "2", "3", "4", "5"]
    values = pd.to_numeric(table["ethnicity_not_stated"], errors="coerce")
    assert values.between(5, 15).all()
    num = pd.to_numeric(table["ethnicity_not_stated_numerator"], errors="coerce")
    den = pd.to_numeric(table["ethnicity_not_stated_denominator"], errors="coerce")
    assert np.allclose(values, 100 * num / den)  # the share is formed from the rounded counts


def test_importer_counts_not_stated_values_instead_of_refusing_the_row():
    rows = [{"person_id": f"P{i}", "practice_code": "A81001", "lsoa_code": "E01001715", "sex": "female",
             "age": "70", "ethnic_group": eth, "disabled": dis, "ltc_count": "1", "frailty": fr,
             "admissions_prev_12m": "0", "admitted_next_12m": "N"}
            for i, (eth, dis, fr) in enumerate([("White", "N", "fit"), ("Not stated", "unknown", "not known"),
                                                ("Z", "", "mild"), ("", "Y", ""), ("99", "N", "fit")])]
    frame = pd.DataFrame(rows, dtype="str")
    typed, problems = validate_extract(frame, LAYOUTS["people"], ImportContext(file="people.csv",
                                                                               extract_date=pd.Timestamp("2026-10-31").date()))
    assert problems == []
    assert typed["ethnic_group"].tolist() == ["white", "not_stated", "not_stated", "not_stated", "not_stated"]
    assert typed["disabled"].isna().tolist() == [False, True, True, False, False]
    assert typed["frailty"].tolist() == ["fit", "not_assessed", "mild", "not_assessed", "fit"]
    assert typed.attrs["import"]["not_stated"] == {"ethnic_group": 4, "disabled": 2, "frailty": 2}
    bad = frame.assign(sex=["female", "not stated", "male", "female", "female"])
    _, problems = validate_extract(bad, LAYOUTS["people"], ImportContext(file="people.csv",
                                                                         extract_date=pd.Timestamp("2026-10-31").date()))
    assert [(p.row, p.column) for p in problems] == [(3, "sex")]  # sex is never "not stated"


@pytest.fixture()
def env(cli_env, london_app_data, tmp_path, monkeypatch):
    from explorer.services import app_data

    monkeypatch.setattr(app_data.AppData, "load", classmethod(lambda cls, *a, **k: london_app_data))
    monkeypatch.setenv("EXPLORER_AUDIT_LOG", str(tmp_path / "audit.log"))
    return tmp_path / "audit.log"


def test_cli_gaps_csv_json_and_plain_errors(env, london_app_data):
    result = runner.invoke(app, ["gaps", "--level", "place", "--format", "csv"])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.StringIO(result.stdout))
    assert len(frame) == len(london_app_data.geometry["place"].codes) and frame["data"].eq("SYNTHETIC").all()
    assert {"registered", "residents", "registered_per_100_residents", "ethnicity_not_stated",
            "plans_missing_key_items"} <= set(frame.columns)
    assert (frame["registered"] % 5 == 0).all()
    ics = london_app_data.geometry["ics"].codes[0]
    result = runner.invoke(app, ["gaps", "--by", "imd_quintile", "--area", ics, "--role", "social_care",
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["role"] == "social_care" and len(payload["rows"]) == 5
    assert "plans_missing_key_items" not in payload["rows"][0]  # clinical content withheld
    result = runner.invoke(app, ["gaps", "--level", "lsoa", "--role", "strategist"])
    assert result.exit_code == 3 and "Traceback" not in result.output
    result = runner.invoke(app, ["gaps", "--area", "E99999999"])
    assert result.exit_code == 2 and "unknown area code" in result.output
    assert "cli_gaps" in env.read_text()
