"""Nearest neighbours (distance by hand, real areas stable across a rebuild, explanation), practice
search landing on its PCN, and the population pyramid's shares."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from explorer.app.presenters import search as finder
from explorer.bundle.store import TABLE_FILES
from explorer.domain import neighbours as method
from explorer.domain.access import disclosure_policy_for
from explorer.domain.disclosure import DisclosurePolicy
from explorer.errors import ExplorerError
from explorer.services import neighbours as service
from explorer.services.pyramid import pyramid, resident_band
from explorer.vocab import NEIGHBOUR_FEATURES

HACKNEY = "E09000012"
# Hackney's three most similar places in England, from the mirror's IoD 2025, Census 2021 and RUC 2021
HACKNEY_NEAREST = ["E09000014", "E09000019", "E09000028"]  # Haringey, Islington, Southwark
WEST_MERTON = "U00070"
WEST_MERTON_NEAREST = ["U52546", "U44050"]  # North West Merton PCN, South West Merton PCN
PRACTICE = ("F84003", "LOWER CLAPTON GROUP PRACTICE", "U05451")  # NHS Digital code, name, PCN (Jan 2024 map)


# --------------------------------------------------------------------------- the distance by hand


def test_distance_is_weighted_euclidean_of_z_scores_worked_by_hand():
    # a = 0, 2, 4: mean 2, population sd sqrt(8/3); b = 0, 0, 3: mean 1, sd sqrt(2)
    # X to Y: a differs by 2 -> z diff 2/sqrt(8/3), squared 1.5; b equal -> d = sqrt(1.5)
    # X to Z: a z diff squared 16/(8/3) = 6; b z diff squared 9/2 = 4.5, weight 1/4 -> d = sqrt(7.125)
    table = pd.DataFrame({"area_code": ["X", "Y", "Z"], "a": [0.0, 2.0, 4.0], "b": [0.0, 0.0, 3.0]})
    near = method.nearest(table, "X", k=5, weights={"a": 1.0, "b": 0.25})
    assert list(near["area_code"]) == ["Y", "Z"]
    assert near["distance"].tolist() == pytest.approx([math.sqrt(1.5), math.sqrt(7.125)])
    assert list(near["rank"]) == [1, 2]


def test_ties_are_broken_by_code_and_a_constant_feature_counts_for_nothing():
    table = pd.DataFrame({"area_code": ["B", "C", "A", "D"], "a": [1.0, 1.0, 1.0, 0.0], "b": [5.0] * 4})
    near = method.nearest(table, "D", k=3, weights={"a": 1.0, "b": 1.0})
    assert list(near["area_code"]) == ["A", "B", "C"]
    with pytest.raises(ExplorerError, match="not in the neighbour table"):
        method.nearest(table, "Q", weights={"a": 1.0})


def test_each_theme_weighs_one_shared_among_its_features():
    weights = method.explanation()
    assert set(weights["theme"]) == {"deprivation", "age structure", "ethnicity", "rurality"}
    assert weights.groupby("theme")["weight"].sum().tolist() == pytest.approx([1.0] * 4)
    assert list(weights["feature"]) == list(NEIGHBOUR_FEATURES)
    assert weights.set_index("feature")["weight"]["urban"] == 1.0
    assert weights.set_index("feature")["weight"]["age_65+"] == pytest.approx(1 / 6)


# --------------------------------------------------------------------------- real areas


def test_the_national_table_covers_every_english_place_and_pcn(london_bundle):
    table = london_bundle.neighbour_features
    assert table["level"].value_counts().to_dict() == {"pcn": 1272, "place": 296}
    assert not table[list(NEIGHBOUR_FEATURES)].isna().any().any()
    places = table[table["level"] == "place"]
    ages = places[[c for c in NEIGHBOUR_FEATURES if c.startswith("age_")]].sum(axis=1)
    assert ages.to_numpy() == pytest.approx(100.0)


def test_real_neighbours_are_the_expected_ones_and_marked_in_or_out_of_region(london_bundle):
    hackney = service.nearest(london_bundle, "place", HACKNEY)
    assert len(hackney) == 15 and HACKNEY not in set(hackney["area_code"])
    assert list(hackney["area_code"][:3]) == HACKNEY_NEAREST
    assert hackney["distance"].is_monotonic_increasing
    merton = service.nearest(london_bundle, "pcn", WEST_MERTON)
    assert list(merton["area_code"][:2]) == WEST_MERTON_NEAREST
    outside = merton[~merton["in_region"]]
    assert len(outside) > 0 and not outside["area_code"].isin(london_bundle.areas["area_code"]).any()
    with pytest.raises(ExplorerError, match="place and pcn"):
        service.nearest(london_bundle, "lsoa", "E01000001")


def test_neighbours_are_the_same_after_the_table_is_rebuilt(settings, london_bundle):
    from explorer.services.build import add_neighbour_features

    path = london_bundle.directory / TABLE_FILES["neighbour_features"]
    before = pd.read_parquet(path)
    first = {code: list(service.nearest(london_bundle, lv, code)["area_code"]) for lv, code in
             (("place", HACKNEY), ("pcn", WEST_MERTON), ("place", "E09000007"))}
    add_neighbour_features(settings, "london")  # the table again, from the source files
    pd.testing.assert_frame_equal(pd.read_parquet(path), before)
    for (level, code), codes in zip((("place", HACKNEY), ("pcn", WEST_MERTON), ("place", "E09000007")),
                                    first.values()):
        again = method.nearest(service.level_table(london_bundle, level), code)
        assert list(again["area_code"]) == codes


# --------------------------------------------------------------------------- practice search


def test_a_real_practice_is_found_by_code_and_name_and_lands_on_its_pcn(london_app_data):
    code, name, pcn = PRACTICE
    policy = disclosure_policy_for("strategist")
    levels = ("ics", "place", "pcn")
    by_code = finder.search(london_app_data, levels, code.lower(), policy)
    assert by_code[0].code == code and by_code[0].kind == "GP practice"
    assert by_code[0].href == f"/profile?area={pcn}&practice={code}"
    by_name = finder.search(london_app_data, levels, "clapton group", policy)
    assert [m.code for m in by_name if m.kind == "GP practice"] == [code]
    summary = finder.practice_summary(london_app_data, levels, code, policy)
    assert summary.pcn_code == pcn and summary.name == name
    count = int(summary.registered.replace(",", ""))
    assert count % 5 == 0 and count > 1000  # a whole practice's list, rounded to 5 for this role


def test_search_offers_only_the_levels_the_role_may_see(london_app_data):
    policy = disclosure_policy_for("strategist")
    lsoa = str(london_app_data.bundle.areas.query("level == 'lsoa'")["area_code"].iloc[0])
    assert finder.search(london_app_data, ("ics", "place", "pcn"), lsoa, policy) == []
    found = finder.search(london_app_data, ("ics", "place", "pcn", "lsoa"), lsoa, policy)
    assert found[0].code == lsoa and found[0].href == f"/profile?area={lsoa}"
    assert finder.search(london_app_data, ("ics", "place"), PRACTICE[0], policy) == []  # no PCNs, no practices
    hackney = finder.search(london_app_data, ("ics", "place", "pcn"), "hackney", policy)
    assert hackney[0].code == HACKNEY  # larger areas first


# --------------------------------------------------------------------------- pyramid


@pytest.mark.parametrize("role", ["analyst", "strategist"])
def test_pyramid_shares_sum_to_100_and_plans_fall_in_residents_bands(london_app_data, role):
    policy = disclosure_policy_for(role)
    result = pyramid(london_app_data, HACKNEY, policy)
    frame = result.frame
    assert len(frame) == 10 and set(frame["age_band"]) == {"0-15", "16-29", "30-44", "45-64", "65+"}
    assert frame["share"].sum() == pytest.approx(100.0)
    assert frame["parent_share"].sum() == pytest.approx(100.0)
    assert result.parent == london_app_data.name_of(london_app_data.parent_of[HACKNEY])
    plans = frame["plans"].dropna()
    if not policy.enabled:  # unsuppressed: every band shown, shares of the plan total add to 100
        assert frame["plan_share"].sum() == pytest.approx(100.0)
    else:
        assert ((plans == 0) | (plans >= 8)).all() and (plans % 5 == 0).all()
    assert [resident_band(b) for b in ("45-64", "65-74", "75-84", "85+")] == ["45-64", "65+", "65+", "65+"]


def test_pyramid_of_the_region_has_no_outline(london_app_data):
    result = pyramid(london_app_data, None, DisclosurePolicy(enabled=False))
    assert result.parent is None and "parent_share" not in result.frame
    assert result.registered > 1_000_000


# --------------------------------------------------------------------------- the figures (pure)


def test_pyramid_figure_draws_females_left_the_outline_and_the_plans():
    from explorer.figures.pyramid import pyramid_comparison_figure

    frame = pd.DataFrame({"age_band": ["0-15", "65+"] * 2, "sex": ["female"] * 2 + ["male"] * 2,
                          "share": [30.0, 20.0, 30.0, 20.0], "parent_share": [25.0, 25.0, 25.0, 25.0],
                          "plan_share": [5.0, float("nan"), 10.0, 85.0]})
    fig = pyramid_comparison_figure(frame, area="Area <b>", parent="Parent")
    names = [t.name for t in fig.data]
    assert "Female residents" in names and "Parent (outline)" in names and "People with a care plan" in names
    female = next(t for t in fig.data if t.name == "Female residents")
    assert list(female.x) == [-30.0, -20.0]
    plans = [t for t in fig.data if t.legendgroup == "plans"]
    assert list(plans[0].customdata) == ["5.0%", "* (suppressed)"]
    assert "<b>" not in female.hovertemplate  # names are escaped


def test_neighbour_figure_has_a_row_per_feature_and_the_area_marked():
    from explorer.figures.neighbours import neighbour_profile_figure

    labels = {f: label for f, (label, _) in NEIGHBOUR_FEATURES.items()}
    z = pd.DataFrame([{"area_code": c, **{f: float(i) for f in labels}} for i, c in enumerate(["A", "B", "C"])])
    fig = neighbour_profile_figure(z, area_code="A", names={"A": "Area A"}, labels=labels)
    own = fig.data[-1]
    assert own.name == "Area A" and len(own.y) == len(NEIGHBOUR_FEATURES) and set(own.x) == {0.0}


def test_the_comparator_group_is_the_neighbours_with_data_here_most_similar_first(london_bundle):
    merton = service.nearest(london_bundle, "pcn", WEST_MERTON)
    group = service.comparator_group(london_bundle, "pcn", WEST_MERTON)
    assert group == tuple(merton.loc[merton["in_region"], "area_code"])
    assert 0 < len(group) < 15 and WEST_MERTON not in group  # one Surrey PCN is among its 15
    assert service.comparator_group(london_bundle, "ics", "E54000027") == ()
    assert service.comparator_group(london_bundle, "place", "E99999999") == ()
