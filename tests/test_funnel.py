"""Funnel-plot limits by OHID's method (explorer.domain.stats.funnel_limits / funnel_position).

The limits are an area's own significance test turned round: a point is outside the 95%
(99.8%) funnel exactly when its own 95% (99.8%) CI - Wilson for proportions, byar_interval for
counts - excludes the comparator. Reference numbers marked "PHEindicatormethods" are the
published test data of OHID's R package (tests/testthat/testdata_funnel_prop_outputs.csv and
testdata_funnel_ratio_outputs.csv); the rest are cross-checked here by brute force over the
interval functions themselves.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import chi2

from explorer.domain.stats import (
    FUNNEL_POSITIONS,
    byar_interval,
    compare_to_benchmark,
    funnel_limits,
    funnel_position,
    statistic_interval,
    wilson_interval,
    z_value,
)

# ----------------------------------------------------------------------------- published references

# PHEindicatormethods testdata_funnel_prop_outputs.csv: baseline 80.642448%, multiplier 100.
# (denominator, lower 95%, upper 95%, lower 99.8%, upper 99.8%)
PROP_BASELINE = 80.642448
PROP_ROWS = [
    (1, 3.204264, 100, 0, 100),
    (3, 35.933491, 100, 10.150815, 100),
    (10, 56.154344, 100, 42.03259, 100),
    (18, 62.390093, 98.894803, 51.864359, 100),
    (20, 63.326743, 97.958152, 53.341156, 100),
    (50, 69.691035, 91.593861, 63.375595, 97.909301),
    (1008, 78.203374, 83.081521, 76.796814, 84.488082),
    (110000, 80.408963, 80.875933, 80.274317, 81.010578),
]


@pytest.mark.parametrize(("n", "lo95", "hi95", "lo998", "hi998"), PROP_ROWS)
def test_proportion_limits_match_ohid_published(n, lo95, hi95, lo998, hi998):
    got95 = funnel_limits(PROP_BASELINE, n, "proportion", 0.95, 100)
    got998 = funnel_limits(PROP_BASELINE, n, "proportion", 0.998, 100)
    np.testing.assert_allclose([float(v) for v in (*got95, *got998)], [lo95, hi95, lo998, hi998], atol=2e-6)


# PHEindicatormethods testdata_funnel_ratio_outputs.csv: for O observed events, the expected
# count at which O is the lower (upper) 95% / 99.8% limit of a ratio funnel around 1.
# (observed, E where O is the lower 95%, E upper 95%, E lower 99.8%, E upper 99.8%)
RATIO_ROWS = [
    (1, 5.571644585, 0.025317898, 9.233410143, 0.001000547),
    (2, 7.224687515, 0.242209467, 11.22886836, 0.04540199),
    (5, 11.6683331, 1.623486324, 16.45474478, 0.739371928),
    (9, 17.08479966, 4.11537405, 22.65737951, 2.452425215),
]
# rows from 10 events, where OHID's funnel is exact Poisson and ours inverts Byar (as the bars do)
RATIO_ROWS_BYAR = [
    (10, 18.39035799, 4.795387629, 24.13397235, 2.960519925),
    (20, 30.88838097, 12.21651877, 38.04188668, 8.958211233),
    (100, 121.6268111, 81.36400699, 134.9243187, 71.92139974),
    (716, 770.4222128, 664.5083011, 802.60414, 636.1521174),
]


def _ratio_checks(o, e_lo95, e_hi95, e_lo998, e_hi998):
    for conf, e, side in ((0.95, e_lo95, 0), (0.95, e_hi95, 1), (0.998, e_lo998, 0), (0.998, e_hi998, 1)):
        yield float(funnel_limits(100.0, e, "ratio", conf, 100)[side]), 100 * o / e


@pytest.mark.parametrize("row", RATIO_ROWS)
def test_ratio_limits_match_ohid_published_below_ten_events(row):
    for got, want in _ratio_checks(*row):
        assert got == pytest.approx(want, rel=1e-5)  # the CSV gives E to 7-10 figures


@pytest.mark.parametrize(("row", "rel"), zip(RATIO_ROWS_BYAR, [1e-2, 3e-3, 3e-4, 2e-5]))
def test_ratio_limits_from_ten_events_differ_from_exact_only_by_byar(row, rel):
    # Byar's approximation error: 0.85% at 10 events (99.8% upper), 0.27% at 20, 1e-5 by 716
    for got, want in _ratio_checks(*row):
        assert got == pytest.approx(want, rel=rel)


def test_exact_poisson_references_recomputed():
    # the published expected counts are the exact (Garwood) limits of the observed count, to the
    # precision OHID's solver gives them
    for o, e_lo95, e_hi95, e_lo998, e_hi998 in RATIO_ROWS + RATIO_ROWS_BYAR:
        assert chi2.ppf(0.975, 2 * o + 2) / 2 == pytest.approx(e_lo95, rel=1e-6)
        assert chi2.ppf(0.025, 2 * o) / 2 == pytest.approx(e_hi95, rel=1e-5)  # 1 event: 3.6e-6 off
        assert chi2.ppf(0.999, 2 * o + 2) / 2 == pytest.approx(e_lo998, rel=1e-6)
        # the published 1-event 99.8% figure is 4.7e-5 off the chi-square quantile (0.0010005003)
        assert chi2.ppf(0.001, 2 * o) / 2 == pytest.approx(e_hi998, rel=1e-4)


# ----------------------------------------------------------------------------- brute force


def _wilson_brute(p0, n, conf, steps=200_001):
    """Limits by scanning observed x over [0, n] (continuous) and testing Wilson at each."""
    x = np.linspace(0.0, n, steps)
    lo, hi = wilson_interval(x, n, conf)
    inside = (lo <= p0) & (hi >= p0)
    return x[inside].min() / n, x[inside].max() / n, n / (steps - 1) / n


@pytest.mark.parametrize("n", [10, 20, 50, 137, 2000])
@pytest.mark.parametrize("p0", [0.03, 0.2, 0.5, 0.8, 0.97])
@pytest.mark.parametrize("conf", [0.95, 0.998])
def test_proportion_limits_equal_brute_force_wilson_inversion(n, p0, conf):
    want_lo, want_hi, step = _wilson_brute(p0, n, conf)
    lo, hi = funnel_limits(p0, n, "proportion", conf)
    assert float(lo) == pytest.approx(want_lo, abs=step + 1e-12)
    assert float(hi) == pytest.approx(want_hi, abs=step + 1e-12)


def _poisson_brute(mu, conf, step=1e-4):
    """Limits on the count scale by scanning O and testing byar_interval at each (whole counts
    decide around the exact/Byar switch at 10, so scan whole counts there)."""
    o = np.arange(0.0, 2 * mu + 60, step)
    lo, hi = byar_interval(o, conf)
    inside = (lo <= mu) & (hi >= mu)
    return o[inside].min(), o[inside].max()


@pytest.mark.parametrize("mu", [0.5, 2.0, 3.0, 7.5, 15.0, 40.0])
@pytest.mark.parametrize("conf", [0.95, 0.998])
def test_poisson_limits_equal_brute_force_inversion(mu, conf):
    want_lo, want_hi = _poisson_brute(mu, conf)
    lo, hi = funnel_limits(1.0, mu, "ratio", conf)  # ratio x expected = count
    assert float(lo) * mu == pytest.approx(want_lo, abs=2e-4)
    assert float(hi) * mu == pytest.approx(want_hi, abs=2e-4)


# ----------------------------------------------------------------------------- old vs new


def test_new_proportion_limits_differ_materially_from_the_comparators_ci_at_small_n():
    # The old limits were the comparator's own Wilson interval, Wilson(p0 n, n). At p0 = 10%,
    # n = 10 (95%) that gave 1.8%-40.4%; the area's own test gives 0%-28.6%: an area with 3 of
    # 10 (30%) has Wilson 10.8%-60.3%, which includes 10%... and 4 of 10 (40%) has 16.8%-68.7%,
    # which excludes it, yet the old upper line (40.4%) drew 40% inside the funnel.
    z95 = z_value(0.95)
    _, old_hi = wilson_interval(1, 10, 0.95)
    lo, hi = funnel_limits(0.1, 10, "proportion", 0.95)
    assert float(lo) == 0.0 and float(hi) == pytest.approx(0.1 + z95 * np.sqrt(0.09 / 10), rel=1e-12)
    assert float(old_hi) - float(hi) > 0.11
    assert float(wilson_interval(4, 10, 0.95)[0]) > 0.1 and 0.4 > float(hi)  # 4/10: outside, as its CI
    # p0 = 80%: n = 10, 20, 50 at 95%, the lower limit is p0 - z sqrt(p0 (1 - p0) / n), the upper
    # capped at 100% for n = 10 (10/10 has Wilson lower 72.2% < 80%: never significantly high)
    lo, hi = funnel_limits(0.8, [10, 20, 50], "proportion", 0.95)
    np.testing.assert_allclose(lo, 0.8 - z95 * np.sqrt(0.16 / np.array([10, 20, 50])), rtol=1e-12)
    assert hi[0] == 1.0 and hi[1] == pytest.approx(0.8 + z95 * np.sqrt(0.16 / 20), rel=1e-12)
    assert float(wilson_interval(10, 10, 0.95)[0]) < 0.8
    old_lo998, _ = wilson_interval(8, 10, 0.998)
    new_lo998, _ = funnel_limits(0.8, 10, "proportion", 0.998)
    assert float(new_lo998) - float(old_lo998) > 0.07  # 40.9% against 33.8%


# ----------------------------------------------------------------------------- caps and edges


def test_proportion_limits_capped_at_0_and_100():
    dens = np.array([1, 2, 5, 10, 20, 50, 100, 1000])
    for p0 in (0.0, 0.01, 0.1, 0.5, 0.9, 0.99, 1.0):
        for conf in (0.95, 0.998):
            lo, hi = funnel_limits(100 * p0, dens, "proportion", conf, 100)
            assert np.all(lo >= 0) and np.all(hi <= 100) and np.all(lo <= 100 * p0 + 1e-9)
            assert np.all(hi >= 100 * p0 - 1e-9)
    lo, hi = funnel_limits(1.0, [5, 10], "proportion", 0.95, 100)  # 1%: lower capped at 0
    assert np.all(lo == 0) and np.all(hi < 100)
    lo, hi = funnel_limits(99.0, [5, 10], "proportion", 0.95, 100)  # 99%: upper capped at 100
    assert np.all(hi == 100) and np.all(lo > 0)
    lo, hi = funnel_limits([0.0, 100.0], 50, "proportion", 0.95, 100)  # degenerate comparators
    assert lo.tolist() == [0.0, 100.0] and hi.tolist() == [0.0, 100.0]
    lo, hi = funnel_limits([-1.0, 101.0, np.nan], [50, 50, 50], "proportion", 0.95, 100)
    assert np.isnan(lo).all() and np.isnan(hi).all()


def test_rate_and_ratio_edges():
    # rate per 100,000 is the ratio funnel of the expected count, rescaled
    lo_r, hi_r = funnel_limits(250.0, [400.0, 4000.0, 40000.0], "rate", 0.998, 100_000)
    mu = 250.0 * np.array([400.0, 4000.0, 40000.0]) / 100_000
    lo_x, hi_x = funnel_limits(1.0, mu, "ratio", 0.998)
    np.testing.assert_allclose(lo_r, lo_x * 250.0, rtol=1e-12)
    np.testing.assert_allclose(hi_r, hi_x * 250.0, rtol=1e-12)
    # tiny expected counts: 0 events is within the funnel, so the lower limit is 0
    lo, hi = funnel_limits(1.0, [0.01, 1.0, 3.0], "ratio", 0.95)
    assert lo.tolist() == [0.0, 0.0, 0.0] and np.all(hi > 1)
    lo, hi = funnel_limits(1.0, [0.0, -1.0, np.nan], "ratio")
    assert np.isnan(lo).all() and np.isnan(hi).all()
    lo, hi = funnel_limits(np.nan, 5.0, "rate", 0.95, 1000)
    assert np.isnan(lo) and np.isnan(hi)


# ----------------------------------------------------------------------------- the defining property


def _outside(value, lo, hi):
    return (value < lo) | (value > hi)


def _near(value, lo, hi, tol=1e-9):
    scale = max(abs(value), 1e-12)
    return abs(value - lo) <= tol * scale or abs(value - hi) <= tol * scale


CONF = st.sampled_from([0.95, 0.998])
FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(n=st.integers(1, 20_000), frac=st.floats(0, 1), p0=st.floats(0.0, 1.0), conf=CONF,
       mult=st.sampled_from([1.0, 100.0]))
def test_proportion_outside_funnel_iff_own_wilson_excludes_comparator(n, frac, p0, conf, mult):
    x = round(frac * n)
    value, lo_ci, hi_ci = statistic_interval(x, n, "proportion", conf, mult)
    lo, hi = funnel_limits(p0 * mult, n, "proportion", conf, mult)
    if _near(float(value), float(lo), float(hi)):
        return  # on the line to rounding: either answer is right
    own = compare_to_benchmark(lo_ci, hi_ci, p0 * mult, None)
    assert bool(_outside(value, lo, hi)) == (str(own) != "similar")


@FAST
@given(o=st.one_of(st.integers(0, 30), st.integers(0, 5000)), e=st.floats(0.01, 5000.0),
       r0=st.floats(0.2, 5.0), conf=CONF)
def test_ratio_outside_funnel_iff_own_poisson_ci_excludes_comparator(o, e, r0, conf):
    value, lo_ci, hi_ci = statistic_interval(o, e, "ratio", conf, 100)
    lo, hi = funnel_limits(100 * r0, e, "ratio", conf, 100)
    if _near(float(value), float(lo), float(hi)):
        return
    own = compare_to_benchmark(lo_ci, hi_ci, 100 * r0, None)
    assert bool(_outside(value, lo, hi)) == (str(own) != "similar")


@FAST
@given(o=st.one_of(st.integers(0, 30), st.integers(0, 5000)), d=st.integers(1, 1_000_000),
       rate=st.floats(1.0, 5000.0), conf=CONF)
def test_rate_outside_funnel_iff_own_poisson_ci_excludes_comparator(o, d, rate, conf):
    value, lo_ci, hi_ci = statistic_interval(o, d, "rate", conf, 100_000)
    lo, hi = funnel_limits(rate, d, "rate", conf, 100_000)
    if _near(float(value), float(lo), float(hi)):
        return
    own = compare_to_benchmark(lo_ci, hi_ci, rate, None)
    assert bool(_outside(value, lo, hi)) == (str(own) != "similar")


def test_whole_counts_around_the_byar_switch_are_classified_as_their_own_interval():
    # the exact->Byar switch at 10 events makes the lower limit step down (4.7954 -> 4.7875 at
    # 95%); comparators inside that step must still classify every whole count as its interval does
    o = np.arange(0, 40)[:, None]
    mu = np.concatenate([np.linspace(1.0, 30.0, 2901), [4.7875, 4.79, 4.795, 2.918, 2.93, 2.96]])[None, :]
    for conf in (0.95, 0.998):
        lo, hi = funnel_limits(1.0, mu, "ratio", conf)
        lo_ci, hi_ci = byar_interval(o, conf)
        own_out = (lo_ci > mu) | (hi_ci < mu)
        assert np.array_equal(_outside(o / mu, lo, hi), own_out), conf


# ----------------------------------------------------------------------------- funnel_position


def test_funnel_position_from_own_cis():
    # proportions of 50 against 50%: 25 similar, 34 (68%) outside 95% only, 40 (80%) outside 99.8%
    pos = funnel_position([25, 34, 40, 10, np.nan], 50, 50.0, "proportion", 100)
    assert pos.tolist() == ["within 95%", "between 95% and 99.8%", "outside 99.8%", "outside 99.8%",
                            "not compared"]
    assert set(pos[:4]) <= set(FUNNEL_POSITIONS)


@FAST
@given(o=st.integers(0, 400), e=st.floats(1.0, 400.0), kind=st.sampled_from(["proportion", "rate", "ratio"]))
def test_funnel_position_agrees_with_bars_and_with_limits(o, e, kind):
    den = max(e, o) if kind == "proportion" else e
    comparator = 40.0 if kind == "proportion" else 100.0
    _, lo95, hi95 = statistic_interval(o, den, kind, 0.95, 100)
    bars = str(compare_to_benchmark(lo95, hi95, comparator, None))
    pos = str(funnel_position(o, den, comparator, kind, 100))
    assert (pos == "within 95%") == (bars == "similar")  # the bars' and map's 95% test
    value = float(statistic_interval(o, den, kind, 0.95, 100)[0])
    l95, h95 = (float(v) for v in funnel_limits(comparator, den, kind, 0.95, 100))
    l998, h998 = (float(v) for v in funnel_limits(comparator, den, kind, 0.998, 100))
    if _near(value, l95, h95) or _near(value, l998, h998):
        return
    by_lines = ("outside 99.8%" if _outside(value, l998, h998)
                else "between 95% and 99.8%" if _outside(value, l95, h95) else "within 95%")
    assert pos == by_lines
