"""Issue 14: the user's area on every page, quintile gaps with their CIs, outputs that say what they
show and tables of numbers. Hand-worked figures are cited; the app parts use the session's London data."""

from __future__ import annotations

import io
import math

import pandas as pd
import pytest

from explorer.app.state import (
    SHARED_KEYS,
    MapView,
    OutreachView,
    ProfileView,
    area_view_query,
    page_href,
    query_from_search,
    shared_query,
)
from explorer.domain import narrative, stats
from explorer.domain.access import disclosure_policy_for
from explorer.domain.metrics import Filters
from explorer.figures.describe import Subject, as_at_text

SWL = "E54000031"  # NHS South West London ICB
NEL = "E54000029"  # NHS North East London ICB
FRAIL = Filters(frailty=("mild", "moderate", "severe"))


# --------------------------------------------------------------------------- gap CIs (hand-worked)

def test_newcombe_hybrid_score_matches_newcombes_worked_examples():
    # Newcombe (1998) Stat Med 17:873-890, Table II, method 10: 56/70 - 48/80 and 9/10 - 3/10
    d, lo, hi = stats.proportion_difference(56, 70, 48, 80)
    assert d == pytest.approx(0.2) and lo == pytest.approx(0.0524, abs=5e-5) and hi == pytest.approx(0.3339, abs=5e-5)
    d, lo, hi = stats.proportion_difference(9, 10, 3, 10)
    assert d == pytest.approx(0.6) and lo == pytest.approx(0.1705, abs=5e-5) and hi == pytest.approx(0.8090, abs=5e-5)
    # by hand from the Wilson limits (65/100: 0.552544-0.736358, methods.md) against itself: symmetric about 0
    d, lo, hi = stats.proportion_difference(65, 100, 65, 100)
    assert d == 0 and lo == pytest.approx(-math.hypot(0.65 - 0.552544, 0.736358 - 0.65), abs=1e-6)
    assert hi == pytest.approx(math.hypot(0.736358 - 0.65, 0.65 - 0.552544), abs=1e-6)


def test_katz_log_ratio_interval_by_hand_and_undefined_cases():
    # Katz et al. (1978): (56/70)/(48/80) = 4/3; se = sqrt(1/56 - 1/70 + 1/48 - 1/80) = 0.109109;
    # 95% CI 4/3 x exp(-/+ 1.959964 x 0.109109) = 1.07663 to 1.65125
    r, lo, hi = stats.proportion_ratio(56, 70, 48, 80)
    assert r == pytest.approx(4 / 3) and lo == pytest.approx(1.07663, abs=1e-5) and hi == pytest.approx(1.65125, abs=1e-5)
    assert narrative.ratio_interval(narrative.Estimate(0.8, numerator=56, denominator=70),
                                    narrative.Estimate(0.6, numerator=48, denominator=80)) == (r, lo, hi)
    assert all(math.isnan(x) for x in stats.proportion_ratio(0, 70, 48, 80))  # log of 0
    assert all(math.isnan(x) for x in stats.proportion_difference(5, 0, 3, 10))  # no denominator
    assert all(math.isnan(x) for x in stats.proportion_difference(12, 10, 3, 10))  # numerator > denominator
    assert all(math.isnan(x) for x in stats.proportion_difference(None, 10, 3, 10))  # withheld count


# --------------------------------------------------------------------------- the shared area in the URL

AREAS = {"E54000031": "ics", "E38000001": "place", "U00001": "pcn", "E01000001": "lsoa", "E12000007": "region"}
PARENTS = {"E54000031": "E12000007", "E38000001": "E54000031", "U00001": "E38000001", "E01000001": "U00001"}
LEVELS = ("ics", "place", "pcn", "lsoa")


def test_shared_area_and_filters_survive_every_page_round_trip():
    map_view = MapView(level="lsoa", area="U00001", selected="E01000001", metric="coverage",
                       filters=Filters(sex=("female",), frailty=("severe",)))
    href = page_href("/outreach", map_view.to_query())  # the nav link from the map
    query = query_from_search("?" + href.split("?", 1)[1])
    assert query == {"area": "E01000001", "sex": "female", "frailty": "severe"}  # the selection is the area
    assert set(query) <= set(SHARED_KEYS) and "level" not in query and "metric" not in query
    profile = ProfileView.from_query(query, levels=LEVELS, area_level=AREAS)
    assert profile.area == "E01000001" and profile.filters == map_view.filters
    out = OutreachView.from_query(query, levels=("place", "pcn", "lsoa"), area_level=AREAS, parent_of=PARENTS)
    assert out.area == "U00001" and out.level == "lsoa"  # an LSOA stands for its PCN, ranked by LSOA
    back = MapView.from_query(area_view_query(shared_query(profile.to_query()), LEVELS, AREAS, PARENTS),
                              levels=LEVELS, area_level=AREAS)
    assert (back.area, back.selected, back.level, back.filters) == ("U00001", "E01000001", "lsoa", map_view.filters)
    # a pasted link with an ICS: the map shows its places; outreach ranks within it (PCNs by default)
    ics = MapView.from_query(area_view_query({"area": SWL}, LEVELS, AREAS, PARENTS), levels=LEVELS, area_level=AREAS)
    assert (ics.area, ics.level) == (SWL, "place")
    out = OutreachView.from_query({"area": SWL}, levels=("place", "pcn", "lsoa"), area_level=AREAS, parent_of=PARENTS)
    assert (out.area, out.level) == (SWL, "pcn")
    assert OutreachView.from_query(out.to_query(), levels=("place", "pcn", "lsoa"), area_level=AREAS,
                                   parent_of=PARENTS) == out
    # a PCN with a role that may not rank LSOAs: nothing below it to rank, so no area
    assert OutreachView.from_query({"area": "U00001"}, levels=("place", "pcn"), area_level=AREAS,
                                   parent_of=PARENTS).area is None
    assert page_href("/profile", {}) == "/profile"


# --------------------------------------------------------------------------- what an output says

def test_subject_states_area_filters_period_role_comparator_and_units():
    s = Subject("Care-plan coverage", "NHS South West London ICB", "ICS", "frailty: severe", as_at_text("2026-10-31"),
                "commissioner", "London", "per 1,000")
    assert s.title() == "Care-plan coverage: NHS South West London ICB (ICS); frailty: severe; as at 31 October 2026"
    caption = s.caption()
    for part in ("units: per 1,000", "compared with London, same filters", "commissioner role"):
        assert part in caption
    plain = Subject("Care-plan coverage", "London", "region", "", None, None, "London")
    assert plain.comparator_label == "London" and "no filters" in plain.caption()
    assert "filters: none (everyone)" in plain.header_lines()


# --------------------------------------------------------------------------- on the session's London data

def test_deprivation_gap_comes_from_the_released_quintile_counts(london_app_data):
    data = london_app_data
    policy = disclosure_policy_for("commissioner")
    gap = data.deprivation_gap(NEL, "coverage", FRAIL, None, policy).set_index("measure")
    most, least = gap.attrs["most"], gap.attrs["least"]
    assert (most["group"], least["group"]) == ("1", "5")
    counts = [float(r[k]) for r in (least, most) for k in ("numerator", "denominator")]
    assert all(c % 5 == 0 for c in counts)  # rounded counts: the CIs rest on released numbers only
    d, lo, hi = stats.proportion_difference(*counts)
    assert gap.loc["difference", ["value", "lower", "upper"]].tolist() == pytest.approx([d * 1000, lo * 1000, hi * 1000])
    assert gap.loc["ratio", ["value", "lower", "upper"]].tolist() == pytest.approx(list(stats.proportion_ratio(*counts)))
    assert gap.loc["sii", "lower"] < gap.loc["sii", "value"] < gap.loc["sii", "upper"]
    # a strategist sees deprivation as groups of whole PCNs (the role rule): other groups, same method
    strat = data.deprivation_gap(NEL, "coverage", FRAIL, None, disclosure_policy_for("strategist"))
    assert strat.attrs["most"]["denominator"] != most["denominator"]
    assert math.isfinite(strat.set_index("measure").loc["sii", "value"])


def _demo_app(settings, data, role):
    from explorer.app.factory import create_app

    return create_app(settings, "london", data=data, warm=False, demo_role=role)


def test_outreach_spends_capacity_only_inside_the_area_and_downloads_numbers(settings, london_app_data):
    from explorer.app.pages import outreach

    data = london_app_data
    app = _demo_app(settings, data, "commissioner")
    view = OutreachView.from_query({"area": SWL, "level": "lsoa", "capacity": "2000"},
                                   levels=("place", "pcn", "lsoa"), area_level=data.area_level, parent_of=data.parent_of)
    with app.server.test_request_context("/"):
        ranked = outreach._ranked(data, view, disclosure_policy_for("commissioner"))
        text = outreach.csv_bytes(data, view)
    inside = set(data.codes_within("lsoa", SWL))
    assert set(ranked["area_code"]) <= inside and len(ranked) == len(inside)
    assert ranked["reach"].sum() == 2000 and set(ranked.loc[ranked["reach"] > 0, "area_code"]) <= inside
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert any("area: NHS South West London ICB (ICS)" in h for h in header)
    assert any(h.startswith("# as at: ") and "October" in h for h in header)
    frame = pd.read_csv(io.StringIO(text), comment="#")
    for col in ("high_risk_people", "without_plan_people", "coverage_pct", "coverage_lower_pct", "coverage_upper_pct",
                "reached_people", "rank"):
        assert pd.api.types.is_numeric_dtype(frame[col]), col
    assert frame["reached_people"].sum() == 2000
    assert set(frame.loc[frame["reached_people"] > 0, "area_code"]) <= inside
    pcns = {c for c in data.codes_within("pcn", SWL)}
    assert set(frame["parent_code"]) <= pcns and frame["parent_name"].notna().all()
    shown = frame.dropna(subset=["coverage_pct"])
    assert (shown["coverage_lower_pct"] <= shown["coverage_pct"]).all()
    assert (shown["coverage_pct"] <= shown["coverage_upper_pct"]).all()


def test_key_metrics_do_not_rate_counts_or_repeat_the_region(london_app_data):
    from explorer.app.presenters.profile import key_metrics

    data = london_app_data
    frame = key_metrics(data, SWL, Filters(), None, disclosure_policy_for("commissioner")).set_index("metric")
    assert frame.attrs["parent"] is None  # an ICS's parent is the region: no separate parent columns
    counts = frame[frame["kind"] == "count"]
    assert len(counts) and (counts["_vs_region"] == "not compared").all()
    shown = counts["value"].dropna()
    assert (shown == shown.round()).all()  # whole people, plans and admissions
    if "coverage_dsr" in frame.index:  # a standardised rate is not numerator / denominator: no pair beside it
        assert math.isnan(frame.loc["coverage_dsr", "numerator"])
    cov = frame.loc["coverage"]
    assert cov["numerator"] / cov["denominator"] * 1000 == pytest.approx(cov["value"])
