"""Source readers: tolerant of header variants and encodings, clear about malformed files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from explorer.errors import SourceFormatError
from explorer.sources import readers
from explorer.sources.tabular import normalise_header

IMD_HEADER = (
    "LSOA code (2021),LSOA name (2021)," + ",".join(
        f'"{d} {kind}"' for kind, suffix in (("Score", ""), ("Rank (where 1 is most deprived)", ""),
                                           ("Decile (where 1 is most deprived 10% of LSOAs)", ""))
        for d in ("Index of Multiple Deprivation (IMD)", "Income", "Employment", "Education, Skills and Training",
                  "Health Deprivation and Disability", "Crime", "Barriers to Housing and Services",
                  "Living Environment")
    )
)


def imd_row(code: str, decile: int = 3) -> str:
    return f"{code},Somewhere 001A," + ",".join(["12.5"] * 8 + ["100"] * 8 + [str(decile)] * 8)


def write(tmp_path: Path, text: str | bytes, name: str = "file.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return path


def test_header_normalisation_ignores_case_punctuation_and_spacing():
    assert normalise_header("LSOA code (2021)") == "lsoa code 2021"
    assert normalise_header("Males_65+") == "males 65"


def test_imd_reader_accepts_published_headers_in_any_order(tmp_path):
    path = write(tmp_path, IMD_HEADER + "\n" + imd_row("E01000001") + "\n" + imd_row("E01000002", 10) + "\n")
    table = readers.read_imd(path)
    assert table["imd_decile"].tolist() == [3, 10]
    assert table["living_environment_score"].iloc[0] == pytest.approx(12.5)


def test_imd_reader_keeps_file_7_population_denominators_when_published(tmp_path):
    header = IMD_HEADER + ',"Total population: mid 2022 (excluding prisoners)","Dependent Children aged 0-15: mid 2022"'
    rows = [imd_row("E01000001") + ',"1,512",300', imd_row("E01000002") + ",1488,280"]
    table = readers.read_imd(write(tmp_path, "\n".join([header, *rows]) + "\n"))
    assert table["imd_population"].tolist() == [1512, 1488]
    without = readers.read_imd(write(tmp_path, IMD_HEADER + "\n" + imd_row("E01000001") + "\n", "subset.csv"))
    assert without["imd_population"].isna().all()  # the mirror's subset: Census 2021 weights instead


def test_imd_reader_names_the_missing_column(tmp_path):
    header = IMD_HEADER.replace("Crime Score", "Crime Sc0re")
    path = write(tmp_path, header + "\n" + imd_row("E01000001") + "\n")
    with pytest.raises(SourceFormatError) as err:
        readers.read_imd(path)
    assert err.value.column == "crime_score" and "file.csv" in str(err.value)


def test_imd_reader_reports_row_and_column_of_a_non_number(tmp_path):
    bad = imd_row("E01000002").replace("12.5", "n/a", 1)
    path = write(tmp_path, IMD_HEADER + "\n" + imd_row("E01000001") + "\n" + bad + "\n")
    with pytest.raises(SourceFormatError) as err:
        readers.read_imd(path)
    assert (err.value.row, err.value.column) == (3, "imd_score")
    assert "'n/a' is not a number" in str(err.value)


def test_imd_reader_rejects_decile_out_of_range(tmp_path):
    path = write(tmp_path, IMD_HEADER + "\n" + imd_row("E01000001", decile=11) + "\n")
    with pytest.raises(SourceFormatError, match="outside 1-10"):
        readers.read_imd(path)


def test_duplicate_codes_are_reported_with_their_row(tmp_path):
    path = write(tmp_path, IMD_HEADER + "\n" + imd_row("E01000001") + "\n" + imd_row("E01000001") + "\n")
    with pytest.raises(SourceFormatError) as err:
        readers.read_imd(path)
    assert err.value.row == 3 and "more than once" in str(err.value)


def test_2011_codes_where_2021_are_expected_get_their_own_message(tmp_path):
    path = write(tmp_path, IMD_HEADER + "\n" + imd_row("E01000003") + "\n")
    with pytest.raises(SourceFormatError, match="LSOA 2011 codes"):
        readers.read_imd(path, known_lsoa21={"E01000001"}, known_lsoa11={"E01000003"})


def test_unknown_codes_are_rejected(tmp_path):
    path = write(tmp_path, IMD_HEADER + "\n" + imd_row("E01999999") + "\n")
    with pytest.raises(SourceFormatError, match="unknown code 'E01999999'"):
        readers.read_imd(path, known_lsoa21={"E01000001"}, known_lsoa11=set())


def test_malformed_codes_are_rejected(tmp_path):
    path = write(tmp_path, IMD_HEADER + "\n" + imd_row("XE0100") + "\n")
    with pytest.raises(SourceFormatError, match="not a valid code"):
        readers.read_imd(path)


@pytest.mark.parametrize("content", [b"", b"   \n", IMD_HEADER.encode() + b"\n"])
def test_empty_files_are_rejected(tmp_path, content):
    with pytest.raises(SourceFormatError, match="empty|no data rows"):
        readers.read_imd(write(tmp_path, content))


def test_utf16_files_are_rejected_with_advice(tmp_path):
    path = write(tmp_path, IMD_HEADER + "\n" + imd_row("E01000001") + "\n", encoding="utf-16")
    with pytest.raises(SourceFormatError, match="UTF-16"):
        readers.read_imd(path)


def test_windows_1252_and_utf8_bom_are_both_read(tmp_path):
    text = "LSOA21CD,Ethnic group (5 categories),Observation\n" + "".join(
        f"E01000001,{cat},{n}\n" for cat, n in (("Asian", 1), ("Black", 2), ("Mixed", 3), ("White", 4),
                                                ("Other ethnic group – incl. Arab", 5)))
    cp = readers.read_census_ethnicity(write(tmp_path, text, "cp.csv", encoding="cp1252"))
    bom = readers.read_census_ethnicity(write(tmp_path, "\ufeff" + text, "bom.csv"))
    assert cp.equals(bom)
    assert cp.iloc[0][["ethnic_asian", "ethnic_other"]].tolist() == [1, 5]


def test_census_wide_nomis_layout_gives_the_same_table_as_long(tmp_path):
    wide = ("date,geography,geography code,Ethnic group: Total: All usual residents,"
            "Ethnic group: Asian,Ethnic group: Black,Ethnic group: Mixed,Ethnic group: White,Ethnic group: Other\n"
            "2021,X,E01000001,15,1,2,3,4,5\n")
    table = readers.read_census_ethnicity(write(tmp_path, wide))
    assert table.iloc[0][["ethnic_asian", "ethnic_black", "ethnic_white", "ethnic_other"]].tolist() == [1, 2, 4, 5]


def test_census_unexpected_category_is_named(tmp_path):
    text = "LSOA21CD,Ethnic group,Observation\nE01000001,Martian,4\n"
    with pytest.raises(SourceFormatError, match="unexpected category 'Martian'"):
        readers.read_census_ethnicity(write(tmp_path, text))


def test_lookup_rejects_unknown_change_indicator(tmp_path):
    text = "LSOA11CD,CHGIND,LSOA21CD\nE01000001,Q,E01000001\n"
    with pytest.raises(SourceFormatError, match="not one of U, S, M, X"):
        readers.read_lsoa11_lookup(write(tmp_path, text))


def test_boundaries_reader_rejects_a_non_spatial_file(tmp_path):
    with pytest.raises(SourceFormatError, match="not a readable"):
        readers.read_boundaries(write(tmp_path, "hello\n", "x.gpkg"), "lsoa_boundaries_bgc")


def test_every_mirror_file_reads_cleanly(mirror):
    """The official layouts as mirrored: each reader accepts its file and returns sane tables."""
    icb = readers.read_icb_lookup(mirror / "LSOA21_SICBL24_ICB24_LAD24_EN_LU.csv")
    assert len(icb) == 33_755 and icb["icb_code"].nunique() == 42
    imd = readers.read_imd(mirror / "File_7_IoD2025_LSOA21_subset.csv", known_lsoa21=set(icb["lsoa21cd"]))
    assert imd["imd_decile"].value_counts().between(3_300, 3_450).all()  # national deciles
    ethnic = readers.read_census_ethnicity(mirror / "census2021_TS021_ethnic_group_LSOA21.csv")
    assert len(ethnic) == 35_672 and (ethnic.filter(like="ethnic_").sum(axis=1) > 0).all()
    sape = readers.read_sape(mirror / "sape_mid2020_LSOA11_London.csv")
    assert len(sape) == 4_835
    boundaries = readers.read_boundaries(mirror / "LSOA_2021_EW_BGC_London.gpkg", "lsoa_boundaries_bgc")
    assert len(boundaries) == 4_994 and boundaries.crs.to_epsg() == 27700
    assert isinstance(readers.read_rural_urban(mirror / "RUC21_LSOA21_EW.csv"), pd.DataFrame)
