"""Turn the official sources into the processed bundle the app, CLI and tests read.

Two steps: :func:`read_geography` reads the LSOA table, age-sex population and boundaries;
:func:`build_bundle` joins them with the GP registration files it is given (official or
synthetic: explorer.services.build decides) and writes the bundle.

The bundle is written into a temporary directory beside its final place and renamed into place
only when complete, so a failed build never leaves half a bundle (and keeps the previous one).
"""

from __future__ import annotations

import json
import time
import tracemalloc
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd

from explorer import __version__
from explorer.atomic import replace_directory
from explorer.bundle import boundaries as geo
from explorer.bundle import neighbours
from explorer.bundle.pcn import (
    CROSSING_SHARE,
    UNALLOCATED,
    assign_lsoas_to_pcns,
    pcn_table,
    pcn_weights,
)
from explorer.bundle.population import SOURCE_PROFILE, carry_age_sex
from explorer.bundle.registrations import Converted, convert_registrations
from explorer.bundle.store import BOUNDARY_FILES, TABLE_FILES
from explorer.config import REGIONS, Settings
from explorer.errors import ExplorerError
from explorer.sources import readers
from explorer.sources.fetch import cached_source, source_record
from explorer.sources.registry import IMD_DOMAINS, SOURCES
from explorer.vocab import LEVELS
from explorer.vocab import REGIONS as REGION_CODES

BOUNDARY_SOURCE = {"london": "lsoa_boundaries_bgc", "england": "lsoa_boundaries_bsc"}
SIMPLIFY_TOLERANCE_M = {"london": 15.0, "england": 50.0}
DEFAULT_SEED = 20261122


@dataclass(frozen=True, kw_only=True)
class Geography:
    """A region's LSOAs before GP registrations are joined: attributes, age-sex and boundaries."""

    region: str
    lsoas: pd.DataFrame
    age_sex: pd.DataFrame
    england_profile: int
    shapes: gpd.GeoDataFrame
    centroids: pd.DataFrame  # x, y (British National Grid) indexed by lsoa21cd
    age_sources: dict[str, int] = field(default_factory=dict)  # LSOAs per source of their age structure


@dataclass(frozen=True, kw_only=True)
class GPFiles:
    """NHS England's GP registration files (or synthetic ones in the same layout) to build from."""

    registrations: Path
    practice_map: Path
    synthetic: bool
    lsoa_year: int = 2011  # the LSOA codes the registrations are on (NHS files until 2024: 2011)
    note: str = ""  # why synthetic files were used, for the manifest and the CLI


def check_region(region: str) -> None:
    if region not in REGIONS:
        raise ExplorerError(f"unknown region '{region}': choose one of {', '.join(REGIONS)}")


def _region_filter(lookup: pd.DataFrame, region: str) -> pd.Series:
    if region == "london":
        return lookup["lad_code"].str.startswith("E09")
    return lookup["lsoa21cd"].str.startswith("E01")


def build_lsoa_table(settings: Settings, region: str) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """The LSOA attribute table, the age-sex table, and the number of LSOAs per source of their age
    structure (explorer.bundle.population)."""
    lookup = readers.read_icb_lookup(cached_source(settings, "lsoa_icb_lookup"))
    lookup = lookup[_region_filter(lookup, region)]
    lsoa11 = readers.read_lsoa11_lookup(cached_source(settings, "lsoa11_lsoa21_lookup"))
    imd = readers.read_imd(cached_source(settings, "imd2025"), known_lsoa21=None,
                           known_lsoa11=set(lsoa11["lsoa11cd"]))
    ethnic = readers.read_census_ethnicity(cached_source(settings, "census_ethnicity"))
    disability = readers.read_census_disability(cached_source(settings, "census_disability"))
    ruc = readers.read_rural_urban(cached_source(settings, "rural_urban_2021"))
    sape = readers.read_sape(cached_source(settings, "sape_mid2020"))
    census_age6 = readers.read_census_age6(cached_source(settings, "census_age6"))

    table = lookup.merge(imd.drop(columns="lsoa21nm"), on="lsoa21cd", how="left", validate="1:1")
    table = table.merge(ethnic, on="lsoa21cd", how="left", validate="1:1")
    table = table.merge(disability, on="lsoa21cd", how="left", validate="1:1")
    table = table.merge(ruc, on="lsoa21cd", how="left", validate="1:1")
    for name, column in (("IoD 2025", "imd_score"), ("Census 2021 TS021", "ethnic_white"),
                         ("Census 2021 TS038", "disabled"), ("RUC 2021", "ruc_code")):
        missing = table.loc[table[column].isna(), "lsoa21cd"]
        if len(missing):
            raise ExplorerError(f"{name} has no row for {len(missing)} LSOAs of the {region} build "
                                f"(e.g. {missing.iloc[0]}): is the file complete?")
    ethnic_cols = [c for c in table.columns if c.startswith("ethnic_")]
    table["population"] = table[ethnic_cols].sum(axis=1).astype("int64")
    table["imd_quintile"] = ((table["imd_decile"] + 1) // 2).astype("int64")
    table["core20"] = table["imd_decile"] <= 2
    table = table.rename(columns={
        "lsoa21cd": "lsoa_code", "lsoa21nm": "lsoa_name", "lad_code": "place_code", "lad_name": "place_name",
        "icb_code": "ics_code", "icb_name": "ics_name", "icb_ods": "ics_ods_code",
    })
    table["ics_name"] = table["ics_name"].str.replace(" Integrated Care Board", " ICB", regex=False)
    age_sex, age_sources = carry_age_sex(sape, lsoa11, table.set_index("lsoa_code")["population"], census_age6)
    return table.sort_values("lsoa_code", ignore_index=True), age_sex, age_sources


def gp_generator_frame(geography: Geography) -> pd.DataFrame:
    """The region's LSOAs in the columns of the official lookups, with centroids and residents by sex:
    the input a synthetic GP practice generator needs."""
    by_sex = geography.age_sex.pivot_table(index="lsoa21cd", columns="sex", values="population", aggfunc="sum")
    frame = geography.lsoas.rename(columns={
        "lsoa_code": "lsoa21cd", "place_code": "lad_code", "place_name": "lad_name", "ics_code": "icb_code",
        "ics_name": "icb_name", "ics_ods_code": "icb_ods"})
    return frame.join(geography.centroids, on="lsoa21cd").join(by_sex, on="lsoa21cd")


def read_geography(settings: Settings, region: str) -> Geography:
    """The region's LSOA table, age-sex population and boundaries, from the cached official sources."""
    check_region(region)
    lsoas, age_sex, age_sources = build_lsoa_table(settings, region)
    boundary_source = BOUNDARY_SOURCE[region]
    shapes = readers.read_boundaries(cached_source(settings, boundary_source), boundary_source)
    shapes = shapes[shapes["lsoa21cd"].isin(lsoas["lsoa_code"])].sort_values("lsoa21cd", ignore_index=True)
    if len(shapes) != len(lsoas):
        missing = sorted(set(lsoas["lsoa_code"]) - set(shapes["lsoa21cd"]))
        raise ExplorerError(f"{SOURCES[boundary_source].mirror_name} lacks {len(missing)} of the region's LSOAs "
                            f"(e.g. {missing[:3]}); for England use the BSC boundaries")
    shapes = shapes.rename(columns={"lsoa21cd": "lsoa_code"}).drop(columns="lsoa21nm")
    centroids = geo.centroids(shapes).set_index(shapes["lsoa_code"])
    return Geography(region=region, lsoas=lsoas, age_sex=age_sex, england_profile=age_sources[SOURCE_PROFILE],
                     shapes=shapes, centroids=centroids, age_sources=age_sources)


def build_bundle(settings: Settings, geography: Geography, gp_files: GPFiles, *, seed: int = DEFAULT_SEED,
                 started: float | None = None) -> dict:
    """Build one region's bundle from its geography and GP registration files; returns its manifest.

    `started`: the perf_counter() value the build began at (default: now), for the manifest's
    build_seconds; python_peak_mb is tracemalloc's peak when the caller traces (else 0)."""
    started = time.perf_counter() if started is None else started
    region = geography.region
    check_region(region)
    lsoas, age_sex, england_profile = geography.lsoas, geography.age_sex, geography.england_profile
    shapes, centroids = geography.shapes, geography.centroids
    gp = registered_geography(settings, gp_files, lsoas, centroids)
    lsoas, pcns, weights, practices, practice_shares = gp.lsoas, gp.pcns, gp.weights, gp.practices, gp.practice_shares
    lsoas = lsoas.join(centroids.rename(columns={"x": "bng_x", "y": "bng_y"}), on="lsoa_code")

    simplified = geo.simplify_coverage(shapes, SIMPLIFY_TOLERANCE_M[region])
    simplified = simplified.merge(lsoas[["lsoa_code", "place_code", "ics_code", "pcn_code"]], on="lsoa_code")
    layers = {"lsoa": geo.to_web(simplified[["lsoa_code", "geometry"]])}
    for level in ("place", "ics", "pcn"):
        layers[level] = geo.to_web(geo.dissolve_coverage(simplified, f"{level}_code"))
    payload_kb = {level: round(geo.geojson_bytes(layer, f"{level}_code") / 1024, 1)
                  for level, layer in layers.items()}
    areas = areas_table(lsoas, region)
    # the map's ICB codes are January 2024's: Surrey Heartlands and Sussex were recoded in April 2024
    place_ics = areas[areas["level"] == "place"].set_index("area_code")["parent_code"]
    pcns["place_ics_code"] = pcns["place_code"].map(place_ics)
    features_started = time.perf_counter()
    features = neighbours.neighbour_features(
        neighbours.national_lsoa_features(settings), gp.national_weights,
        gp.practice_map.drop_duplicates("pcn_code").set_index("pcn_code")["pcn_name"])
    features_seconds = round(time.perf_counter() - features_started, 1)

    def write(directory: Path) -> None:
        lsoas.to_parquet(directory / TABLE_FILES["lsoa"], index=False)
        age_sex.rename(columns={"lsoa21cd": "lsoa_code"}).to_parquet(directory / TABLE_FILES["age_sex"], index=False)
        areas.to_parquet(directory / TABLE_FILES["areas"], index=False)
        practices.to_parquet(directory / TABLE_FILES["practices"], index=False)
        weights.to_parquet(directory / TABLE_FILES["pcn_weights"], index=False)
        pcns.to_parquet(directory / TABLE_FILES["pcns"], index=False)
        practice_shares.to_parquet(directory / TABLE_FILES["practice_shares"], index=False)
        features.to_parquet(directory / TABLE_FILES["neighbour_features"], index=False)
        for level, layer in layers.items():
            layer.to_parquet(directory / BOUNDARY_FILES[level], index=False)
        (directory / "manifest.json").write_text(json.dumps(manifest, indent=2))

    _, peak = tracemalloc.get_traced_memory()  # (0, 0) when not tracing
    manifest = {
        "region": region,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tool_version": __version__,
        "seed": seed,
        "build_seconds": round(time.perf_counter() - started, 1),
        "python_peak_mb": round(peak / 2**20, 1),
        "counts": {"lsoa": len(lsoas), **{lvl: int(areas["level"].eq(lvl).sum()) for lvl in ("place", "ics", "pcn")},
                   "practices": len(practices), "population": int(lsoas["population"].sum()),
                   "registered": int(practice_shares["patients"].sum())},
        "simplify_tolerance_m": SIMPLIFY_TOLERANCE_M[region],
        "boundary_geojson_kb": payload_kb,
        "lsoas_given_england_age_profile": england_profile,
        "lsoas_by_age_structure_source": geography.age_sources,
        "lsoas_moved_to_keep_pcns_in_places": gp.moved,
        "lsoas_in_a_pcn_based_in_another_place": int(
            (lsoas["pcn_code"].map(pcns.set_index("pcn_code")["place_code"]) != lsoas["place_code"]).sum()),
        "neighbour_features": {"places": int(features["level"].eq("place").sum()),
                               "pcns": int(features["level"].eq("pcn").sum()), "seconds": features_seconds,
                               "pcn_source": "SYNTHETIC GP files (region only)" if gp_files.synthetic
                               else "NHS England GP registrations (all England)"},
        "places_straddling_ics": int((lsoas.groupby("place_code")["ics_code"].nunique() > 1).sum()),
        "gp_registrations": (f"SYNTHETIC (fallback: {gp_files.note}; seeded generator, published layout)"
                             if gp_files.synthetic else "NHS England (NHS Digital 'Patients registered at a GP "
                             "practice': LSOA file and practice map)"),
        "gp_accounting": gp.accounting,
        "pcns": pcn_summary(pcns, gp.practice_map, lsoas),
        "sources": {name: source_record(settings, name) for name in SOURCES if source_record(settings, name)},
        "imd_domains": list(IMD_DOMAINS),
    }
    replace_directory(settings.bundle_dir(region), write)
    return manifest


@dataclass(frozen=True)
class Registered:
    """The region's GP side: LSOAs with their drawn PCN, PCN table and weights, practices, accounting."""

    lsoas: pd.DataFrame
    pcns: pd.DataFrame
    weights: pd.DataFrame
    practices: pd.DataFrame
    practice_shares: pd.DataFrame
    practice_map: pd.DataFrame
    accounting: dict
    moved: int
    national_weights: pd.DataFrame  # every English LSOA's PCN weights, for the national neighbour features


def registered_geography(settings: Settings, gp_files: GPFiles, lsoas: pd.DataFrame,
                         centroids: pd.DataFrame) -> Registered:
    """Read and carry the GP files, then PCN weights, the PCN table and each LSOA's drawn PCN."""
    practice_map = readers.read_gp_practice_map(gp_files.practice_map)
    converted = read_registrations(settings, gp_files, set(practice_map["practice_code"]))
    national = readers.read_icb_lookup(cached_source(settings, "lsoa_icb_lookup"))
    weights = pcn_weights(converted.registrations, practice_map)
    list_sizes = converted.registrations.groupby("practice_code")["patients"].sum()
    pcns = pcn_table(weights, practice_map, list_sizes, national.set_index("lsoa21cd")["lad_code"])
    pcns = pcns[pcns["place_code"].isin(lsoas["place_code"])].reset_index(drop=True)
    assignment, moved = assign_lsoas_to_pcns(
        weights, lsoas.rename(columns={"lsoa_code": "lsoa21cd", "place_code": "lad_code"})
        .join(centroids, on="lsoa21cd")[["lsoa21cd", "lad_code", "x", "y"]],
        pcns.set_index("pcn_code")["place_code"])
    pcns["drawn"] = pcns["pcn_code"].isin(assignment["pcn_code"])
    lsoas = lsoas.merge(assignment.rename(columns={"lsoa21cd": "lsoa_code"}), on="lsoa_code", validate="1:1")
    names = practice_map.drop_duplicates("pcn_code").set_index("pcn_code")["pcn_name"]
    lsoas["pcn_name"] = lsoas["pcn_code"].map(names)
    region_regs = converted.registrations[converted.registrations["lsoa_code"].isin(lsoas["lsoa_code"])]
    practice_shares = region_regs[["lsoa_code", "practice_code", "patients"]].reset_index(drop=True)
    in_region = practice_shares.groupby("practice_code")["patients"].sum()
    practices = (practice_map[practice_map["practice_code"].isin(in_region.index)]
                 .assign(patients=lambda f: f["practice_code"].map(list_sizes).astype("int64"),
                         region_patients=lambda f: f["practice_code"].map(in_region).astype("int64"))
                 .reset_index(drop=True))
    # a practice with most of its patients living in the region is one of the region's own practices
    practices["in_region"] = practices["region_patients"] * 2 >= practices["patients"]
    national_weights = weights
    weights = weights[weights["lsoa_code"].isin(lsoas["lsoa_code"])].reset_index(drop=True)
    return Registered(lsoas=lsoas, pcns=pcns, weights=weights, practices=practices, practice_shares=practice_shares,
                      practice_map=practice_map, accounting=converted.accounting, moved=moved,
                      national_weights=national_weights)


def read_registrations(settings: Settings, gp_files: GPFiles, practices: set[str]) -> Converted:
    """The GP registration file read and carried to LSOA 2021 (see explorer.bundle.registrations)."""
    registrations = readers.read_gp_registrations(gp_files.registrations)
    lookup = readers.read_lsoa11_lookup(cached_source(settings, "lsoa11_lsoa21_lookup"))
    census = readers.read_census_ethnicity(cached_source(settings, "census_ethnicity"))
    population21 = census.set_index("lsoa21cd").sum(axis=1)
    return convert_registrations(registrations, lookup, population21, practices, lsoa_year=gp_files.lsoa_year,
                                 file=gp_files.registrations.name)


def pcn_summary(pcns: pd.DataFrame, practice_map: pd.DataFrame, lsoas: pd.DataFrame) -> dict:
    """PCN counts for the manifest: in the map (England and the region's ICBs), in the bundle, drawn."""
    region_icbs = set(lsoas["ics_code"])
    allocated = practice_map[practice_map["pcn_code"] != UNALLOCATED]
    return {
        "in_map_england": int(allocated["pcn_code"].nunique()),
        "in_map_region_icbs": int(allocated.loc[allocated["icb_code"].isin(region_icbs), "pcn_code"].nunique()),
        "in_bundle": len(pcns),
        "drawn_on_lsoa_map": int(pcns["drawn"].sum()),
        "crossing_place_boundary": int(pcns["crosses_place"].sum()),
        "map_icb_differs_from_place_ics": int((pcns["ics_code"] != pcns["place_ics_code"]).sum()),
        "crossing_rule": f"at least {CROSSING_SHARE:.0%} of its registered patients live outside its place",
        "practices_unallocated": int((practice_map["pcn_code"] == UNALLOCATED).sum()),
    }


def _majority_parent(lsoas: pd.DataFrame, level: str, parent: str) -> pd.DataFrame:
    """Each area under the parent holding most of its residents (a few LADs straddle two ICBs)."""
    weights = lsoas.groupby([f"{level}_code", f"{level}_name", f"{parent}_code"], as_index=False)["population"].sum()
    top = weights.sort_values([f"{level}_code", "population"], ascending=[True, False]).drop_duplicates(f"{level}_code")
    return (top.drop(columns="population").set_axis(["area_code", "area_name", "parent_code"], axis=1)
            .assign(level=level))


def areas_table(lsoas: pd.DataFrame, region: str) -> pd.DataFrame:
    """Every area at every level with its parent: the one hierarchy ICS > place > PCN > LSOA."""
    region_code, _ = REGION_CODES[region]
    frames = [
        lsoas[["ics_code", "ics_name"]].drop_duplicates().set_axis(["area_code", "area_name"], axis=1)
        .assign(level="ics", parent_code=region_code),
        _majority_parent(lsoas, "place", "ics"),
        _majority_parent(lsoas, "pcn", "place"),
        lsoas[["lsoa_code", "lsoa_name", "pcn_code"]]
        .set_axis(["area_code", "area_name", "parent_code"], axis=1).assign(level="lsoa"),
    ]
    areas = pd.concat(frames, ignore_index=True)[["level", "area_code", "area_name", "parent_code"]]
    for level in LEVELS:
        dup = areas[areas["level"] == level]["area_code"].duplicated()
        if dup.any():
            raise ExplorerError(f"{level} areas do not nest: {dup.sum()} {level} codes have two parents")
    return areas


def read_boundaries(bundle_dir: Path, level: str) -> gpd.GeoDataFrame:
    return gpd.read_parquet(bundle_dir / BOUNDARY_FILES[level])
