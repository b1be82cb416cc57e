"""The aggregation step on DuckDB, Spark and Dask; stored cells; a released aggregate.

* Spark (local mode) and Dask (a distributed LocalCluster) give cell tables exactly equal to
  DuckDB's, cell for cell, on a seeded random world (tests/engine_world.py) with ties at the risk
  cut-off, deaths, orphan plans, reviews, views and users. In CI (CI=true) they must run: a missing
  pyspark, dask or Java fails instead of skipping.
* Stored cells serve the engine unchanged, and are not used once the records change.
* A release for a role holds no count of 1-7, no hidden cell a parent minus its shown children
  gives back, and the app started on it shows that role exactly the numbers of the app on raw cells.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from attack import difference, inferred_counts, parent_minus_children, true_counts
from careplan_world import LSOAS, make_bundle, write_bundle, write_table
from engine_world import write_random_world, write_world_model
from typer.testing import CliRunner

from explorer.cli import app
from explorer.domain import access
from explorer.domain.disclosure import DisclosurePolicy
from explorer.domain.metrics import METRICS, Filters, month_ends
from explorer.domain.release import count_columns
from explorer.records import cellstore
from explorer.records.aggregate import connect_records
from explorer.records.engines import aggregate_records
from explorer.records.scoring import InEngineScoring, score_in_duckdb
from explorer.services.cells import StoredCells, make_cells, model_scoring
from explorer.services.engine import RecordCells, build_engine
from explorer.services.release_set import (
    ReleasedEngine,
    filter_label,
    release_filters,
    write_release,
)

MONTHS = month_ends(dt.date(2026, 10, 31), 3)  # a short history keeps the Spark plan light
RISK = ("top_percent", 10.0)
IN_CI = os.environ.get("CI", "").lower() == "true"
runner = CliRunner()


def need(module: str) -> None:
    """Skip without an optional engine locally; in CI a missing engine is a failure."""
    if IN_CI:
        __import__(module)
    else:
        pytest.importorskip(module)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    return write_random_world(tmp_path_factory.mktemp("engines") / "records", people=800)


@pytest.fixture(scope="module")
def duck(world) -> dict[str, pd.DataFrame]:
    return aggregate_records(world, MONTHS, RISK)


@pytest.fixture(scope="session")
def spark():
    need("pyspark")
    if shutil.which("java") is None and not IN_CI:
        pytest.skip("no Java runtime (scripts/test.sh installs default-jre-headless)")
    from explorer.records.engines._spark import local_session

    session = local_session(cores=2)
    session.conf.set("spark.sql.shuffle.partitions", "1")  # a tiny world: fewer tasks, less planning
    session.conf.set("spark.sql.adaptive.enabled", "false")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def dask_client():
    need("distributed")
    from explorer.records.engines._dask import local_client

    client = local_client()
    yield client
    client.close()
    client.cluster.close()


def assert_same_cells(expected: dict[str, pd.DataFrame], got: dict[str, pd.DataFrame]) -> None:
    assert set(got) == set(expected) == {"person_cells", "plan_cells", "user_cells"}
    for name, frame in expected.items():
        assert len(frame) > 10
        pd.testing.assert_frame_equal(got[name], frame, check_exact=True, obj=name)


@pytest.mark.slow
def test_spark_cells_equal_duckdb_cell_for_cell(world, duck, spark):
    assert_same_cells(duck, aggregate_records(world, MONTHS, RISK, engine="spark", spark=spark))


@pytest.mark.slow
def test_dask_cells_equal_duckdb_cell_for_cell(world, duck, dask_client):
    cells = aggregate_records(world, MONTHS, RISK, engine="dask", client=dask_client, npartitions=5)
    assert_same_cells(duck, cells)
    flagged = duck["person_cells"].loc[duck["person_cells"]["high_risk"], "people"].sum()
    assert flagged == 80  # exactly ceil(800 x 10%): ties at the cut-off broken by person_id


def test_risk_sums_are_exact_sums_of_quantised_scores(world, duck):
    scores = pd.read_parquet(world / "risk_scores")
    quantised = np.floor(scores["risk"].to_numpy() * 2**40)
    assert duck["person_cells"]["risk_sum"].sum() == pytest.approx(quantised.sum() / 2**40, abs=1e-9)
    assert duck["person_cells"]["risk_sum"].sum() == pytest.approx(scores["risk"].sum(), rel=1e-9)


# --------------------------------------------------------------------------- scoring in the engine


@pytest.fixture(scope="module")
def scored_world(world, tmp_path_factory) -> tuple[Path, InEngineScoring, pd.DataFrame]:
    """A copy of the world with a model fitted on it (its JSON file) and the risk_scores table that
    `explorer model train` writes from it; the in-engine scoring; train_region's stored scores."""
    root = tmp_path_factory.mktemp("scored")
    records = Path(shutil.copytree(world, root / "records"))
    model = write_world_model(records, root / "admission_risk.json")
    stored = pd.read_parquet(records / "risk_scores").sort_values("person_id", ignore_index=True)
    return records, model_scoring(model, LSOAS), stored


@pytest.fixture(scope="module")
def duck_scored(scored_world) -> dict[str, pd.DataFrame]:
    records, scoring, _ = scored_world
    return aggregate_records(records, MONTHS, RISK, scoring=scoring)


def assert_same_scores(got: pd.DataFrame, stored: pd.DataFrame) -> None:
    got = got.assign(person_id=got["person_id"].astype(str)).sort_values("person_id", ignore_index=True)
    assert got["person_id"].tolist() == stored["person_id"].tolist() and len(got) == 800
    np.testing.assert_allclose(got["risk"].to_numpy(float), stored["risk"].to_numpy(float), rtol=0, atol=1e-12)
    assert stored["risk"].nunique() > 100  # real model scores, not a handful of values


def test_duckdb_scores_in_the_engine_as_the_stored_risk_scores_and_gives_the_same_cells(scored_world, duck_scored):
    records, scoring, stored = scored_world
    con, _ = connect_records(records)
    try:
        score_in_duckdb(con, scoring)
        assert_same_scores(con.sql("SELECT * FROM src_risk_scores").df(), stored)
    finally:
        con.close()
    assert_same_cells(aggregate_records(records, MONTHS, RISK), duck_scored)  # == from the risk_scores table
    flagged = duck_scored["person_cells"].loc[duck_scored["person_cells"]["high_risk"], "people"].sum()
    assert flagged == 80


def test_a_person_in_an_lsoa_without_a_decile_is_refused_by_name(scored_world):
    records, scoring, _ = scored_world
    partial = dataclasses.replace(scoring, deciles=LSOAS[LSOAS["lsoa_code"] != "L3"])
    with pytest.raises(Exception, match="imd_decile"):
        aggregate_records(records, MONTHS, RISK, scoring=partial)


@pytest.mark.slow
def test_spark_scores_with_mapinpandas_as_train_region_and_gives_the_same_cells(scored_world, duck_scored, spark):
    """person_cells only: plan_cells read the same scores through the same SQL (tested above on
    the table), and Spark's plan query is the slow one."""
    from explorer.records.engines import _spark

    records, scoring, stored = scored_world
    _spark.register(spark, records)
    assert_same_scores(_spark.scored(spark, scoring).toPandas(), stored)
    got = _spark.run(records, ("person_cells",), MONTHS, RISK, spark=spark, scoring=scoring)
    pd.testing.assert_frame_equal(got["person_cells"], duck_scored["person_cells"], check_exact=True)


@pytest.mark.slow
def test_dask_scores_by_partition_as_train_region_and_gives_the_same_cells(scored_world, duck_scored,
                                                                           dask_client):
    from explorer.records.engines import _dask

    records, scoring, stored = scored_world
    assert_same_scores(_dask.scored(records, scoring).compute(), stored)
    assert_same_cells(duck_scored, aggregate_records(records, MONTHS, RISK, engine="dask", client=dask_client,
                                                     npartitions=3, scoring=scoring))


# --------------------------------------------------------------------------- stored cells


def in_order(frame: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    """Cells in ``like``'s dtypes, rows sorted by their keys: stored cells (text keys as
    categoricals, rows by month) and freshly made ones compared value for value."""
    keys = [c for c in like.columns if like[c].dtype.kind != "f"]
    out = frame.astype({c: like[c].dtype for c in frame.columns})
    return out.sort_values(keys, ignore_index=True)


def test_stored_cells_serve_the_engine_and_stale_ones_are_not_used(tmp_path, world):
    records = tmp_path / "records"
    shutil.copytree(world, records)
    cells = tmp_path / "cells"
    manifest = make_cells(records, cells, history_months=3)
    assert manifest["risk"] == ["top_percent", 10.0] and manifest["tables"]["plan_cells"]["rows"] > 0
    bundle = make_bundle(tmp_path / "bundle")
    engine = build_engine(bundle=bundle, records=records, snapshot=None, history_months=3, cells_dir=cells)
    assert isinstance(engine.cells, StoredCells)
    direct = aggregate_records(records, month_ends(dt.date(2026, 10, 31), 3), RISK)
    for name in ("person_cells", "plan_cells", "user_cells"):
        pd.testing.assert_frame_equal(in_order(cellstore.read_cells(cells, name), direct[name]),
                                      in_order(direct[name], direct[name]), check_exact=True)
    fresh = build_engine(bundle=bundle, records=records, history_months=3)
    for level in ("ics", "pcn"):
        pd.testing.assert_frame_equal(engine.metric_table(level, "coverage"), fresh.metric_table(level, "coverage"))
    write_table(records, "people", [])  # the records change: the stored cells are stale
    assert not cellstore.is_current(cells, records)
    stale = build_engine(bundle=bundle, records=records, snapshot=None, history_months=3, cells_dir=cells)
    assert isinstance(stale.cells, RecordCells)


# --------------------------------------------------------------------------- a release


@pytest.fixture(scope="module")
def release_setup(tmp_path_factory, world):
    """(root, bundle, raw engine, release(role) -> its log, made once per role)."""
    root = tmp_path_factory.mktemp("release")
    make_cells(world, root / "cells", history_months=3)
    bundle = make_bundle(root / "bundle")
    raw = build_engine(bundle=bundle, records=world, snapshot="2026-10-31", history_months=3)
    logs: dict[str, dict] = {}

    def release(role: str) -> dict:
        if role not in logs:
            logs[role] = write_release(bundle, root / "cells", root / role, role)
        return logs[role]
    return root, bundle, raw, release


def app_data(bundle, engine, monkeypatch):
    """The app's data layer over ``engine`` for the hand-made bundle (no boundaries to draw)."""
    from explorer.config import load_settings
    from explorer.services import app_data as module

    monkeypatch.setattr(module, "load_bundle", lambda settings, region: bundle)
    monkeypatch.setattr(module, "level_geometry", lambda bundle, level, names: None)
    return module.AppData.load(load_settings(), "london", engine=engine)


@pytest.mark.slow
@pytest.mark.parametrize("role", ["commissioner", "social_care"])  # LSOAs and clinical content; neither
def test_the_app_on_a_release_shows_the_role_exactly_what_the_app_on_raw_cells_shows(
        release_setup, role, monkeypatch):
    root, bundle, raw, release = release_setup
    log = release(role)
    released = ReleasedEngine.open(root / role)
    policy = access.disclosure_policy_for(role)
    on_raw, on_release = app_data(bundle, raw, monkeypatch), app_data(bundle, released, monkeypatch)
    metrics = [f["metric"] for f in log["files"]]
    assert (role == "social_care") == ("completeness" not in metrics) and "coverage" in metrics
    assert set(on_release.metrics) == set(on_raw.metrics) - (access.CLINICAL_METRICS if role == "social_care" else set())
    views = [Filters(), Filters(sex=("female",)), Filters(disabled=(True,)), Filters(imd_quintile=(1,))]
    compared = 0
    for metric in metrics:
        for level in log["levels"]:
            for flt in views if METRICS[metric].filterable else [Filters()]:
                got = on_release.table(level, metric, flt, policy)
                want = on_raw.table(level, metric, flt, policy)
                pd.testing.assert_frame_equal(got, want, check_dtype=False, check_exact=True)
                compared += 1
    assert compared > 50
    with pytest.raises(Exception, match="not in this release"):
        on_release.table("pcn", "coverage", Filters(sex=("female", "male")), policy)
    assert "RELEASE LOG - SYNTHETIC DATA" in (root / role / "release_log.txt").read_text()
    from explorer.config import load_settings
    from explorer.services import app_data as module

    monkeypatch.setenv(module.RELEASE_ENV, str(root / role))  # what `explorer serve --release DIR` sets
    engine, problem = module._load_engine(load_settings(), "london")
    assert isinstance(engine, ReleasedEngine) and problem is None


@pytest.mark.slow
def test_a_release_holds_no_small_count_and_no_recoverable_hidden_cell(release_setup):
    root, bundle, raw, release = release_setup
    log = release("social_care")  # PCN is its lowest level: PCNs attacked against their places
    policy = access.disclosure_policy_for("social_care")
    truth_policy = DisclosurePolicy(enabled=False, deprivation_level=policy.deprivation_level)
    parent_of = dict(zip(bundle.areas["area_code"], bundle.areas["parent_code"]))
    attempts, suppressed = 0, 0
    for entry in log["files"]:
        metric, info = entry["metric"], METRICS[entry["metric"]]
        table = pd.read_parquet(root / "social_care" / entry["file"])
        assert entry["rows"] == len(table) and entry["columns"] == list(table.columns)
        for column in [c for c in count_columns(info) if c in table.columns]:
            values = pd.to_numeric(table[column], errors="coerce").dropna()
            assert not values.between(1, 7).any(), f"{metric} {column} holds a count of 1-7"
        suppressed += int(table[f"{metric}_suppressed"].sum())
        def seen(flt: Filters, level: str, table=table, metric=metric, info=info) -> pd.Series:
            view = table[(table["filter"] == filter_label(flt)) & (table["level"] == level)]
            return inferred_counts(metric, info, view.reset_index(drop=True))

        def truth(flt: Filters, metric=metric, info=info) -> pd.Series:
            return true_counts(metric, info, raw.metric_table("pcn", metric, flt, policy=truth_policy))

        whole, whole_truth = seen(Filters(), "pcn"), truth(Filters())
        for flt in release_filters() if info.filterable else [Filters()]:
            children = table[(table["filter"] == filter_label(flt)) & (table["level"] == "pcn")]
            guess, exact = seen(flt, "pcn"), truth(flt)
            results = [parent_minus_children(f"{metric} {flt}", seen(flt, "place"), guess,
                                             {c: parent_of[c] for c in children["area_code"]}, exact,
                                             children.loc[children[f"{metric}_suppressed"], "area_code"])]
            if flt != Filters():  # everyone minus one group: the rest, area by area
                results.append(difference(f"{metric} all-{flt}", whole, guess, whole_truth, exact))
            for result in results:
                attempts += result.attempts
                assert result.recovered == []
    assert suppressed > 0 and attempts > 0  # the rules were exercised, and the attack tried


# --------------------------------------------------------------------------- the command


def test_aggregate_command_writes_cells_and_a_release(tmp_path, world, monkeypatch):
    from explorer.services import release_set

    monkeypatch.setattr(release_set, "RELEASE_FILTERS", ("sex",))  # the wiring, not the content (above)
    data = tmp_path / "data"
    write_bundle(data / "bundles" / "london", make_bundle(data / "bundles" / "london"))
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(data))
    result = runner.invoke(app, ["aggregate", "--records", str(world), "--out", str(tmp_path / "cells")])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["tables"]["person_cells"] > 0
    result = runner.invoke(app, ["aggregate", "--records", str(world), "--out", str(tmp_path / "release"),
                                 "--release", "strategist"])
    assert result.exit_code == 0, result.output
    names = {p.name for p in (tmp_path / "release").iterdir()}
    assert {"release_log.json", "release_log.txt", "coverage.parquet"} <= names
    assert not any(p.name.endswith("cells.parquet") for p in (tmp_path / "release").iterdir())
    shutil.copytree(world, data / "records" / "london")  # the defaults: the data directory's records and cells
    result = runner.invoke(app, ["aggregate", "--region", "london"])
    assert result.exit_code == 0, result.output
    from explorer.config import load_settings
    from explorer.services import load_engine

    assert isinstance(load_engine(load_settings(), "london").cells, StoredCells)  # the app starts from them


def test_aggregate_command_scores_with_the_regions_model_unless_told_not_to(tmp_path, scored_world, monkeypatch):
    records, scoring, _ = scored_world
    data = tmp_path / "data"
    write_bundle(data / "bundles" / "london", make_bundle(data / "bundles" / "london"))
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(data))
    base = ["aggregate", "--records", str(records), "--out", str(tmp_path / "cells")]
    result = runner.invoke(app, base)
    assert result.exit_code == 0 and json.loads(result.output)["risk_scores"] == "read from risk_scores"
    model = data / "models" / "london" / "admission_risk.json"  # where `explorer model train` puts it
    model.parent.mkdir(parents=True)
    shutil.copy(scoring.source, model)
    result = runner.invoke(app, base)
    assert result.exit_code == 0 and json.loads(result.output)["risk_scores"] == f"scored in the engine with {model}"
    stored = cellstore.read_manifest(tmp_path / "cells")["risk_model"]
    assert stored["file"] == str(model) and len(stored["training_data_sha256"]) == 64
    result = runner.invoke(app, [*base, "--no-score"])
    assert json.loads(result.output)["risk_scores"] == "read from risk_scores"
    result = runner.invoke(app, [*base, "--model", str(tmp_path / "none.json")])
    assert result.exit_code == 2 and "no risk model file" in result.output and "Traceback" not in result.output
    (tmp_path / "bad.json").write_text("{}")
    result = runner.invoke(app, [*base, "--model", str(tmp_path / "bad.json")])
    assert result.exit_code == 2 and "bad.json" in result.output and "Traceback" not in result.output


def test_aggregate_command_errors_are_plain_messages(tmp_path, world, monkeypatch):
    result = runner.invoke(app, ["aggregate", "--records", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "records directory" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["aggregate", "--records", str(world), "--out", str(tmp_path / "o"),
                                 "--release", "analyst"])
    assert result.exit_code == 2 and "may not leave" in result.output
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real(name, *a))
    result = runner.invoke(app, ["aggregate", "--engine", "spark", "--records", str(world), "--out",
                                 str(tmp_path / "o")])
    assert result.exit_code == 2 and "[spark]" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()
