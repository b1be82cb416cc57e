"""Fingertips-style benchmarking: the range of areas (percentiles), significance with polarity (the
funnel's one definition), a comparator group's aggregate from released counts, the spine's
geometry, the views' URL state, and the controlled frames behind the spine, overview and compare pages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.app.state_views import MAX_GROUP, AreasView
from explorer.domain import benchmark, stats
from explorer.domain.access import Role, disclosure_policy_for
from explorer.domain.metrics import DEFAULT_RISK, METRICS, Filters
from explorer.figures.spine import spine_figure, spine_positions

REVIEWED = METRICS["reviewed_in_period"]  # proportion, higher is better
COVERAGE = METRICS["coverage"]  # rate per 1,000
ADJUSTED = METRICS["adjusted_coverage"]  # ratio x 100
WITHOUT = METRICS["high_risk_without_plan"]  # count, lower is better, no CI
IMD = METRICS["imd_score"]  # no polarity, no CI


# --------------------------------------------------------------------------- range of areas


def test_range_quartiles_are_numpy_linear_and_ignore_suppressed_areas():
    values = [5.0, 1.0, np.nan, 3.0, 2.0, 4.0]  # NaN: a suppressed area
    r = benchmark.area_range(values, True)
    assert (r.worst, r.q25, r.q75, r.best, r.n) == (1.0, 2.0, 4.0, 5.0, 5)
    # Hyndman & Fan type 7 between order statistics: 10, 20, 40, 80 -> Q25 17.5, Q75 50
    r = benchmark.area_range([80, 10, 40, 20], True)
    assert (r.q25, r.q75) == (17.5, 50.0)


def test_range_worst_and_best_follow_polarity():
    lower_better = benchmark.area_range([1, 2, 3, 9], False)
    assert (lower_better.worst, lower_better.best) == (9.0, 1.0)
    no_polarity = benchmark.area_range([1, 2, 3, 9], None)
    assert (no_polarity.worst, no_polarity.best) == (1.0, 9.0)  # lowest and highest
    empty = benchmark.area_range([np.nan, np.nan], True)
    assert empty.n == 0 and np.isnan(empty.q25)


# --------------------------------------------------------------------------- significance


def test_significance_colours_follow_polarity():
    lo, hi = np.array([60.0, 40.0, 45.0]), np.array([70.0, 48.0, 55.0])  # above, below, straddling 50
    assert benchmark.significance(lo, hi, 50.0, REVIEWED).tolist() == ["better", "worse", "similar"]
    lower_is_better = REVIEWED.__class__(**{**REVIEWED.__dict__, "higher_is_better": False})
    assert benchmark.significance(lo, hi, 50.0, lower_is_better).tolist() == ["worse", "better", "similar"]
    no_polarity = REVIEWED.__class__(**{**REVIEWED.__dict__, "higher_is_better": None})
    assert benchmark.significance(lo, hi, 50.0, no_polarity).tolist() == ["higher", "lower", "similar"]
    # a count is a size, not a rate; a metric without a CI cannot be tested: both "not compared"
    assert set(benchmark.significance(lo, hi, 50.0, WITHOUT)) == {"not compared"}
    assert set(benchmark.significance(lo, hi, 50.0, IMD)) == {"not compared"}
    assert benchmark.significance([np.nan], [np.nan], 50.0, REVIEWED).tolist() == ["not compared"]


@pytest.mark.parametrize("info,kind", [(REVIEWED, "proportion"), (COVERAGE, "rate"), (ADJUSTED, "ratio")])
def test_significance_is_the_funnels_classification_at_95_percent(info, kind):
    """One definition: similar exactly when the funnel puts the area within its 95% limits."""
    rng = np.random.default_rng(3)
    den = rng.integers(20, 3000, 400).astype(float)
    if kind == "proportion":
        num = rng.binomial(den.astype(int), 0.6).astype(float)
        comparator = 60.0
    elif kind == "rate":
        num = rng.poisson(den * 0.005).astype(float)
        comparator = 5.0
    else:
        num = rng.poisson(den).astype(float)
        comparator = 100.0
    _, lo, hi = stats.statistic_interval(num, den, kind, 0.95, info.multiplier)
    sig = benchmark.significance(lo, hi, comparator, info)
    position = stats.funnel_position(num, den, comparator, kind, info.multiplier)
    assert ((sig == "similar") == (position == "within 95%")).all()
    assert 0 < (sig != "similar").sum() < len(sig)  # both kinds present: the test could fail


# --------------------------------------------------------------------------- comparator group


def test_group_value_is_recomputed_from_summed_released_counts():
    g = benchmark.group_value(REVIEWED, [40, 55, 120], [60, 80, 150])
    value, lo, hi = stats.statistic_interval(215, 290, "proportion", 0.95, 100)
    assert (g.value, g.lower, g.upper) == pytest.approx((float(value), float(lo), float(hi)))
    assert (g.numerator, g.denominator, g.areas, g.missing) == (215, 290, 3, 0)
    ratio = benchmark.group_value(ADJUSTED, [30, 45], [25.0, 50.0])  # observed / summed expected x 100
    assert ratio.value == pytest.approx(100 * 75 / 75)
    rate = benchmark.group_value(COVERAGE, [10, 20], [1000, 3000])
    assert rate.value == pytest.approx(7.5)


def test_group_value_is_withheld_when_a_member_is_suppressed_or_it_needs_more_than_two_counts():
    hidden = benchmark.group_value(REVIEWED, [40, np.nan, 120], [60, 80, 150])
    assert np.isnan(hidden.value) and hidden.missing == 1  # never estimated from the rest
    for name in ("coverage_dsr", "completeness", "high_risk_without_plan"):
        assert np.isnan(benchmark.group_value(METRICS[name], [40, 50], [60, 80]).value), name
    plans = benchmark.group_value(METRICS["plans"], [40, 55], [np.nan, np.nan])
    assert plans.value == 95 and plans.lower < 95 < plans.upper


# --------------------------------------------------------------------------- spine geometry


def _row(**kw) -> pd.Series:
    base = {"label": "x", "value": 60.0, "lower": 55.0, "upper": 65.0, "comparator": 50.0, "worst": 30.0,
            "q25": 45.0, "q75": 55.0, "best": 70.0, "higher_is_better": True, "kind": "proportion",
            "significance": "better", "short_unit": "%", "parent": np.nan, "group": np.nan}
    return pd.Series({**base, **kw})


def test_spine_puts_the_comparator_in_the_middle_and_the_best_on_the_right():
    p = spine_positions(_row())
    assert p["value"] == pytest.approx(0.75) and p["best"] == pytest.approx(1.0) and p["worst"] == pytest.approx(0.0)
    flipped = spine_positions(_row(higher_is_better=False, worst=70.0, best=30.0))
    assert flipped["best"] == pytest.approx(1.0) and flipped["value"] == pytest.approx(0.25)
    fig = spine_figure(pd.DataFrame([_row(), _row(label="y", significance="not compared", kind="count")]),
                       area_name="A & B", comparator_name="London")
    names = [t.name for t in fig.data]
    assert "Area: better (95%)" in names and "Area: not compared" in names


# --------------------------------------------------------------------------- URL state


def test_areas_view_round_trips_and_drops_what_the_role_may_not_have():
    known = {"E1": "ics", "P1": "place", "P2": "place", "N1": "pcn", "L1": "lsoa"}
    view = AreasView(level="pcn", area="P1", metric="coverage", comparator="group", group=("N1",), sort="coverage",
                     ascending=False, filters=Filters(sex=("female",)))
    again = AreasView.from_query(view.to_query(), metrics=("coverage",), area_level=known)
    assert again == view
    odd = AreasView.from_query({"group": "P1,N1,zz,P2,P1", "cmp": "group", "sort": "nope", "level": "lsoa"},
                               levels=("ics", "place", "pcn"), metrics=("coverage",), area_level=known)
    assert odd.group == ("P1", "P2") and odd.comparator == "group" and odd.sort == "area_name"
    assert odd.level == "ics"  # LSOA is beyond these levels
    no_group = AreasView.from_query({"cmp": "group"}, area_level=known)
    assert no_group.comparator == "region"
    many = ",".join(f"X{i}" for i in range(50))
    assert len(AreasView.from_query({"group": many}, area_level={f"X{i}": "pcn" for i in range(50)}).group) == MAX_GROUP


# --------------------------------------------------------------------------- controlled frames (London)


@pytest.fixture(scope="module")
def scope():
    from explorer.services.area_views import Scope

    return Scope(Filters(age_band=("85+",), ethnic_group=("other",)), DEFAULT_RISK,
                 disclosure_policy_for(Role("commissioner")))


def test_spine_frame_holds_only_released_counts(london_app_data, scope):
    from explorer.services.area_views import ordered_metrics, spine_frame

    data = london_app_data
    pcns = data.geometry["pcn"].codes
    metrics = ordered_metrics(data, list(data.metrics))
    frame = spine_frame(data, pcns[0], metrics, scope, comparator="group", group=pcns[1:16])
    assert set(frame["metric"]) >= {"coverage", "plans", "reviewed_in_period"}
    for col in ("numerator", "denominator"):
        counts = frame.loc[frame["kind"] != "score", col].dropna()
        assert not ((counts > 0) & (counts < 8)).any(), frame[["metric", col]]
    row = frame.set_index("metric").loc["coverage"]
    table = data.table("pcn", "coverage", scope.filters, scope.policy)
    members = table.loc[list(pcns[1:16])]
    expected = benchmark.group_value(METRICS["coverage"], members["coverage_numerator"].where(
        ~members["coverage_suppressed"]).astype(float), members["coverage_denominator"].astype(float))
    assert row["group"] == pytest.approx(expected.value, nan_ok=True)
    shown = table["coverage"].where(~table["coverage_suppressed"]).astype(float)
    assert row["q25"] == pytest.approx(float(np.nanquantile(shown, 0.25)))


def test_area_frame_significance_is_against_the_parent(london_app_data, scope):
    from explorer.services.area_views import area_frame

    data = london_app_data
    ics = data.geometry["ics"].codes[0]
    frame = area_frame(data, "pcn", ics, "coverage", scope)
    assert set(frame["area_code"]) == set(data.codes_within("pcn", ics))
    parent = float(data.value_of(ics, "coverage", scope.filters, scope.policy)["coverage"])
    assert frame.attrs["comparator"] == pytest.approx(parent)
    shown = frame[~frame["suppressed"]]
    expected = stats.compare_to_benchmark(shown["lower"], shown["upper"], parent, True)
    assert (shown["significance"].to_numpy() == expected).all()
    assert (frame.loc[frame["suppressed"], "significance"] == "not compared").all()
