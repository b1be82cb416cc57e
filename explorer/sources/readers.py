"""Readers: one per official source, each returning a validated table with canonical columns."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pandas as pd

from explorer import vocab
from explorer.errors import SourceFormatError
from explorer.sources.registry import IMD_DOMAINS, IMD_OPTIONAL_COLUMNS, SOURCES
from explorer.sources.tabular import (
    HEADER_ROW,
    check_codes,
    match_columns,
    normalise_header,
    read_csv_strings,
    to_number,
)

ETHNIC_GROUPS: dict[str, str] = {  # key -> Census 2021 5-category label prefix (normalised)
    "asian": "asian",
    "black": "black",
    "mixed": "mixed",
    "white": "white",
    "other": "other",
}
ETHNIC_LABELS = {
    "asian": "Asian",
    "black": "Black",
    "mixed": "Mixed",
    "white": "White",
    "other": "Other",
}
DISABILITY_GROUPS = {"disabled": "disabled", "not_disabled": "not disabled"}
SAPE_BANDS = ("0-15", "16-29", "30-44", "45-64", "65+")
CHANGE_CODES = {"U", "S", "M", "X"}
SICBL_PATTERN = re.compile(r"^E38\d{6}$")
ICB_PATTERN = re.compile(r"^E54\d{6}$")
LAD_PATTERN = re.compile(r"^[EW]0[6-9]\d{6}$")


def read_icb_lookup(path: Path) -> pd.DataFrame:
    """LSOA 2021 -> sub-ICB -> ICB -> LAD 2024, one row per English LSOA."""
    frame = match_columns(read_csv_strings(path), SOURCES["lsoa_icb_lookup"].columns, path)
    check_codes(frame, "lsoa21cd", path, unique=True)
    check_codes(frame, "sicbl_code", path, pattern=SICBL_PATTERN)
    check_codes(frame, "icb_code", path, pattern=ICB_PATTERN)
    check_codes(frame, "lad_code", path, pattern=LAD_PATTERN)
    return frame.reset_index(drop=True)


def _check_range(frame: pd.DataFrame, column: str, low: float, high: float, path: Path) -> None:
    outside = ~frame[column].between(low, high)
    if outside.any():
        first = int(outside.to_numpy().nonzero()[0][0])
        raise SourceFormatError(path, f"value {frame[column].iloc[first]} is outside {low}-{high}",
                                row=first + HEADER_ROW + 1, column=column)


def read_imd(path: Path, *, known_lsoa21: set[str] | None = None, known_lsoa11: set[str] | None = None
             ) -> pd.DataFrame:
    """IoD 2025 File 7: score, national rank and decile of the IMD and its seven domains."""
    frame = match_columns(read_csv_strings(path), SOURCES["imd2025"].columns, path, optional=IMD_OPTIONAL_COLUMNS)
    check_codes(frame, "lsoa21cd", path, known=known_lsoa21, known_2011=known_lsoa11, unique=True)
    out = frame[["lsoa21cd", "lsoa21nm"]].copy()
    for key in IMD_DOMAINS:
        out[f"{key}_score"] = to_number(frame, f"{key}_score", path)
        out[f"{key}_rank"] = to_number(frame, f"{key}_rank", path, integer=True)
        out[f"{key}_decile"] = to_number(frame, f"{key}_decile", path, integer=True)
        _check_range(out, f"{key}_decile", 1, 10, path)
        _check_range(out, f"{key}_rank", 1, 40_000, path)
    if "imd_population" in frame.columns:  # the full File 7; the mirror's subset has no denominators
        out["imd_population"] = to_number(frame, "imd_population", path, integer=True)
        _check_range(out, "imd_population", 0, 100_000, path)
    else:
        out["imd_population"] = pd.Series(pd.NA, index=out.index, dtype="Int64")
    return out


def _category_key(label: str, keys: dict[str, str], path: Path, column: str) -> str:
    norm = normalise_header(label)
    for key, prefix in sorted(keys.items(), key=lambda kv: -len(kv[1])):
        if norm.startswith(prefix):
            return key
    raise SourceFormatError(path, f"unexpected category '{label}' (expected one of: {', '.join(keys.values())})",
                            column=column)


def _read_census_long_or_wide(path: Path, source_name: str, keys: dict[str, str]) -> pd.DataFrame:
    """Census tables: long (ONS custom dataset) or wide (nomis bulk: 'Ethnic group: White' columns)."""
    raw = read_csv_strings(path, member_suffix="-lsoa.csv")
    spec = SOURCES[source_name].columns
    headers = [normalise_header(c) for c in raw.columns]
    if any(re.search(p, h) for p in spec["count"] for h in headers):
        frame = match_columns(raw, spec, path)
        frame["count"] = to_number(frame, "count", path)
        check_codes(frame, "lsoa21cd", path)
        mapping = {label: _category_key(label, keys, path, "category") for label in frame["category"].unique()}
        frame["category"] = frame["category"].map(mapping)
        dup = frame.duplicated(["lsoa21cd", "category"])
        if dup.any():
            first = int(dup.to_numpy().nonzero()[0][0])
            raise SourceFormatError(path, f"LSOA {frame['lsoa21cd'].iloc[first]} has category "
                                    f"'{frame['category'].iloc[first]}' twice", row=first + HEADER_ROW + 1)
        wide = frame.pivot(index="lsoa21cd", columns="category", values="count")
    else:  # nomis wide layout
        frame = match_columns(raw, {"lsoa21cd": spec["lsoa21cd"]}, path)
        check_codes(frame, "lsoa21cd", path, unique=True)
        wide = pd.DataFrame(index=frame["lsoa21cd"])
        for col, norm in zip(raw.columns, headers):
            label = norm.split(" ", 2)[-1] if ":" in col else None
            if label is None or "total" in norm:
                continue
            wide[_category_key(col.split(":")[-1], keys, path, col)] = to_number(raw, col, path).to_numpy()
    missing = sorted(set(keys) - set(wide.columns))
    if missing:
        raise SourceFormatError(path, f"categories missing: {', '.join(missing)}")
    if wide[list(keys)].isna().any().any():
        lsoa = wide.index[wide[list(keys)].isna().any(axis=1)][0]
        raise SourceFormatError(path, f"LSOA {lsoa} lacks some categories")
    wide = wide[list(keys)].round().astype("int64")
    wide.columns.name = None
    return wide.reset_index()


def read_census_ethnicity(path: Path) -> pd.DataFrame:
    """Usual residents per LSOA 2021 in the five Census 2021 ethnic groups."""
    wide = _read_census_long_or_wide(path, "census_ethnicity", ETHNIC_GROUPS)
    return wide.rename(columns={k: f"ethnic_{k}" for k in ETHNIC_GROUPS})


def read_census_disability(path: Path) -> pd.DataFrame:
    """Usual residents per LSOA 2021 disabled / not disabled under the Equality Act."""
    return _read_census_long_or_wide(path, "census_disability", DISABILITY_GROUPS)


CENSUS_AGE6_BANDS: dict[str, str] = dict(zip(vocab.CENSUS_AGE6_BANDS, (  # key -> label prefix (normalised)
    "aged 15 years and under", "aged 16 to 24", "aged 25 to 34", "aged 35 to 49", "aged 50 to 64",
    "aged 65 years and over")))


def read_census_age6(path: Path) -> pd.DataFrame:
    """Usual residents per LSOA 2021 in the six Census 2021 age bands (columns age_0-15 ... age_65+)."""
    wide = _read_census_long_or_wide(path, "census_age6", CENSUS_AGE6_BANDS)
    return wide.rename(columns={k: f"age_{k}" for k in CENSUS_AGE6_BANDS})


def read_sape(path: Path) -> pd.DataFrame:
    """Mid-2020 population by sex and broad age band on LSOA 2011 geography."""
    frame = match_columns(read_csv_strings(path), SOURCES["sape_mid2020"].columns, path)
    check_codes(frame, "lsoa11cd", path, unique=True)
    out = frame[["lsoa11cd"]].copy()
    for col in frame.columns.drop("lsoa11cd"):
        out[col] = to_number(frame, col, path, integer=True)
        _check_range(out, col, 0, 100_000, path)
    return out


def read_lsoa11_lookup(path: Path) -> pd.DataFrame:
    frame = match_columns(read_csv_strings(path), SOURCES["lsoa11_lsoa21_lookup"].columns, path)
    check_codes(frame, "lsoa11cd", path)
    check_codes(frame, "lsoa21cd", path)
    bad = ~frame["change"].isin(CHANGE_CODES)
    if bad.any():
        first = int(bad.to_numpy().nonzero()[0][0])
        raise SourceFormatError(path, f"change indicator '{frame['change'].iloc[first]}' is not one of U, S, M, X",
                                row=first + HEADER_ROW + 1, column="change")
    return frame.drop_duplicates(["lsoa11cd", "lsoa21cd"]).reset_index(drop=True)


def read_rural_urban(path: Path) -> pd.DataFrame:
    frame = match_columns(read_csv_strings(path), SOURCES["rural_urban_2021"].columns, path)
    check_codes(frame, "lsoa21cd", path, unique=True)
    return frame


def read_boundaries(path: Path, source_name: str) -> gpd.GeoDataFrame:
    """LSOA 2021 polygons in British National Grid (EPSG:27700), for simplifying in metres."""
    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise SourceFormatError(path, f"not a readable GeoPackage or shapefile ({exc})") from exc
    if frame.empty:
        raise SourceFormatError(path, "the file holds no features")
    attrs = match_columns(pd.DataFrame(frame.drop(columns="geometry")), SOURCES[source_name].columns, path)
    check_codes(attrs.astype(str), "lsoa21cd", path, unique=True)
    out = gpd.GeoDataFrame(attrs, geometry=frame.geometry.values, crs=frame.crs)
    if out.crs is None:
        raise SourceFormatError(path, "the file has no coordinate reference system")
    return out.to_crs(27700)


def _first_row(mask: pd.Series) -> int:
    """The spreadsheet row number (header = row 1) of the first True in `mask`."""
    return int(mask.to_numpy().nonzero()[0][0]) + HEADER_ROW + 1


def read_gp_registrations(path: Path) -> pd.DataFrame:
    """NHS 'patients registered at a GP practice' by LSOA: one row per practice, LSOA and sex.

    Columns practice_code, practice_name, lsoa_code, sex, patients, and `row` (the file's row number,
    for messages about rows found wrong later, e.g. 2021 codes where 2011 codes were expected)."""
    source = SOURCES["gp_registrations_lsoa"]
    frame = match_columns(read_csv_strings(path, member_suffix=source.member, strict=True), source.columns, path)
    frame["patients"] = to_number(frame, "patients", path, integer=True)
    negative = frame["patients"] < 0
    if negative.any():
        raise SourceFormatError(path, f"negative count {frame['patients'][negative].iloc[0]} "
                                "(a number of patients cannot be below 0)", row=_first_row(negative),
                                column="patients")
    frame["sex"] = frame["sex"].str.upper()
    dup = frame.duplicated(["practice_code", "lsoa_code", "sex"])
    if dup.any():
        first = frame[dup].iloc[0]
        raise SourceFormatError(path, f"practice {first['practice_code']} and LSOA {first['lsoa_code']} "
                                f"(sex {first['sex']}) appear in more than one row", row=_first_row(dup),
                                column="lsoa_code")
    frame["row"] = (pd.RangeIndex(len(frame)) + HEADER_ROW + 1).to_numpy()
    return frame


def read_gp_practice_map(path: Path) -> pd.DataFrame:
    """Practice -> PCN -> sub-ICB -> ICB, one row per practice (a practice in two PCNs is an error)."""
    frame = match_columns(read_csv_strings(path), SOURCES["gp_practice_map"].columns, path)
    for column in ("practice_code", "pcn_code"):
        blank = frame[column].str.strip() == ""
        if blank.any():
            raise SourceFormatError(path, f"{column} is empty", row=_first_row(blank), column=column)
    dup = frame["practice_code"].duplicated()
    if dup.any():
        code = frame["practice_code"][dup].iloc[0]
        rows = frame.index[frame["practice_code"] == code]
        pcns = frame.loc[rows, "pcn_code"].unique()
        if len(pcns) > 1:
            raise SourceFormatError(path, f"practice '{code}' is in two PCNs ({', '.join(pcns)}, rows "
                                    f"{', '.join(str(r + HEADER_ROW + 1) for r in rows)}); each practice "
                                    "belongs to exactly one PCN", row=_first_row(dup), column="pcn_code")
        raise SourceFormatError(path, f"practice '{code}' listed twice", row=_first_row(dup),
                                column="practice_code")
    return frame
