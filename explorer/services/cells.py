"""Cell tables made once (by any engine) and stored; the engine's :class:`StoredCells` source.

:func:`make_cells` runs the aggregation step (``explorer aggregate``) over a records directory
with DuckDB, Spark or Dask (people scored with the risk model inside the engine when a model is
given, :func:`model_scoring`) and stores the cell tables for the whole history at the default risk
definition (what the app asks for first), keyed to the records' fingerprint
(:mod:`explorer.records.cellstore`). :class:`StoredCells` serves them to the
:class:`~explorer.domain.coverage.CoverageEngine`; anything not stored (another risk definition,
months outside the history) falls back to aggregating the records, when they are there.

:func:`store_region_cells` is the one step that `explorer data synth`, the imports, `explorer model
train` and `explorer serve --demo` run after they change a region's records: it makes and stores the
region's cells where :func:`explorer.services.load_engine` looks for them, so the app and the CLI
start from them (England's 56 million people are then never read again to answer a query).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass
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
    from explorer.domain.risk import Scorer  # scikit-learn: only when scoring
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


def region_scoring(settings: Any, region: str, model: Path | None = None, score: bool = True
                   ) -> InEngineScoring | None:
    """How ``explorer aggregate`` scores people: with ``model`` (default: the region's model file
    when it exists) inside the engine, or None to read the risk_scores table (``score=False``, or
    no model trained)."""
    from explorer.services.models import model_path

    if not score:
        if model is not None:
            raise ExplorerError("--model and --no-score contradict each other: give one")
        return None
    if model is None:
        model = model_path(settings, region)
        if not model.is_file():
            return None  # no model trained: the risk_scores table, when there is one
    elif not model.is_file():
        raise ExplorerError(f"no risk model file at {model}")
    from explorer.bundle.store import load_bundle

    return model_scoring(model, load_bundle(settings, region).lsoas)


def store_region_cells(settings: Any, region: str, *, score: bool = True) -> dict:
    """Make and store the region's cell tables from its records now (the shared step after records
    are generated, imported or re-scored); returns ``{"out", "seconds", "tables", "message"}``, or
    ``{"skipped": reason, "message"}`` when there are no people records to aggregate yet.

    ``score=False`` reads the risk_scores table (right after `explorer model train` wrote it from
    the model: equal cells, less work); else people are scored with the region's model inside
    DuckDB when there is one, as `explorer aggregate` does. Written atomically
    (:func:`explorer.records.cellstore.write_cells`)."""
    records = aggregate.records_directory(settings, region)
    out = cellstore.cells_dir(settings, region)
    if not aggregate.has_table(records, "people"):
        reason = f"no people records in {records} yet"
        return {"skipped": reason, "message": f"stored cell tables not made: {reason}"}
    started = time.perf_counter()
    manifest = make_cells(records, out, scoring=region_scoring(settings, region, score=score))
    seconds = round(time.perf_counter() - started, 1)
    tables = {name: info["rows"] for name, info in manifest["tables"].items()}
    listed = ", ".join(f"{rows:,} {name.replace('_', ' ')}" for name, rows in tables.items())
    return {"out": str(out), "seconds": seconds, "tables": tables,
            "message": f"stored cell tables ({listed}; {len(manifest['months'])} month ends, "
                       f"{manifest['risk_scores'] or 'no risk scores'}) in {seconds} s\n  -> {out}"}


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

    @classmethod
    def open(cls, directory: Path, fallback: CellSource | None = None) -> StoredCells:
        manifest = cellstore.read_manifest(directory)
        if manifest is None:
            raise cellstore.CellStoreError(f"no stored cell tables in {directory}: run `explorer aggregate` first")
        return cls(Path(directory), manifest, fallback)

    def _stored(self, name: str) -> bool:
        return name in self.manifest.get("tables", {})

    def _frame(self, name: str, months: Sequence[dt.date] | None = None) -> pd.DataFrame:
        """A stored table read now (not kept: the engine keeps the encoded cells it builds, and a
        second copy of England's 8 million person cells would cost gigabytes), only the row groups
        of ``months`` when they are fewer than the stored history."""
        if months is None or set(months) >= set(self.months):
            return cellstore.read_cells(self.directory, name)
        return cellstore.read_cells(self.directory, name, months=sorted({m.strftime("%Y-%m") for m in months}))

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

    def person_cells(self, risk: RiskKey | None) -> pd.DataFrame:
        if risk == self.risk:
            return self._frame("person_cells")
        return self._miss(f"risk definition {risk}").person_cells(risk)

    def plan_cells(self, months: Sequence[dt.date], risk: RiskKey | None) -> pd.DataFrame:
        if risk == self.risk and set(months) <= set(self.months):
            return self._frame("plan_cells", months)
        return self._miss(f"plan cells for {risk} and these months").plan_cells(months, risk)

    def user_cells(self, months: Sequence[dt.date]) -> pd.DataFrame:
        if set(months) <= set(self.months):
            return self._frame("user_cells", months)
        return self._miss("user cells for these months").user_cells(months)
