"""A region's bundle built from the official sources, with synthetic GP registrations when the
official registration files are not available.

The decision lives here, not in explorer.bundle: the bundle build takes whichever GP files it is given.
"""

from __future__ import annotations

import io
import time
import tracemalloc

from explorer.atomic import write_bytes_atomic
from explorer.bundle import build, neighbours
from explorer.bundle.pcn import pcn_weights
from explorer.bundle.store import TABLE_FILES, load_bundle
from explorer.config import Settings
from explorer.errors import DataMissingError
from explorer.sources import readers
from explorer.sources.fetch import optional_cached_source
from explorer.sources.registry import SOURCES
from explorer.synth.practices import generate_gp_files, write_gp_files


def gp_files(settings: Settings, geography: build.Geography, seed: int) -> build.GPFiles:
    """Real NHS files when we have them; else seeded synthetic ones in the same layout, saying why."""
    registrations = optional_cached_source(settings, "gp_registrations_lsoa")
    practice_map = optional_cached_source(settings, "gp_practice_map")
    if registrations is not None and practice_map is not None:
        return build.GPFiles(registrations=registrations, practice_map=practice_map, synthetic=False,
                             lsoa_year=2011)
    absent = [SOURCES[name].mirror_name for name, path in
              (("gp_registrations_lsoa", registrations), ("gp_practice_map", practice_map)) if path is None]
    generated = generate_gp_files(build.gp_generator_frame(geography), seed=seed)
    registrations, practice_map = write_gp_files(generated,
                                                 settings.data_dir / "synthetic" / geography.region / "gp")
    return build.GPFiles(registrations=registrations, practice_map=practice_map, synthetic=True, lsoa_year=2021,
                         note=f"official GP registration files absent ({', '.join(absent)})")


def build_region(settings: Settings, region: str, *, seed: int = build.DEFAULT_SEED) -> dict:
    """Build one region's bundle (official GP files, or synthetic ones when absent); returns its manifest."""
    build.check_region(region)
    started = time.perf_counter()
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    try:
        geography = build.read_geography(settings, region)
        return build.build_bundle(settings, geography, gp_files(settings, geography, seed), seed=seed,
                                  started=started)
    finally:
        if not tracing:
            tracemalloc.stop()


def add_neighbour_features(settings: Settings, region: str) -> dict:
    """Write the national nearest-neighbour table into an existing bundle (one built before the table
    existed), from the official GP files; returns the counts and the seconds it took.

    The other tables are left as they are, so stored cells and records keyed to the bundle stay valid."""
    started = time.perf_counter()
    bundle = load_bundle(settings, region)
    registrations = optional_cached_source(settings, "gp_registrations_lsoa")
    practice_map_path = optional_cached_source(settings, "gp_practice_map")
    if registrations is None or practice_map_path is None:
        raise DataMissingError("The national neighbour features need NHS England's GP registration files "
                               "(gp_registrations_lsoa, gp_practice_map): fetch them first.")
    files = build.GPFiles(registrations=registrations, practice_map=practice_map_path, synthetic=False)
    practice_map = readers.read_gp_practice_map(practice_map_path)
    converted = build.read_registrations(settings, files, set(practice_map["practice_code"]))
    features = neighbours.neighbour_features(
        neighbours.national_lsoa_features(settings), pcn_weights(converted.registrations, practice_map),
        practice_map.drop_duplicates("pcn_code").set_index("pcn_code")["pcn_name"])
    buffer = io.BytesIO()
    features.to_parquet(buffer, index=False)
    write_bytes_atomic(bundle.directory / TABLE_FILES["neighbour_features"], buffer.getvalue())
    return {"places": int(features["level"].eq("place").sum()), "pcns": int(features["level"].eq("pcn").sum()),
            "seconds": round(time.perf_counter() - started, 1)}
