"""National features for nearest neighbours: every English place (LAD 2024) and PCN described by
deprivation, age structure, ethnicity and rurality, built once into the bundle
(`neighbour_features.parquet`) from the national official files.

Why national: a neighbour group only means something if every area of the level in England is a
candidate (as in CIPFA's and Fingertips' nearest neighbours), even when the bundle is London's.

Each LSOA in England carries:
- `imd_score` (IoD 2025) and `imd_decile1` (100 if in national decile 1, else 0),
- `age_<band>`: % of usual residents in the six Census 2021 age bands,
- `ethnic_<group>`: % of usual residents in the five Census 2021 (TS021) ethnic groups,
- `urban`: 100 if the LSOA is urban in the Rural Urban Classification 2021, else 0.
An area's feature is the weighted mean of its LSOAs' values:
- places: weighted by Census 2021 usual residents (TS021 totals), so shares are the place's own
  shares and `imd_score` is the population-weighted score, as MHCLG summarises areas;
- PCNs: weighted by registered patients living in each LSOA (the registration apportioning weights,
  `pcn_weights`), so a PCN is described by where its patients live.
"""

from __future__ import annotations

import pandas as pd

from explorer.config import Settings
from explorer.sources import readers
from explorer.sources.fetch import cached_source
from explorer.vocab import CENSUS_AGE6_BANDS, NEIGHBOUR_FEATURES

FEATURES_FILE = "neighbour_features.parquet"
AGE_COLUMNS = tuple(f"age_{band}" for band in CENSUS_AGE6_BANDS)
ETHNIC_COLUMNS = tuple(f"ethnic_{group}" for group in readers.ETHNIC_GROUPS)
FEATURE_COLUMNS = tuple(NEIGHBOUR_FEATURES)


def national_lsoa_features(settings: Settings) -> pd.DataFrame:
    """One row per English LSOA 2021: place, Census 2021 residents and the feature values above."""
    lookup = readers.read_icb_lookup(cached_source(settings, "lsoa_icb_lookup"))
    lookup = lookup[lookup["lsoa21cd"].str.startswith("E01")][["lsoa21cd", "lad_code", "lad_name"]]
    imd = readers.read_imd(cached_source(settings, "imd2025"))[["lsoa21cd", "imd_score", "imd_decile"]]
    ethnic = readers.read_census_ethnicity(cached_source(settings, "census_ethnicity"))
    ages = readers.read_census_age6(cached_source(settings, "census_age6"))
    ruc = readers.read_rural_urban(cached_source(settings, "rural_urban_2021"))[["lsoa21cd", "urban_rural"]]
    frame = (lookup.merge(imd, on="lsoa21cd", how="left", validate="1:1")
             .merge(ethnic, on="lsoa21cd", how="left", validate="1:1")
             .merge(ages, on="lsoa21cd", how="left", validate="1:1")
             .merge(ruc, on="lsoa21cd", how="left", validate="1:1"))
    frame["population"] = frame[list(ETHNIC_COLUMNS)].sum(axis=1)
    for columns in (ETHNIC_COLUMNS, AGE_COLUMNS):
        total = frame[list(columns)].sum(axis=1).where(lambda s: s > 0)
        frame[list(columns)] = frame[list(columns)].div(total, axis=0) * 100
    frame["imd_decile1"] = (frame["imd_decile"] == 1).astype(float) * 100
    frame["urban"] = frame["urban_rural"].str.strip().str.lower().eq("urban").astype(float) * 100
    return frame.rename(columns={"lsoa21cd": "lsoa_code"})[
        ["lsoa_code", "lad_code", "lad_name", "population", *FEATURE_COLUMNS]]


def weighted_features(lsoa: pd.DataFrame, links: pd.DataFrame, key: str, weight: str) -> pd.DataFrame:
    """Each `key` area's weighted mean of its LSOAs' features.

    `links`: (lsoa_code, key, weight) rows, an LSOA possibly in several areas (PCN apportioning).
    LSOAs missing a feature value are left out of that feature's mean, not counted as zero."""
    joined = links[["lsoa_code", key, weight]].merge(lsoa[["lsoa_code", *FEATURE_COLUMNS]], on="lsoa_code")
    values = joined[list(FEATURE_COLUMNS)]
    weights = values.notna().mul(joined[weight], axis=0)
    sums = values.fillna(0).mul(joined[weight], axis=0).groupby(joined[key]).sum()
    out = sums / weights.groupby(joined[key]).sum().where(lambda f: f > 0)
    out.insert(0, "population", joined.groupby(key)[weight].sum().round().astype("int64"))
    return out.rename_axis("area_code").reset_index()


def neighbour_features(lsoa: pd.DataFrame, weights: pd.DataFrame, pcn_names: pd.Series) -> pd.DataFrame:
    """The national table: level ('place'|'pcn'), area_code, area_name, population, features.

    `weights`: national (lsoa_code, pcn_code, patients, weight); `pcn_names`: name by PCN code.
    `population` is Census 2021 residents for places and registered patients for PCNs."""
    places = weighted_features(lsoa, lsoa[["lsoa_code", "lad_code", "population"]], "lad_code", "population")
    places.insert(0, "level", "place")
    places.insert(2, "area_name", places["area_code"].map(lsoa.drop_duplicates("lad_code")
                                                            .set_index("lad_code")["lad_name"]))
    england = weights[weights["lsoa_code"].str.startswith("E01")]
    pcns = weighted_features(lsoa, england, "pcn_code", "patients")
    pcns.insert(0, "level", "pcn")
    pcns.insert(2, "area_name", pcns["area_code"].map(pcn_names).fillna(pcns["area_code"]))
    table = pd.concat([places, pcns], ignore_index=True)
    return table.sort_values(["level", "area_code"], ignore_index=True)
