"""Writing and reading the person-level tables of explorer.records.schema as Parquet.

Layout on disk (one directory per region):

    <data_dir>/records/<region>/
        records_manifest.json          what was written, when, from which seed (and the synthetic truth)
        people/part-00000.parquet ...  one or more part files per table
        plans/part-00000.parquet
        ...

- `write_table` writes a whole table from an iterable of frames (so a national cohort is written
  chunk by chunk, never held in memory at once) into a temporary directory beside the table, and
  renames it into place only when every part is written: a failed write leaves the previous table.
- Every frame is checked against its Layout before anything is written: the exact column names,
  the kind of each column (strings stored as Parquet string, whole numbers as int64, dates as
  date32, yes/no as bool), no empty values in required columns, allowed values and ranges.
- `table_glob` gives a path pattern DuckDB can scan (`read_parquet('<glob>')`), so aggregations run
  over the files without loading the cohort into pandas.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from explorer.atomic import write_parquet_parts, write_text_atomic
from explorer.config import Settings
from explorer.errors import DataMissingError, ExplorerError
from explorer.records.schema import LAYOUTS, Column, Layout

MANIFEST_FILE = "records_manifest.json"
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


def write_table(directory: Path, layout_name: str, frames: Iterable[pd.DataFrame]) -> int:
    """Write a table as part files under `directory/<table>/`, atomically; returns the row count.

    Each non-empty frame becomes one part file. If a frame fails validation or the iterable raises,
    nothing of the new table is kept and the previous table (if any) is untouched."""
    layout = _layout(layout_name)
    tables = (to_arrow_table(frame, layout) for frame in frames)
    return write_parquet_parts(Path(directory) / layout.name, tables, arrow_schema(layout).empty_table())


def _table_dir(directory: Path, name: str) -> Path:
    path = Path(directory) / _layout(name).name
    if not path.is_dir():
        raise DataMissingError(f"The records table '{name}' is missing ({path}).\n"
                               "Run `explorer data synth` to generate the synthetic records for this region.")
    return path


def table_glob(directory: Path, name: str) -> str:
    """A glob over the table's part files, for DuckDB: `FROM read_parquet('<glob>')`."""
    return str(_table_dir(directory, name) / "part-*.parquet")


def read_table(directory: Path, name: str, columns: list[str] | None = None) -> pd.DataFrame:
    """The whole table (or some columns) as pandas: strings as str, dates as datetime64, ints as int64.

    Optional int and bool columns holding empty values come back as nullable Int64 / boolean."""
    layout = _layout(name)
    unknown = [c for c in columns or [] if c not in layout.columns]
    if unknown:
        raise RecordsLayoutError(f"table '{name}' has no column(s) {unknown}")
    paths = sorted(str(p) for p in _table_dir(directory, name).glob("part-*.parquet"))
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
