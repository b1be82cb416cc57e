"""Derived statistics reveal nothing beyond rounded counts (property tests over random tables).

The rule (explorer.domain.disclosure, README "Privacy and access"): every released number is a
function of the counts rounded to 5 and of which counts are suppressed. So two sets of exact
counts that round to the same values and fall in the same suppression class (0, 1-7, 8 or more)
must give *identical* released figures: an attacker who subtracts any two answers learns at most
the rounding range, never an exact small count. Each test draws exact counts, moves every one of
them to another value of its class, and checks every released column is unchanged: the index of
adjusted coverage with its expected count, the DSR with its Dobson CI, the completeness mean with
its CI, expected admissions with their CI, and the SII/RII refitted to controlled groups.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.domain.access import disclosure_policy_for
from explorer.domain.disclosure import DisclosurePolicy, round_counts
from explorer.domain.metrics import METRICS, compute_metric
from explorer.domain.release import control, control_inequality

POLICY = DisclosurePolicy()
RELAXED = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def count_and_twin(draw: st.DrawFn, high: int = 400) -> tuple[int, int]:
    """An exact count and another count of the same class: same rounded value, same smallness."""
    x = draw(st.integers(0, high))
    if x == 0:
        return 0, 0
    if x < 8:  # 1-2 round to 0 and 3-7 to 5: a statistic may tell these apart (a range), no more
        return x, draw(st.integers(1, 2) if x < 3 else st.integers(3, 7))
    rounded = int(round_counts([x], 5)[0])
    twin = draw(st.integers(max(8, rounded - 2), rounded + 2))
    return x, twin


def _twins(draw: st.DrawFn, n: int, high: int = 400) -> tuple[np.ndarray, np.ndarray]:
    pairs = [draw(count_and_twin(high)) for _ in range(n)]
    return np.array([p[0] for p in pairs], float), np.array([p[1] for p in pairs], float)


def _same(a: pd.DataFrame, b: pd.DataFrame, columns: list[str]) -> None:
    for col in columns:
        left = pd.to_numeric(a[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        right = pd.to_numeric(b[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        np.testing.assert_array_equal(left, right, err_msg=f"{col} depends on more than rounded counts")


def _metric_frame(metric: str, computed, areas: int) -> pd.DataFrame:
    frame = computed.frame(metric)
    frame.insert(0, "parent_code", "P")
    frame.insert(0, "area_code", [f"A{i}" for i in range(areas)])
    return frame


@RELAXED
@given(st.data())
def test_adjusted_coverage_index_depends_only_on_rounded_observed_and_expected(data) -> None:
    n = data.draw(st.integers(2, 8))
    observed, observed_twin = _twins(data.draw, n)
    expected = np.array([data.draw(st.floats(0.5, 400)) for _ in range(n)])
    # expected counts of the same class: same rounded value and the same side of 8
    shift = np.array([data.draw(st.floats(-0.49, 0.49)) for _ in range(n)])
    expected_twin = np.where((expected + shift >= 8) == (expected >= 8),
                             np.clip(expected + shift, 0.01, None), expected)
    expected_twin = np.where(round_counts(expected_twin, 5) == round_counts(expected, 5), expected_twin, expected)
    tables = []
    for o, e in ((observed, expected), (observed_twin, expected_twin)):
        ratio = np.divide(o, e) * 100
        tables.append(pd.DataFrame({"area_code": [f"A{i}" for i in range(n)], "parent_code": "P",
                                    "adjusted_coverage": ratio, "adjusted_coverage_numerator": o,
                                    "adjusted_coverage_denominator": e, "adjusted_coverage_lower": ratio * 0.9,
                                    "adjusted_coverage_upper": ratio * 1.1}))
    out = [control(t, METRICS["adjusted_coverage"], POLICY, groups=[["parent_code"]]) for t in tables]
    _same(*out, ["adjusted_coverage", "adjusted_coverage_lower", "adjusted_coverage_upper",
                 "adjusted_coverage_numerator", "adjusted_coverage_denominator"])


@RELAXED
@given(st.data())
def test_dsr_and_its_dobson_ci_depend_only_on_rounded_band_counts(data) -> None:
    areas, bands = data.draw(st.integers(1, 4)), 19
    plans, plans_twin = _twins(data.draw, areas * bands, high=60)
    people, people_twin = _twins(data.draw, areas * bands, high=3000)
    people, people_twin = np.maximum(people, plans), np.maximum(people_twin, plans_twin)
    people_twin = np.where(round_counts(people_twin, 5) == round_counts(people, 5), people_twin, people)
    out = []
    for p, n in ((plans, people), (plans_twin, people_twin)):
        computed = compute_metric("coverage_dsr", {"plans": p.reshape(areas, bands), "people": n.reshape(areas, bands)},
                                  rounding=5)
        computed.numerator = round_counts(computed.numerator, 5)  # exact totals are for suppression only
        computed.denominator = round_counts(computed.denominator, 5)
        out.append(_metric_frame("coverage_dsr", computed, areas))
    _same(*out, ["coverage_dsr", "coverage_dsr_lower", "coverage_dsr_upper"])


@RELAXED
@given(st.data())
def test_completeness_mean_and_ci_depend_only_on_rounded_items_and_plans(data) -> None:
    areas = data.draw(st.integers(1, 6))
    plans, plans_twin = _twins(data.draw, areas, high=300)
    items, items_twin = _twins(data.draw, areas, high=3000)
    items, items_twin = np.minimum(items, plans * 10), np.minimum(items_twin, plans_twin * 10)
    items_twin = np.where(round_counts(items_twin, 5) == round_counts(items, 5), items_twin, items)
    squares, squares_twin = _twins(data.draw, areas, high=30_000)
    frames = []
    for p, i, sumsq in ((plans, items, squares), (plans_twin, items_twin, squares_twin)):
        computed = compute_metric("completeness", {"plans": p, "items_sum": i, "items_sumsq": sumsq}, rounding=5)
        frames.append(control(_metric_frame("completeness", computed, areas), METRICS["completeness"], POLICY,
                              groups=[["parent_code"]]))
    _same(*frames, ["completeness", "completeness_lower", "completeness_upper", "completeness_numerator",
                    "completeness_denominator"])


@RELAXED
@given(st.data())
def test_expected_admissions_and_ci_depend_only_on_rounded_inputs(data) -> None:
    areas = data.draw(st.integers(1, 6))
    risk = np.array([data.draw(st.floats(0, 200)) for _ in range(areas)])
    people, people_twin = _twins(data.draw, areas, high=800)
    twin_risk = np.where(round_counts(risk + 0.3, 5) == round_counts(risk, 5), risk + 0.3, risk)
    var = risk * 0.5
    twin_var = np.where(round_counts(var + 0.2, 5) == round_counts(var, 5), var + 0.2, var)
    frames = []
    for r, v, n in ((risk, var, people), (twin_risk, twin_var, people_twin)):
        sums = {"hr_risk": r, "hr_risk_plan": np.zeros(areas), "hr_risk_var": v,
                "hr_risk_var_plan": np.zeros(areas), "hr_people": n, "hr_plans": np.zeros(areas)}
        computed = compute_metric("expected_admissions_without_plan", sums, rounding=5)
        computed.numerator = round_counts(computed.value, 5)
        frames.append(control(_metric_frame("expected_admissions_without_plan", computed, areas),
                              METRICS["expected_admissions_without_plan"], POLICY, groups=[["parent_code"]]))
    m = "expected_admissions_without_plan"
    _same(*frames, [m, f"{m}_lower", f"{m}_upper", f"{m}_numerator"])


@RELAXED
@given(st.data())
def test_sii_refitted_to_controlled_groups_depends_only_on_rounded_counts(data) -> None:
    quintiles = 5
    plans, plans_twin = _twins(data.draw, quintiles, high=500)
    people, people_twin = _twins(data.draw, quintiles, high=20_000)
    people, people_twin = np.maximum(people, plans + 1), np.maximum(people_twin, plans_twin + 1)
    people_twin = np.where(round_counts(people_twin, 5) == round_counts(people, 5), people_twin, people)
    results = []
    for p, n in ((plans, people), (plans_twin, people_twin)):
        value = p / n * 1000
        rows = pd.DataFrame({"area_code": "A", "group": [str(q) for q in range(1, 6)], "value": value,
                             "numerator": p, "denominator": n, "lower": value * 0.8, "upper": value * 1.2})
        sii = pd.DataFrame({"area_code": ["A"], **{k: [1.0] for k in ("sii", "sii_lower", "sii_upper", "rii",
                                                                      "rii_lower", "rii_upper")}})
        out, refit = control_inequality(rows, sii, "ics", "coverage", "imd_quintile", "strategist", n_simulations=200)
        results.append((out, refit))
    _same(results[0][0], results[1][0], ["value", "lower", "upper", "numerator", "denominator"])
    _same(results[0][1], results[1][1], ["sii", "sii_lower", "sii_upper", "rii", "rii_lower", "rii_upper"])


def test_roles_without_lsoa_access_get_deprivation_groups_of_whole_pcns() -> None:
    assert disclosure_policy_for("strategist").deprivation_level == "pcn"
    assert disclosure_policy_for("social_care").deprivation_level == "pcn"
    assert disclosure_policy_for("commissioner").deprivation_level == "lsoa"
    assert disclosure_policy_for("strategist", publication=True).deprivation_level == "pcn"
    assert disclosure_policy_for("analyst").statistics_rounding is None
    assert disclosure_policy_for("commissioner").statistics_rounding == 5
