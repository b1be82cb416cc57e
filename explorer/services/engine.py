"""The metrics engine of a region, built from its bundle and records on disk.

The domain's :class:`~explorer.domain.coverage.CoverageEngine` is pure; this module does its I/O:
:class:`RecordCells` (its :class:`~explorer.domain.coverage.CellSource`) builds the cell tables from
the records with :mod:`explorer.records.aggregate`, :func:`geography_of` turns a bundle into the
domain's :class:`~explorer.domain.geography.Geography`, and :func:`build_engine` /
:func:`load_engine` put them together, reading the snapshot date from the records manifest.

:func:`load_engine` prefers stored cell tables (``explorer aggregate``, in ``<data_dir>/cells/<region>``;
:class:`explorer.services.cells.StoredCells`) when they were made from the records now on disk (or
when there are no records, only cells): the app then starts without re-aggregating. Stale cells
(records generated, imported or re-scored since) are ignored.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from explorer.bundle.store import Bundle
from explorer.config import Settings
from explorer.domain.coverage import CellSource, CoverageEngine, RiskKey
from explorer.domain.geography import Geography
from explorer.domain.metrics import DEFAULT_RISK, MonthLike, RiskLike, month_end
from explorer.records import aggregate
from explorer.records.schema import EXTRACT_DATE, HISTORY_MONTHS
from explorer.services.pcn_info import optional_table

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordCells:
    """The cell tables of a region's records directory (a :class:`CellSource`), built with duckdb
    on each call; the engine caches them. ``threads``: duckdb threads (None: its default)."""

    directory: Path
    threads: int | None = None

    @property
    def has_records(self) -> bool:
        return aggregate.has_table(self.directory, "people") and aggregate.has_table(self.directory, "plans")

    @property
    def has_risk_scores(self) -> bool:
        return aggregate.has_table(self.directory, aggregate.RISK_TABLE)

    @property
    def has_users(self) -> bool:
        return aggregate.has_table(self.directory, "users")

    def person_cells(self, risk: RiskKey | None) -> pd.DataFrame:
        return aggregate.person_cells(self.directory, risk, threads=self.threads)

    def plan_cells(self, months: Sequence[dt.date], risk: RiskKey | None) -> pd.DataFrame:
        return aggregate.plan_cells(self.directory, months, risk, threads=self.threads)

    def user_cells(self, months: Sequence[dt.date]) -> pd.DataFrame:
        return aggregate.user_cells(self.directory, months, threads=self.threads)


def geography_of(bundle: Bundle) -> Geography:
    """The domain's view of a bundle: region key, code and name, LSOAs, areas, and the PCN weights and
    table PCN figures are apportioned by (None for a bundle built before they existed)."""
    return Geography(region=bundle.region, region_code=bundle.region_code, region_name=bundle.region_name,
                     lsoas=bundle.lsoas, areas=bundle.areas, pcn_weights=optional_table(bundle, "pcn_weights"),
                     pcns=optional_table(bundle, "pcns"))


def records_snapshot(records: Path) -> str | None:
    """``extract_date`` of the records manifest, or None when there is none (or it is unreadable)."""
    manifest = Path(records) / aggregate.MANIFEST_FILE
    try:
        return json.loads(manifest.read_text()).get("extract_date") if manifest.exists() else None
    except (OSError, ValueError):
        return None


def stored_cells(cells_dir: Path | None, records: Path, fallback: CellSource) -> CellSource:
    """The stored cells in ``cells_dir`` when usable - made from these records, or there are no
    records to be stale against - with ``fallback`` for what they lack; else ``fallback``."""
    from explorer.records import cellstore
    from explorer.services.cells import StoredCells

    if cells_dir is None or cellstore.read_manifest(cells_dir) is None:
        return fallback
    if fallback.has_records and not cellstore.is_current(cells_dir, records):
        log.info("stored cells in %s are stale (the records changed): aggregating the records", cells_dir)
        return fallback
    return StoredCells.open(cells_dir, fallback)


def build_engine(*, bundle: Bundle, records: Path, snapshot: MonthLike | None = EXTRACT_DATE,
                 history_months: int = HISTORY_MONTHS, threads: int | None = None,
                 default_risk: RiskLike = DEFAULT_RISK, eager_history: bool = True,
                 max_cell_tables: int = 6, cells_dir: Path | None = None) -> CoverageEngine:
    """A CoverageEngine over a bundle and a records directory (and stored cells in ``cells_dir``
    when current, see :func:`stored_cells`). ``snapshot``: the extract's month (default the
    schema's EXTRACT_DATE; None reads the stored cells' or the records manifest's date)."""
    cells = stored_cells(cells_dir, Path(records), RecordCells(directory=Path(records), threads=threads))
    if snapshot is None:
        stored = getattr(cells, "manifest", {}).get("snapshot")
        snapshot = stored or records_snapshot(records) or EXTRACT_DATE
    return CoverageEngine(geography=geography_of(bundle), cells=cells,
                          snapshot=month_end(snapshot), history_months=history_months, default_risk=default_risk,
                          eager_history=eager_history, max_cell_tables=max_cell_tables)


def load_engine(settings: Settings, region: str, *, snapshot: MonthLike | None = None,
                history_months: int = HISTORY_MONTHS, threads: int | None = None,
                default_risk: RiskLike = DEFAULT_RISK, eager_history: bool = True,
                max_cell_tables: int = 6) -> CoverageEngine:
    """The CoverageEngine for ``region``: the bundle read now, the records when first needed.

    The snapshot defaults to ``extract_date`` of the records manifest when present, else the
    schema's EXTRACT_DATE.
    """
    from explorer.bundle.store import load_bundle
    from explorer.records.cellstore import cells_dir

    return build_engine(bundle=load_bundle(settings, region), records=aggregate.records_directory(settings, region),
                        snapshot=snapshot, history_months=history_months, threads=threads,
                        default_risk=default_risk, eager_history=eager_history, max_cell_tables=max_cell_tables,
                        cells_dir=cells_dir(settings, region))
