"""Everything the demo needs, made once: public data, the bundle, synthetic records, the risk model.

`explorer serve --demo` calls `prepare_demo`, so that one command on a fresh machine installs and
runs the app. Each step runs only when its output is missing, and each says what it is doing.
"""

from __future__ import annotations

from collections.abc import Callable

from explorer.config import Settings
from explorer.errors import DownloadError
from explorer.records.store import MANIFEST_FILE, records_dir
from explorer.services.models import model_path
from explorer.sources.fetch import fetch_source
from explorer.sources.registry import GP_SOURCES, PUBLIC_SOURCES, SOURCES


def missing_steps(settings: Settings, region: str) -> list[str]:
    steps = []
    if not (settings.bundle_dir(region) / "manifest.json").exists():
        steps += ["fetch", "build"]
    if not (records_dir(settings, region) / MANIFEST_FILE).exists():
        steps.append("synth")
    if not model_path(settings, region).exists():
        steps.append("train")
    return steps


def prepare_demo(settings: Settings, region: str, say: Callable[[str], None] = print) -> list[str]:
    """Run the missing steps in order; returns what was done."""
    from explorer.bundle.store import load_bundle
    from explorer.services import train_region
    from explorer.services.build import build_region
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
        say(f"building the {region} bundle (about 15 s for London)")
        build_region(settings, region)
    if "synth" in steps:
        say(f"generating the SYNTHETIC {region} records (about 1 minute for London)")
        generate_records(settings, load_bundle(settings, region))
    if "train" in steps:
        say("training the admission risk model and scoring everyone")
        train_region(settings, region)
    return steps
