"""Writes that never leave a half file or half table behind: write beside the target, then rename.

A rename within one directory is atomic on POSIX, so a reader sees the old content or the new,
never a mix, and a failed or interrupted write leaves what was stored untouched.

Tables that must survive a crash at any instant (the person-level records) use versioned folders
and a pointer file (`write_version`): one `os.replace` of one small file is the only switch, so
there is no moment with no table at all, as there is between the two renames of `replace_directory`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

T = TypeVar("T")
PART_NAME = "part-{:05d}.parquet"


def write_text_atomic(path: Path, text: str, *, mode: int | None = None) -> Path:
    """Replace `path` with `text` as UTF-8 (optionally chmod `mode` before it becomes visible)."""
    return write_bytes_atomic(path, text.encode("utf-8"), mode=mode)


def write_bytes_atomic(path: Path, data: bytes, *, mode: int | None = None) -> Path:
    """Replace `path` with `data` (exports: images, PDFs, spreadsheets); nothing half-written is left
    behind if the write fails, and an unwritable directory raises before any file appears."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        if mode is not None:
            os.chmod(tmp, mode)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def replace_directory(target: Path, write: Callable[[Path], T]) -> T:
    """Call `write(tmp)` on an empty sibling directory, then swap it in for `target`.

    If `write` raises, the new directory is removed and `target` keeps its previous content."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.writing-{os.getpid()}"
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        result = write(tmp)
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            target.replace(old)
        tmp.replace(target)
        shutil.rmtree(old, ignore_errors=True)
        return result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_parts(directory: Path, tables: Iterable[pa.Table], empty: pa.Table) -> int:
    """Write each non-empty Arrow table as `directory/part-NNNNN.parquet` (fsynced); returns rows.

    Streaming: one table in memory at a time, so a cohort larger than memory can be written. An
    empty result still gets one part with `empty`'s schema, which DuckDB and pandas can read."""
    rows = parts = 0
    for table in tables:
        if table.num_rows == 0 and parts:
            continue
        path = directory / PART_NAME.format(parts)
        pq.write_table(table, path, compression="zstd")
        fsync_path(path)
        crash_point("part-written")
        parts += 1
        rows += table.num_rows
    if parts == 0:
        pq.write_table(empty, directory / PART_NAME.format(0), compression="zstd")
        fsync_path(directory / PART_NAME.format(0))
    return rows


def write_parquet_parts(target: Path, tables: Iterable[pa.Table], empty: pa.Table) -> int:
    """`write_parts` into a directory swapped in by `replace_directory` (tables outside the records store)."""
    return replace_directory(target, lambda directory: write_parts(directory, tables, empty))


# ---------------------------------------------------------------------------------------------
# Crash-safe versioned folders: <root>/v-<time>-<id>/ ... and <root>/CURRENT naming the live one

POINTER_FILE = "CURRENT"
VERSION_PREFIX = "v-"
WRITING_PREFIX = ".writing-"  # + <version>.<pid>: a version being written
TRASH_PREFIX = ".trash-"  # a version being deleted (renamed first, so a half-deleted one is never used)
STALE_SECONDS = 6 * 3600  # a writer's temporary folder older than this is removed even if its pid lives
CRASH_ENV = "EXPLORER_CRASH_AT"  # test hook: the step of write_version at which to SIGKILL this process


class VersionError(OSError):
    """The pointer file names a version that is not there (the store was changed by hand)."""


def crash_point(step: str) -> None:
    """Kill this process with SIGKILL at `step` when EXPLORER_CRASH_AT names it.

    Lets the crash-injection tests stop a real importer between any two steps of the switch,
    which a monkeypatched exception cannot imitate (no finally blocks run on SIGKILL)."""
    if os.environ.get(CRASH_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def fsync_path(path: Path) -> None:
    """Flush a file's or directory's entry to disk, so a rename is not reordered before the data."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_text_durable(path: Path, text: str) -> Path:
    """Replace `path` with `text`: temp file, fsync, os.replace, fsync of the directory."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        crash_point(f"before-replace:{path.name}")
        os.replace(tmp, path)
        fsync_path(path.parent)
    finally:
        tmp.unlink(missing_ok=True)
    return path


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    """One switch or clean-up at a time per root, so clean-up never takes a version about to be named.

    The lock is flock on the root directory itself: no lock file to leave behind or to race on."""
    fd = os.open(root, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def read_pointer(root: Path) -> dict[str, str | None] | None:
    """{'current': name, 'previous': name or None}, or None when the root has no pointer yet."""
    path = Path(root) / POINTER_FILE
    try:
        pointer = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    if not isinstance(pointer, dict) or not str(pointer.get("current", "")).startswith(VERSION_PREFIX):
        raise VersionError(f"{path}: not a version pointer")
    return pointer


def current_version(root: Path) -> Path | None:
    """The folder the pointer names, or None without a pointer. Raises VersionError if it is gone."""
    pointer = read_pointer(root)
    if pointer is None:
        return None
    folder = Path(root) / str(pointer["current"])
    if not folder.is_dir():
        raise VersionError(f"{Path(root) / POINTER_FILE} names {folder.name}, which is missing")
    return folder


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_stale_temp(path: Path) -> bool:
    """A temporary folder or file of a writer that died (its pid is gone) or stopped long ago.

    Names: `.writing-<version>.<pid>` and `.CURRENT.<pid>.<id>.tmp`."""
    name = path.name
    pid_text = name.rsplit(".", 1)[-1] if name.startswith(WRITING_PREFIX) else name.split(".")[2]
    try:
        dead = not _pid_alive(int(pid_text))
    except (ValueError, IndexError):
        dead = True
    try:
        old = time.time() - path.stat().st_mtime > STALE_SECONDS
    except FileNotFoundError:
        return False
    return dead or old


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _clean_locked(root: Path, legacy: Callable[[Path], bool]) -> list[str]:
    pointer = read_pointer(root)
    keep = {pointer.get("current"), pointer.get("previous")} if pointer else set()
    removed = []
    for entry in sorted(root.iterdir()):
        name = entry.name
        if name.startswith(VERSION_PREFIX) and name not in keep:
            trash = root / f"{TRASH_PREFIX}{name}"
            _remove(trash)  # a rename onto a non-empty folder would fail
            os.replace(entry, trash)
            _remove(trash)
        elif name.startswith(TRASH_PREFIX) or (name.startswith((WRITING_PREFIX, f".{POINTER_FILE}."))
                                               and _is_stale_temp(entry)):
            _remove(entry)
        elif pointer is not None and legacy(entry):
            _remove(entry)  # the unversioned layout of older releases, superseded by a version
        else:
            continue
        removed.append(name)
    return removed


def clean_versions(root: Path, legacy: Callable[[Path], bool] = lambda _: False) -> list[str]:
    """Remove what no reader can reach: versions neither current nor previous, folders of dead
    writers, half-deleted versions, and (once a pointer exists) entries `legacy` says belong to the
    unversioned layout. The previous version is kept for `rollback_version` and for a reader that
    resolved the pointer just before the last switch. Returns the names removed."""
    root = Path(root)
    if not root.is_dir():
        return []
    with _locked(root):
        return _clean_locked(root, legacy)


def write_version(root: Path, write: Callable[[Path], T], *,
                  legacy: Callable[[Path], bool] = lambda _: False) -> T:
    """Call `write(folder)` on a new empty folder under `root`, then make it the current version.

    Steps: clean up; write into `.writing-<version>.<pid>`; fsync it; rename it to `<version>`;
    replace `CURRENT` (fsynced). Until that last os.replace readers see the old version, whole;
    after it the new one, whole. A crash anywhere leaves one of the two, and litter that the next
    write (or clean_versions) removes. If `write` raises, its folder is removed at once."""
    root = Path(root)
    created = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    clean_versions(root, legacy)
    name = f"{VERSION_PREFIX}{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{uuid.uuid4().hex[:12]}"
    tmp = root / f"{WRITING_PREFIX}{name}.{os.getpid()}"
    tmp.mkdir()
    try:
        result = write(tmp)
        fsync_path(tmp)
        crash_point("written")
        with _locked(root):
            os.replace(tmp, root / name)
            fsync_path(root)
            crash_point("renamed")
            pointer = read_pointer(root)
            previous = pointer["current"] if pointer else None
            write_text_durable(root / POINTER_FILE, json.dumps({"current": name, "previous": previous}))
            crash_point("switched")
            _clean_locked(root, legacy)
        return result
    finally:
        _remove(tmp)
        if created:
            with contextlib.suppress(OSError):
                root.rmdir()  # a first write that failed leaves no empty table folder (fails if not empty)


def rollback_version(root: Path) -> str:
    """Make the previous version current again (and the current one previous); returns its name."""
    root = Path(root)
    with _locked(root):
        pointer = read_pointer(root)
        previous = pointer.get("previous") if pointer else None
        if not previous or not (root / previous).is_dir():
            raise VersionError(f"{root}: there is no previous version to roll back to")
        write_text_durable(root / POINTER_FILE, json.dumps({"current": previous, "previous": pointer["current"]}))
        return previous
