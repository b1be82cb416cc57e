"""PCN figures from the apportioned registered population (issue 15, point 2).

The small world of tests/careplan_world.py (snapshot 2026-10-31) alive per LSOA: L1 3 people (p4 died),
L2 2, L3 2, L4 2, L5 2, L6 2; live plans: L1 2, L2 0, L3 1, L4 1, L5 1, L6 1. Drawn PCNs: N1 = L1 L2,
N2 = L3, N3 = L4, N4 = L5 L6. The registrations below split L1, L3, L4 and L5 (binary fractions, so
the sums are exact); L2 and L6 have none and stay whole in their drawn PCN; an eighth of L5 is
registered with X9, a PCN outside the bundle.

By hand, people alive (rounded half up to whole persons) and live plans:
  N1 = 0.625 x 3 + 2 = 3.875 -> 4;             plans 0.625 x 2 = 1.25 -> 1
  N2 = 0.375 x 3 + 0.75 x 2 = 2.625 -> 3;      plans 0.375 x 2 + 0.75 x 1 = 1.5 -> 2
  N3 = 0.25 x 2 + 0.875 x 2 = 2.25 -> 2;       plans 0.25 + 0.875 = 1.125 -> 1
  N4 = 0.125 x 2 + 0.875 x 2 + 2 = 4;          plans 0.125 + 0.875 + 1 = 2
"""

from __future__ import annotations

import pandas as pd
import pytest

from careplan_world import make_bundle, write_small_world
from explorer.domain import access, gaps, release
from explorer.domain.coverage import CoverageEngine
from explorer.domain.disclosure import DisclosurePolicy
from explorer.domain.metrics import METRICS, Filters, contract_lsoas, weight_matrix
from explorer.services.engine import build_engine

WEIGHTS = pd.DataFrame({
    "lsoa_code": ["L1", "L1", "L3", "L3", "L4", "L4", "L5", "L5"],
    "pcn_code": ["N1", "N2", "N2", "N3", "N3", "N4", "N4", "X9"],
    "weight": [0.625, 0.375, 0.75, 0.25, 0.875, 0.125, 0.875, 0.125],
})
PEOPLE = {"N1": 4, "N2": 3, "N3": 2, "N4": 4}
PLANS = {"N1": 1, "N2": 2, "N3": 1, "N4": 2}
STRATEGIST = access.disclosure_policy_for("strategist")
COMMISSIONER = access.disclosure_policy_for("commissioner")
RAW_PCN_GROUPS = DisclosurePolicy(enabled=False, deprivation_level="pcn")


@pytest.fixture(scope="module")
def drawn(tmp_path_factory) -> CoverageEngine:
    root = tmp_path_factory.mktemp("apportion")
    return build_engine(bundle=make_bundle(root), records=write_small_world(root / "records"), snapshot="2026-10-31")


@pytest.fixture(scope="module")
def engine(drawn: CoverageEngine) -> CoverageEngine:
    geo = drawn.geography
    geography = type(geo)(geo.region, geo.region_code, geo.region_name, geo.lsoas, geo.areas, pcn_weights=WEIGHTS)
    return CoverageEngine(geography=geography, cells=drawn.cells, snapshot=drawn.snapshot,
                          history_months=drawn.history_months, default_risk=drawn.default_risk)


def counts(table: pd.DataFrame, metric: str = "coverage") -> tuple[dict, dict]:
    t = table.set_index("area_code")
    return t[f"{metric}_denominator"].to_dict(), t[f"{metric}_numerator"].to_dict()


def test_weight_matrix_rows_sum_to_one_and_keep_lsoas_without_registrations_whole(engine):
    matrix = engine.index.pcn_matrix
    assert matrix.sum(axis=1).A.ravel() == pytest.approx(1.0)
    lsoa, pcn = engine.index.lsoa_codes, engine.index.codes["pcn"]
    assert matrix[lsoa.get_loc("L2"), pcn.get_loc("N1")] == 1.0  # no registrations: its drawn PCN
    assert matrix[lsoa.get_loc("L5"), len(pcn)] == 0.125  # X9 is outside the bundle
    spread = contract_lsoas([[3.0], [2.0], [2.0], [2.0], [2.0], [2.0], [0.0]], 0,
                            weight_matrix(lsoa, pcn, engine.index.lsoa_to_area["pcn"], WEIGHTS))
    assert spread.ravel().tolist() == [3.875, 2.625, 2.25, 4.0, 0.25]


def test_pcn_table_is_the_apportioned_population_checked_by_hand(engine, drawn):
    people, plans = counts(engine.metric_table("pcn", "coverage"))
    assert people == PEOPLE and plans == PLANS
    value = engine.metric_table("pcn", "coverage").set_index("area_code")["coverage"]
    assert value["N2"] == pytest.approx(2 / 3 * 1000)
    assert counts(drawn.metric_table("pcn", "coverage")) == ({"N1": 5, "N2": 2, "N3": 2, "N4": 4},
                                                             {"N1": 2, "N2": 1, "N3": 1, "N4": 2})


def test_pcn_population_is_apportioned_and_the_region_is_not(engine, drawn):
    """Residents shared as registrations are: N1 = 0.625 x 1000 (L1) + 1200 (L2) = 1825, N2 = 0.375 x 1000
    + 0.75 x 900 (L3) = 1050; the region keeps its 6,000."""
    population = engine.metric_table("pcn", "population").set_index("area_code")["population"]
    assert (population["N1"], population["N2"]) == (1825, 1050)
    assert engine.metric_table("region", "population")["population"].iloc[0] == 6000
    assert drawn.metric_table("pcn", "population").set_index("area_code")["population"]["N2"] == 900


def test_registration_gaps_of_a_pcn_are_apportioned_too(engine):
    """Registered and resident counts of N2: 0.375 x L1 + 0.75 x L3 = 0.375 x 1100 + 0.75 x 1000 = 1162.5
    -> 1163 registered, 0.375 x 1000 + 0.75 x 900 = 1050 residents; a strategist's quintiles put it all
    in N2's own quintile (decile 3 -> quintile 2)."""
    per_lsoa = pd.DataFrame({"lsoa_code": ["L1", "L2", "L3", "L4", "L5", "L6"],
                             "residents": [1000.0, 1200, 900, 1100, 1000, 800],
                             "registered": [1100.0, 1300, 1000, 1000, 1000, 800]})
    by_area = gaps.registration_by_area(per_lsoa, engine.index, "pcn").set_index("area_code")
    assert (by_area.loc["N2", "registered"], by_area.loc["N2", "residents"]) == (1163, 1050)
    assert gaps.registration_by_area(per_lsoa, engine.index, "region")["residents"].iloc[0] == 6000
    groups = gaps.registration_by_quintile(per_lsoa, engine.index, "pcn", "N2", "pcn")
    assert groups.loc[groups["residents"] > 0, "group"].tolist() == ["2"]


def test_region_and_place_totals_are_unchanged(engine, drawn):
    for level in ("region", "ics", "place", "lsoa"):
        assert counts(engine.metric_table(level, "coverage")) == counts(drawn.metric_table(level, "coverage"))
    assert engine.comparator("coverage")["denominator"] == 13 and engine.comparator("coverage")["numerator"] == 6


def test_figures_restricted_to_a_pcn_are_apportioned_the_same_way(engine):
    frame, _ = engine.trend("coverage", area_code="N2")
    assert (frame.iloc[-1]["numerator"], frame.iloc[-1]["denominator"]) == (2, 3)
    cascade = engine.cascade(area_code="N2", risk=None).set_index("step")["count"]
    assert cascade.iloc[:2].tolist() == [3, 2]
    # by sex inside N2: women 0.375 x 2 (p1 p3) + 0.75 (p7) = 1.5 -> 2, men 0.375 (p2) + 0.75 (p8) -> 1
    sex = engine.by_group("coverage", "sex", area_code="N2").set_index("group")["denominator"]
    assert (sex["female"], sex["male"]) == (2, 1)
    by_area = engine.by_group("coverage", "sex", level="pcn").query("area_code == 'N2'").set_index("group")
    assert by_area["denominator"]["female"] == 2  # the same figure as a whole level as for one PCN


def test_every_metric_at_pcn_level_is_whole_persons(engine):
    for metric in ("plans", "coverage", "completeness", "reviewed_in_period", "high_risk", "high_risk_without_plan",
                   "adjusted_coverage", "coverage_dsr"):
        table = engine.metric_table("pcn", metric)
        counts_ = table[f"{metric}_numerator"].dropna()
        assert (counts_ == counts_.round()).all(), metric


def test_deprivation_groups_of_whole_pcns_put_each_pcn_in_its_own_group(engine):
    """A strategist's IMD filter keeps or drops a whole PCN; a breakdown puts it in one group: N2's
    apportioned population-weighted score (375 x 50 + 675 x 35) / 1050 = 40.4 is in decile 3."""
    whole, _ = counts(engine.metric_table("pcn", "coverage", policy=RAW_PCN_GROUPS))
    for q in range(1, 6):
        part, _ = counts(engine.metric_table("pcn", "coverage", Filters(imd_quintile=(q,)), policy=RAW_PCN_GROUPS))
        assert all(part[c] in (0, whole[c]) for c in whole), q
    groups = engine.by_group("coverage", "imd_decile", area_code="N2", policy=RAW_PCN_GROUPS)
    shown = groups[groups["denominator"] > 0]
    assert shown["group"].tolist() == ["3"] and shown["denominator"].tolist() == [3]
    lsoa_groups = engine.by_group("coverage", "imd_decile", area_code="N2")  # analyst: the LSOAs' own deciles
    assert set(lsoa_groups.loc[lsoa_groups["denominator"] > 0, "group"]) == {"1", "3"}


def test_controlled_pcn_figures_are_whole_so_the_policy_applies_unchanged(engine):
    """Apportioned counts reach the release rules as whole persons: each shown count is a multiple
    of 5 and every count of 1-7 people is hidden (here every PCN has under 8 people)."""
    raw = engine.metric_table("pcn", "coverage", policy=STRATEGIST)
    controlled = release.control(raw, METRICS["coverage"], STRATEGIST, groups=[["parent_code"]])
    assert controlled["coverage_suppressed"].all()
    assert set(raw["coverage_denominator"]) == set(PEOPLE.values())


# --------------------------------------------------------------------------- London (session fixtures)


@pytest.mark.slow
def test_london_pcn_people_are_the_weighted_sum_of_their_lsoas(london_app_data):
    """Each PCN's people alive = sum of weight x the LSOA's people alive (then whole persons), checked
    against the LSOA table for a sample of PCNs; the PCNs hold London's people but the share registered
    outside the bundle's PCNs; region and place totals stay the LSOAs' sums."""
    engine = london_app_data.engine
    lsoa = engine.metric_table("lsoa", "coverage").set_index("area_code")["coverage_denominator"]
    pcn = engine.metric_table("pcn", "coverage").set_index("area_code")["coverage_denominator"]
    weights = london_app_data.bundle.pcn_weights
    for code in list(pcn.index)[::25]:
        mine = weights[weights["pcn_code"] == code]
        expected = (mine["weight"].to_numpy() * lsoa.reindex(mine["lsoa_code"]).to_numpy()).sum()
        assert pcn[code] == pytest.approx(expected, abs=0.5)
    region = engine.metric_table("region", "coverage")["coverage_denominator"].iloc[0]
    assert region == lsoa.sum() == engine.metric_table("place", "coverage")["coverage_denominator"].sum()
    assert 0.99 < pcn.sum() / region < 1.0
    assert (pcn == pcn.round()).all()


@pytest.mark.slow
def test_london_pcn_views_say_how_pcn_figures_are_made(london_app_data):
    """The map legend and table note at PCN level (not at place level), the Place boundary column and
    the hover mark for PCNs crossing a place boundary."""
    from explorer.app.presenters import map as present
    from explorer.app.presenters import tables
    from explorer.app.state import MapView
    from explorer.services.pcn_info import crossing_pcns, pcn_note
    from explorer.vocab import CROSSES_PLACE_LABEL, DRAWN_LSOAS_NOTE, PCN_APPORTIONED_NOTE

    data = london_app_data
    view = MapView(level="pcn", metric="coverage")
    legend = str(present.values_view(data, view, STRATEGIST)[1])
    assert PCN_APPORTIONED_NOTE in legend and "NHS Digital, July 2023" in PCN_APPORTIONED_NOTE
    assert PCN_APPORTIONED_NOTE not in str(present.values_view(data, view.with_(level="place"), STRATEGIST)[1])
    assert pcn_note(data.bundle, "pcn") == PCN_APPORTIONED_NOTE and pcn_note(data.bundle, "place") == ""
    crossing = crossing_pcns(data.bundle)
    assert len(crossing) == data.bundle.manifest["pcns"]["crossing_place_boundary"] > 0
    code = min(crossing)
    assert CROSSES_PLACE_LABEL in present.hover_details(data, view, code, STRATEGIST)["pcn"]
    assert "place_boundary" in [c["field"] for c in tables.table_columns(data, view)]
    drilled = str(present.values_view(data, MapView(level="lsoa", metric="coverage", area=code), COMMISSIONER)[1])
    assert DRAWN_LSOAS_NOTE in drilled and PCN_APPORTIONED_NOTE not in drilled
    rows, total = tables.table_page(data, view, STRATEGIST, start=0, end=500)
    marked = {r["area_code"] for r in rows if r["place_boundary"] == CROSSES_PLACE_LABEL}
    assert marked == crossing and total == len(rows)
