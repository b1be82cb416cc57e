"""The board pack's narrative: each sentence rule (higher, lower, similar, suppressed, missing)."""

from __future__ import annotations

import math

import pytest

from explorer.domain import narrative as n
from explorer.domain.narrative import Estimate

AREA = Estimate(40.0, 38.0, 42.0)


@pytest.mark.parametrize(("bench", "verdict"), [
    (Estimate(30.0), "higher"), (Estimate(50.0), "lower"), (Estimate(41.0), "similar"),
    (Estimate(42.0), "similar"),  # touching the interval counts as similar
    (Estimate(None, suppressed=True), "suppressed"), (Estimate(math.nan), "missing"),
])
def test_compare_estimates_follows_the_area_interval(bench: Estimate, verdict: str) -> None:
    assert n.compare_estimates(AREA, bench) == verdict


def test_compare_without_an_interval_says_nothing() -> None:
    assert n.compare_estimates(Estimate(40.0), Estimate(10.0)) == "missing"


def test_benchmark_sentence_higher_and_similar() -> None:
    text = n.benchmark_sentence("Coverage", "%", "Camden", AREA, [("North Central London", Estimate(30.0)),
                                                                 ("London", Estimate(39.0))])
    assert text == ("Coverage in Camden is 40% (95% CI 38% to 42%): higher than North Central London (30%) "
                    "and similar to London (39%).")


def test_benchmark_sentence_leaves_out_a_suppressed_benchmark_and_area() -> None:
    text = n.benchmark_sentence("Coverage", "%", "X", AREA, [("P", Estimate(None, suppressed=True))])
    assert text == "Coverage in X is 40% (95% CI 38% to 42%)."
    assert n.benchmark_sentence("Coverage", "%", "X", Estimate(None, suppressed=True), [("P", Estimate(1.0))]) is None
    assert n.benchmark_sentence("Coverage", "%", "X", Estimate(5.0), [("P", Estimate(1.0))]) is None  # no CI


def test_gap_sentence_lower_with_ratio_interval() -> None:
    most = Estimate(31.0, numerator=310, denominator=1000)
    least = Estimate(50.0, numerator=500, denominator=1000)
    text = n.gap_sentence("Coverage", "high-risk residents", "the most deprived fifth", "the least deprived fifth",
                          most, least, "%")
    ratio, lo, hi = n.ratio_interval(most, least)
    assert ratio == pytest.approx(0.62) and lo < 0.62 < hi < 1
    assert text.startswith("Coverage among high-risk residents of the most deprived fifth is 38% lower than in "
                           "the least deprived fifth (95% CI ")
    assert f"{1 - hi:.0%} to {1 - lo:.0%} lower" in text


def test_gap_sentence_higher() -> None:
    text = n.gap_sentence("Coverage", "", "A", "B", Estimate(60.0, numerator=600, denominator=1000),
                          Estimate(50.0, numerator=500, denominator=1000), "%")
    assert "20% higher than in B" in text


def test_gap_sentence_similar_when_the_ratio_interval_includes_one() -> None:
    text = n.gap_sentence("Coverage", "", "A", "B", Estimate(52.0, numerator=26, denominator=50),
                          Estimate(50.0, numerator=25, denominator=50), "%")
    assert "is similar to B" in text and "higher" not in text and "lower" not in text


def test_gap_sentence_without_counts_needs_separate_intervals() -> None:
    apart = n.gap_sentence("Rate", "", "A", "B", Estimate(10.0, 9.0, 11.0), Estimate(20.0, 18.0, 22.0), "")
    overlap = n.gap_sentence("Rate", "", "A", "B", Estimate(10.0, 8.0, 15.0), Estimate(12.0, 11.0, 14.0), "")
    assert "is lower than in B" in apart
    assert "similar" in overlap and "lower" not in overlap


def test_gap_sentence_is_silent_about_a_suppressed_or_missing_group() -> None:
    least = Estimate(50.0, numerator=500, denominator=1000)
    assert n.gap_sentence("C", "", "A", "B", Estimate(None, suppressed=True), least, "%") is None
    assert n.gap_sentence("C", "", "A", "B", Estimate(math.nan), least, "%") is None


@pytest.mark.parametrize(("sii", "words"), [
    (Estimate(5.0, 2.0, 8.0), "rises"), (Estimate(-5.0, -8.0, -2.0), "falls"),
    (Estimate(1.0, -2.0, 4.0), "no clear deprivation gradient"),
])
def test_sii_sentence_direction_only_when_the_interval_excludes_zero(sii: Estimate, words: str) -> None:
    assert words in n.sii_sentence("Coverage", "%", sii, Estimate(1.2, 1.1, 1.3))


def test_sii_sentence_missing_or_suppressed() -> None:
    assert n.sii_sentence("Coverage", "%", Estimate(math.nan)) is None
    assert n.sii_sentence("Coverage", "%", Estimate(1.0, suppressed=True)) is None


def test_trend_sentence_rules() -> None:
    latest = Estimate(40.0, 38.0, 42.0)
    assert "has been increasing" in n.trend_sentence("Coverage", "X", "increasing", True, latest, "%")
    assert "no significant change" in n.trend_sentence("Coverage", "X", "no significant change", False, latest, "%")
    assert "cannot be calculated" in n.trend_sentence("Coverage", "X", "cannot be calculated", False, latest, "%")
    assert n.trend_sentence("Coverage", "X", "increasing", True, Estimate(None, suppressed=True), "%") is None


def test_groups_sentence_names_only_groups_that_differ() -> None:
    text = n.groups_sentence("Coverage", "London", "Ethnic group",
                             [("Black", "worse"), ("White", "better"), ("Asian", "similar"), ("Mixed", "not compared")])
    assert text == "By ethnic group, coverage is lower than London for Black; higher than London for White (95% CIs)."
    assert "similar" in n.groups_sentence("Coverage", "London", "Sex", [("Female", "similar"), ("Male", "similar")])
    assert n.groups_sentence("Coverage", "London", "Sex", [("Female", "not compared")]) is None


def test_cascade_and_outreach_sentences_skip_suppressed_numbers() -> None:
    text = n.cascade_sentence("high-risk people", 1000.0, [("Have a plan", 31.0), ("Reviewed", math.nan)])
    assert text == "Of 1,000 high-risk people, the share at each step: have a plan 31%."
    assert "4.56 to 4.79 per 1,000" in n.benchmark_sentence("C", "per 1,000", "X", Estimate(4.67, 4.56, 4.79), [])
    assert n.cascade_sentence("people", math.nan, [("Have a plan", 31.0)]) is None
    assert "hold 500 of them (50% of 1,000)" in n.outreach_sentence("PCNs", 5, 500.0, 1000.0)
    assert n.outreach_sentence("PCNs", 5, math.nan, 1000.0) is None


def test_sii_of_percentages_is_in_percentage_points() -> None:
    text = n.sii_sentence("Coverage", "%", Estimate(4.12, 3.75, 4.48))
    assert "4.12 percentage points, 95% CI 3.75 to 4.48 percentage points" in text
