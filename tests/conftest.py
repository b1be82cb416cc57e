"""Shared fixtures: the public-data mirror and bundles built once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from explorer.bundle.store import Bundle, load_bundle
from explorer.config import Settings
from explorer.services.build import build_region

REPO = Path(__file__).resolve().parents[1]


def _mirror() -> Path | None:
    for candidate in (os.environ.get("EXPLORER_MIRROR"), REPO.parent / "shared" / "data" / "public"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate).resolve()
    return None


@pytest.fixture(scope="session")
def mirror() -> Path:
    path = _mirror()
    if path is None:
        message = "public-data mirror not found: set EXPLORER_MIRROR=../shared/data/public"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI has the mirror: a missing one is an error, not a skip
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, mirror: Path) -> Settings:
    root = tmp_path_factory.mktemp("explorer-home")
    return Settings(cache_dir=root / "cache", data_dir=root / "data", mirror=mirror)


@pytest.fixture(scope="session")
def london_bundle(settings: Settings) -> Bundle:
    build_region(settings, "london")
    return load_bundle(settings, "london")


@pytest.fixture(scope="session")
def london_records(settings: Settings, london_bundle: Bundle) -> dict:
    """Synthetic person-level records for London, generated once into the session's data dir
    (records_dir(settings, "london")); returns the records manifest."""
    from explorer.synth.careplans import generate_records

    return generate_records(settings, london_bundle)


@pytest.fixture(scope="session")
def london_model(settings: Settings, london_records: dict) -> dict:
    """The London risk model trained once on the session's records, everyone scored (risk_scores);
    returns train_region's result (model path, timings, report)."""
    from explorer.services import train_region

    return train_region(settings, "london", compare_gbm=False)


@pytest.fixture(scope="session")
def london_app_data(settings: Settings, london_model: dict):
    """The app's read-only shared data for London (bundle, coverage engine with risk, geometry), loaded
    once per session and shared by every app the tests create."""
    from explorer.services.app_data import AppData

    return AppData.load(settings, "london")


@pytest.fixture(scope="session")
def england_bundle(settings: Settings) -> Bundle:
    build_region(settings, "england")
    return load_bundle(settings, "england")


@pytest.fixture()
def cli_env(settings: Settings, london_bundle: Bundle, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Environment under which the `explorer` CLI sees the session's bundles."""
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(settings.cache_dir))
    monkeypatch.setenv("EXPLORER_MIRROR", str(settings.mirror))
    return settings
