"""SPC (Making Data Count XmR charts) on hand-worked series: limits, each rule, rebasing, baseline,
polarity and the variation and assurance icons. Pure and fast: no fixtures.

The base series B = 10, 12, 11, 13, 12, 14, 10, 12 worked by hand: mean 94 / 8 = 11.75; moving
ranges 2, 1, 2, 1, 2, 4, 2 (sum 14), mean moving range 14 / 7 = 2.0 (none above 3.267 x 2.0 = 6.53,
so screening drops nothing); limits 11.75 -/+ 2.66 x 2.0 = 6.43 and 17.07; the outer third starts
at 11.75 -/+ 1.7733 x 2.0 = 8.203 and 15.297. Most tests fix the limits to B (``baseline=8``) and
append points, so every expected flag can be checked against these numbers.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from explorer.domain import spc
from explorer.domain.metrics import METRICS

B = [10, 12, 11, 13, 12, 14, 10, 12]


def chart(extra, higher_is_better=True, **kw):
    kw.setdefault("baseline", 8)
    return spc.xmr_chart([*B, *extra], higher_is_better=higher_is_better, **kw)


def flagged(result, rule):
    return [i for i, s in enumerate(result.table["special_cause"]) if rule in s.split("; ")]


def test_limits_by_hand():
    table = spc.xmr_chart(B, higher_is_better=True).table
    assert table["mean"].tolist() == pytest.approx([11.75] * 8)
    assert table["lower_limit"].iloc[0] == pytest.approx(6.43)
    assert table["upper_limit"].iloc[0] == pytest.approx(17.07)
    assert (table["special_cause"] == "").all()
    assert spc.mean_moving_range(np.array(B, float)) == pytest.approx(2.0)


def test_point_beyond_the_limits():
    result = chart([18])  # 18 > 17.07
    assert flagged(result, "beyond_limits") == [8]
    assert flagged(chart([17]), "beyond_limits") == []  # 17 < 17.07
    assert flagged(chart([6]), "beyond_limits") == [8]  # 6 < 6.43


def test_shift_needs_seven_points_on_one_side():
    six = chart([11, 12, 12, 12, 12, 12, 12])  # 11 below the mean breaks the run: six 12s above
    assert flagged(six, "shift") == []
    seven = chart([11, 12, 12, 12, 12, 12, 12, 12])
    assert flagged(seven, "shift") == list(range(9, 16))
    assert set(seven.table["point_type"].iloc[9:16]) == {"improving_high"}


def test_point_on_the_mean_breaks_a_shift():
    result = chart([11, 12, 12, 12, 11.75, 12, 12, 12, 12])
    assert flagged(result, "shift") == []


def test_trend_needs_six_consecutive_rises():
    rising = chart([9, 10, 11, 11.5, 12, 12.5, 13])  # 7 points, 6 rises (the 12 -> 9 fall starts it)
    assert flagged(rising, "trend") == list(range(8, 15))
    assert flagged(rising, "shift") == [] and flagged(rising, "two_of_three") == []
    assert flagged(chart([9, 10, 11, 11.5, 12, 12.5]), "trend") == []  # 6 points: 5 rises
    assert flagged(chart([9, 10, 11, 11, 12, 12.5, 13]), "trend") == []  # an equal pair breaks it


def test_falling_trend_respects_polarity():
    falling = [14, 13.5, 13, 12, 11.5, 11, 10]
    better_low = chart(falling, higher_is_better=False)  # e.g. fewer unplanned admissions is better
    assert flagged(better_low, "trend") == list(range(8, 15))
    assert set(better_low.table["point_type"].iloc[8:15]) == {"improving_low"}
    better_high = chart(falling, higher_is_better=True)
    assert set(better_high.table["point_type"].iloc[8:15]) == {"concerning_low"}


def test_two_of_three_close_to_a_limit():
    result = chart([12, 16, 11, 16])  # 16 is in the upper outer third (15.297 .. 17.07)
    assert flagged(result, "two_of_three") == [9, 11]
    assert flagged(result, "beyond_limits") == []
    assert flagged(chart([16, 11, 11, 16]), "two_of_three") == []  # never two within three
    assert flagged(chart([16, 7, 12]), "two_of_three") == []  # 7 is near the other limit
    low = chart([8, 8], higher_is_better=True)  # 8 < 8.203, two in a row below
    assert flagged(low, "two_of_three") == [8, 9]
    assert set(low.table["point_type"].iloc[8:10]) == {"concerning_low"}


def test_rebased_series_gets_limits_per_segment():
    values = [10, 11] * 5 + [20, 21] * 5
    whole = spc.xmr_chart(values, higher_is_better=True)
    # one segment: mean 15.5; the 11 -> 20 range (9) is above 3.267 x 27/19 and screened out,
    # so the mean moving range is 1 and every point is beyond 15.5 -/+ 2.66
    assert whole.table["mean"].iloc[0] == pytest.approx(15.5)
    assert whole.table["upper_limit"].iloc[0] == pytest.approx(18.16)
    assert len(flagged(whole, "beyond_limits")) == 20
    rebased = spc.xmr_chart(values, higher_is_better=True, rebase=[10])
    assert rebased.table["segment"].tolist() == [0] * 10 + [1] * 10
    assert rebased.table["mean"].iloc[0] == pytest.approx(10.5)
    assert rebased.table["mean"].iloc[10] == pytest.approx(20.5)
    assert rebased.table["upper_limit"].iloc[10] == pytest.approx(20.5 + 2.66)
    assert (rebased.table["special_cause"] == "").all()
    assert rebased.variation == spc.COMMON_CAUSE


def test_rules_do_not_run_across_a_rebase():
    values = [10, 11, 11, 10, 12, 12, 12, 12, 12, 12, 12]  # 7 points at 12 straddle position 8
    assert flagged(spc.xmr_chart(values, higher_is_better=True, baseline=4), "shift") == list(range(4, 11))
    rebased = spc.xmr_chart(values, higher_is_better=True, baseline=4, rebase=[8])
    assert flagged(rebased, "shift") == []


def test_baseline_fixes_the_limits_from_the_first_points():
    result = chart([30, 30, 30])
    assert result.table["mean"].tolist() == pytest.approx([11.75] * 11)
    assert flagged(result, "beyond_limits") == [8, 9, 10]
    free = spc.xmr_chart([*B, 30, 30, 30], higher_is_better=True)  # without a baseline the mean moves
    assert free.table["mean"].iloc[0] == pytest.approx((94 + 90) / 11)
    with pytest.raises(ValueError):
        spc.xmr_chart(B, higher_is_better=True, baseline=1)
    with pytest.raises(ValueError):
        spc.xmr_chart(B, higher_is_better=True, rebase=[8])


def test_a_constant_series_is_common_cause_whatever_the_rounding():
    values = [0.1 + 0.2] * 12 + [0.3] * 12  # equal but for the last bit: 0.30000000000000004 and 0.3
    result = spc.xmr_chart(values, higher_is_better=True)
    assert (result.table["special_cause"] == "").all() and result.variation == spc.COMMON_CAUSE


def test_screening_never_leaves_limits_of_zero_width():
    values = [25] * 10 + [20] * 14  # rounded counts: one step of 5, all other moving ranges 0
    assert spc.mean_moving_range(np.array(values, float)) == pytest.approx(5 / 23)
    freak = np.array([10, 11] * 5 + [31], float)  # ranges 1 (x9) and 20: mean 2.9, and 20 > 3.267 x 2.9
    assert spc.mean_moving_range(freak) == pytest.approx(1.0)
    assert spc.mean_moving_range(freak, screen_outliers=False) == pytest.approx(2.9)


def test_missing_values_take_no_part():
    values = [*B[:4], math.nan, *B[4:]]
    table = spc.xmr_chart(values, higher_is_better=True).table
    assert table["mean"].iloc[0] == pytest.approx(11.75)
    assert table["upper_limit"].iloc[0] == pytest.approx(11.75 + 2.66 * 2.0)  # 13 -> 12 joins the gap
    assert table["special_cause"].iloc[4] == "" and table["point_type"].iloc[4] == spc.COMMON_CAUSE


def test_variation_icon_is_the_latest_point_and_follows_polarity():
    assert chart([18], higher_is_better=True).variation == "improving_high"
    assert chart([18], higher_is_better=False).variation == "concerning_high"
    assert chart([18], higher_is_better=None).variation == "neither_high"
    assert chart([6], higher_is_better=False).variation == "improving_low"
    assert chart([18, 12], higher_is_better=True).variation == spc.COMMON_CAUSE  # the signal has passed
    assert set(spc.VARIATION_LABELS) == set(spc.POINT_TYPES)


def test_assurance_icon():
    # latest limits 6.43 .. 17.07
    assert spc.xmr_chart(B, higher_is_better=True, target=5).assurance == "consistently_pass"
    assert spc.xmr_chart(B, higher_is_better=True, target=18).assurance == "consistently_fail"
    assert spc.xmr_chart(B, higher_is_better=True, target=12).assurance == "hit_and_miss"
    assert spc.xmr_chart(B, higher_is_better=False, target=5).assurance == "consistently_fail"
    assert spc.xmr_chart(B, higher_is_better=False, target=18).assurance == "consistently_pass"
    assert spc.xmr_chart(B, higher_is_better=None, target=18).assurance is None
    assert spc.xmr_chart(B, higher_is_better=True).assurance is None
    rebased = spc.xmr_chart([10, 11] * 5 + [20, 21] * 5, higher_is_better=True, rebase=[10], target=15)
    assert rebased.assurance == "consistently_pass"  # against the latest segment's limits (17.84 .. 23.16)


def test_metric_polarity_in_the_registry():
    assert METRICS["reviewed_in_period"].higher_is_better is True
    assert METRICS["expected_admissions_without_plan"].higher_is_better is False
    assert METRICS["high_risk"].higher_is_better is None


def test_nhsrplotthedots_case_two_points_near_opposite_limits_are_common_cause():
    """NHSRplotthedots' own test (tests/testthat/test-ptd_spc_standard.R, "it only reports special cause
    for 2 of 3 points close to limits when they are on the same side of the mean"): 1, -1 alternating
    for 16 points, the last two set to 5.5 and -5.5. By hand: mean 0; moving ranges 2 (x13), 6.5 and 11;
    11 > 3.267 x 43.5/15 is screened out, so the mean moving range is 32.5/14 = 2.321, the limits
    -/+ 6.175 and the outer third beyond -/+ 4.117: both points are near a limit, on opposite sides."""
    values = [1, -1] * 7 + [5.5, -5.5]
    result = spc.xmr_chart(values, higher_is_better=True)
    assert result.table["mean"].iloc[0] == pytest.approx(0.0)
    assert result.table["upper_limit"].iloc[0] == pytest.approx(2.66 * 32.5 / 14)
    assert result.table["point_type"].tail(2).tolist() == [spc.COMMON_CAUSE, spc.COMMON_CAUSE]
