"""Writes that never leave a half file or half table behind: write beside the target, then rename.

A rename within one directory is atomic on POSIX, so a reader sees the old content or the new,
never a mix, and a failed or interrupted write leaves what was stored untouched.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

T = TypeVar("T")
PART_NAME = "part-{:05d}.parquet"


def write_text_atomic(path: Path, text: str, *, mode: int | None = None) -> Path:
    """Replace `path` with `text` (optionally chmod `mode` before it becomes visible)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
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


def write_parquet_parts(target: Path, tables: Iterable[pa.Table], empty: pa.Table) -> int:
    """Write each non-empty Arrow table as `target/part-NNNNN.parquet`, atomically; returns rows.

    Streaming: one table in memory at a time, so a cohort larger than memory can be written. An
    empty result still gets one part with `empty`'s schema, which DuckDB and pandas can read."""

    def write(directory: Path) -> int:
        rows = parts = 0
        for table in tables:
            if table.num_rows == 0 and parts:
                continue
            pq.write_table(table, directory / PART_NAME.format(parts), compression="zstd")
            parts += 1
            rows += table.num_rows
        if parts == 0:
            pq.write_table(empty, directory / PART_NAME.format(0), compression="zstd")
        return rows

    return replace_directory(target, write)
