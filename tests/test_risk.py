"""The emergency-admission risk model recovers the generator's truth, is calibrated in every group,
round-trips through JSON without pickle, and turns risk into outreach counts."""

from __future__ import annotations

import json
import re

import duckdb
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from explorer.domain import risk
from explorer.domain.risk import RiskDefinition, RiskModelError
from explorer.domain.risk._card import _oe_row
from explorer.domain.risk._serialise import _TOP_KEYS
from explorer.figures import model_card as card_figures
from explorer.services import models
from explorer.synth import truth
from explorer.synth.simulated import simulated_people, true_risk

N_PEOPLE = 300_000


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    people, lsoas = simulated_people(N_PEOPLE, seed=11)
    return risk.join_deprivation(people, lsoas)


@pytest.fixture(scope="module")
def trained(frame: pd.DataFrame) -> risk.TrainingResult:
    return risk.train_with_report(frame, synthetic=True, compare_gbm=False, oracle=true_risk)


def _groups(report: dict, dimension: str) -> list[dict]:
    return [g for g in report["groups"] if g["dimension"] == dimension]


# ------------------------------------------------------------------------------- the truth is recovered


def test_encoding_is_the_generators_design(frame):
    sample = frame.iloc[:20_000]
    design = truth.design_matrix(sample, sample["imd_decile"])
    assert risk.feature_names() == list(design.columns)
    np.testing.assert_array_equal(risk.encode(sample), design.to_numpy(np.float32))


def test_fitted_log_odds_ratios_are_within_0_1_of_the_truth(trained, frame):
    true = truth.true_coefficients()
    fitted = trained.model.coefficients
    assert (fitted - true[fitted.index]).abs().max() < 0.1
    assert abs(trained.model.intercept - truth.INTERCEPT) < 0.1
    # the generator's own encoding, fitted directly, agrees too
    train = frame[~trained.validation]
    direct = risk.fit_on_design(truth.design_matrix(train, train["imd_decile"]), train["admitted_next_12m"])
    assert (direct.coefficients - true).abs().max() < 0.1
    np.testing.assert_allclose(direct.coefficients[fitted.index], fitted, atol=1e-3)


def test_the_sklearn_pipeline_fits_and_predicts_from_people_frames(trained, frame):
    train = frame[~trained.validation]
    pipeline = risk.build_pipeline().fit(train, train["admitted_next_12m"])
    np.testing.assert_allclose(pipeline.named_steps["logit"].coef_[0], trained.model.coefficients, atol=1e-4)
    assert list(pipeline.named_steps["encode"].get_feature_names_out()) == risk.feature_names()
    valid = frame[trained.validation].iloc[:1000]
    np.testing.assert_allclose(pipeline.predict_proba(valid)[:, 1], trained.model.predict(valid), rtol=1e-4)


def test_standard_errors_are_on_the_right_scale(trained):
    odds = pd.DataFrame(trained.report["odds_ratios"]).set_index("feature")
    z = (odds["log_odds_ratio"] - truth.true_coefficients()[odds.index]) / odds["se"]
    assert 0.5 < float(np.sqrt(np.mean(z**2))) < 1.6  # chi-square(19)/19 is within this range
    assert (odds["ci_lower"] < odds["odds_ratio"]).all() and (odds["odds_ratio"] < odds["ci_upper"]).all()


def test_held_out_auc_is_within_0_01_of_the_oracle_and_calibrated(trained):
    report = trained.report
    assert abs(report["auc"] - report["oracle_auc"]) < 0.01
    assert 0.95 <= report["calibration_slope"] <= 1.05
    assert abs(report["calibration_intercept"]) < 0.05
    assert report["brier"] < report["prevalence"] * (1 - report["prevalence"])  # beats the base rate


def test_observed_expected_within_tolerance_in_every_imd_quintile_and_ethnic_group(trained):
    for dimension in ("imd_quintile", "ethnic_group", "core20", "sex", "age_band"):
        groups = _groups(trained.report, dimension)
        assert groups and all(g["n"] > 0 for g in groups)
        for g in groups:
            assert 0.9 <= g["observed_expected"] <= 1.1, g
            assert not g["flagged"]
    assert trained.report["flagged_groups"] == []


def test_report_has_the_documented_keys_and_is_strict_json(trained, frame):
    report = trained.report
    for key in ("auc", "oracle_auc", "brier", "calibration_slope", "calibration_intercept", "groups",
                "odds_ratios", "threshold", "deciles", "card"):
        assert key in report
    for g in report["groups"]:
        assert {"observed_expected", "flag_rate", "false_negative_rate", "n", "flagged"} <= set(g)
    assert len(report["deciles"]) == 10 and sum(d["n"] for d in report["deciles"]) == trained.validation.sum()
    assert report["card"]["synthetic"] and "SYNTHETIC" in report["card"]["data"]
    assert "not" in report["card"]["not_for"].lower() or "individual" in report["card"]["not_for"].lower()
    json.dumps(report, allow_nan=False)
    # the oracle is the AUC of the true probabilities on the same people; on real data there is none
    sample = frame[trained.validation].iloc[:5000]
    oracle = roc_auc_score(sample["admitted_next_12m"], truth.true_probability(sample, sample["imd_decile"]))
    with_truth = risk.report_dict(trained.model, sample, synthetic=True, oracle=true_risk)
    assert with_truth["oracle_auc"] == pytest.approx(oracle)
    real = risk.report_dict(trained.model, sample, synthetic=False)
    assert "oracle_auc" not in real and real["card"]["synthetic"] is False


def test_flag_rate_and_false_negative_rate_by_hand():
    y = np.array([True, True, False, False])
    flags = np.array([True, False, True, False])
    row = _oe_row(np.ones(4, dtype=bool), y, np.full(4, 0.5), flags)
    assert (row["observed"], row["expected"], row["observed_expected"]) == (2, 2.0, 1.0)
    assert row["flag_rate"] == 0.5 and row["false_negative_rate"] == 0.5 and not row["flagged"]


def test_a_miscalibrated_group_is_flagged(trained, frame):
    payload = risk.model_to_dict(trained.model)
    payload["coefficients"][risk.feature_names().index("ethnic_black")] += 0.5
    skewed = risk.model_from_dict(payload)
    report = risk.report_dict(skewed, frame[trained.validation])
    black = next(g for g in _groups(report, "ethnic_group") if g["group"] == "black")
    assert black["observed_expected"] < 0.9 and black["flagged"]
    assert "Ethnic group: Black" in report["flagged_groups"]


def test_top_decile_is_flagged_at_the_reported_threshold(trained):
    report = trained.report
    assert report["flag_rate"] == pytest.approx(0.10, abs=1e-4)
    assert 0 < report["false_negative_rate"] < 1
    assert report["threshold"] == pytest.approx(report["deciles"][-1]["min_predicted"], abs=1e-6)


def test_age_spline_option(frame):
    sample = frame.iloc[:150_000]
    result = risk.train_with_report(sample, age="spline", synthetic=True, compare_gbm=False,
                                  oracle=true_risk)
    report = result.report
    assert abs(report["auc"] - report["oracle_auc"]) < 0.01
    curve = pd.DataFrame(report["age_curve"]).set_index("age")["log_odds_ratio"]
    assert curve[55] == 0 and curve[25] < 0 < curve[70] < curve[90]
    assert abs(curve[90] - (truth.AGE_BAND_LOG_OR["85+"])) < 0.3


# ------------------------------------------------------------------------------- persistence


def test_json_round_trip_predicts_identically(trained, frame, tmp_path):
    path = models.save_model(trained.model, tmp_path / "models" / "admission_risk.json")
    text = path.read_text()
    payload = json.loads(text)
    assert set(payload) == set(_TOP_KEYS)
    assert payload["training_data_sha256"] == trained.model.training_data_sha256
    assert {"numpy", "scikit-learn", "pandas"} <= set(payload["library_versions"])
    loaded = models.load_model(path)
    valid = frame[trained.validation]
    np.testing.assert_array_equal(loaded.predict(valid), trained.model.predict(valid))
    np.testing.assert_array_equal(loaded.pipeline.predict_proba(valid), trained.model.pipeline.predict_proba(valid))
    pd.testing.assert_frame_equal(loaded.odds_ratios(), trained.model.odds_ratios())
    assert loaded.metrics["auc"] == trained.report["auc"]
    assert not list(tmp_path.glob("models/.*"))  # no temporary file left


def test_json_text_round_trip_needs_no_file(trained, frame):
    text = risk.model_to_json(trained.model)
    loaded = risk.model_from_json(text, source="a text")
    valid = frame[trained.validation].iloc[:5000]
    np.testing.assert_array_equal(loaded.predict(valid), trained.model.predict(valid))
    assert risk.model_to_json(loaded) == text
    with pytest.raises(RiskModelError, match="^a text: the model file contains NaN"):
        risk.model_from_json(text.replace('"intercept": ', '"intercept": NaN, "x": ', 1), source="a text")


def test_the_risk_domain_imports_no_files_figures_or_data_layers():
    import subprocess
    import sys

    code = ("import sys, explorer.domain.risk\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('plotly', 'dash', 'duckdb') or "
            "m.startswith(('explorer.synth', 'explorer.records', 'explorer.atomic', 'explorer.services', "
            "'explorer.figures', 'explorer.bundle'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(("change", "message"), [
    (lambda p: p.update(extra_code="__import__('os')"), "unexpected extra_code"),
    (lambda p: p.update(format_version=2), "format version 2"),
    (lambda p: p.update(format="sklearn-pickle"), "not an explorer admission-risk model"),
    (lambda p: p.pop("covariance"), "missing covariance"),
    (lambda p: p["encoding"].update(ltc_cap=12), "encoding differs"),
    (lambda p: p.update(coefficients=p["coefficients"][:-1]), "coefficients"),
    (lambda p: p["estimator"].update(solver="pickle"), "estimator"),
])
def test_refuses_a_model_file_that_does_not_match_the_format(trained, tmp_path, change, message):
    payload = risk.model_to_dict(trained.model)
    change(payload)
    path = tmp_path / "model.json"
    path.write_text(json.dumps(payload))
    with pytest.raises(RiskModelError, match=re.escape(message)) as info:
        models.load_model(path)
    assert "explorer model train" in str(info.value)


def test_refuses_non_json_and_nan(trained, tmp_path):
    path = tmp_path / "model.json"
    path.write_bytes(b"\x80\x04\x95pickle")
    with pytest.raises(RiskModelError, match="not a JSON model file"):
        models.load_model(path)
    text = json.dumps(risk.model_to_dict(trained.model))
    path.write_text(text.replace('"intercept": ', '"intercept": NaN, "x": ', 1))
    with pytest.raises(RiskModelError, match="NaN"):
        models.load_model(path)
    with pytest.raises(RiskModelError, match="explorer model train"):
        models.load_model(tmp_path / "absent.json")


# ------------------------------------------------------------------------------- training errors


def test_training_errors_are_plain(frame):
    small = frame.iloc[:5000]
    with pytest.raises(RiskModelError, match="admitted_next_12m"):
        risk.fit_risk_model(small.drop(columns="admitted_next_12m"))
    with pytest.raises(RiskModelError, match="male"):
        risk.fit_risk_model(small.assign(sex="female"))
    with pytest.raises(RiskModelError, match="ethnic_group.*'unknown'"):
        risk.encode(small.assign(ethnic_group="unknown"))
    with pytest.raises(RiskModelError, match="imd_decile"):
        risk.encode(small.assign(imd_decile=11))


def test_split_is_by_person_and_seeded(frame):
    ids = frame["person_id"].iloc[:50_000]
    a = risk.split_by_person(ids, 0.3, seed=1)
    assert a.mean() == pytest.approx(0.3, abs=0.01)
    np.testing.assert_array_equal(risk.split_by_person(ids[::-1], 0.3, seed=1), a[::-1])  # order-free
    assert not np.array_equal(risk.split_by_person(ids, 0.3, seed=2), a)


# ------------------------------------------------------------------------------- risk definition


def test_top_percent_flags_exactly_that_share():
    scores = np.random.default_rng(0).random(1000)
    flags = risk.flag_high_risk(scores, RiskDefinition("top_percent", 10))
    assert flags.sum() == 100 and scores[flags].min() > scores[~flags].max()
    assert risk.flag_high_risk(np.arange(1005.0), RiskDefinition("top_percent", 10)).sum() == 101  # ceil(100.5)
    assert risk.risk_threshold(scores, RiskDefinition("top_percent", 10)) == scores[flags].min()


def test_ties_at_the_cut_off_are_broken_by_person_id_like_the_sql():
    rng = np.random.default_rng(1)
    scores = rng.choice(np.array([0.1, 0.2, 0.3], dtype=np.float32), 997)
    ids = np.array([f"P{i:06x}" for i in rng.permutation(997)])
    definition = RiskDefinition("top_percent", 25)
    flags = risk.flag_high_risk(scores, definition, tie_break=ids)
    assert flags.sum() == 250
    order = rng.permutation(997)  # row order does not matter
    np.testing.assert_array_equal(risk.flag_high_risk(scores[order], definition, tie_break=ids[order]), flags[order])
    t = pd.DataFrame({"person_id": ids, "risk": scores})  # noqa: F841 - read by DuckDB
    sql = duckdb.sql("SELECT person_id FROM (SELECT person_id, row_number() OVER (ORDER BY CAST(risk AS DOUBLE) "
                     "DESC, person_id) AS r, count(*) OVER () AS n FROM t) WHERE r <= ceil(n * 25.0 / 100.0)").df()
    assert set(sql["person_id"]) == set(ids[flags])
    # without a tie-break, rows in order
    same = risk.flag_high_risk(np.zeros(10), RiskDefinition("top_percent", 30))
    np.testing.assert_array_equal(same, [True, True, True] + [False] * 7)


def test_min_probability_and_invalid_definitions():
    scores = np.array([0.05, 0.2, 0.2, 0.5])
    np.testing.assert_array_equal(risk.flag_high_risk(scores, RiskDefinition("min_probability", 0.2)),
                                  [False, True, True, True])
    for kind, value in (("top_percent", 0), ("top_percent", 101), ("min_probability", 1.5), ("top", 10)):
        with pytest.raises(RiskModelError):
            RiskDefinition(kind, value)
    with pytest.raises(RiskModelError, match="missing"):
        risk.flag_high_risk(np.array([0.1, np.nan]), RiskDefinition("top_percent", 50))


# ------------------------------------------------------------------------------- outreach


def _tiny() -> tuple[pd.DataFrame, np.ndarray]:
    scores = pd.DataFrame({"person_id": ["a", "b", "c", "d", "e", "f"], "pcn": ["A", "A", "A", "B", "B", "C"],
                           "risk": np.array([0.9, 0.8, 0.1, 0.7, 0.2, 0.6], dtype=np.float32)})
    return scores, np.array([True, False, False, False, True, False])


def test_outreach_by_area_by_hand():
    scores, has_plan = _tiny()
    out = risk.outreach_by_area(scores, has_plan, "pcn", RiskDefinition("min_probability", 0.5)).set_index("pcn")
    assert out["people"].tolist() == [3, 2, 1]
    assert out["high_risk"].tolist() == [2, 1, 1]
    assert out["high_risk_without_plan"].tolist() == [1, 1, 1]
    assert out["high_risk_plan_coverage"].tolist() == [0.5, 0.0, 0.0]
    assert out["high_risk_plan_coverage_numerator"].tolist() == [1, 0, 0]
    assert out["high_risk_plan_coverage_denominator"].tolist() == [2, 1, 1]
    np.testing.assert_allclose(out["expected_admissions_without_plan"], [0.8, 0.7, 0.6], rtol=1e-6)
    np.testing.assert_allclose(out["expected_admissions_high_risk"], [1.7, 0.7, 0.6], rtol=1e-6)
    assert (out["high_risk_plan_coverage_lower"] <= out["high_risk_plan_coverage"]).all()
    top = risk.outreach_by_area(scores, has_plan, ["pcn"], RiskDefinition("top_percent", 50)).set_index("pcn")
    assert top["high_risk"].tolist() == [2, 1, 0] and np.isnan(top.loc["C", "high_risk_plan_coverage"])


def test_outreach_adds_up_over_chunks():
    rng = np.random.default_rng(5)
    n = 20_000
    scores = pd.DataFrame({"person_id": [f"P{i:05d}" for i in range(n)], "pcn": rng.choice(list("ABCDEFG"), n),
                           "risk": rng.random(n).astype(np.float32)})
    has_plan = rng.random(n) < 0.3
    definition = RiskDefinition("top_percent", 15)
    whole = risk.outreach_by_area(scores, has_plan, "pcn", definition)
    flagged = scores.assign(high_risk=risk.flag_high_risk(scores["risk"], definition, tie_break=scores["person_id"]))
    parts = [risk.outreach_by_area(flagged.iloc[s:s + 3000], has_plan[s:s + 3000], "pcn") for s in range(0, n, 3000)]
    pd.testing.assert_frame_equal(risk.combine_outreach(parts, "pcn"), whole)
    assert whole["high_risk"].sum() == 3000


def test_score_people_in_chunks_and_write_the_table(trained, frame, tmp_path):
    people = frame.drop(columns=["imd_decile", "imd_quintile", "core20"]).iloc[:25_000]
    lookup = frame.drop_duplicates("lsoa_code").set_index("lsoa_code")["imd_decile"]
    chunks = (people.iloc[s:s + 10_000] for s in range(0, len(people), 10_000))
    scored = list(risk.score_people(trained.model, chunks, lookup.to_dict()))
    assert [len(c) for c in scored] == [10_000, 10_000, 5_000]
    joined = pd.concat(scored, ignore_index=True)
    assert list(joined.columns) == ["person_id", "risk"] and joined["risk"].dtype == np.float32
    np.testing.assert_allclose(joined["risk"], trained.model.predict(frame.iloc[:25_000]), rtol=1e-6)
    rows = models.write_risk_scores(tmp_path, scored, metadata={"training_data_sha256": "x"})
    assert rows == 25_000
    table = pq.read_table(tmp_path / "risk_scores")
    assert table.num_rows == 25_000
    with pytest.raises(RiskModelError, match="no IMD decile"):
        next(risk.score_people(trained.model, [people.iloc[:5].assign(lsoa_code="E01999999")], lookup))


# ------------------------------------------------------------------------------- comparison, card, CLI


def test_gradient_boosting_comparison(frame):
    sample = frame.iloc[:60_000]
    model, validation = risk.fit_risk_model(sample)
    result = risk.compare_with_gbm(model, sample, validation, max_iter=40)
    assert {"logistic", "gbm", "offered", "note"} <= set(result)
    assert result["offered"] == (result["gbm"]["auc"] > result["logistic"]["auc"]
                                 and result["gbm"]["brier"] < result["logistic"]["brier"])


def test_figures_and_renderings(trained):
    fig = card_figures.calibration_figure(trained.report)
    assert isinstance(fig, go.Figure) and len(fig.data[1].x) == 10
    assert isinstance(card_figures.groups_figure(trained.report), go.Figure)
    md = models.render_report(trained.report, "md")
    assert "SYNTHETIC DATA" in md and "| Age 85+ (vs 45-64) |" in md and "Intended use" in md
    page = models.render_report(trained.report, "html")
    assert "SYNTHETIC DATA" in page and "Plotly.newPlot" in page
    assert not re.search(r"<script[^>]*\bsrc=", page)  # plotly.js inlined, nothing fetched
    assert json.loads(models.render_report(trained.report, "json"))["auc"] == trained.report["auc"]


def test_cli_train_and_report_on_records(tmp_path, monkeypatch):
    """End to end on a small people table written by explorer.records.store and a minimal bundle."""
    from explorer.cli import app
    from explorer.config import load_settings
    from explorer.records import store

    people, lsoas = simulated_people(40_000, seed=3, n_lsoas=300)
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    settings = load_settings()
    directory = store.records_dir(settings, "london")
    store.write_table(directory, "people", [people])
    store.write_manifest(directory, {"region": "london", "synthetic": True})
    bundle = settings.bundle_dir("london")
    bundle.mkdir(parents=True)
    (bundle / "manifest.json").write_text(json.dumps({"region": "london"}))
    lsoas.to_parquet(bundle / "lsoa.parquet")
    for name in ("age_sex", "areas"):
        pd.DataFrame({"lsoa_code": pd.Series([], dtype="str")}).to_parquet(bundle / f"{name}.parquet")

    runner = CliRunner()
    result = runner.invoke(app, ["model", "train", "--region", "london", "--no-compare-gbm", "--no-cells"])
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" in result.stdout and "AUC" in result.stdout
    model_file = tmp_path / "models" / "london" / "admission_risk.json"
    assert model_file.is_file()
    assert pq.read_table(directory / "risk_scores").num_rows == 40_000
    report = json.loads(runner.invoke(app, ["model", "report", "--format", "json"]).stdout)
    assert report["card"]["synthetic"] and "oracle_auc" in report
    html_page = runner.invoke(app, ["model", "report", "--format", "html"]).stdout
    assert html_page.startswith("<!DOCTYPE html>")
    sampled = models.train_region(settings, "london", compare_gbm=False, max_people=20_000)  # England-style
    assert sampled["scored"] == 40_000 and 18_000 < sampled["training_rows"] + sampled["validation_rows"] < 22_000
    model_file.write_text(model_file.read_text().replace('"format_version": 1', '"format_version": 99'))
    refused = runner.invoke(app, ["model", "report"])
    assert refused.exit_code == 2 and "format version 99" in refused.output and "Traceback" not in refused.output
