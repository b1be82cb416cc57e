"""The risk model of a region: fitted on its records, everyone scored, the model and its card kept.

The I/O around :mod:`explorer.domain.risk`: model files (JSON, never pickle) under
``<data_dir>/models/<region>/admission_risk.json``, the ``risk_scores`` table beside the region's
records, and the model card page with its figures (:mod:`explorer.figures.model_card`).

Public names: :func:`train_region` and :func:`region_report` (what `explorer model train|report`
call), :func:`render_report`, :func:`model_path`, :func:`save_model`, :func:`load_model` and
:func:`write_risk_scores`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from explorer.atomic import write_parquet_parts, write_text_atomic
from explorer.config import Settings
from explorer.domain.risk import (
    DEFAULT_DEFINITION, DEFAULT_SEED, MAX_MODEL_FILE_BYTES, OUTCOME, PEOPLE_COLUMNS, RiskDefinition, RiskModel,
    RiskModelError, join_deprivation, json_safe, model_from_json, model_to_json, person_uniform, render_card,
    score_people, train_with_report,
)

__all__ = [
    "MAX_TRAINING_PEOPLE", "MODEL_FILE", "RISK_TABLE", "load_model", "model_path", "region_report",
    "render_report", "save_model", "train_region", "write_risk_scores",
]

MODEL_FILE = "admission_risk.json"
RISK_TABLE = "risk_scores"
MAX_TRAINING_PEOPLE = 10_000_000  # London (8.8M) is used whole; England (57M) is sampled to about 10M
SYNTHETIC_DATA = ("SYNTHETIC: people simulated by explorer.synth, with admissions drawn from a known logistic model "
                  "(explorer.synth.truth). The figures describe the simulation, not real patients.")


def model_path(settings: Settings, region: str) -> Path:
    """Where `explorer model train` keeps a region's model: <data_dir>/models/<region>/admission_risk.json."""
    return Path(settings.data_dir) / "models" / region / MODEL_FILE


def save_model(model: RiskModel, path: str | Path) -> Path:
    """Write the model as JSON (no pickle), atomically: a temporary file renamed into place."""
    return write_text_atomic(Path(path), model_to_json(model))


def load_model(path: str | Path) -> RiskModel:
    """Load a model saved by save_model. Only JSON is parsed (size-limited, no NaN/Infinity)."""
    path = Path(path)
    if not path.is_file():
        raise RiskModelError(f"no risk model at {path}: run `explorer model train` first")
    if path.stat().st_size > MAX_MODEL_FILE_BYTES:
        raise RiskModelError(f"{path} is larger than a risk model file can be ({MAX_MODEL_FILE_BYTES:,} bytes)")
    return model_from_json(path.read_bytes(), source=str(path))


def write_risk_scores(directory: str | Path, frames: Iterable[pd.DataFrame], metadata: Mapping | None = None
                      ) -> int:
    """Write the risk_scores table (person_id, risk) under `directory/risk_scores/part-NNNNN.parquet`.

    Uses explorer.records.store.write_table when the schema has a risk_scores layout; otherwise
    writes the same layout itself, atomically (temporary directory renamed into place), with
    `metadata` (e.g. the model's training hash) in each part's Parquet key-value metadata."""
    import pyarrow as pa

    from explorer.records.schema import LAYOUTS

    directory = Path(directory)
    if RISK_TABLE in LAYOUTS:
        from explorer.records.store import write_table

        return write_table(directory, RISK_TABLE, frames)
    schema = pa.schema([pa.field("person_id", pa.string(), nullable=False),
                        pa.field("risk", pa.float32(), nullable=False)],
                       metadata={b"explorer.risk_model": json.dumps(json_safe(dict(metadata or {}))).encode()})
    tables = (pa.Table.from_arrays([pa.array(frame["person_id"].astype("str").to_numpy(), pa.string()),
                                    pa.array(frame["risk"].to_numpy(np.float32), pa.float32())], schema=schema)
              for frame in frames)
    return write_parquet_parts(directory / RISK_TABLE, tables, schema.empty_table())


def _files_sha256(paths: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def train_region(settings: Settings, region: str, *, age: str = "bands", seed: int = DEFAULT_SEED,
                 definition: RiskDefinition = DEFAULT_DEFINITION, compare_gbm: bool = True,
                 max_people: int = MAX_TRAINING_PEOPLE) -> dict:
    """`explorer model train`: read the region's people, train, write the model JSON and risk_scores.

    People are read part file by part file (the store's table_glob). When the region has more than
    `max_people`, a seeded sample by person (person_uniform with seed + 1, independent of the
    train/validation split) is used for training and evaluation, so England fits in memory; everyone
    is scored, part by part. On synthetic records the card says so (SYNTHETIC_DATA) and the report
    compares the model with the generator's true risk (explorer.synth.simulated.true_risk).

    Returns model_path, risk_scores, scored, training_rows, validation_rows, train_seconds,
    score_seconds, report and synthetic."""
    import pyarrow.parquet as pq

    from explorer.bundle.store import load_bundle
    from explorer.records.imports import is_real_table
    from explorer.records.store import read_manifest, records_dir, table_glob

    started = time.perf_counter()
    directory = records_dir(settings, region)
    parts = sorted(Path(table_glob(directory, "people")).parent.glob("part-*.parquet"))
    if is_real_table(directory, "people"):
        synthetic = False
    else:
        synthetic = bool(read_manifest(directory).get("synthetic", False))
    lsoas = load_bundle(settings, region).lsoas[["lsoa_code", "imd_decile", "imd_quintile", "core20"]]
    total = sum(pq.ParquetFile(p).metadata.num_rows for p in parts)
    share = min(1.0, max_people / total) if total else 1.0

    def read(path: Path, columns: Sequence[str]) -> pd.DataFrame:
        return pq.read_table(path, columns=list(columns)).to_pandas()

    samples = []
    for path in parts:
        chunk = read(path, PEOPLE_COLUMNS)
        if share < 1:
            chunk = chunk[person_uniform(chunk["person_id"], seed + 1) < share]
        samples.append(chunk)
    people = pd.concat(samples, ignore_index=True) if samples else pd.DataFrame(columns=list(PEOPLE_COLUMNS))
    del samples
    frame = join_deprivation(people, lsoas)
    del people
    provenance = {"region": region, "people_rows": int(total), "training_sample_share": share,
                  "people_parquet_sha256": _files_sha256(parts)}
    oracle, description = None, None
    if synthetic:
        from explorer.synth.simulated import true_risk

        oracle, description = true_risk, SYNTHETIC_DATA
    result = train_with_report(frame, age=age, seed=seed, definition=definition, synthetic=synthetic,
                               compare_gbm=compare_gbm, provenance=provenance, data_description=description,
                               oracle=oracle)
    model = result.model
    del frame
    trained_at = time.perf_counter()
    lookup = lsoas.set_index("lsoa_code")["imd_decile"]
    score_columns = [c for c in PEOPLE_COLUMNS if c != OUTCOME]
    scored = write_risk_scores(
        directory, score_people(model, (read(p, score_columns) for p in parts), lookup),
        metadata={"training_data_sha256": model.training_data_sha256, "created_at": model.created_at,
                  "model_file": str(model_path(settings, region))})
    path = save_model(model, model_path(settings, region))
    done = time.perf_counter()
    return {"model_path": str(path), "risk_scores": str(directory / RISK_TABLE), "scored": scored,
            "training_rows": model.training["rows"], "validation_rows": model.training["validation_rows"],
            "train_seconds": round(trained_at - started, 1), "score_seconds": round(done - trained_at, 1),
            "report": result.report, "synthetic": synthetic}


def region_report(settings: Settings, region: str) -> dict:
    """The report stored with the region's model (`explorer model report`)."""
    model = load_model(model_path(settings, region))
    if not model.metrics.get("groups"):
        raise RiskModelError(f"the model at {model_path(settings, region)} holds no evaluation report; "
                             "retrain with `explorer model train`")
    return model.metrics


def render_report(report: Mapping, fmt: str = "json") -> str:
    """The model card as json, md or a self-contained html page (figures with plotly.js inlined, no CDN)."""
    if fmt == "html":
        from explorer.figures.model_card import card_figures_html

        return render_card(report, fmt, figures=card_figures_html(report))
    return render_card(report, fmt)
