"""Shared fixtures: the public-data mirror and bundles built once per test session.

Under pytest-xdist (scripts/test.sh runs two workers) the London chain (bundle, synthetic records,
risk model) and the England bundle are built once, by whichever worker asks first, into a directory the workers share, and
each worker copies the finished stage into its own session directory: the workers never write to
each other's files, and the two cores are not both spent building the same thing. The browser tests
run on one worker against servers shared by every browser test file (`demo_urls`, at the end).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

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
def shared_settings(tmp_path_factory: pytest.TempPathFactory, worker_id: str, settings: Settings) -> Settings | None:
    """Settings of the directory all xdist workers share (None when running without workers)."""
    if worker_id == "master":
        return None
    root = tmp_path_factory.getbasetemp().parent / "explorer-shared"
    root.mkdir(exist_ok=True)
    return Settings(cache_dir=root / "cache", data_dir=root / "data", mirror=settings.mirror)


def _built_once(settings: Settings, shared: Settings | None, stage: str, subdirs: tuple[str, ...],
                build: Callable[[Settings], object]) -> object:
    """Run `build` on this session's settings, or (under xdist) once for all workers in the shared
    directory, then copy its output `subdirs` (relative to data_dir) into this worker's data_dir.
    The build's return value is pickled into the stage's marker file for the other workers."""
    if shared is None:
        return build(settings)
    import pickle

    done = shared.data_dir.parent / f"{stage}.done"
    with FileLock(str(shared.data_dir.parent / f"{stage}.lock")):
        if not done.exists():
            result = build(shared)
            done.write_bytes(pickle.dumps(result))
    result = pickle.loads(done.read_bytes())
    for sub in subdirs:
        shutil.copytree(shared.data_dir / sub, settings.data_dir / sub, dirs_exist_ok=True)
    return _rebased(result, shared.data_dir, settings.data_dir)


def _rebased(value: object, old: Path, new: Path) -> object:
    """`value` with every path under the shared data dir pointed at the worker's copy."""
    if isinstance(value, dict):
        return {k: _rebased(v, old, new) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_rebased(v, old, new) for v in value)
    if isinstance(value, Path) and value.is_relative_to(old):
        return new / value.relative_to(old)
    if isinstance(value, str) and value.startswith(str(old)):
        return str(new) + value[len(str(old)):]
    return value


@pytest.fixture(scope="session")
def london_bundle(settings: Settings, shared_settings: Settings | None) -> Bundle:
    _built_once(settings, shared_settings, "london-bundle", ("bundles/london",),
                lambda s: build_region(s, "london"))
    return load_bundle(settings, "london")


@pytest.fixture(scope="session")
def london_records(settings: Settings, shared_settings: Settings | None, london_bundle: Bundle) -> dict:
    """Synthetic person-level records for London, generated once into the session's data dir
    (records_dir(settings, "london")); returns the records manifest."""
    from explorer.synth.careplans import generate_records

    return _built_once(settings, shared_settings, "london-records", ("records/london",),
                       lambda s: generate_records(s, load_bundle(s, "london")))


@pytest.fixture(scope="session")
def london_model(settings: Settings, shared_settings: Settings | None, london_records: dict) -> dict:
    """The London risk model trained once on the session's records, everyone scored (risk_scores);
    returns train_region's result (model path, timings, report)."""
    from explorer.services import train_region

    return _built_once(settings, shared_settings, "london-model", ("records/london", "models/london"),
                       lambda s: train_region(s, "london", compare_gbm=False))


@pytest.fixture(scope="session")
def london_app_data(settings: Settings, london_model: dict):
    """The app's read-only shared data for London (bundle, coverage engine with risk, geometry), loaded
    once per session and shared by every app the tests create."""
    from explorer.services.app_data import AppData

    return AppData.load(settings, "london")


@pytest.fixture()
def cli_env(settings: Settings, london_bundle: Bundle, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Environment under which the `explorer` CLI sees the session's bundles."""
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(settings.cache_dir))
    monkeypatch.setenv("EXPLORER_MIRROR", str(settings.mirror))
    return settings


# --------------------------------------------------------------------------- browser tests: one worker, shared servers
#: browser tests in two xdist groups, one per worker: each drives its own Chromium against its own servers,
#: so one worker's page waits overlap the other's (one group left a core idle for minutes)
BROWSER_GROUPS = {"test_browser": "browser-pages", "test_browser_grids": "browser-pages"}
BROWSER_DEFAULT_GROUP = "browser-tasks"  # map, areas, tasks, England
LONDON_CHAIN = frozenset({"london_bundle", "london_records", "london_model", "london_app_data", "cli_env"})


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the xdist_group marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests go in two xdist groups (BROWSER_GROUPS): under `--dist loadgroup` (scripts/test.sh)
    each worker takes one, driving Chromium against its own servers and warm AppData; they are the
    largest units of work, so xdist hands them out first. Then the workers take the rest test by test, first those that
    do not need the London chain (so it does not sit waiting while the browser worker builds it),
    modules with slow tests first in each kind, so that no long test is left for the end."""
    slow_modules = set()
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.xdist_group(BROWSER_GROUPS.get(item.module.__name__.rsplit(".", 1)[-1],
                                                                        BROWSER_DEFAULT_GROUP)))
        if item.get_closest_marker("slow"):
            slow_modules.add(item.module)
    items.sort(key=lambda item: (bool(LONDON_CHAIN & set(getattr(item, "fixturenames", ()))),
                                 item.module not in slow_modules))  # a module's tests stay together


@pytest.fixture(scope="session")
def demo_urls(settings: Settings, london_app_data):
    """Role -> base URL of that role's London demo app, served on loopback for the whole session and
    shared by every browser test file (each app is made on first use, over the session's AppData)."""
    from explorer.app.factory import create_app
    from tests.browser_support import DemoServers

    servers = DemoServers(lambda role: create_app(settings, "london", demo_role=role, data=london_app_data,
                                                  warm=False))
    yield servers
    servers.close()


from tests.england_world import *  # noqa: E402,F401,F403 - England: bundle once, one ICS's records
