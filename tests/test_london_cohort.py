"""End to end on the synthetic London cohort (generated once per session): the issue's acceptance
figures for coverage, inequity and the risk model, taken through the same engine and model code
the app and the CLI use, not through the generator's own tables."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from explorer.domain.coverage import CoverageEngine
from explorer.services import load_engine
from explorer.domain.metrics import Filters
from explorer.synth import careplans, truth

FRAIL = Filters.parse(["frailty=moderate,severe"])


@pytest.fixture(scope="module")
def engine(settings, london_model) -> CoverageEngine:
    return load_engine(settings, "london", eager_history=False)


def test_living_people_with_a_plan_are_within_5pc_of_coordinate_my_care(engine):
    plans = engine.comparator("plans")
    assert abs(plans["value"] / careplans.ACTIVE_PLANS_LONDON - 1) < 0.05, plans
    coverage = engine.comparator("coverage")  # per 1,000 registered people
    assert 3.5 < coverage["value"] < 6.0 and coverage["numerator"] == plans["value"]


def test_frail_coverage_is_lower_in_the_most_deprived_quintile_london_wide_and_in_most_icss(engine):
    london = engine.by_group("coverage", "imd_quintile", FRAIL).set_index("group")
    assert london.loc["1", "upper"] < london.loc["5", "lower"]  # significantly lower, not just lower
    rows, sii = engine.inequality("ics", "coverage", "imd_quintile", FRAIL, n_simulations=1_000)
    by_ics = rows.pivot(index="area_code", columns="group", values="value")
    assert len(by_ics) == 5 and (by_ics["1"] < by_ics["5"]).sum() >= 4
    assert (sii["sii"] > 0).sum() >= 4  # positive SII: more plans towards the less deprived end


def test_gap_count_is_the_plans_needed_to_lift_every_quintile_to_the_least_deprived(engine):
    gaps = engine.gap_count("ics", "coverage", FRAIL).set_index("area_code")["gap"]
    rows = engine.by_group("coverage", "imd_quintile", FRAIL, level="ics")
    rows = rows[rows["group"].isin(list("12345"))]
    for code, area in rows.groupby("area_code"):
        area = area.set_index("group")
        rate = area.loc["5", "numerator"] / area.loc["5", "denominator"]
        by_hand = (rate * area["denominator"] - area["numerator"]).clip(lower=0).sum()
        assert gaps[code] == pytest.approx(by_hand, rel=1e-9)
    assert (gaps > 0).all()  # every London ICS has a deprivation gap among the frail


def test_high_risk_people_split_into_with_and_without_a_plan(engine):
    high_risk = engine.comparator("high_risk")["value"]
    without = engine.comparator("high_risk_without_plan")["value"]
    covered = engine.comparator("high_risk_plan_coverage")
    assert 0 < without < high_risk
    assert covered["denominator"] == high_risk
    assert covered["numerator"] == pytest.approx(high_risk - without)


def test_risk_model_meets_the_acceptance_figures_on_the_cohort(london_model):
    report = london_model["report"]
    assert abs(report["auc"] - report["oracle_auc"]) < 0.01
    assert 0.95 <= report["calibration_slope"] <= 1.05
    for group in report["groups"]:
        if group["dimension"] in ("imd_quintile", "ethnic_group"):
            assert 0.9 <= group["observed_expected"] <= 1.1, group
    fitted = {row["feature"]: row["log_odds_ratio"] for row in report["odds_ratios"]}
    truth_coefficients = truth.true_coefficients()
    shared = [feature for feature in truth_coefficients.index if feature in fitted]
    assert len(shared) >= 15  # every main effect of the generator's own encoding
    errors = {feature: abs(fitted[feature] - truth_coefficients[feature]) for feature in shared}
    assert max(errors.values()) < 0.1, errors


def test_model_report_json_has_the_documented_keys(cli_env, london_model):
    from explorer.cli import app

    result = CliRunner().invoke(app, ["model", "report", "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    for key in ("auc", "oracle_auc", "brier", "calibration_slope", "calibration_intercept", "groups"):
        assert key in report
    assert all("observed_expected" in group for group in report["groups"])
    assert report["card"]["synthetic"] is True
