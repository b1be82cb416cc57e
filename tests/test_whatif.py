"""The outreach what-if on a small case worked by hand (issue 17, point 3). No fixtures.

Area: unit A (IMD quintile 1): 40 high-risk White women 75-84 (10 with a plan) and 20 Black men 85+
(10 with a plan) -> 40 without a plan; unit B (quintile 5): 40 White women 75-84 (30 with a plan) -> 10;
unit C (quintile 1): 10 Asian women 75-84 (5 with a plan) -> 5. Quintile 1: 25 / 70 with a plan
(35.714%), quintile 5: 30 / 40 (75%); the area 55 / 110 (50%). With two quintiles the weighted line
passes through both points, at x = 0.318 and 0.818, so SII = (75 - 35.714) / 0.5 = 550/7 = 78.571
percentage points (least minus most deprived).

45 conversations, most without a plan first: A (40) in full, then 5 of B's 10. Quintile 1 then
65 / 70 = 92.857%, quintile 5 35 / 40 = 87.5%, SII = 2 x (87.5 - 92.857) = -75/7 = -10.714, the area
100 / 110 = 90.909%. Closing the deprivation gap first (quintile 1 has the lower coverage): A (40)
and C (5): quintile 1 70 / 70, quintile 5 stays 75%, SII = 2 x (75 - 100) = -50.
"""

from __future__ import annotations

import pandas as pd
import pytest

from explorer.domain.whatif import allocate, equity_audit, rank_units, what_if

CELLS = pd.DataFrame({
    "unit": ["A", "A", "B", "C"], "imd_quintile": [1, 1, 5, 1],
    "ethnic_group": ["white", "black", "white", "asian"], "age_band": ["75-84", "85+", "75-84", "75-84"],
    "sex": ["female", "male", "female", "female"],
    "high_risk": [40, 20, 40, 10], "with_plan": [10, 10, 30, 5]})
PARENT = pd.concat([CELLS, pd.DataFrame({"unit": ["D"], "imd_quintile": [3], "ethnic_group": ["white"],
                                         "age_band": ["65-74"], "sex": ["male"], "high_risk": [50],
                                         "with_plan": [20]})], ignore_index=True)


def test_rankings_order_units_by_hand():
    assert rank_units(CELLS, "without_plan")["unit"].tolist() == ["A", "B", "C"]
    assert rank_units(CELLS, "deprivation_gap")["unit"].tolist() == ["A", "C", "B"]
    with pytest.raises(ValueError):
        rank_units(CELLS, "alphabetical")


def test_what_if_reproduces_the_hand_computed_case():
    result = what_if(CELLS, 45, "without_plan", PARENT)
    area = result.summary.set_index("scope").loc["area"]
    assert area["reached"] == 45
    assert area["coverage_before"] == pytest.approx(50.0)
    assert area["coverage_after"] == pytest.approx(100 / 110 * 100)
    assert area["sii_before"] == pytest.approx(550 / 7)
    assert area["sii_after"] == pytest.approx(-75 / 7)
    q = result.quintiles[result.quintiles["scope"] == "area"].set_index("imd_quintile")
    assert q["coverage_after"].tolist() == pytest.approx([65 / 70 * 100, 87.5])
    parent = result.summary.set_index("scope").loc["parent"]  # the same 45 people, among 160 at high risk
    assert parent["coverage_before"] == pytest.approx(75 / 160 * 100)
    assert parent["coverage_after"] == pytest.approx(120 / 160 * 100)


def test_closing_the_gap_first_reaches_the_most_deprived():
    area = what_if(CELLS, 45, "deprivation_gap").summary.iloc[0]
    assert area["sii_after"] == pytest.approx(-50.0)
    assert area["coverage_after"] == pytest.approx(100 / 110 * 100)


def test_a_unit_reached_in_part_shares_the_reach_by_people_without_a_plan():
    cells = allocate(CELLS, 35, "without_plan")
    assert cells["reached"].tolist() == pytest.approx([26.25, 8.75, 0, 0])
    assert allocate(CELLS, 1000, "without_plan")["reached"].sum() == 55  # never more than are without a plan
    with pytest.raises(ValueError):
        allocate(CELLS, -1, "without_plan")


def test_equity_audit_groups_sum_to_the_selection():
    audit = equity_audit(allocate(CELLS, 45, "without_plan"))
    for _, groups in audit.groupby("dimension"):
        assert groups["reached"].sum() == pytest.approx(45)
        assert groups["reached_share"].sum() == pytest.approx(100)
        assert groups["high_risk_share"].sum() == pytest.approx(100)
    eth = audit[audit["dimension"] == "ethnic_group"].set_index("group")
    assert eth.loc["white", "reached"] == 35 and eth.loc["black", "reached"] == 10
    assert eth.loc["asian", "difference"] == pytest.approx(0 - 10 / 110 * 100)
