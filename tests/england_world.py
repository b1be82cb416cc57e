"""The England test world, made cheaply: the England bundle (built once for all xdist workers) and
synthetic records for one ICS only, NHS Coventry and Warwickshire (E54000018, about a million
people), through `explorer data synth --ics`'s own path (explorer.synth.scope). The app then maps
all of England, every level down to LSOA, and every area outside that ICS shows "no data".

Loaded by tests/conftest.py (`from tests.england_world import *`); the fixtures are built only when
a test asks for them.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from explorer.bundle.store import Bundle, load_bundle
from explorer.config import Settings
from explorer.services.build import build_region

COVENTRY_ICS = "E54000018"  # NHS Coventry and Warwickshire ICB: the one ICS with records
COVENTRY_NAME = "NHS Coventry and Warwickshire ICB"


def _built_once(*args: object) -> object:
    from conftest import (
        _built_once as built_once,  # conftest's helper (loaded by then: it imports this module)
    )

    return built_once(*args)


@pytest.fixture(scope="session")
def england_bundle(settings: Settings, shared_settings: Settings | None) -> Bundle:
    """The England bundle (about two minutes to build), built once for all xdist workers. It fetches
    its sources into a cache of its own: the London build may be fetching into the shared one meanwhile."""
    _built_once(settings, shared_settings, "england-bundle", ("bundles/england",),
                lambda s: build_region(replace(s, cache_dir=s.cache_dir.with_name("cache-england")), "england"))
    return load_bundle(settings, "england")


@pytest.fixture(scope="session")
def england_records(settings: Settings, shared_settings: Settings | None, england_bundle: Bundle) -> dict:
    """Synthetic records for Coventry and Warwickshire only; returns the records manifest."""
    from explorer.synth.careplans import generate_records

    return _built_once(settings, shared_settings, "england-records", ("records/england",),
                       lambda s: generate_records(s, load_bundle(s, "england"), ics=[COVENTRY_ICS]))


@pytest.fixture(scope="session")
def england_app_data(settings: Settings, england_records: dict):
    """The app's shared data for England: every level, the engine on one ICS's records."""
    from explorer.services.app_data import AppData

    return AppData.load(settings, "england")


__all__ = ["COVENTRY_ICS", "COVENTRY_NAME", "england_app_data", "england_bundle", "england_records"]
