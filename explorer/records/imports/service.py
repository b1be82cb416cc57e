"""Importing one extract: read, validate against the bundle and the real tables, store all or nothing.

The table and its provenance (real data, source file and its sha256, rows, extract date, time) are
written as one version of the table and switched to in one step (explorer.records.store.write_table),
so a crash at any moment leaves the previous table and its provenance, or the new ones; never a mix.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from explorer.config import Settings
from explorer.errors import ExplorerError
from explorer.records.imports.checks import (
    LSOA_COLUMNS,
    PRACTICE_COLUMNS,
    ImportContext,
    resolve_lsoa11,
)
from explorer.records.imports.problems import ImportRejected
from explorer.records.imports.read import read_extract
from explorer.records.imports.validate import validate_extract
from explorer.records.schema import LAYOUTS, Layout
from explorer.records.store import (
    PROVENANCE_FILE,
    is_real_table,
    read_provenance,
    table_dir,
)

CHUNK_ROWS = 1_000_000  # rows per stored part file
# Columns that must name a row of another records table, when that table holds real (imported) data.
REFERENCES: dict[tuple[str, str], str] = {
    ("plans", "person_id"): "people",
    ("plan_reviews", "plan_id"): "plans",
    ("plan_views", "plan_id"): "plans",
    ("user_logins", "user_id"): "users",
}

__all__ = ["CHUNK_ROWS", "REFERENCES", "ImportResult", "build_context", "import_extract", "is_real_table",
           "provenance_path", "read_provenance"]


@dataclass(frozen=True)
class ImportResult:
    rows: int
    converted_2011: int  # rows whose LSOA 2011 code was converted to 2021
    converted_by_split: int  # of which the 2011 LSOA had several successors (largest population chosen)
    path: Path  # the stored table's directory
    table: str = ""
    source: Path | None = None
    notices: tuple[str, ...] = ()
    not_stated: dict[str, int] = field(default_factory=dict)  # column -> rows recorded as not stated/unknown


def provenance_path(directory: Path, table: str) -> Path:
    """Where the current version's provenance is (it switches with the data)."""
    return table_dir(directory, table) / PROVENANCE_FILE


def build_context(settings: Settings, region: str, layout: Layout, file: str, extract_date: dt.date,
                  *, today: dt.date | None = None) -> tuple[ImportContext, list[str]]:
    """The context for one import (bundle codes, the ONS lookup, real tables referred to) and notices."""
    from explorer.bundle.store import load_bundle
    from explorer.records.store import read_table, records_dir, table_exists
    from explorer.sources.fetch import cached_source
    from explorer.sources.readers import read_lsoa11_lookup

    notices: list[str] = []
    bundle = load_bundle(settings, region)
    known_lsoas = lsoa11 = all_lsoa21 = known_practices = None
    if LSOA_COLUMNS & set(layout.columns):
        known_lsoas = frozenset(bundle.lsoas["lsoa_code"])
        lookup = read_lsoa11_lookup(cached_source(settings, "lsoa11_lsoa21_lookup"))
        lsoa11 = resolve_lsoa11(lookup, bundle.lsoas.set_index("lsoa_code")["population"])
        all_lsoa21 = frozenset(lookup["lsoa21cd"])
    if PRACTICE_COLUMNS & set(layout.columns):
        known_practices = frozenset(bundle.practices["practice_code"])
    references: dict[str, tuple[str, frozenset[str]]] = {}
    directory = records_dir(settings, region)
    for (table, column), target in REFERENCES.items():
        if table != layout.name:
            continue
        target_key = LAYOUTS[target].key
        if is_real_table(directory, target):
            references[column] = (target, frozenset(read_table(directory, target, [target_key])[target_key]))
        elif table_exists(directory, target):
            notices.append(f"{column} not checked: the {target} table holds synthetic demo data, not an import")
        else:
            notices.append(f"{column} not checked: there is no {target} table yet")
    context = ImportContext(file=file, extract_date=extract_date, today=today or dt.date.today(), region=region,
                            known_lsoas=known_lsoas, lsoa11=lsoa11, all_lsoa21=all_lsoa21,
                            known_practices=known_practices, references=references)
    return context, notices


def _chunks(frame: pd.DataFrame) -> Iterator[pd.DataFrame]:
    for start in range(0, max(len(frame), 1), CHUNK_ROWS):
        yield frame.iloc[start:start + CHUNK_ROWS]


def import_extract(settings: Settings, region: str, layout_name: str, path: str | Path, *,
                   extract_date: dt.date | None = None, sheet: str | None = None) -> ImportResult:
    """Check a whole extract and store it as the region's `layout_name` table, marked as real data;
    or store nothing and raise ImportRejected listing every problem (the first MAX_LISTED in its message).

    `extract_date` (default today) is the date the extract was taken: no date may be after it."""
    from explorer.records.store import clean_table, records_dir, write_table

    if layout_name not in LAYOUTS:
        raise ExplorerError(f"unknown table '{layout_name}': the layouts are {', '.join(LAYOUTS)}")
    layout = LAYOUTS[layout_name]
    today = dt.date.today()
    extract_date = extract_date or today
    if extract_date > today:
        raise ExplorerError(f"the extract date {extract_date:%Y-%m-%d} is in the future (today is {today:%Y-%m-%d})")
    path = Path(path)
    clean_table(records_dir(settings, region), layout.name)  # orphans of a killed import, before anything else
    frame = read_extract(path, sheet=sheet)
    context, notices = build_context(settings, region, layout, path.name, extract_date, today=today)
    typed, problems = validate_extract(frame, layout, context)
    if problems:
        raise ImportRejected(problems)
    stats = typed.attrs["import"]
    directory = records_dir(settings, region)
    rows = write_table(directory, layout.name, _chunks(typed), provenance={
        "synthetic": False,
        "region": region,
        "source_file": path.name,
        "source_sha256": frame.attrs["sha256"],
        "sheet": frame.attrs.get("sheet"),
        "extract_date": extract_date.isoformat(),
        "imported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "converted_2011": stats["converted_2011"],
        "converted_by_split": stats["converted_by_split"],
        "not_stated": stats["not_stated"],
    })
    all_notices = [*stats["notices"], *notices]
    for column, count in stats["not_stated"].items():
        stored = layout.columns[column].not_stated or "empty"
        all_notices.append(f"{column}: {count:,} of {rows:,} rows not stated or unknown (stored as {stored}; "
                           "counted in the data-gaps view)")
    if stats["converted_2011"]:
        note = f"converted {stats['converted_2011']:,} LSOA 2011 codes to 2021"
        if stats["converted_by_split"]:
            note += (f", {stats['converted_by_split']:,} of them by the split rule (a 2011 LSOA split into several "
                     f"2021 LSOAs goes to the successor with the largest 2021 population, e.g. "
                     f"{', '.join(stats['split_examples'][:3])})")
        all_notices.insert(0, note)
    return ImportResult(rows=rows, converted_2011=stats["converted_2011"],
                        converted_by_split=stats["converted_by_split"], path=table_dir(directory, layout.name),
                        table=layout.name, source=path, notices=tuple(all_notices),
                        not_stated=dict(stats["not_stated"]))
