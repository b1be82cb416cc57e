"""Writing and reading the person-level tables of explorer.records.schema as Parquet.

Layout on disk (one directory per region):

    <data_dir>/records/<region>/
        records_manifest.json          what was written, when, from which seed (and the synthetic truth)
        people/CURRENT                 {"current": "v-...", "previous": "v-..."}: the live version
        people/v-<time>-<id>/part-00000.parquet ...  one or more part files per table
        people/v-<time>-<id>/_provenance.json        synthetic or real, source file, sha256, rows, time
        plans/...

- `write_table` writes a whole table from an iterable of frames (so a national cohort is written
  chunk by chunk, never held in memory at once) into a new version folder, with its provenance,
  and switches the table's pointer to it in one os.replace (explorer.atomic.write_version): a
  failed or killed write leaves the previous table and its provenance, whole. Data and provenance
  switch together, so real data can never be described as synthetic or the other way round.
- `table_dir` is the one resolver every reader goes through (`table_glob`, `read_table`,
  `read_provenance`). Tables written by older releases (part files directly in `<table>/`) are
  still read, and replaced by a version on the next write.
- Every frame is checked against its Layout before anything is written: the exact column names,
  the kind of each column (strings stored as Parquet string, whole numbers as int64, dates as
  date32, yes/no as bool), no empty values in required columns, allowed values and ranges.
- `table_glob` gives a path pattern DuckDB can scan (`read_parquet('<glob>')`), so aggregations run
  over the files without loading the cohort into pandas.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from explorer.atomic import (
    VersionError,
    clean_versions,
    crash_point,
    current_version,
    rollback_version,
    write_parts,
    write_text_atomic,
    write_text_durable,
    write_version,
)
from explorer.config import Settings
from explorer.errors import DataMissingError, ExplorerError
from explorer.records.schema import LAYOUTS, Column, Layout

MANIFEST_FILE = "records_manifest.json"
PROVENANCE_FILE = "_provenance.json"
ARROW_TYPES = {"str": pa.string(), "int": pa.int64(), "bool": pa.bool_(), "date": pa.date32(), "float": pa.float64()}


class RecordsLayoutError(ExplorerError):
    """A frame does not match the layout of the table it is written to."""


def records_dir(settings: Settings, region: str) -> Path:
    return settings.data_dir / "records" / region


def arrow_schema(layout: Layout) -> pa.Schema:
    return pa.schema([pa.field(name, ARROW_TYPES[col.kind], nullable=not col.required)
                      for name, col in layout.columns.items()])


def _layout(name: str) -> Layout:
    if name not in LAYOUTS:
        raise RecordsLayoutError(f"unknown table '{name}': the layouts are {', '.join(LAYOUTS)}")
    return LAYOUTS[name]


def _to_arrow(series: pd.Series, name: str, col: Column, table: str) -> pa.Array:
    """One column converted to its stored type, refusing conversions that would change meaning."""
    dtype = series.dtype
    where = f"table '{table}', column '{name}'"
    if len(series) and series.isna().all():  # an empty optional column, whatever pandas made of it
        if col.required:
            raise RecordsLayoutError(f"{where}: {len(series)} empty values in a required column")
        return pa.nulls(len(series), type=ARROW_TYPES[col.kind])
    kind_ok = {
        "str": lambda: pd.api.types.is_string_dtype(dtype) or (
            isinstance(dtype, pd.CategoricalDtype) and pd.api.types.is_string_dtype(dtype.categories.dtype)),
        "int": lambda: pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype),
        "bool": lambda: pd.api.types.is_bool_dtype(dtype),
        "date": lambda: pd.api.types.is_datetime64_any_dtype(dtype) or (
            dtype == object and all(isinstance(v, datetime.date) for v in series.dropna())),
        "float": lambda: pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype),
    }[col.kind]
    if not kind_ok():
        raise RecordsLayoutError(f"{where}: expected {col.kind}, got dtype {dtype}")
    if isinstance(dtype, pd.CategoricalDtype):
        series = series.astype("str")
    if col.kind == "date":
        if getattr(dtype, "tz", None) is not None:
            raise RecordsLayoutError(f"{where}: dates must be naive calendar dates, got {dtype}")
        values = pd.to_datetime(series).to_numpy(dtype="datetime64[ns]", na_value=np.datetime64("NaT"))
        if (values[~np.isnat(values)] != values[~np.isnat(values)].astype("datetime64[D]")).any():
            raise RecordsLayoutError(f"{where}: dates must not carry a time of day")
        array = pa.array(values.astype("datetime64[D]"), type=pa.date32(), from_pandas=True)
    else:
        array = pa.Array.from_pandas(series, type=ARROW_TYPES[col.kind])
    if col.required and array.null_count:
        raise RecordsLayoutError(f"{where}: {array.null_count} empty values in a required column")
    if col.allowed is not None:
        bad = pc.invert(pc.is_in(array, value_set=pa.array(col.allowed))).fill_null(False)
        if pc.any(bad).as_py():
            example = array.filter(bad)[0].as_py()
            raise RecordsLayoutError(f"{where}: value '{example}' is not one of {', '.join(col.allowed)}")
    if (col.minimum is not None or col.maximum is not None) and len(array) - array.null_count:
        extremes = pc.min_max(array).as_py()
        if col.minimum is not None and extremes["min"] < col.minimum:
            raise RecordsLayoutError(f"{where}: {extremes['min']} is below the minimum {col.minimum}")
        if col.maximum is not None and extremes["max"] > col.maximum:
            raise RecordsLayoutError(f"{where}: {extremes['max']} is above the maximum {col.maximum}")
    return array


def to_arrow_table(frame: pd.DataFrame, layout: Layout) -> pa.Table:
    """Check a frame against its layout and convert it to the stored Arrow types (layout column order).

    Optional columns (required=False) may be absent: they are stored empty."""
    columns = list(frame.columns)
    extra = [c for c in columns if c not in layout.columns]
    missing = [c for c, col in layout.columns.items() if col.required and c not in columns]
    if extra or missing or len(set(columns)) != len(columns):
        raise RecordsLayoutError(
            f"table '{layout.name}': columns do not match the layout"
            + (f"; unexpected {extra}" if extra else "") + (f"; missing {missing}" if missing else "")
            + ("; duplicated names" if len(set(columns)) != len(columns) else ""))
    arrays = []
    for name, col in layout.columns.items():
        if name in frame.columns:
            arrays.append(_to_arrow(frame[name], name, col, layout.name))
        else:
            arrays.append(pa.nulls(len(frame), type=ARROW_TYPES[col.kind]))
    return pa.Table.from_arrays(arrays, schema=arrow_schema(layout))


def _is_legacy_entry(path: Path) -> bool:
    """Part files and provenance that older releases kept directly in `<table>/`."""
    return path.is_file() and (path.name == PROVENANCE_FILE or
                               (path.name.startswith("part-") and path.name.endswith(".parquet")))


def write_table(directory: Path, layout_name: str, frames: Iterable[pd.DataFrame],
                provenance: Mapping[str, object] | None = None) -> int:
    """Write a table as a new version under `directory/<table>/` and switch to it; returns the row count.

    Each non-empty frame becomes one part file. `provenance` is stored beside the parts (default:
    synthetic data) with the table name, row count, part names and time added. If a frame fails
    validation or the iterable raises (or the process dies), the previous table is untouched."""
    layout = _layout(layout_name)
    record = {"table": layout.name, "synthetic": True, **(provenance or {})}

    def write(folder: Path) -> int:
        tables = (to_arrow_table(frame, layout) for frame in frames)
        rows = write_parts(folder, tables, arrow_schema(layout).empty_table())
        crash_point("parts-written")
        parts = sorted(p.name for p in folder.glob("part-*.parquet"))
        write_text_durable(folder / PROVENANCE_FILE, json.dumps({
            **record, "rows": rows, "parts": parts,
            "written_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}, indent=2, default=str))
        return rows

    return write_version(table_root(directory, layout.name), write, legacy=_is_legacy_entry)


def table_root(directory: Path, name: str) -> Path:
    """`<directory>/<table>`: the folder holding the table's versions and pointer (not its parts)."""
    return Path(directory) / _layout(name).name


def table_dir(directory: Path, name: str) -> Path:
    """The folder holding the current parts and provenance of a table: the one resolver for readers.

    The version named by `<table>/CURRENT`; for a table written by an older release, `<table>`
    itself. Raises DataMissingError when there is no table."""
    root = table_root(directory, name)
    try:
        version = current_version(root)
    except VersionError as exc:
        raise DataMissingError(f"The records table '{name}' is damaged: {exc}.\n"
                               "Import it again or run `explorer data synth`.") from exc
    if version is not None:
        return version
    if root.is_dir() and any(root.glob("part-*.parquet")):
        return root
    raise DataMissingError(f"The records table '{name}' is missing ({root}).\n"
                           "Run `explorer data synth` to generate the synthetic records for this region.")


_table_dir = table_dir  # the name used before the versioned layout


def table_exists(directory: Path, name: str) -> bool:
    try:
        table_dir(directory, name)
    except DataMissingError:
        return False
    return True


def clean_table(directory: Path, name: str) -> list[str]:
    """Remove orphans of killed writes under `<table>/` (see explorer.atomic.clean_versions)."""
    return clean_versions(table_root(directory, name), legacy=_is_legacy_entry)


def rollback_table(directory: Path, name: str) -> str:
    """Make the table's previous version (data and provenance) current again; returns its name."""
    try:
        return rollback_version(table_root(directory, name))
    except VersionError as exc:
        raise ExplorerError(str(exc)) from exc


def table_glob(directory: Path, name: str) -> str:
    """A glob over the table's current part files, for DuckDB: `FROM read_parquet('<glob>')`."""
    return str(table_dir(directory, name) / "part-*.parquet")


def read_provenance(directory: Path, name: str) -> dict | None:
    """The provenance stored with the current version ({'synthetic': bool, 'source_file': ..., ...}),
    or None when the table does not exist or (written by an older release) has none."""
    try:
        path = table_dir(directory, name) / PROVENANCE_FILE
    except DataMissingError:
        return None
    return json.loads(path.read_text()) if path.is_file() else None


def is_real_table(directory: Path, name: str) -> bool:
    """True when the current version was imported from a real extract (not synthetic demo data)."""
    provenance = read_provenance(directory, name)
    return bool(provenance) and provenance.get("synthetic") is False


def read_table(directory: Path, name: str, columns: list[str] | None = None) -> pd.DataFrame:
    """The whole table (or some columns) as pandas: strings as str, dates as datetime64, ints as int64.

    Optional int and bool columns holding empty values come back as nullable Int64 / boolean."""
    layout = _layout(name)
    unknown = [c for c in columns or [] if c not in layout.columns]
    if unknown:
        raise RecordsLayoutError(f"table '{name}' has no column(s) {unknown}")
    paths = sorted(str(p) for p in table_dir(directory, name).glob("part-*.parquet"))
    table = ds.dataset(paths, schema=arrow_schema(layout), format="parquet").to_table(columns=columns)
    frame = table.to_pandas(date_as_object=False, ignore_metadata=True)
    for field in table.schema:
        if pa.types.is_date32(field.type):
            frame[field.name] = frame[field.name].astype("datetime64[s]")
        elif field.type in (pa.int64(), pa.bool_()) and frame[field.name].isna().any():
            frame[field.name] = frame[field.name].astype("Int64" if field.type == pa.int64() else "boolean")
    return frame


def write_manifest(directory: Path, manifest: dict) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(directory / MANIFEST_FILE, json.dumps(manifest, indent=2, default=str))


def read_manifest(directory: Path) -> dict:
    path = Path(directory) / MANIFEST_FILE
    if not path.exists():
        raise DataMissingError(f"No person-level records at {directory} ({MANIFEST_FILE} is missing).\n"
                               "Run `explorer data synth` to generate the synthetic records for this region.")
    return json.loads(path.read_text())


def remove_manifest(directory: Path) -> None:
    """Called before regenerating: tables of mixed generations are never described as one."""
    (Path(directory) / MANIFEST_FILE).unlink(missing_ok=True)
