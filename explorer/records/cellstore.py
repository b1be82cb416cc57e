"""Cell tables made once and stored: Arrow files and a manifest keyed to the records they came from.

Layout (``explorer aggregate --out DIR``; the app's default place is ``<data_dir>/cells/<region>``)::

    DIR/cells_manifest.json   engine, months, risk definition, the records fingerprint, per-table rows
    DIR/person_cells.arrow    DIR/plan_cells.arrow    DIR/user_cells.arrow

The directory is written beside its target and swapped in (explorer.atomic.replace_directory), so
a reader sees the old set or the new one, never a mix. The manifest's ``records_fingerprint``
names the exact records snapshot (the version folder each table's pointer names, its part files'
names, sizes and times, and the records manifest): generate or import records again, or retrain
the risk model, and the fingerprint changes, so stale cells are never used in their place.

The tables are Arrow IPC files (uncompressed, text keys dictionary-encoded), read by memory
mapping: a query starts from England's 9.6 million person cells without decoding them (Parquet
with zstd took 1.7 s of CPU to decode them and 1 s more to make pandas columns). They are
larger on disk (England: about 0.5 GB each for person and plan cells). Tables with a ``month``
column hold one record batch per month, sorted, so a one-snapshot reader (``read_cells(...,
months=...)``, what `explorer summary` needs) touches that month's rows only. Text keys come
back as pandas categoricals: a Python string per cell would cost seconds and gigabytes. Stores
written before (``<name>.parquet``) are still read.
"""

from __future__ import annotations

import datetime as dt
import glob
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc  # pa.ipc
import pyarrow.parquet as pq

from explorer.atomic import replace_directory
from explorer.errors import ExplorerError
from explorer.records import aggregate, cellsql

CELLS_MANIFEST = "cells_manifest.json"
FORMAT = "explorer-cells/1"
#: text keys read as dictionaries (not ``month``: the engine orders rows by it as text)
DICTIONARY_KEYS = ("month", "lsoa_code", "sex", "ethnic_group", "frailty")


class CellStoreError(ExplorerError):
    """Stored cell tables that cannot be used (missing, unreadable or of another format)."""


def cells_dir(settings: Any, region: str) -> Path:
    """Where the app looks for a region's stored cells: ``<data_dir>/cells/<region>``."""
    return Path(settings.data_dir) / "cells" / region


def _table_files(directory: Path, name: str) -> list[Path]:
    return sorted(Path(p) for p in glob.glob(aggregate.table_glob(directory, name)))


def records_fingerprint(directory: Path) -> str:
    """sha256 over what the aggregation reads: each table's files (path within the records
    directory, size, modification time) and the records manifest."""
    directory = Path(directory)
    digest = hashlib.sha256()
    for name in (*cellsql.PERSON_TABLES, *cellsql.USER_TABLES):
        if not aggregate.has_table(directory, name):
            continue
        for path in _table_files(directory, name):
            stat = path.stat()
            digest.update(f"{path.relative_to(directory)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    manifest = directory / aggregate.MANIFEST_FILE
    if manifest.exists():
        digest.update(manifest.read_bytes())
    return digest.hexdigest()


def write_cells(out: Path, cells: Mapping[str, pd.DataFrame], info: Mapping[str, Any]) -> dict:
    """Write the cell tables and their manifest to ``out`` atomically; returns the manifest."""
    def write(tmp: Path) -> dict:
        tables = {}
        for name, frame in cells.items():
            _write_table(tmp / f"{name}.arrow", frame)
            tables[name] = {"file": f"{name}.arrow", "rows": len(frame), "columns": list(frame.columns)}
        manifest = {"format": FORMAT, "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    **info, "tables": tables}
        (tmp / CELLS_MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        return manifest

    return replace_directory(Path(out), write)


def _write_table(path: Path, frame: pd.DataFrame) -> None:
    """One cell table as an Arrow IPC file: text keys dictionary-encoded (one dictionary per
    column); with a month column, sorted by it and one record batch per month."""
    if "month" in frame and not frame["month"].is_monotonic_increasing:  # the aggregation sorts by month first
        frame = frame.sort_values("month", kind="stable", ignore_index=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for name in DICTIONARY_KEYS:
        if name in table.column_names and not pa.types.is_dictionary(table.schema.field(name).type):
            at = table.column_names.index(name)
            table = table.set_column(at, name, pc.dictionary_encode(table.column(name).combine_chunks()))
    table = table.unify_dictionaries().combine_chunks()
    sizes = frame.groupby("month", sort=True).size().tolist() if "month" in frame else [len(frame)]
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        start = 0
        for rows in sizes or [0]:
            writer.write_table(table.slice(start, rows), max_chunksize=max(rows, 1))
            start += rows


def read_manifest(out: Path) -> dict | None:
    """The stored cells' manifest, or None when there is none (or it is unreadable or foreign)."""
    path = Path(out) / CELLS_MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("format") == FORMAT else None


def read_cells(out: Path, name: str, months: Sequence[str] | None = None) -> pd.DataFrame:
    """One stored cell table (text keys as categoricals); only the rows of ``months`` ("YYYY-MM")
    when given, touching only their record batches."""
    path = Path(out) / f"{name}.arrow"
    try:
        table = _read_arrow(path, months) if path.exists() else _read_parquet(path.with_suffix(".parquet"), months)
    except (OSError, pa.ArrowInvalid) as exc:
        raise CellStoreError(f"cannot read stored cells {path}: {exc}") from None
    # plain numpy columns (whole numbers as int64, flags as bool; as pandas booleans only where a
    # flag has gaps) rather than the nullable types the pandas metadata asks for: half the time
    gaps = any(table.column(i).null_count for i, f in enumerate(table.schema) if pa.types.is_boolean(f.type))
    return table.to_pandas(ignore_metadata=True, types_mapper={pa.bool_(): pd.BooleanDtype()}.get if gaps else None)


def _read_arrow(path: Path, months: Sequence[str] | None) -> pa.Table:
    reader = pa.ipc.open_file(pa.memory_map(str(path)))
    if months is None:
        return reader.read_all()
    wanted = set(months)
    batches = [reader.get_batch(i) for i in range(reader.num_record_batches)]
    kept = [b for b in batches if b.num_rows and b.column("month")[0].as_py() in wanted]
    table = pa.Table.from_batches(kept, schema=reader.schema)
    return table.filter(pc.is_in(table.column("month"), pa.array(sorted(wanted))))  # batches are months


def _read_parquet(path: Path, months: Sequence[str] | None) -> pa.Table:
    filters = None if months is None else [("month", "in", list(months))]
    return pq.read_table(path, filters=filters, read_dictionary=list(DICTIONARY_KEYS))


def is_current(out: Path, records: Path) -> bool:
    """Whether stored cells in ``out`` were made from the records now in ``records``."""
    manifest = read_manifest(out)
    return manifest is not None and manifest.get("records_fingerprint") == records_fingerprint(records)
