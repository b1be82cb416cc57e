"""Tests for explorer.domain.stats.

Reference figures marked "methods.md" come from /work/shared/guides/methods.md
(statistics section), which records OHID/Fingertips published test values.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

from explorer.domain.stats import (
    ESP2013_BANDS,
    ESP2013_WEIGHTS,
    byar_interval,
    compare_to_benchmark,
    directly_standardised_rate,
    expected_counts,
    funnel_limits,
    indirect_standardised_ratio,
    rate_interval,
    recent_trend,
    slope_index_of_inequality,
    wilson_interval,
    z_value,
)

REL = 5e-6  # at least 6 significant figures


def approx(x):
    return pytest.approx(x, rel=REL)


# ----------------------------------------------------------------------------- constants


def test_esp2013_constants():
    # Eurostat (2013) ESP, 19 bands; methods.md lists the weights.
    assert len(ESP2013_BANDS) == len(ESP2013_WEIGHTS) == 19
    assert ESP2013_BANDS[0] == "0-4" and ESP2013_BANDS[1] == "5-9"
    assert ESP2013_BANDS[-2] == "85-89" and ESP2013_BANDS[-1] == "90+"
    assert sum(ESP2013_WEIGHTS) == 100_000
    assert ESP2013_WEIGHTS[0] == 5000 and ESP2013_WEIGHTS[-1] == 1000


def test_z_value():
    assert z_value(0.95) == pytest.approx(1.959964, abs=1e-6)
    assert z_value(0.998) == pytest.approx(3.090232, abs=1e-6)
    with pytest.raises(ValueError):
        z_value(1.5)


# ----------------------------------------------------------------------------- Wilson


def test_wilson_reference_values():
    # methods.md: 65/100 -> 95% 0.552544-0.736358; 99.8% 0.495495-0.778354.
    lo, hi = wilson_interval(65, 100)
    assert float(lo) == approx(0.552544) and float(hi) == approx(0.736358)
    lo, hi = wilson_interval(65, 100, confidence=0.998)
    assert float(lo) == approx(0.495495) and float(hi) == approx(0.778354)
    # methods.md: 1045/5000 -> 95% 0.197955-0.220491.
    lo, hi = wilson_interval(1045, 5000)
    assert float(lo) == approx(0.197955) and float(hi) == approx(0.220491)


def test_wilson_vectorised_and_edge_cases():
    num = np.array([65, 1045, 0, 5, 3])
    den = np.array([100, 5000, 50, 0, 2])  # den 0 and num > den are undefined
    lo, hi = wilson_interval(num, den)
    assert isinstance(lo, np.ndarray) and lo.shape == (5,) and hi.shape == (5,)
    assert lo[0] == approx(0.552544) and hi[1] == approx(0.220491)
    assert lo[2] == 0.0 and 0.0 < hi[2] < 0.1  # zero numerator: lower 0, upper positive
    assert np.isnan(lo[3]) and np.isnan(hi[3])
    assert np.isnan(lo[4]) and np.isnan(hi[4])
    # pandas Series in -> ndarray out
    lo_s, _ = wilson_interval(pd.Series([65, 1045]), pd.Series([100, 5000]))
    assert isinstance(lo_s, np.ndarray)
    np.testing.assert_allclose(lo_s, [0.552544, 0.197955], rtol=REL)


# ----------------------------------------------------------------------------- Byar / Poisson


def test_byar_reference_values():
    # methods.md: count 65 -> 50.16319, 82.84914; count 1045 -> 982.593, 1110.331.
    lo, hi = byar_interval(np.array([65, 1045]))
    assert lo[0] == approx(50.16319) and hi[0] == approx(82.84914)
    assert lo[1] == approx(982.593) and hi[1] == approx(1110.331)


def test_exact_poisson_small_counts():
    # Exact limits: lower = chi2(0.025, 2c)/2, upper = chi2(0.975, 2c+2)/2 (Garwood 1936).
    # Computed once with scipy.stats.chi2 for c=5: 1.623486, 11.668332.
    assert chi2.ppf(0.025, 10) / 2 == pytest.approx(1.623486, abs=1e-6)
    lo, hi = byar_interval(5)
    assert float(lo) == approx(1.623486) and float(hi) == approx(11.668332)
    lo0, hi0 = byar_interval(0)
    assert float(lo0) == 0.0 and float(hi0) == pytest.approx(chi2.ppf(0.975, 2) / 2)
    # Switch at 10: 9 is exact, 10 is Byar's formula.
    lo9, _ = byar_interval(9)
    assert float(lo9) == pytest.approx(chi2.ppf(0.025, 18) / 2, rel=1e-12)
    z = 1.959963984540054
    byar10 = 10 * (1 - 1 / 90 - z / (3 * math.sqrt(10))) ** 3
    lo10, _ = byar_interval(10)
    assert float(lo10) == pytest.approx(byar10, rel=1e-12)
    assert float(lo10) != pytest.approx(chi2.ppf(0.025, 20) / 2, rel=1e-6)


def test_byar_invalid_counts_are_nan():
    lo, hi = byar_interval([-1, np.nan, 3])
    assert np.isnan(lo[:2]).all() and np.isnan(hi[:2]).all()
    assert np.isfinite(lo[2]) and np.isfinite(hi[2])


def test_rate_interval():
    # 65 events in 1000 people per 1000 -> 65 with Byar limits (methods.md).
    value, lo, hi = rate_interval([65, 65, 4], [1000, 0, 100], multiplier=1000)
    assert value[0] == approx(65.0)
    assert lo[0] == approx(50.16319) and hi[0] == approx(82.84914)
    assert np.isnan(value[1]) and np.isnan(lo[1]) and np.isnan(hi[1])  # denominator 0
    assert value[2] == approx(40.0) and lo[2] < 40.0 < hi[2]


# ----------------------------------------------------------------------------- standardisation


def test_isr_reference_value():
    # methods.md: 895 observed, 835.884 expected -> 1.07072 (1.00171-1.14323).
    ratio, lo, hi = indirect_standardised_ratio(895, 835.884)
    assert float(ratio) == pytest.approx(1.07072, rel=5e-6)
    assert float(lo) == pytest.approx(1.00171, rel=5e-6)
    assert float(hi) == pytest.approx(1.14323, rel=5e-6)


def test_isr_vectorised_expected_zero():
    ratio, lo, hi = indirect_standardised_ratio([895, 10, 5], [835.884, 0, 5])
    assert ratio.shape == (3,)
    assert np.isnan(ratio[1]) and np.isnan(lo[1]) and np.isnan(hi[1])
    assert ratio[2] == 1.0 and lo[2] < 1.0 < hi[2]


def test_expected_counts_arrays_and_pandas():
    pops = np.array([[100.0, 200.0], [300.0, 400.0]])
    rates = np.array([0.01, 0.02])
    np.testing.assert_allclose(expected_counts(pops, rates), [5.0, 11.0])
    np.testing.assert_allclose(expected_counts(pops[0], rates), 5.0)
    # DataFrame + Series align by stratum label, not position.
    df = pd.DataFrame(pops, columns=["young", "old"])
    s = pd.Series({"old": 0.02, "young": 0.01})
    np.testing.assert_allclose(expected_counts(df, s), [5.0, 11.0])


def test_dsr_constant_rate_equals_that_rate():
    # Every band has rate r, so any weighted average of band rates is r.
    r = 0.004
    pops = np.linspace(1000, 10000, 19)
    counts = pops * r
    value, lo, hi = directly_standardised_rate(counts, pops, ESP2013_WEIGHTS, multiplier=100_000)
    assert float(value) == pytest.approx(r * 100_000, rel=1e-12)
    assert float(lo) < float(value) < float(hi)


def test_dsr_weighting_and_dobson_single_band():
    # All events in one band: DSR = (w_b/W) * O / n_b and Dobson's limits collapse to the
    # Byar limits of O scaled the same way. With O = 65, Byar limits are 50.16319 and
    # 82.84914 (methods.md).
    counts = np.zeros(19)
    pops = np.full(19, 1000.0)
    counts[10] = 65
    value, lo, hi = directly_standardised_rate(counts, pops, ESP2013_WEIGHTS, multiplier=100_000)
    scale = ESP2013_WEIGHTS[10] / 100_000 / 1000 * 100_000
    assert float(value) == approx(65 * scale)
    assert float(lo) == approx(50.16319 * scale)
    assert float(hi) == approx(82.84914 * scale)


def test_dsr_suppressed_below_ten_and_2d():
    pops = np.full(19, 1000.0)
    small = np.zeros(19)
    small[5] = 9  # total 9 < 10
    big = np.full(19, 2.0)  # total 38
    v, lo, hi = directly_standardised_rate(small, pops, ESP2013_WEIGHTS)
    assert np.isnan(v) and np.isnan(lo) and np.isnan(hi)
    zero_pop = pops.copy()
    zero_pop[0] = 0  # band rate undefined
    v2, lo2, hi2 = directly_standardised_rate(np.vstack([small, big, big]),
                                              np.vstack([pops, pops, zero_pop]), ESP2013_WEIGHTS)
    assert v2.shape == (3,)
    assert np.isnan(v2[0]) and np.isnan(v2[2]) and np.isnan(lo2[2])
    assert v2[1] == pytest.approx(200.0, rel=1e-12)  # 2/1000 per 100,000
    assert lo2[1] < 200.0 < hi2[1]


# ----------------------------------------------------------------------------- SII / RII


def _midpoints(pop):
    share = np.asarray(pop, float) / np.sum(pop)
    return np.cumsum(share) - share / 2


POP = np.array([120.0, 90.0, 100.0, 110.0, 80.0, 100.0, 95.0, 105.0, 100.0, 100.0])


def test_sii_linear_gradient_recovered_exactly():
    # value = a + b*x on the population-midpoint scale -> SII = b, RII = (a+b)/a.
    a, b = 40.0, 12.0
    res = slope_index_of_inequality(a + b * _midpoints(POP), POP)
    assert res["sii"] == pytest.approx(b, rel=1e-10)
    assert res["rii"] == pytest.approx((a + b) / a, rel=1e-10)
    assert set(res) == {"sii", "sii_lower", "sii_upper", "rii", "rii_lower", "rii_upper"}
    assert all(math.isnan(res[k]) for k in ("sii_lower", "sii_upper", "rii_lower", "rii_upper"))


def test_sii_sign_convention():
    # Most deprived first. Coverage rising towards the least deprived -> positive SII, RII > 1.
    rising = np.linspace(30, 60, 10)
    pop = np.full(10, 100.0)
    up = slope_index_of_inequality(rising, pop)
    assert up["sii"] > 0 and up["rii"] > 1
    # Higher in the most deprived (e.g. admissions) -> negative SII; reversing order flips it.
    down = slope_index_of_inequality(rising[::-1], pop)
    assert down["sii"] == pytest.approx(-up["sii"], rel=1e-10)
    assert down["rii"] < 1


def test_sii_transforms_exact():
    x = _midpoints(POP)
    # log: value = A*exp(B x) -> RII = exp(B), SII = A*exp(B) - A.
    A, B = 50.0, 0.4
    res = slope_index_of_inequality(A * np.exp(B * x), POP, transform="log")
    assert res["rii"] == pytest.approx(math.exp(B), rel=1e-10)
    assert res["sii"] == pytest.approx(A * math.exp(B) - A, rel=1e-10)
    # logit: p = expit(c + d x) -> fitted ends expit(c), expit(c+d).
    c, d = -1.0, 1.5
    expit = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    res = slope_index_of_inequality(expit(c + d * x), POP, transform="logit")
    assert res["sii"] == pytest.approx(expit(c + d) - expit(c), rel=1e-10)
    assert res["rii"] == pytest.approx(expit(c + d) / expit(c), rel=1e-10)
    with pytest.raises(ValueError):
        slope_index_of_inequality(x, POP, transform="sqrt")


def test_sii_simulation_ci_contains_estimate_and_is_reproducible():
    rng = np.random.default_rng(42)
    values = 40 + 12 * _midpoints(POP) + rng.normal(0, 1, 10)
    lower, upper = values - 3.0, values + 3.0
    r1 = slope_index_of_inequality(values, POP, lower, upper, seed=7)
    r2 = slope_index_of_inequality(values, POP, lower, upper, seed=7)
    r3 = slope_index_of_inequality(values, POP, lower, upper, seed=8)
    assert r1 == r2
    assert r1["sii_lower"] != r3["sii_lower"]
    assert r1["sii_lower"] < r1["sii"] < r1["sii_upper"]
    assert r1["rii_lower"] < r1["rii"] < r1["rii_upper"]
    # Wider quantile CIs -> wider SII CI.
    wide = slope_index_of_inequality(values, POP, values - 6.0, values + 6.0, seed=7)
    assert (wide["sii_upper"] - wide["sii_lower"]) > (r1["sii_upper"] - r1["sii_lower"])
    # Analytic check: with se_i known, var(b) = sum w_i^2 (x_i - xbar)^2 se_i^2 / Sxx^2.
    w = POP / POP.sum()
    x = _midpoints(POP)
    se = 3.0 / 1.959963984540054
    xbar = np.sum(w * x)
    sd_b = se * math.sqrt(np.sum(w**2 * (x - xbar) ** 2)) / np.sum(w * (x - xbar) ** 2)
    half = (r1["sii_upper"] - r1["sii_lower"]) / 2
    assert half == pytest.approx(1.959963984540054 * sd_b, rel=0.05)


def test_sii_invalid_inputs_give_nan():
    pop = np.full(5, 100.0)
    assert math.isnan(slope_index_of_inequality([1, 2, np.nan, 4, 5], pop)["sii"])
    assert math.isnan(slope_index_of_inequality([1, 2, 3, 4, 5], [100, 0, 100, 100, 100])["sii"])
    assert math.isnan(slope_index_of_inequality([0.1, 0.2, 0.0, 0.4, 0.5], pop, transform="log")["rii"])
    with pytest.raises(ValueError):
        slope_index_of_inequality([1, 2, 3, 4, 5], pop, lower=[0, 1, 2, 3, 4])


# ----------------------------------------------------------------------------- funnels


@pytest.mark.parametrize(
    ("kind", "comparator", "multiplier"),
    [("proportion", 0.2, 1.0), ("proportion", 20.0, 100.0), ("rate", 500.0, 100_000.0), ("ratio", 1.0, 1.0)],
)
def test_funnel_limits_widen_and_contain_comparator(kind, comparator, multiplier):
    dens = np.array([10_000.0, 1000.0, 100.0, 20.0, 5.0])
    if kind == "rate":
        dens = dens * 100  # populations
    lo95, hi95 = funnel_limits(comparator, dens, kind, 0.95, multiplier)
    lo998, hi998 = funnel_limits(comparator, dens, kind, 0.998, multiplier)
    assert lo95.shape == dens.shape
    assert np.all(lo95 < comparator) and np.all(hi95 > comparator)
    width = hi95 - lo95
    assert np.all(np.diff(width) > 0)  # denominators shrinking -> limits widening
    # 99.8% is wider than 95% except where both are capped at 0 (proportions at tiny n)
    assert np.all(lo998 <= lo95) and np.all(hi998 > hi95)
    assert np.all((lo998 < lo95) | (lo95 == 0))


def test_funnel_limits_methods_and_nan():
    # Proportion: Wilson interval at numerator = p*n; large n approaches p +/- z*sqrt(p(1-p)/n).
    lo, hi = funnel_limits(0.2, [1e7, 0], "proportion")
    half = 1.959963984540054 * math.sqrt(0.2 * 0.8 / 1e7)
    assert lo[0] == pytest.approx(0.2 - half, rel=1e-5) and hi[0] == pytest.approx(0.2 + half, rel=1e-5)
    assert np.isnan(lo[1]) and np.isnan(hi[1])
    # Percentages on the 0-100 scale are the 0-1 limits x 100.
    lo_p, hi_p = funnel_limits(20.0, [50], "proportion", multiplier=100)
    lo_f, hi_f = funnel_limits(0.2, [50], "proportion")
    np.testing.assert_allclose([lo_p[0], hi_p[0]], [100 * lo_f[0], 100 * hi_f[0]], rtol=1e-12)
    # Ratio (OHID method, the test inverted): the 95% lower limit at expected E is the observed
    # count whose exact upper limit is E; 1 event has upper limit 5.571645 (chi2(0.975, 4)/2),
    # so at E = 5.571645 the lower limit is 1/5.571645. Likewise the upper limit at E = 0.025318
    # (the exact lower limit of 1 event) is 1/0.025318. Reference: PHEindicatormethods
    # testdata_funnel_ratio_outputs.csv (observed 1 row).
    e_lo, e_hi = chi2.ppf(0.975, 4) / 2, chi2.ppf(0.025, 2) / 2
    lo_r, _ = funnel_limits(1.0, e_lo, "ratio")
    _, hi_r = funnel_limits(1.0, e_hi, "ratio")
    assert float(lo_r) == approx(1 / e_lo) and float(hi_r) == approx(1 / e_hi)
    # Rate per 100,000 with the same expected count (comparator x population / 100,000) is the same.
    lo_c, _ = funnel_limits(500.0, e_lo * 200, "rate", multiplier=100_000)
    assert float(lo_c) == approx(100_000 / (e_lo * 200))
    with pytest.raises(ValueError):
        funnel_limits(1.0, 5.0, "mean")


# ----------------------------------------------------------------------------- recent trend


def test_recent_trend_statistic_hand_computed():
    # r = 10..50 of 100, scores 1..5: N=500, R=150, pbar=0.3, xbar=3,
    # sum r x = 550, score = 550 - 150*3 = 100, Sxx = 5500 - 500*9 = 1000,
    # chi2 = 100^2 / (0.3*0.7*1000) = 47.619048 (Armitage 1955).
    res = recent_trend([10, 20, 30, 40, 50], [100] * 5)
    assert res["statistic"] == pytest.approx(10_000 / 210, rel=1e-12)
    assert res["significant"] is True and res["direction"] == "increasing"


def test_recent_trend_categories():
    rising = recent_trend([50, 70, 90, 110, 130], [1000] * 5)
    assert rising["significant"] is True and rising["direction"] == "increasing"
    falling = recent_trend([130, 110, 90, 70, 50], [1000] * 5)
    assert falling["significant"] is True and falling["direction"] == "decreasing"
    flat = recent_trend([50, 51, 49, 50, 50], [1000] * 5)
    assert flat["significant"] is False and flat["direction"] == "no significant change"
    assert flat["statistic"] < 9.5495
    short = recent_trend([50, 70, 90, 110], [1000] * 4)
    assert short["direction"] == "cannot be calculated" and math.isnan(short["statistic"])
    assert short["significant"] is False


def test_recent_trend_uses_last_five_only():
    # An early steep rise followed by 5 flat points is "no significant change".
    res = recent_trend([1, 100, 500, 500, 500, 500, 500], [1000] * 7)
    assert res["direction"] == "no significant change"
    assert res["statistic"] == pytest.approx(0.0, abs=1e-12)
    # A zero denominator among the last five cannot be calculated.
    assert recent_trend([100, 100, 100, 100, 100], [1000, 0, 1000, 1000, 1000])["direction"] == (
        "cannot be calculated"
    )


def test_recent_trend_uses_998_threshold_not_95():
    # 100,110,...,140 of 1000: pbar=0.12, score=1900-600*3=100, Sxx=55000-45000=10000,
    # chi2 = 100^2/(0.12*0.88*10000) = 9.469697: past the 95% value (3.84) but below 9.5495.
    below = recent_trend([100, 110, 120, 130, 140], [1000] * 5)
    assert below["statistic"] == pytest.approx(9.469697, rel=1e-6)
    assert below["significant"] is False and below["direction"] == "no significant change"
    above = recent_trend([100, 111, 122, 133, 144], [1000] * 5)  # chi2 = 11.296
    assert above["statistic"] > 9.5495 and above["direction"] == "increasing"


# ----------------------------------------------------------------------------- benchmark


def test_compare_to_benchmark_categories():
    lower = np.array([0.6, 0.3, 0.4, np.nan, 0.5])
    upper = np.array([0.8, 0.45, 0.6, 0.7, 0.7])
    out = compare_to_benchmark(lower, upper, 0.5)
    assert isinstance(out, np.ndarray) and out.shape == (5,)
    # wholly above, wholly below, overlaps, NaN, touching (lower == benchmark -> similar)
    assert out.tolist() == ["better", "worse", "similar", "not compared", "similar"]
    inv = compare_to_benchmark(lower, upper, 0.5, higher_is_better=False)
    assert inv.tolist() == ["worse", "better", "similar", "not compared", "similar"]
    nopol = compare_to_benchmark(lower, upper, 0.5, higher_is_better=None)
    assert nopol.tolist() == ["higher", "lower", "similar", "not compared", "similar"]
    # Per-row benchmarks broadcast; NaN benchmark is not compared.
    per_row = compare_to_benchmark([0.6, 0.6], [0.8, 0.8], [0.5, np.nan])
    assert per_row.tolist() == ["better", "not compared"]


def test_vectorisation_denominator_zero_no_exception():
    num = pd.Series([10, 20, 0])
    den = pd.Series([100, 0, 0])
    lo, hi = wilson_interval(num, den)
    value, rlo, rhi = rate_interval(num, den, multiplier=1000)
    for arr in (lo, hi, value, rlo, rhi):
        assert isinstance(arr, np.ndarray) and arr.shape == (3,)
        assert np.isfinite(arr[0]) and np.isnan(arr[1]) and np.isnan(arr[2])
    flo, fhi = funnel_limits(0.1, den, "proportion")
    assert np.isfinite(flo[0]) and np.isnan(flo[1:]).all() and np.isnan(fhi[1:]).all()
    # Scalars in -> 0-d arrays out, usable as floats.
    v, _, _ = rate_interval(5, 0)
    assert isinstance(v, np.ndarray) and v.shape == () and math.isnan(float(v))
