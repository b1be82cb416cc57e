"""The records store's one atomic switch: a write killed or failing at any step leaves the old table or
the new one, whole (same rows and provenance as one of them), never a mix or nothing; orphans of a
killed write are removed by the next write; older unversioned tables are still read."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from explorer import atomic
from explorer.records import aggregate, store

TABLE = "plan_reviews"
OLD = [f"R-old-{i}" for i in range(3)]
NEW = [f"R-new-{i}" for i in range(5)]
ROOT = Path(__file__).resolve().parents[1]


def frame(ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"review_id": ids, "plan_id": ["P1"] * len(ids),
                         "review_date": pd.to_datetime(["2026-01-02"] * len(ids))})


def write_old(directory: Path) -> None:
    store.write_table(directory, TABLE, [frame(OLD)], provenance={"synthetic": False, "source_file": "old.csv"})


def write_new(directory: Path) -> int:
    """Two frames, so two part files: a crash can fall between them."""
    return store.write_table(directory, TABLE, [frame(NEW[:2]), frame(NEW[2:])],
                             provenance={"synthetic": False, "source_file": "new.csv"})


def state(directory: Path) -> str:
    """'old' or 'new' when the table reads whole and its provenance belongs to the same write."""
    ids = sorted(store.read_table(directory, TABLE)["review_id"])
    provenance = store.read_provenance(directory, TABLE)
    glob = aggregate.table_glob(directory, TABLE)  # the DuckDB path resolves through the same pointer
    glob_ids = sorted(r[0] for r in duckdb.sql(f"SELECT review_id FROM read_parquet('{glob}')").fetchall())
    for name, expected in (("old", OLD), ("new", NEW)):
        if ids == sorted(expected):
            assert provenance["source_file"] == f"{name}.csv" and provenance["rows"] == len(expected), provenance
            assert glob_ids == ids
            return name
    raise AssertionError(f"a mix: {ids} with provenance {provenance}")


def leftovers(directory: Path) -> list[str]:
    """Entries a reader cannot reach, once orphans are cleaned: must be none."""
    root = directory / TABLE
    pointer = atomic.read_pointer(root) or {}
    keep = {atomic.POINTER_FILE, pointer.get("current"), pointer.get("previous")}
    return sorted(p.name for p in root.iterdir() if p.name not in keep)


# --- faults raised in the process (disk full, I/O error) at every call of each step -----------------


def failing_on(call: int, real: Callable) -> Callable:
    calls = {"n": 0}

    def fake(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == call:
            raise OSError(28, "No space left on device (injected)")
        return real(*args, **kwargs)

    fake.calls = calls
    return fake


FAULTS = {
    "os.replace": (atomic.os, "replace"),
    "fsync": (atomic, "fsync_path"),
    "provenance write": (store, "write_text_durable"),
    "pointer write": (atomic, "write_text_durable"),
    "part write": (atomic.pq, "write_table"),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_a_fault_at_any_call_of_any_step_leaves_the_old_or_the_new_table_whole(tmp_path, monkeypatch, fault):
    owner, attribute = FAULTS[fault]
    real = getattr(owner, attribute)
    counter = failing_on(0, real)
    with monkeypatch.context() as m:  # how often a clean write makes the call
        write_old(tmp_path / "probe")
        m.setattr(owner, attribute, counter)
        write_new(tmp_path / "probe")
    total = counter.calls["n"]
    assert total >= 1, fault
    seen = set()
    for call in range(1, total + 1):
        directory = tmp_path / f"{call}"
        write_old(directory)
        with monkeypatch.context() as m:
            m.setattr(owner, attribute, failing_on(call, real))
            try:
                write_new(directory)
            except OSError:
                pass
        seen.add(state(directory))
        store.clean_table(directory, TABLE)
        assert leftovers(directory) == [], (fault, call)
        assert write_new(directory) == 5 and state(directory) == "new"
    assert "old" in seen, fault


# --- a real process killed with SIGKILL at each step of the switch -----------------------------------

KILL_STEPS = {  # step -> the table that must be there afterwards
    "part-written": "old",  # after the first of two part files
    "parts-written": "old",  # every part written, provenance not yet
    "before-replace:_provenance.json": "old",  # provenance in its temporary file
    "written": "old",  # the version folder complete, still under its temporary name
    "renamed": "old",  # renamed to v-..., the pointer not yet switched
    "before-replace:CURRENT": "old",  # the new pointer written beside CURRENT, not yet replaced
    "switched": "new",  # the pointer replaced, clean-up not yet done
}

WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from test_store_switch import write_new
    write_new(Path(sys.argv[1]))
""")


@pytest.mark.parametrize("step", KILL_STEPS)
def test_an_importer_killed_at_each_step_leaves_the_old_or_the_new_table_whole(tmp_path, step):
    write_old(tmp_path)
    env = {**os.environ, atomic.CRASH_ENV: step, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", WRITER.format(tests=str(ROOT / "tests")), str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == -9, (step, done.returncode, done.stderr)  # killed at that step, not before
    assert state(tmp_path) == KILL_STEPS[step]
    store.clean_table(tmp_path, TABLE)
    assert leftovers(tmp_path) == []
    assert write_new(tmp_path) == 5 and state(tmp_path) == "new"


# --- clean-up, rollback, the synthetic default and the old layout --------------------------------------


def test_orphans_are_removed_and_the_previous_version_kept_for_rollback(tmp_path):
    write_old(tmp_path)
    write_new(tmp_path)
    root = tmp_path / TABLE
    dead = root / f"{atomic.WRITING_PREFIX}v-x.999999999"  # no such pid
    (dead / "sub").mkdir(parents=True)
    (root / "v-19990101T000000Z-orphan").mkdir()
    (root / f"{atomic.TRASH_PREFIX}v-half-deleted").mkdir()
    (root / ".CURRENT.999999999.abc.tmp").write_text("{}")
    live = root / f"{atomic.WRITING_PREFIX}v-y.{os.getpid()}"  # a writer still running: kept
    live.mkdir()
    assert not aggregate.has_table(tmp_path / "elsewhere", TABLE)
    removed = store.clean_table(tmp_path, TABLE)
    assert sorted(removed) == sorted([dead.name, "v-19990101T000000Z-orphan", ".trash-v-half-deleted",
                                      ".CURRENT.999999999.abc.tmp"])
    assert leftovers(tmp_path) == [live.name]
    live.rmdir()
    assert state(tmp_path) == "new"
    store.rollback_table(tmp_path, TABLE)
    assert state(tmp_path) == "old"
    store.rollback_table(tmp_path, TABLE)
    assert state(tmp_path) == "new"


def test_only_current_and_previous_versions_are_kept(tmp_path):
    for _ in range(3):
        write_old(tmp_path)
    versions = [p.name for p in (tmp_path / TABLE).iterdir() if p.name.startswith(atomic.VERSION_PREFIX)]
    assert len(versions) == 2 and leftovers(tmp_path) == []


def test_a_write_without_provenance_is_marked_synthetic(tmp_path):
    assert store.write_table(tmp_path, TABLE, [frame(OLD)]) == 3
    provenance = store.read_provenance(tmp_path, TABLE)
    assert provenance["synthetic"] is True and provenance["rows"] == 3 and provenance["parts"] == ["part-00000.parquet"]
    assert not store.is_real_table(tmp_path, TABLE)


def test_a_table_of_the_old_unversioned_layout_is_read_then_replaced(tmp_path):
    legacy = tmp_path / TABLE
    legacy.mkdir()
    pq.write_table(store.to_arrow_table(frame(OLD), store.LAYOUTS[TABLE]), legacy / "part-00000.parquet")
    (legacy / store.PROVENANCE_FILE).write_text('{"synthetic": false, "source_file": "old.csv", "rows": 3}')
    assert store.table_dir(tmp_path, TABLE) == legacy and state(tmp_path) == "old"
    assert aggregate.has_table(tmp_path, TABLE)
    write_new(tmp_path)
    assert state(tmp_path) == "new"
    assert not list(legacy.glob("part-*.parquet")) and not (legacy / store.PROVENANCE_FILE).exists()


def test_a_missing_or_damaged_table_says_so(tmp_path):
    from explorer.errors import DataMissingError

    with pytest.raises(DataMissingError, match="missing"):
        store.table_glob(tmp_path, TABLE)
    write_old(tmp_path)
    (tmp_path / TABLE / atomic.POINTER_FILE).write_text('{"current": "v-gone", "previous": null}')
    with pytest.raises(DataMissingError, match="damaged"):
        store.read_table(tmp_path, TABLE)
    assert store.read_provenance(tmp_path, TABLE) is None and not aggregate.has_table(tmp_path, TABLE)
