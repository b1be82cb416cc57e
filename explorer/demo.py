"""Everything the demo needs, made once: public data, the bundle, synthetic records, the risk model
and the stored cell tables.

`explorer serve --demo [--region england]` calls `prepare_demo`, so that one command on a fresh
machine installs and runs the app. Each step runs only when its output is missing (the cells: when
no stored cells were made from the records now on disk), and each says what it is doing and about
how long it takes for the region, as measured on a 2-core machine (README, Benchmarks).
"""

from __future__ import annotations

from collections.abc import Callable

from explorer.config import Settings
from explorer.errors import DownloadError
from explorer.records import cellstore
from explorer.records.store import MANIFEST_FILE, records_dir
from explorer.services.models import model_path
from explorer.sources.fetch import fetch_source
from explorer.sources.registry import GP_SOURCES, PUBLIC_SOURCES, SOURCES

#: about how long each step takes per region on 2 cores (README, Benchmarks: England measured
#: 2026-11-30 with the cores shared, load average 7-11; a quiet machine is quicker)
ESTIMATES = {
    "london": {"build": "about 15 s", "synth": "about 1 minute", "train": "about 1 minute",
               "cells": "about 30 s"},
    "england": {"build": "about 2.5 minutes", "synth": "about 8 minutes", "train": "about 9 minutes",
                "cells": "about 8 minutes"},
}


def missing_steps(settings: Settings, region: str) -> list[str]:
    """The steps whose output is missing, in order (fetch, build, synth, train, cells)."""
    steps = []
    if not (settings.bundle_dir(region) / "manifest.json").exists():
        steps += ["fetch", "build"]
    records = records_dir(settings, region)
    if not (records / MANIFEST_FILE).exists():
        steps.append("synth")
    if not model_path(settings, region).exists():
        steps.append("train")
    if steps or not cellstore.is_current(cellstore.cells_dir(settings, region), records):
        steps.append("cells")
    return steps


def _estimate(region: str, step: str) -> str:
    return ESTIMATES.get(region, {}).get(step, "")


def prepare_demo(settings: Settings, region: str, say: Callable[[str], None] = print) -> list[str]:
    """Run the missing steps in order; returns what was done."""
    from explorer.bundle.store import load_bundle
    from explorer.services import train_region
    from explorer.services.build import build_region
    from explorer.services.cells import store_region_cells
    from explorer.synth.careplans import generate_records

    steps = missing_steps(settings, region)
    if "fetch" in steps:
        say("fetching public data" + (f" from the mirror {settings.mirror}" if settings.mirror else ""))
        for name in PUBLIC_SOURCES:
            fetch_source(settings, SOURCES[name])
        for name in GP_SOURCES:  # optional: without them the build makes synthetic GP files and says so
            try:
                fetch_source(settings, SOURCES[name])
            except DownloadError as exc:
                say(f"GP file {SOURCES[name].mirror_name} not fetched ({exc}): synthetic GP files will be used")
    if "build" in steps:
        say(f"building the {region} bundle ({_estimate(region, 'build')})")
        build_region(settings, region)
    if "synth" in steps:
        say(f"generating the SYNTHETIC {region} records ({_estimate(region, 'synth')})")
        generate_records(settings, load_bundle(settings, region))
    if "train" in steps:
        say(f"training the admission risk model and scoring everyone ({_estimate(region, 'train')})")
        train_region(settings, region)
    if "cells" in steps:
        say(f"making the cell tables the app starts from ({_estimate(region, 'cells')})")
        # right after training, the risk_scores table holds the model's scores: read it (same cells)
        say(store_region_cells(settings, region, score="train" not in steps)["message"])
    return steps
