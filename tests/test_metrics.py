"""Care-plan metrics: filters, values and CIs, roll-ups, trend, cascade, gaps, ISR, SII.

Numbers are worked out by hand from tests/careplan_world.py, snapshot 2026-10-31:
13 people alive (p4 died in August), 6 with a live plan (p1 p2 p7 p9 p11 p13), 5 reviewed in
period, 37 of 60 completeness items, 5 urgent care views, users 5 / active 4 / >10 logins 2.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from careplan_world import GRADIENT_LSOAS, make_bundle, write_gradient_world, write_small_world
from explorer.domain import stats
from explorer.domain.coverage import CoverageEngine, metric_columns
from explorer.domain.metrics import (
    AGE_GROUP_STARTS, METRICS, AreaIndex, Cells, FilterError, Filters, RiskDefinition, compute_metric,
    gap_from_groups, month_end, month_ends,
)
from explorer.errors import ExplorerError
from explorer.services.engine import build_engine

MIN_P = RiskDefinition(kind="min_probability", value=0.5)
CELL_METRICS = ("plans", "coverage", "adjusted_coverage", "completeness", "reviewed_in_period",
                "urgent_care_views", "high_risk", "high_risk_without_plan", "high_risk_plan_coverage",
                "expected_admissions_without_plan")


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    return build_engine(bundle=make_bundle(root), records=write_small_world(root / "records"),
                        snapshot="2026-10-31", default_risk=MIN_P)


@pytest.fixture(scope="module")
def gradient(tmp_path_factory):
    root = tmp_path_factory.mktemp("gradient")
    return build_engine(bundle=make_bundle(root, GRADIENT_LSOAS), records=write_gradient_world(root / "records"),
                        snapshot="2026-10-31")


def row(table: pd.DataFrame, code: str) -> pd.Series:
    return table.set_index("area_code").loc[code]


# --------------------------------------------------------------------------- filters


def test_filters_parse_normalises_so_equal_filters_are_equal_and_hashable():
    a = Filters.parse(["frailty=severe,moderate", "age_band=75-84"])
    b = Filters.parse(["age_band=75-84", "frailty=moderate", "frailty=severe"])
    assert a == b and hash(a) == hash(b) and a.frailty == ("moderate", "severe")
    assert a.to_query() == {"age_band": "75-84", "frailty": "moderate,severe"}
    assert Filters.from_query({**a.to_query(), "level": "pcn"}) == a  # other URL keys are ignored


def test_filters_round_trip_typed_values_and_risk():
    f = Filters.parse(["imd_quintile=1,2", "disabled=yes", "sex=Female", "risk=min_probability:0.3"])
    assert f.imd_quintile == (1, 2) and f.disabled == (True,) and f.sex == ("female",)
    assert (f.risk.kind, f.risk.value) == ("min_probability", 0.3)
    assert Filters.from_query(f.to_query()) == f
    assert Filters.parse(["risk=high"]).risk.value == 10.0


@pytest.mark.parametrize("item, message", [
    ("colour=red", "unknown filter 'colour'"),
    ("frailty=very", "unknown frailty 'very'"),
    ("age_band=75+", "unknown age_band '75\\+': choose from 0-15"),
    ("imd_quintile=6", "imd_quintile value '6'"),
    ("disabled=maybe", "should be yes or no"),
    ("frailty", "should look like key=value"),
    ("risk=top_percent:150", "percentage in \\(0, 100\\]"),
    ("risk=lots", "should look like top_percent:10"),
])
def test_filters_parse_errors_say_what_is_allowed(item, message):
    with pytest.raises(FilterError, match=message):
        Filters.parse([item])


def test_month_ends_run_oldest_first_and_cross_years():
    assert month_end("2024-02").isoformat() == "2024-02-29"
    months = month_ends("2026-10-31", 24)
    assert len(months) == 24 and months[0].isoformat() == "2024-11-30" and months[-1].isoformat() == "2026-10-31"


def test_metric_catalogue_has_every_contract_metric_with_units():
    for name in ("plans", "coverage", "completeness", "reviewed_in_period", "urgent_care_views", "active_users",
                 "active_users_10plus", "adjusted_coverage", "coverage_dsr", "imd_score",
                 "core20_population_share", "population", "high_risk", "high_risk_without_plan",
                 "high_risk_plan_coverage", "expected_admissions_without_plan"):
        info = METRICS[name]
        assert info.name == name and info.unit and info.label and info.kind in (
            "proportion", "rate", "mean", "count", "ratio", "score")
    assert METRICS["coverage"].multiplier == 1000 and METRICS["reviewed_in_period"].multiplier == 100


# --------------------------------------------------------------------------- values by hand


def test_region_values_match_the_hand_counts(engine):
    expect = {  # metric: (numerator, denominator, value)
        "plans": (6, 13, 6),
        "coverage": (6, 13, 6 / 13 * 1000),
        "completeness": (37, 6, 37 / 60 * 100),
        "reviewed_in_period": (5, 6, 5 / 6 * 100),
        "urgent_care_views": (5, 6, 5 / 6 * 100),
        "active_users": (4, 5, 80.0),
        "active_users_10plus": (2, 5, 40.0),
        "high_risk": (5, 13, 5),
        "high_risk_without_plan": (2, 5, 2),
        "high_risk_plan_coverage": (3, 5, 60.0),
        "expected_admissions_without_plan": (1.2, 2, 1.2),
    }
    for metric, (num, den, value) in expect.items():
        got = engine.comparator(metric)
        assert (got["numerator"], got["denominator"]) == pytest.approx((num, den)), metric
        assert got["value"] == pytest.approx(value), metric


def test_confidence_intervals_follow_the_ohid_methods(engine):
    cov = engine.comparator("coverage")
    lo, hi = stats.byar_interval(6)
    assert (cov["lower"], cov["upper"]) == pytest.approx((lo / 13 * 1000, hi / 13 * 1000))
    rev = engine.comparator("reviewed_in_period")
    lo, hi = stats.wilson_interval(5, 6)
    assert (rev["lower"], rev["upper"]) == pytest.approx((lo * 100, hi * 100))
    shares = np.array([10, 4, 5, 8, 10, 0]) / 10  # per-plan completeness shares
    half = stats.z_value(0.95) * shares.std(ddof=1) / math.sqrt(6)
    comp = engine.comparator("completeness")
    assert (comp["lower"], comp["upper"]) == pytest.approx(((shares.mean() - half) * 100, (shares.mean() + half) * 100))
    exp = engine.comparator("expected_admissions_without_plan")
    assert exp["upper"] - exp["value"] == pytest.approx(stats.z_value(0.95) * math.sqrt(0.7 * 0.3 + 0.5 * 0.5))


def test_metric_table_has_the_disclosure_shape_and_one_row_per_area(engine):
    table = engine.metric_table("pcn", "coverage")
    assert list(table.columns) == ["area_code", "area_name", "parent_code", *metric_columns("coverage")]
    assert table["area_code"].tolist() == ["N1", "N2", "N3", "N4"]
    n1 = row(table, "N1")  # L1 (3 alive, 2 plans) + L2 (2 people, p5's plan closed on the month end)
    assert (n1["coverage_numerator"], n1["coverage_denominator"]) == (2, 5)
    assert row(engine.metric_table("lsoa", "urgent_care_views"), "L1")["urgent_care_views_numerator"] == 2


def test_filters_restrict_the_people_counted(engine):
    cases = {("frailty=moderate,severe",): (3, 4), ("age_band=85+",): (2, 2), ("imd_quintile=1",): (3, 5),
             ("sex=male", "disabled=yes"): (0, 0), ("ethnic_group=black",): (2, 3)}
    for items, (num, den) in cases.items():
        got = engine.comparator("coverage", Filters.parse(list(items)))
        assert (got["numerator"], got["denominator"]) == (num, den), items
    assert math.isnan(engine.comparator("coverage", Filters.parse(["sex=male", "disabled=yes"]))["value"])
    high = engine.comparator("coverage", Filters(risk=MIN_P))
    assert (high["numerator"], high["denominator"], high["value"]) == (3, 5, 600)


def test_user_metrics_ignore_person_filters_and_users_without_lsoa_count_only_in_the_region(engine):
    ics = engine.metric_table("ics", "active_users", Filters.parse(["sex=male"]))
    i1 = row(ics, "I1")
    assert (i1["active_users_numerator"], i1["active_users_denominator"]) == (2, 3)
    assert math.isnan(row(ics, "I2")["active_users"])
    assert ics["active_users_denominator"].sum() == 3 < engine.comparator("active_users")["denominator"] == 5


@pytest.mark.parametrize("child, parent", [("lsoa", "pcn"), ("pcn", "place"), ("place", "ics"), ("ics", "region")])
def test_children_add_up_to_their_parent(engine, child, parent):
    key = {"pcn": "pcn_code", "place": "place_code", "ics": "ics_code"}
    lsoas = engine.geography.lsoas.set_index("lsoa_code")
    for metric in CELL_METRICS:
        kids = engine.metric_table(child, metric, Filters.parse(["frailty=moderate,severe,mild"]))
        parents = engine.metric_table(parent, metric, Filters.parse(["frailty=moderate,severe,mild"]))
        if parent == "region":
            groups = pd.Series(engine.geography.region_code, index=kids["area_code"])
        elif child == "lsoa":
            groups = lsoas[key[parent]].reindex(kids["area_code"])
        else:
            groups = kids.set_index("area_code")["parent_code"]
        for part in ("numerator", "denominator"):
            summed = kids.set_index("area_code")[f"{metric}_{part}"].groupby(groups.to_numpy()).sum()
            expected = parents.set_index("area_code")[f"{metric}_{part}"].reindex(summed.index)
            np.testing.assert_allclose(summed.to_numpy(), expected.to_numpy(), err_msg=f"{metric} {part}")


def test_within_keeps_only_areas_inside_an_area_at_any_level_above(engine):
    assert engine.metric_table("pcn", "plans", within="P3")["area_code"].tolist() == ["N3", "N4"]
    assert engine.metric_table("lsoa", "plans", within="I1")["area_code"].tolist() == ["L1", "L2", "L3"]
    with pytest.raises(FilterError, match="has no ics areas"):
        engine.metric_table("ics", "plans", within="P1")


def test_geography_metrics_come_from_the_bundle_in_the_same_shape(engine):
    pop = engine.metric_table("ics", "population")
    assert row(pop, "I1")["population"] == 1000 + 1200 + 900
    core20 = engine.metric_table("ics", "core20_population_share", Filters.parse(["sex=male"]))
    assert row(core20, "I2")["core20_population_share"] == pytest.approx(1000 / 2900 * 100)
    assert list(core20.columns[3:]) == metric_columns("core20_population_share")
    imd = engine.comparator("imd_score")
    assert imd["value"] == pytest.approx(np.average([50, 5, 35, 20, 45, 8], weights=[1000, 1200, 900, 1100, 1000, 800]))


def test_risk_metrics_need_a_trained_model(tmp_path):
    records = write_small_world(tmp_path / "records", risk=False)
    engine = build_engine(bundle=make_bundle(tmp_path), records=records)
    with pytest.raises(ExplorerError, match="explorer model train"):
        engine.metric_table("ics", "high_risk")
    assert "high_risk" not in engine.available_metrics() and "coverage" in engine.available_metrics()


# --------------------------------------------------------------------------- standardisation


def test_adjusted_coverage_is_observed_over_expected_from_region_stratum_rates(engine):
    # stratum (75-84, female, moderate): p1 with a plan, p5 without -> region rate 1/2;
    # L1: p1 (0.5) + p2 (65-74 male mild, rate 1) + p3 (rate 0) -> expected 1.5, observed 2
    lsoa = engine.metric_table("lsoa", "adjusted_coverage")
    l1, l2 = row(lsoa, "L1"), row(lsoa, "L2")
    assert (l1["adjusted_coverage_numerator"], l1["adjusted_coverage_denominator"]) == pytest.approx((2, 1.5))
    assert l1["adjusted_coverage"] == pytest.approx(200 / 1.5)
    lo, hi = stats.byar_interval(2)
    limits = (l1["adjusted_coverage_lower"], l1["adjusted_coverage_upper"])
    assert limits == pytest.approx((lo / 1.5 * 100, hi / 1.5 * 100))
    assert (l2["adjusted_coverage_numerator"], l2["adjusted_coverage_denominator"]) == pytest.approx((0, 0.5))
    assert engine.comparator("adjusted_coverage")["value"] == pytest.approx(100)


def test_isr_expected_counts_on_a_constructed_example():
    # two strata, reference rates 0.1 and 0.5: area A has 10 and 2 people -> expected 2.0
    s = {"plans": np.array([[3.0, 1.0], [0.0, 4.0]]), "people": np.array([[10.0, 2.0], [5.0, 8.0]])}
    got = compute_metric("adjusted_coverage", s, reference=np.array([0.1, 0.5]))
    np.testing.assert_allclose(got.denominator, [2.0, 4.5])
    np.testing.assert_allclose(got.value, [200.0, 4 / 4.5 * 100])


def test_coverage_dsr_matches_a_direct_calculation_over_esp_bands(gradient):
    got = gradient.comparator("coverage_dsr")
    ages = np.array([(i * 7) % 100 for i in range(200)])
    plans_per_q = (10, 20, 30, 40, 50)
    band = np.minimum(ages // 5, 18)
    people = np.bincount(band, minlength=19) * 5
    plans = sum(np.bincount(band[:n], minlength=19) for n in plans_per_q)
    value, lo, hi = stats.directly_standardised_rate(plans, people)
    assert (got["value"], got["lower"], got["upper"]) == pytest.approx((float(value), float(lo), float(hi)))
    assert got["numerator"] == 150 and got["denominator"] == 1000


# --------------------------------------------------------------------------- groups, inequality, gaps


def test_by_group_lists_every_group_in_order_and_sums_to_the_total(engine):
    table = engine.by_group("coverage", "age_band")
    assert table["group"].tolist() == ["0-15", "16-29", "30-44", "45-64", "65-74", "75-84", "85+"]
    assert table["numerator"].sum() == 6 and table["denominator"].sum() == 13
    assert table.set_index("group").loc["85+", "numerator"] == 2  # p7 and p11 (p4 died)
    one = engine.by_group("reviewed_in_period", "imd_quintile", area_code="N1")
    assert set(one["area_code"]) == {"N1"} and one.loc[one["group"] == "1", "denominator"].item() == 2
    with pytest.raises(FilterError, match="imd_decile or imd_quintile"):
        engine.by_group("active_users", "sex")


def test_sii_sign_follows_the_gradient(tmp_path, gradient):
    rows, summary = gradient.inequality("ics", "coverage", "imd_quintile")
    assert rows["value"].tolist() == pytest.approx([50, 100, 150, 200, 250])
    s = summary.iloc[0]
    assert s["sii"] == pytest.approx(250, rel=0.01) and s["sii_lower"] > 0 and s["rii"] > 1
    reverse = build_engine(bundle=make_bundle(tmp_path, GRADIENT_LSOAS),
                           records=write_gradient_world(tmp_path / "r", plans_per_quintile=(50, 40, 30, 20, 10)))
    _, summary = reverse.inequality("ics", "coverage", "imd_quintile")
    assert summary.iloc[0]["sii"] < 0 and summary.iloc[0]["sii_upper"] < 0 and summary.iloc[0]["rii"] < 1


def test_sii_needs_every_quintile_and_a_deprivation_grouping(engine):
    _, summary = engine.inequality("pcn", "coverage", "imd_quintile")
    assert summary["sii"].isna().all()  # no PCN of the small world has all five quintiles
    _, summary = engine.inequality("ics", "coverage", "sex")
    assert summary["sii"].isna().all()


def test_gap_count_brings_every_quintile_up_to_the_least_deprived(gradient):
    ics = gradient.gap_count("ics")
    assert ics["gap"].tolist() == pytest.approx([100])  # Q5 rate 0.25: (50-10)+(50-20)+(50-30)+(50-40)
    pcn = gradient.gap_count("pcn").set_index("area_code")
    assert pcn.loc["GN1", "gap"] == pytest.approx(10) and pcn.loc["GN1", "reference_quintile"] == 2
    assert pcn.loc["GN2", "gap"] == pytest.approx(30)
    gap, ref = gap_from_groups(np.array([[1, 0, 0]]), np.array([[10, 0, 0]]))
    assert gap.tolist() == [0] and ref.tolist() == [1]


# --------------------------------------------------------------------------- time, cascade, outreach


def test_trend_has_24_month_end_snapshots_with_changing_plans_and_deaths(engine):
    table, test = engine.trend("coverage")
    assert len(table) == 24 and table["month"].iloc[0] == "2024-11" and table["month"].iloc[-1] == "2026-10"
    by_month = table.set_index("month")
    assert by_month.loc["2024-11", "numerator"] == 3 and by_month.loc["2024-11", "denominator"] == 14
    assert by_month.loc["2026-07", "numerator"] == 7 and by_month.loc["2026-08", "denominator"] == 13
    assert by_month.loc["2026-10", "value"] == pytest.approx(6 / 13 * 1000)
    assert set(test) == {"statistic", "significant", "direction"}
    users, _ = engine.trend("active_users")
    assert users.set_index("month").loc["2026-09", "numerator"] == 2


def test_trend_for_one_area_and_metric_with_strata(engine):
    table, _ = engine.trend("adjusted_coverage", area_code="L1")
    assert table.iloc[-1]["numerator"] == 2 and table.iloc[-1]["denominator"] == pytest.approx(1.5)
    comp, _ = engine.trend("completeness", Filters.parse(["frailty=severe"]), area_code="I2")
    assert comp.iloc[-1]["numerator"] == 10 and comp.iloc[-1]["denominator"] == 1  # p11's plan


def test_cascade_is_monotone_with_the_right_shares(engine):
    everyone = engine.cascade(risk=None)
    assert everyone["count"].tolist() == [13, 6, 4, 3, 2]
    assert everyone["share_of_previous"].iloc[1:].tolist() == pytest.approx([6 / 13, 4 / 6, 3 / 4, 2 / 3])
    high = engine.cascade(risk=MIN_P)
    assert high["count"].tolist() == [5, 3, 2, 2, 2]
    assert (np.diff(high["count"]) <= 0).all() and high["step"].iloc[0].startswith("At risk")


def test_outreach_ranks_areas_by_high_risk_people_without_a_plan(engine):
    table = engine.outreach("lsoa", MIN_P)
    assert table["area_code"].tolist()[:2] == ["L2", "L5"]
    l5 = row(table, "L5")
    assert (l5["high_risk"], l5["high_risk_without_plan"]) == (2, 1)
    assert l5["high_risk_plan_coverage"] == pytest.approx(50)
    assert l5["expected_admissions_without_plan"] == pytest.approx(0.5)
    assert {"gap", "high_risk_plan_coverage_lower", "area_name"} <= set(table.columns)


# --------------------------------------------------------------------------- cells


def test_cells_bincount_sums_agree_with_a_pandas_groupby(engine):
    rng = np.random.default_rng(3)
    n = 500
    frame = pd.DataFrame({
        "lsoa_code": rng.choice(["L1", "L2", "L3", "L4", "L5", "L6", "ELSEWHERE"], n),
        "age_group": rng.choice(AGE_GROUP_STARTS, n), "sex": rng.choice(["female", "male"], n),
        "ethnic_group": rng.choice(["white", "black"], n), "frailty": rng.choice(["fit", "mild"], n),
        "disabled": rng.random(n) < 0.3, "high_risk": rng.random(n) < 0.2, "people": rng.integers(1, 9, n),
    })
    index = AreaIndex(engine.geography.lsoas, engine.geography.areas, "R", "Region")
    cells = Cells(frame, index, ["people"])
    mask = cells.mask(Filters.parse(["sex=male", "disabled=yes"]))
    got = cells.sums(mask, [(cells.area_codes("place"), index.n_areas("place") + 1)], ["people", "hr_people"])
    sub = frame[(frame["sex"] == "male") & frame["disabled"]]
    place = sub["lsoa_code"].map(engine.geography.lsoas.set_index("lsoa_code")["place_code"])
    expected = sub.groupby(place)["people"].sum().reindex(["P1", "P2", "P3"]).fillna(0)
    np.testing.assert_allclose(got["people"][:3], expected.to_numpy())
    assert got["people"][3] == sub.loc[place.isna(), "people"].sum()  # the outside slot
    assert got["hr_people"].sum() == sub.loc[sub["high_risk"], "people"].sum()


# --------------------------------------------------------------------------- CLI


@pytest.fixture()
def cli_world(tmp_path, monkeypatch):
    from careplan_world import write_bundle

    bundle = make_bundle(tmp_path / "data" / "bundles" / "london")
    write_bundle(tmp_path / "data" / "bundles" / "london", bundle)
    write_small_world(tmp_path / "data" / "records" / "london")
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def test_cli_summary_appends_each_metric_after_the_area_columns(cli_world):
    import io

    from typer.testing import CliRunner

    from explorer.cli import app

    result = CliRunner().invoke(app, ["summary", "--level", "pcn", "--metric", "coverage", "--metric",
                                      "reviewed_in_period", "--filter", "frailty=moderate,severe,mild",
                                      "--role", "analyst"])  # raw counts: this world's are all small
    assert result.exit_code == 0, result.output
    table = pd.read_csv(io.StringIO(result.stdout))
    assert list(table.columns[:8]) == ["area_code", "area_name", "parent_code", "population", "lsoa_count",
                                       "imd_score", "imd_prop_most_deprived_10pc", "core20_population_share"]
    values = [c for c in table.columns[8:] if not c.endswith("_suppressed")]  # then one flag per controlled column
    assert values == [*metric_columns("coverage"), *metric_columns("reviewed_in_period")]
    n1 = row(table, "N1")  # p1 (moderate) and p2 (mild) have plans; p5 (moderate) does not; p4 died
    assert (n1["coverage_numerator"], n1["coverage_denominator"]) == (2, 3)
    plain = CliRunner().invoke(app, ["summary", "--level", "ics"])
    assert plain.exit_code == 0 and "coverage" not in plain.stdout.splitlines()[0]


def test_cli_inequality_prints_rows_and_sii_rii(cli_world):
    import io
    import json

    from typer.testing import CliRunner

    from explorer.cli import app

    runner = CliRunner()
    csv = runner.invoke(app, ["inequality", "--level", "ics", "--metric", "coverage", "--by", "imd_quintile",
                              "--role", "analyst"])
    assert csv.exit_code == 0, csv.output
    table = pd.read_csv(io.StringIO(csv.stdout))
    assert list(table.columns) == ["area_code", "group", "value", "numerator", "denominator", "lower", "upper",
                                   "suppressed", "sii", "sii_lower", "sii_upper", "rii", "rii_lower", "rii_upper"]
    assert len(table) == 2 * 5 and table["numerator"].sum() == 6
    js = runner.invoke(app, ["inequality", "--level", "place", "--metric", "coverage", "--by", "sex",
                             "--format", "json", "--filter", "age_band=85+"])
    payload = json.loads(js.stdout)
    assert set(payload) == {"rows", "sii_rii"} and len(payload["sii_rii"]) == 3
    bad = runner.invoke(app, ["inequality", "--metric", "high_risk", "--filter", "frailty=frail"])
    assert bad.exit_code == 2 and "unknown frailty 'frail'" in bad.output and "Traceback" not in bad.output


# --------------------------------------------------------------------------- snapshots and caching


def test_a_past_snapshot_agrees_with_the_trend_and_one_month_cells_agree_with_history(tmp_path, engine):
    july = engine.comparator("coverage", as_of="2026-07")
    trend, _ = engine.trend("coverage")
    assert (july["numerator"], july["denominator"]) == (7, 14)
    assert trend.set_index("month").loc["2026-07", "numerator"] == 7
    lean = CoverageEngine(geography=engine.geography, cells=engine.cells, snapshot=engine.snapshot,
                          history_months=engine.history_months, default_risk=MIN_P, eager_history=False,
                          max_cell_tables=2)
    for metric in ("completeness", "urgent_care_views", "adjusted_coverage", "high_risk_without_plan"):
        for month in ("2026-07", "2026-10"):
            a = engine.metric_table("lsoa", metric, as_of=month)
            b = lean.metric_table("lsoa", metric, as_of=month)
            pd.testing.assert_frame_equal(a, b)
    assert len(lean._lru) <= 2  # least recently used cell tables are dropped
    with pytest.raises(FilterError, match="after the extract"):
        engine.metric_table("ics", "plans", as_of="2026-11")


def test_the_sql_and_the_encoder_share_the_age_groups():
    from explorer.records import aggregate

    assert aggregate.AGE_GROUP_STARTS == AGE_GROUP_STARTS
    assert AGE_GROUP_STARTS[:5] == (0, 5, 10, 15, 16) and AGE_GROUP_STARTS[-1] == 90
