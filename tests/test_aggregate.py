"""The DuckDB aggregation over person-level records: snapshot rules, boundaries, deaths, users.

Expected numbers are worked out by hand from tests/careplan_world.py (snapshot 2026-10-31).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from careplan_world import PEOPLE, PLANS, plan, write_small_world, write_table
from explorer.errors import DataMissingError
from explorer.records import aggregate

D = dt.date.fromisoformat
MONTHS = (D("2026-07-31"), D("2026-08-31"), D("2026-09-30"), D("2026-10-31"))
MIN_P = ("min_probability", 0.5)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return write_small_world(tmp_path_factory.mktemp("records"))


@pytest.fixture(scope="module")
def plan_cells(world):
    return aggregate.plan_cells(world, MONTHS, MIN_P)


def by_month(cells: pd.DataFrame, column: str) -> list[float]:
    return cells.groupby("month")[column].sum().reindex([m.strftime("%Y-%m") for m in MONTHS]).fillna(0).tolist()


def test_person_cells_count_everyone_once_with_their_attributes(world):
    cells = aggregate.person_cells(world)
    assert cells["people"].sum() == len(PEOPLE) == 14
    assert list(cells.columns[:7]) == list(aggregate.CELL_KEYS)
    p4 = cells[(cells["lsoa_code"] == "L1") & (cells["frailty"] == "severe")]
    assert p4["age_group"].tolist() == [90] and bool(p4["disabled"].iloc[0]) is True
    assert not cells["high_risk"].any()  # no risk definition, nobody flagged


def test_min_probability_flags_scores_at_or_above_the_cut_off(world):
    cells = aggregate.person_cells(world, MIN_P)
    assert cells.loc[cells["high_risk"], "people"].sum() == 6  # p1, p4, p5, p7, p11, p12 (0.5 included)
    assert cells.loc[cells["high_risk"], "risk_sum"].sum() == pytest.approx(0.9 + 0.8 + 0.7 + 0.6 + 0.55 + 0.5)


def test_top_percent_takes_exactly_ceil_n_x_percent_highest_scores_ties_by_person_id(tmp_path):
    people = [dict(p) for p in PEOPLE]
    write_table(tmp_path, "people", people)
    # 14 scores: four tied at 0.5 (p10, p11, p12, p13); top 30% = ceil(4.2) = 5 people
    scores = {"p1": 0.9, "p2": 0.8, "p10": 0.5, "p11": 0.5, "p12": 0.5, "p13": 0.5}
    write_table(tmp_path, "risk_scores", [{"person_id": p["person_id"], "risk": scores.get(p["person_id"], 0.1)}
                                          for p in people])
    con = aggregate._connect()
    cut, last = aggregate.risk_rule(con, tmp_path, ("top_percent", 30.0))
    assert cut == 0.5 and last == "p12"  # 2 above the cut + the 3 lowest ids among the tied (p10, p11, p12)
    cells = aggregate.person_cells(tmp_path, ("top_percent", 30.0))
    assert cells.loc[cells["high_risk"], "people"].sum() == 5


def test_live_plans_per_month_follow_the_month_end_rules(plan_cells):
    # Jul: p1 p4 p5 p7 p9 p11 p13 (p13 has two live plans, counted once); Aug: p4 closed on the 15th;
    # Oct: p5 closed ON the month end (not live), p2 created ON it (live); the draft never counts
    assert by_month(plan_cells, "plans") == [7, 6, 6, 6]
    oct_ = plan_cells[plan_cells["month"] == "2026-10"]
    assert sorted(set(oct_.loc[oct_["plans"] > 0, "lsoa_code"])) == ["L1", "L3", "L4", "L5", "L6"]
    assert oct_.loc[oct_["lsoa_code"] == "L1", "plans"].sum() == 2  # p1 and p2, not the draft of p3
    sep = plan_cells[plan_cells["month"] == "2026-09"]
    assert sep.loc[sep["lsoa_code"] == "L2", "plans"].sum() == 1  # p5's plan still live on 30 Sept


def test_completeness_uses_the_latest_live_plan_of_each_person(plan_cells):
    oct_ = plan_cells[plan_cells["month"] == "2026-10"]
    assert oct_["items_sum"].sum() == 10 + 4 + 5 + 8 + 10 + 0  # p13 counts c9 (no items), not c10
    assert oct_["items_sumsq"].sum() == 100 + 16 + 25 + 64 + 100 + 0
    assert oct_["key_complete"].sum() == 4


def test_reviewed_in_period_boundary_is_inclusive_at_exactly_the_period(plan_cells):
    # Oct: c6 reviewed 2025-10-31 with 12 months -> in period on 2026-10-31; c7 reviewed 2025-10-30 -> out
    assert by_month(plan_cells, "reviewed")[-1] == 5
    oct_ = plan_cells[plan_cells["month"] == "2026-10"]
    assert oct_.loc[oct_["lsoa_code"] == "L3", "reviewed"].sum() == 1
    assert oct_.loc[oct_["lsoa_code"] == "L4", "reviewed"].sum() == 0
    sep = plan_cells[plan_cells["month"] == "2026-09"]
    assert sep.loc[sep["lsoa_code"] == "L4", "reviewed"].sum() == 1  # still in period on 30 Sept
    assert sep.loc[sep["lsoa_code"] == "L2", "reviewed"].sum() == 0  # p5: created 2025-03, never reviewed


def test_urgent_views_window_is_the_12_months_ending_on_the_month_end(plan_cells):
    # Oct window 2025-11-01..2026-10-31: v1 v2 v5 v6 v7 (v3 a day early, v4 a GP, v8 a draft)
    # Sep window 2025-10-01..2026-09-30: v1 v2 v3 v5 v7; Jul: v1 v2 v3 v5
    assert by_month(plan_cells, "urgent_views") == [4, 5, 5, 5]
    oct_ = plan_cells[plan_cells["month"] == "2026-10"]
    assert oct_.loc[oct_["lsoa_code"] == "L5", "urgent_views"].sum() == 2
    assert oct_["kc_reviewed"].sum() == 3 and oct_["kc_reviewed_viewed"].sum() == 2


def test_deaths_are_counted_from_the_month_the_plan_closed_as_deceased(plan_cells):
    assert by_month(plan_cells, "deaths") == [0, 1, 1, 1]
    oct_ = plan_cells[plan_cells["month"] == "2026-10"]
    assert oct_["risk_of_deaths"].sum() == pytest.approx(0.8)
    assert oct_.loc[oct_["high_risk"], "plans"].sum() == 3  # p1, p7, p11
    assert oct_["risk_with_plan"].sum() == pytest.approx(0.9 + 0.6 + 0.55 + 0.1 + 0.1 + 0.1)


def test_withdrawn_plan_without_a_closed_date_is_not_live_and_orphans_keep_their_lsoa(tmp_path):
    write_table(tmp_path, "people", PEOPLE)
    write_table(tmp_path, "plans", [*PLANS, plan("c20", "p6", "L2", "2025-01-01", status="withdrawn"),
                                    plan("c21", "ghost", "L2", "2025-01-01")])
    cells = aggregate.plan_cells(tmp_path, (D("2026-10-31"),))
    l2 = cells[cells["lsoa_code"] == "L2"]
    assert l2["plans"].sum() == 1  # only the ghost's plan
    ghost = l2[l2["plans"] > 0].iloc[0]
    assert pd.isna(ghost["sex"]) and pd.isna(ghost["age_group"])


def test_users_count_by_organisation_lsoa_and_login_thresholds(world):
    cells = aggregate.user_cells(world, (D("2026-09-30"), D("2026-10-31")))
    oct_ = cells[cells["month"] == "2026-10"]
    assert oct_[["users", "active_users", "active_users_10plus"]].sum().tolist() == [5, 4, 2]
    l1 = oct_[oct_["lsoa_code"] == "L1"].iloc[0]
    assert (l1["users"], l1["active_users"], l1["active_users_10plus"]) == (2, 2, 1)
    assert oct_["lsoa_code"].isna().sum() == 1  # the ambulance user has no LSOA
    sep = cells[cells["month"] == "2026-09"]
    assert sep[["active_users", "active_users_10plus"]].sum().tolist() == [2, 1]  # 10 logins is not "more than 10"


def test_missing_records_say_how_to_make_them(tmp_path):
    with pytest.raises(DataMissingError, match="explorer data synth"):
        aggregate.person_cells(tmp_path)
