"""The shared cells step: records generated, imported or re-scored leave current stored cells, and
a summary then starts from them without reading a person record (issue 15, point 5)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.ipc  # pa.ipc
import pytest
from careplan_world import make_bundle, write_bundle
from engine_world import write_random_world
from typer.testing import CliRunner

from explorer.cli import app
from explorer.config import load_settings
from explorer.demo import missing_steps
from explorer.records import aggregate, cellstore
from explorer.records.schema import HISTORY_MONTHS
from explorer.services import cells as cells_service
from explorer.services.cells import StoredCells, store_region_cells
from explorer.services.engine import load_engine
from explorer.services.reports import summary_frame

METRICS = ["coverage", "high_risk_without_plan", "completeness", "active_users"]
runner = CliRunner()


@pytest.fixture()
def region_dir(tmp_path, monkeypatch):
    """A data directory holding a small London-shaped bundle and records (800 people, scored)."""
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    settings = load_settings()
    write_bundle(settings.bundle_dir("london"), make_bundle(settings.bundle_dir("london")))
    write_random_world(aggregate.records_directory(settings, "london"), people=800)
    return settings


def test_the_step_stores_current_cells_and_the_summary_reads_no_person_record(region_dir, monkeypatch):
    settings = region_dir
    from_records = summary_frame("pcn", "london", METRICS, ["frailty=moderate,severe"])
    done = store_region_cells(settings, "london")
    out = cellstore.cells_dir(settings, "london")
    assert done["out"] == str(out) and "stored cell tables" in done["message"] and done["tables"]["plan_cells"] > 0
    assert cellstore.is_current(out, aggregate.records_directory(settings, "london"))
    assert pa.ipc.open_file(str(out / "plan_cells.arrow")).num_record_batches == HISTORY_MONTHS  # one a month

    def refuse(*args, **kwargs):
        raise AssertionError("person-level records read although the stored cells are current")

    for name in ("person_cells", "plan_cells", "user_cells", "connect_records"):
        monkeypatch.setattr(aggregate, name, refuse)
    assert isinstance(load_engine(settings, "london").cells, StoredCells)
    from_cells = summary_frame("pcn", "london", METRICS, ["frailty=moderate,severe"])
    pd.testing.assert_frame_equal(from_cells, from_records)  # the same controlled numbers
    assert from_cells["coverage_numerator"].notna().any()


def test_without_people_the_step_says_so_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    done = store_region_cells(load_settings(), "london")
    assert "no people records" in done["message"] and not cellstore.cells_dir(load_settings(), "london").exists()


@pytest.mark.parametrize(("args", "patch", "score"), [
    (["data", "synth"], ("explorer.synth.careplans", "generate_records"), True),
    (["model", "train", "--no-compare-gbm"], ("explorer.services", "train_region"), False),
    (["data", "import-users", "users.csv"], ("explorer.records.imports", "import_extract"), True),
])
def test_synth_train_and_imports_end_with_the_cells_step(region_dir, monkeypatch, args, patch, score):
    """Each command that changes records runs the one step (train reads the scores it just wrote);
    --no-cells skips it and says what to run instead."""
    import importlib
    from types import SimpleNamespace

    fakes = {
        "generate_records": lambda *a, **k: {"generation_seconds": 1.0, "rows": {"people": 1},
                                             "calibration": {"active_plans": 1, "active_plans_target": 1.0,
                                                             "emergency_admission_rate": 0.1}},
        "train_region": lambda *a, **k: {"report": {}, "training_rows": 1, "validation_rows": 1, "train_seconds": 1,
                                         "scored": 1, "score_seconds": 1, "model_path": "m", "risk_scores": "r"},
        "import_extract": lambda *a, **k: SimpleNamespace(rows=1, path="p", notices=[]),
    }
    monkeypatch.setattr(importlib.import_module(patch[0]), patch[1], fakes[patch[1]])
    monkeypatch.setattr("explorer.domain.risk.headline", lambda report: "headline")
    calls = []
    monkeypatch.setattr(cells_service, "store_region_cells",
                        lambda settings, region, score=True: calls.append((region, score)) or {"message": "stored!"})
    monkeypatch.chdir(region_dir.data_dir)
    (region_dir.data_dir / "users.csv").write_text("user_id\n")
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert calls == [("london", score)] and "stored!" in result.output
    result = runner.invoke(app, [*args, "--no-cells"])
    assert result.exit_code == 0 and len(calls) == 1 and "explorer aggregate --region london" in result.output


def test_the_demo_makes_cells_only_when_the_stored_ones_are_not_current(region_dir):
    settings = region_dir
    aggregate.records_directory(settings, "london").joinpath(aggregate.MANIFEST_FILE).write_text("{}")
    from explorer.services.models import model_path

    model = model_path(settings, "london")
    model.parent.mkdir(parents=True)
    model.write_text("{}")  # present: the demo does not train again
    assert missing_steps(settings, "london") == ["cells"]
    store_region_cells(settings, "london", score=False)
    assert missing_steps(settings, "london") == []
