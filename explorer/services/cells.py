"""Cell tables made once (by any engine) and stored; the engine's :class:`StoredCells` source.

:func:`make_cells` runs the aggregation step (``explorer aggregate``) over a records directory
with DuckDB, Spark or Dask (people scored with the risk model inside the engine when a model is
given, :func:`model_scoring`) and stores the cell tables for the whole history at the default risk
definition (what the app asks for first), keyed to the records' fingerprint
(:mod:`explorer.records.cellstore`). :class:`StoredCells` serves them to the
:class:`~explorer.domain.coverage.CoverageEngine`; anything not stored (another risk definition,
months outside the history) falls back to aggregating the records, when they are there.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from explorer.domain.coverage import CellSource, RiskKey
from explorer.domain.metrics import (
    DEFAULT_RISK,
    MonthLike,
    month_end,
    month_ends,
    risk_key,
)
from explorer.domain.risk import Scorer
from explorer.errors import ExplorerError
from explorer.records import aggregate, cellstore
from explorer.records.engines import aggregate_records, check_engine
from explorer.records.schema import EXTRACT_DATE, HISTORY_MONTHS
from explorer.records.scoring import InEngineScoring


def _snapshot(records: Path) -> str:
    from explorer.services.engine import records_snapshot

    return records_snapshot(records) or EXTRACT_DATE


def model_scoring(model_file: Path, lsoas: pd.DataFrame) -> InEngineScoring:
    """Scoring inside the engine with the model file (JSON, checked as it is read here, so a bad
    file fails before any engine starts) and the bundle's LSOA deciles (``lsoas``)."""
    from explorer.services.models import load_model

    model_file = Path(model_file)
    model = load_model(model_file)  # refuse a missing or malformed file now, with its name
    scorer = Scorer(model_file.read_text(encoding="utf-8"), source=str(model_file))
    return InEngineScoring(score=scorer, columns=Scorer.columns, deciles=lsoas[["lsoa_code", "imd_decile"]],
                           source=str(model_file),
                           model={"file": str(model_file), "created_at": model.created_at,
                                  "training_data_sha256": model.training_data_sha256})


def make_cells(records: Path, out: Path, *, engine: str = "duckdb", snapshot: MonthLike | None = None,
               history_months: int = HISTORY_MONTHS, scoring: InEngineScoring | None = None,
               **options: Any) -> dict:
    """Aggregate ``records`` with ``engine`` and store the cell tables in ``out``; the manifest.

    Months: the history ending at ``snapshot`` (default the records manifest's extract date); risk:
    the default definition when people are scored (``scoring``: in the engine, see
    :func:`model_scoring`) or a risk_scores table exists, else none.
    """
    records = Path(records)
    if not records.is_dir():
        raise ExplorerError(f"records directory {records} does not exist")
    check_engine(engine)
    fingerprint = cellstore.records_fingerprint(records)  # before reading: a change meanwhile shows as stale
    months = month_ends(month_end(snapshot or _snapshot(records)), history_months)
    scored = scoring is not None or aggregate.has_table(records, aggregate.RISK_TABLE)
    risk = risk_key(DEFAULT_RISK) if scored else None
    started = time.perf_counter()
    cells = aggregate_records(records, months, risk, engine=engine, scoring=scoring, **options)
    seconds = time.perf_counter() - started
    info = {"engine": engine, "records": str(records), "records_fingerprint": fingerprint,
            "snapshot": months[-1].isoformat(), "months": [m.isoformat() for m in months],
            "risk": list(risk) if risk else None, "seconds": round(seconds, 2),
            "risk_scores": (f"scored in the engine with {scoring.source}" if scoring is not None
                            else f"read from {aggregate.RISK_TABLE}" if risk else None),
            "risk_model": scoring.model if scoring is not None else None,
            "synthetic": _synthetic(records)}
    return cellstore.write_cells(out, cells, info)


def _synthetic(records: Path) -> bool:
    """True unless people and plans were imported from real extracts (unknown: synthetic)."""
    try:
        from explorer.records.imports import is_real_table

        return not all(is_real_table(records, t) for t in ("people", "plans"))
    except Exception:  # noqa: BLE001 - unknown provenance is labelled synthetic
        return True


@dataclass(frozen=True, eq=False)
class StoredCells:
    """A :class:`CellSource` over stored cell tables; ``fallback`` (a RecordCells, or None) serves
    what is not stored."""

    directory: Path
    manifest: dict
    fallback: CellSource | None = None
    _frames: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, directory: Path, fallback: CellSource | None = None) -> StoredCells:
        manifest = cellstore.read_manifest(directory)
        if manifest is None:
            raise cellstore.CellStoreError(f"no stored cell tables in {directory}: run `explorer aggregate` first")
        return cls(Path(directory), manifest, fallback)

    def _stored(self, name: str) -> bool:
        return name in self.manifest.get("tables", {})

    def _frame(self, name: str) -> pd.DataFrame:
        if name not in self._frames:
            self._frames[name] = cellstore.read_cells(self.directory, name)
        return self._frames[name]

    @property
    def risk(self) -> RiskKey | None:
        stored = self.manifest.get("risk")
        return None if stored is None else (str(stored[0]), float(stored[1]))

    @property
    def months(self) -> tuple[dt.date, ...]:
        return tuple(dt.date.fromisoformat(m) for m in self.manifest.get("months", []))

    @property
    def has_records(self) -> bool:
        return self._stored("person_cells") and self._stored("plan_cells")

    @property
    def has_risk_scores(self) -> bool:
        return self.risk is not None

    @property
    def has_users(self) -> bool:
        return self._stored("user_cells")

    def _miss(self, what: str) -> CellSource:
        if self.fallback is None or not self.fallback.has_records:
            raise ExplorerError(f"{what} is not in the stored cell tables ({self.directory}) and there are "
                                "no records to aggregate: run `explorer aggregate` with the records")
        return self.fallback

    def _months(self, frame: pd.DataFrame, months: Sequence[dt.date]) -> pd.DataFrame:
        labels = {m.strftime("%Y-%m") for m in months}
        return frame[frame["month"].isin(labels)].reset_index(drop=True)

    def person_cells(self, risk: RiskKey | None) -> pd.DataFrame:
        if risk == self.risk:
            return self._frame("person_cells")
        return self._miss(f"risk definition {risk}").person_cells(risk)

    def plan_cells(self, months: Sequence[dt.date], risk: RiskKey | None) -> pd.DataFrame:
        if risk == self.risk and set(months) <= set(self.months):
            return self._months(self._frame("plan_cells"), months)
        return self._miss(f"plan cells for {risk} and these months").plan_cells(months, risk)

    def user_cells(self, months: Sequence[dt.date]) -> pd.DataFrame:
        if set(months) <= set(self.months):
            return self._months(self._frame("user_cells"), months)
        return self._miss("user cells for these months").user_cells(months)
