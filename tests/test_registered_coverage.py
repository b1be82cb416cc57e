"""Care-plan coverage per registered population (plans per 1,000 GP-registered patients) beside the
engine's coverage per resident population: the rate and CI from the released plan count, a hidden
count hiding the rate, the denominator checked against the files by hand, labels, and the CLI."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from explorer.cli import app
from explorer.domain import gaps
from explorer.domain.disclosure import DisclosurePolicy
from explorer.domain.metrics import Filters
from explorer.figures.units import metric_title

NAME = gaps.REGISTERED_COVERAGE
runner = CliRunner()
HACKNEY_LSOA, HACKNEY_REGISTERED = "E01001715", 1_667  # by hand from the NHS Digital files (tests/test_gaps.py)


def test_rate_and_byar_interval_come_from_the_released_count_and_a_hidden_count_hides_the_rate():
    plans = pd.DataFrame({"area_code": ["a", "b", "c"], "area_name": ["A", "B", "C"], "parent_code": ["r"] * 3,
                          "plans": [65.0, np.nan, 0.0], "plans_suppressed": [False, True, False]})
    registered = pd.DataFrame({"area_code": ["a", "b", "c"], "registered": [1_000, 500, 200]})
    out = gaps.coverage_per_registered(plans, registered).set_index("area_code")
    # OHID's worked example for Byar: a count of 65 has 95% limits 50.16319 and 82.84914
    assert out.loc["a", [NAME, f"{NAME}_lower", f"{NAME}_upper"]].tolist() == pytest.approx([65, 50.16319, 82.84914])
    assert out.loc["b", f"{NAME}_suppressed"] and np.isnan(out.loc["b", [NAME, f"{NAME}_numerator",
                                                                         f"{NAME}_lower", f"{NAME}_upper"]]).all()
    assert out.loc["b", f"{NAME}_denominator"] == 500  # public and exact: kept
    assert out.loc["c", NAME] == 0 and not out.loc["c", f"{NAME}_suppressed"]


def test_both_coverages_are_offered_and_labelled_by_population(london_app_data):
    data = london_app_data
    resident, registered = data.metric("coverage"), data.metric(NAME)
    assert metric_title(resident) == "Care-plan coverage of residents (per 1,000 residents)"
    assert metric_title(registered) == "Care-plan coverage of registered patients (per 1,000 registered patients)"
    assert not registered.filterable and "July 2023" in registered.denominator
    values = [o["value"] for o in data.metric_options()]
    assert values.index(NAME) == values.index("coverage") + 1
    from explorer.app.pages import inequalities, spc

    # no group or monthly breakdown to offer
    assert NAME not in inequalities.care_metrics(data) and NAME not in spc._metrics(data, None)
    assert "coverage" in inequalities.care_metrics(data)


@pytest.mark.parametrize("level", ["place", "lsoa"])
def test_numerator_is_the_released_plan_count_and_denominator_the_registered_patients(london_app_data, level):
    data, policy = london_app_data, DisclosurePolicy()
    table = data.table(level, NAME, Filters(), policy)
    plans = data.table(level, "plans", Filters(), policy).reindex(table.index)
    shown = ~plans["plans_suppressed"].astype(bool)
    assert (table.loc[shown, f"{NAME}_numerator"] == plans.loc[shown, "plans"]).all()
    assert table.loc[~shown, NAME].isna().all() and table.loc[~shown, f"{NAME}_suppressed"].all()
    assert (table.loc[shown, f"{NAME}_numerator"] % 5 == 0).all()  # rounded, as released
    key = f"{level}_code"
    shares = data.bundle.practice_shares.merge(data.bundle.lsoas[list(dict.fromkeys(["lsoa_code", key]))],
                                               on="lsoa_code")
    by_hand = shares.groupby(key)["patients"].sum()
    assert (table[f"{NAME}_denominator"] == by_hand.reindex(table.index).fillna(0)).all()
    rate = table[f"{NAME}_numerator"] / table[f"{NAME}_denominator"] * 1_000
    assert np.allclose(table.loc[shown, NAME], rate[shown])
    if level == "lsoa":
        assert table.loc[HACKNEY_LSOA, f"{NAME}_denominator"] == HACKNEY_REGISTERED
    region = data.value_of(None, NAME, Filters(), policy)
    resident = data.value_of(None, "coverage", Filters(), policy)
    assert region[f"{NAME}_numerator"] == resident["coverage_numerator"]  # the same plans
    assert region[NAME] < resident["coverage"]  # GP lists are longer than the resident population


def test_cli_summary_prints_the_registered_coverage_and_refuses_filters(cli_env, london_records):
    result = runner.invoke(app, ["summary", "--level", "ics", "--metric", NAME, "--format", "csv"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(io.StringIO(result.stdout))
    assert len(table) == 5 and {NAME, f"{NAME}_denominator", f"{NAME}_suppressed"} <= set(table.columns)
    assert "plans" not in table.columns and (table[f"{NAME}_numerator"] % 5 == 0).all()
    refused = runner.invoke(app, ["summary", "--level", "ics", "--metric", NAME, "--filter", "sex=female"])
    assert refused.exit_code != 0 and "no age or sex" in refused.output and "Traceback" not in refused.output
