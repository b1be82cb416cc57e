"""Disclosure control: NHS Digital HES rules, OpenSAFELY worked example, secondary suppression."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.domain.disclosure import (
    MISSING,
    SUPPRESSED,
    SUPPRESSION_NOTE,
    CountSpec,
    DisclosureError,
    DisclosurePolicy,
    Hierarchy,
    MeanSpec,
    RatioSpec,
    apply_policy,
    assert_no_small_counts,
    control_counts,
    controlled_mean,
    controlled_rate,
    controlled_total,
    format_count,
    format_rate,
    is_small,
    secondary_suppress,
)

RAW = DisclosurePolicy.raw()


def _values(series: pd.Series) -> list:
    """Series as a list with None for <NA>, so comparisons are exact."""
    return [None if pd.isna(v) else v for v in series.tolist()]


# --------------------------------------------------------------------------- primary rules


def test_opensafely_worked_example() -> None:
    # OpenSAFELY (2025): [3, 8, 16, 23] -> [redacted, 10, 15, 25]
    out = control_counts(pd.Series([3, 8, 16, 23]))
    assert _values(out) == [None, 10, 15, 25]
    assert str(out.dtype) == "Int64"


def test_zero_stays_zero_and_is_not_small() -> None:
    counts = pd.Series([0, 0, 5])
    assert _values(control_counts(counts)) == [0, 0, None]
    assert is_small(counts).tolist() == [False, False, True]


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (1, None), (7, None), (8, 10), (9, 10), (10, 10), (12, 10), (13, 15), (17, 15),
        (18, 20), (22, 20), (23, 25), (100, 100), (1002, 1000), (1003, 1005), (12345, 12345),
    ],
)
def test_rounding_table(raw: int, shown: int | None) -> None:
    assert _values(control_counts(pd.Series([raw]))) == [shown]


def test_rounding_halves_go_up_not_to_even() -> None:
    # With base 10, 15 and 25 are exact halves; banker's rounding would give 20 and 20.
    out = control_counts(pd.Series([15, 25, 35]), DisclosurePolicy(rounding_base=10))
    assert _values(out) == [20, 30, 40]


def test_threshold_is_configurable() -> None:
    out = control_counts(pd.Series([8, 10, 11]), DisclosurePolicy(threshold=10))
    assert _values(out) == [None, None, 10]


def test_missing_counts_stay_missing_and_are_not_flagged_small() -> None:
    counts = pd.Series([pd.NA, 20], dtype="Int64")
    assert _values(control_counts(counts)) == [None, 20]
    assert is_small(counts).tolist() == [False, False]


def test_negative_counts_are_rejected() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        control_counts(pd.Series([5, -1]))


def test_index_and_name_are_kept() -> None:
    counts = pd.Series([3, 30], index=["E01", "E02"], name="plans")
    out = control_counts(counts)
    assert list(out.index) == ["E01", "E02"] and out.name == "plans"


def test_rate_is_computed_from_rounded_numerator_and_denominator() -> None:
    # 13/23 = 0.565 unrounded; shown as 15/25 = 0.6.
    out = controlled_rate(pd.Series([13, 40]), pd.Series([23, 80]), multiplier=100)
    assert out.iloc[0] == pytest.approx(60.0)
    assert out.iloc[1] == pytest.approx(50.0)


def test_rate_suppressed_when_numerator_or_denominator_small() -> None:
    out = controlled_rate(pd.Series([3, 0, 20]), pd.Series([50, 6, 0]))
    # small numerator; denominator 6 suppressed; zero denominator undefined
    assert _values(out) == [None, None, None]


def test_zero_numerator_gives_zero_rate() -> None:
    assert _values(controlled_rate(pd.Series([0]), pd.Series([40]))) == [0.0]


def test_means_based_on_one_to_seven_people_are_suppressed() -> None:
    out = controlled_mean(pd.Series([2.5, 3.1, 4.2, 1.9]), pd.Series([1, 7, 8, 200]))
    assert _values(out) == [None, None, 4.2, 1.9]


def test_totals_are_rounded_from_unrounded_sums() -> None:
    # Summing shown cells would give 0 (all suppressed) or 30; the rule gives 10 and 35.
    assert controlled_total(pd.Series([3, 3, 3])) == 10
    assert controlled_total(pd.Series([12, 12, 12])) == 35
    assert controlled_total(pd.Series([2, 3])) is pd.NA


def test_disabled_policy_returns_raw_values() -> None:
    counts = pd.Series([3, 8, 16, 23])
    assert control_counts(counts, RAW).tolist() == [3, 8, 16, 23]
    assert controlled_rate(pd.Series([13]), pd.Series([23]), policy=RAW).iloc[0] == pytest.approx(
        13 / 23
    )
    assert controlled_total(pd.Series([3, 3, 3]), RAW) == 9


def test_publication_policy_is_enabled_with_standard_thresholds() -> None:
    pol = DisclosurePolicy.for_publication()
    assert pol.enabled and pol.threshold == 7 and pol.rounding_base == 5


def test_policy_rejects_nonsense_parameters() -> None:
    with pytest.raises(ValueError):
        DisclosurePolicy(rounding_base=0)
    with pytest.raises(ValueError):
        DisclosurePolicy(threshold=-1)


# --------------------------------------------------------------------------- apply_policy


def _wilson_like(num: pd.Series, den: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stand-in for the stats module: value and a fixed +/-0.01 band, on the 0-1 scale."""
    p = num.to_numpy() / den.to_numpy()
    return p, p - 0.01, p + 0.01


@pytest.fixture
def metric_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area_code": ["A", "B", "C", "D"],
            "coverage_numerator": [3, 13, 0, 40],
            "coverage_denominator": [50, 23, 100, 5],
            "coverage": [0.06, 13 / 23, 0.0, 8.0],
            "coverage_lower": [0.01, 0.3, 0.0, 0.5],
            "coverage_upper": [0.1, 0.7, 0.04, 0.9],
            "population": [1500, 1502, 4, 0],
            "frailty": [0.2, 0.3, 0.4, 0.5],
            "frailty_n": [3, 40, 100, 8],
        }
    )


SPECS = [
    RatioSpec("coverage", multiplier=100, recompute=_wilson_like),
    CountSpec("population"),
    MeanSpec("frailty", n="frailty_n"),
]


def test_apply_policy_controls_counts_and_adds_flags(metric_table: pd.DataFrame) -> None:
    out = apply_policy(metric_table, SPECS)
    assert _values(out["coverage_numerator"]) == [None, 15, 0, 40]
    assert _values(out["coverage_denominator"]) == [50, 25, 100, None]
    assert _values(out["population"]) == [1500, 1500, None, 0]
    assert out["coverage_suppressed"].tolist() == [True, False, False, True]
    assert out["population_suppressed"].tolist() == [False, False, True, False]
    assert out["frailty_suppressed"].tolist() == [True, False, False, False]
    assert out["coverage_numerator_suppressed"].tolist() == [True, False, False, False]
    assert list(out.columns[: len(metric_table.columns)]) == list(metric_table.columns)


def test_apply_policy_recomputes_rate_and_ci_from_rounded_counts(
    metric_table: pd.DataFrame,
) -> None:
    seen: list[tuple[list[float], list[float]]] = []

    def spy(num: pd.Series, den: pd.Series):
        seen.append((num.tolist(), den.tolist()))
        return _wilson_like(num, den)

    out = apply_policy(metric_table, RatioSpec("coverage", multiplier=100, recompute=spy))
    # only shown rows with den > 0 reach the stats function, and only as rounded values
    assert seen == [([15.0, 0.0], [25.0, 100.0])]
    assert out["coverage"].iloc[1] == pytest.approx(60.0)
    assert out["coverage_lower"].iloc[1] == pytest.approx(59.0)
    assert out["coverage_upper"].iloc[1] == pytest.approx(61.0)
    assert out["coverage"].iloc[2] == pytest.approx(0.0)


def test_cis_are_na_when_suppressed(metric_table: pd.DataFrame) -> None:
    out = apply_policy(metric_table, SPECS)
    for col in ("coverage", "coverage_lower", "coverage_upper"):
        assert pd.isna(out[col].iloc[0]) and pd.isna(out[col].iloc[3]), col
    assert pd.isna(out["frailty"].iloc[0])
    assert out["frailty"].iloc[3] == pytest.approx(0.5)


def test_ci_columns_without_recompute_are_refused(metric_table: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="recompute"):
        apply_policy(metric_table, RatioSpec("coverage"))


def test_plain_ratio_without_ci_uses_rounded_counts() -> None:
    t = pd.DataFrame({"r_numerator": [13], "r_denominator": [23], "r": [13 / 23]})
    out = apply_policy(t, RatioSpec("r"))
    assert out["r"].iloc[0] == pytest.approx(0.6)


def test_standardised_rate_keeps_value_but_hides_it_with_its_count() -> None:
    t = pd.DataFrame(
        {"dsr_numerator": [5, 60], "dsr": [123.4, 456.7], "dsr_lower": [1.0, 400.0],
         "dsr_upper": [300.0, 500.0]}
    )
    out = apply_policy(t, RatioSpec("dsr", standardised=True))
    assert _values(out["dsr"]) == [None, 456.7]
    assert _values(out["dsr_lower"]) == [None, 400.0]
    assert _values(out["dsr_numerator"]) == [None, 60]
    assert "dsr_denominator" not in out.columns


def test_analyst_policy_passes_raw_values(metric_table: pd.DataFrame) -> None:
    out = apply_policy(metric_table, SPECS, RAW)
    pd.testing.assert_frame_equal(out[metric_table.columns], metric_table)
    assert not out.filter(like="_suppressed").to_numpy().any()


def test_publication_policy_controls_even_for_analyst(metric_table: pd.DataFrame) -> None:
    from explorer.domain.access import Role, disclosure_policy_for

    out = apply_policy(metric_table, SPECS, disclosure_policy_for(Role.ANALYST, publication=True))
    assert _values(out["coverage_numerator"]) == [None, 15, 0, 40]


def test_apply_policy_reports_missing_columns(metric_table: pd.DataFrame) -> None:
    with pytest.raises(KeyError, match="nope"):
        apply_policy(metric_table, ["population", "nope"])


def test_apply_policy_does_not_modify_its_input(metric_table: pd.DataFrame) -> None:
    before = metric_table.copy()
    apply_policy(metric_table, SPECS, groups=[["area_code"]])
    pd.testing.assert_frame_equal(metric_table, before)


# --------------------------------------------------------------------------- secondary suppression


def test_secondary_hides_smallest_nonzero_sibling_not_a_zero() -> None:
    t = pd.DataFrame({"area_code": ["A"] * 4, "cat": list("wxyz"), "n": [3, 0, 40, 25]})
    res = secondary_suppress(t, "n", [["area_code"]])
    assert res.suppressed.tolist() == [True, False, False, True]


def test_secondary_ties_broken_by_row_order() -> None:
    t = pd.DataFrame({"g": ["A"] * 3, "n": [30, 3, 30]})
    assert secondary_suppress(t, "n", [["g"]]).suppressed.tolist() == [True, True, False]


def test_two_small_cells_need_no_complement() -> None:
    t = pd.DataFrame({"g": ["A"] * 3, "n": [3, 5, 30]})
    assert secondary_suppress(t, "n", [["g"]]).suppressed.tolist() == [True, True, False]


def test_secondary_cascades_across_rows_and_columns() -> None:
    t = pd.DataFrame(
        {"area_code": ["A", "A", "B", "B"], "cat": ["x", "y", "x", "y"], "n": [3, 40, 20, 50]}
    )
    res = secondary_suppress(t, "n", [["area_code"], ["cat"]])
    assert res.suppressed.all()


def test_hierarchy_parent_minus_children_is_protected() -> None:
    t = pd.DataFrame({"area_code": ["P", "c1", "c2", "c3"], "n": [53, 3, 20, 30]})
    res = secondary_suppress(t, "n", hierarchy=Hierarchy({"c1": "P", "c2": "P", "c3": "P"}))
    assert res.suppressed.tolist() == [False, True, True, False]
    assert res.hidden_totals == frozenset()


def test_hierarchy_without_parent_rows_reports_hidden_parent_total() -> None:
    # Child table only (parent totals published elsewhere). In area a, 3 needs a complement;
    # the only one is the 20, which is P's only non-zero child in category y: P's y total
    # would then give it away, so that total is reported as hidden.
    t = pd.DataFrame(
        {"area_code": ["a", "a", "b", "b"], "category": ["x", "y", "x", "y"], "n": [3, 20, 0, 0]}
    )
    h = Hierarchy({"a": "P", "b": "P"}, by=("category",))
    res = secondary_suppress(t, "n", [["area_code"]], hierarchy=h)
    assert res.suppressed.tolist() == [True, True, False, False]
    assert res.total_hidden(["area_code", "category"], ["P", "y"])
    assert not res.total_hidden(["area_code"], ["b"])


def test_hierarchy_prefers_a_shown_child_over_a_total_published_elsewhere() -> None:
    t = pd.DataFrame({"area_code": ["a", "b", "c"], "n": [3, 20, 30]})
    res = secondary_suppress(t, "n", hierarchy=Hierarchy({"a": "P", "b": "P", "c": "P"}))
    assert res.suppressed.tolist() == [True, True, False]
    assert res.hidden_totals == frozenset()


def test_unprotectable_cell_hides_the_total_published_elsewhere() -> None:
    # Row A = [3, 20], column y holds only the 20: some published total must go.
    t = pd.DataFrame(
        {"area_code": ["A", "A", "B", "B"], "cat": ["x", "y", "x", "y"], "n": [3, 20, 0, 0]}
    )
    res = secondary_suppress(t, "n", [["area_code"], ["cat"]])
    assert res.suppressed.tolist() == [True, True, False, False]
    assert res.total_hidden(["cat"], ["y"])
    assert res.total_hidden(["cat"], ["x"])  # total of 3 is itself small: listed too
    assert not res.total_hidden(["area_code"], ["A"])  # 23 with two hidden cells can be shown
    assert not res.total_hidden(["area_code"], ["B"])  # a zero total is always shown


def test_hierarchy_cascades_upwards_when_a_parent_is_hidden() -> None:
    # P's single child c1 is a complement, so P must be hidden, and then a sibling of P.
    t = pd.DataFrame(
        {
            "area_code": ["ICS", "P", "Q", "R", "c1", "q1", "q2", "r1"],
            "n": [193, 40, 3 + 50, 100, 40, 3, 50, 100],
        }
    )
    parent_of = {"P": "ICS", "Q": "ICS", "R": "ICS", "c1": "P", "q1": "Q", "q2": "Q", "r1": "R"}
    res = secondary_suppress(t, "n", hierarchy=Hierarchy(parent_of))
    hidden = dict(zip(t["area_code"], res.suppressed))
    assert hidden["q1"] and hidden["q2"]  # primary + complement inside Q
    assert sum(hidden[a] for a in ("P", "Q", "R")) != 1
    assert not hidden["ICS"]


def test_audit_stops_recovery_by_combining_groups() -> None:
    # Every row and column passes the structural rule, yet with margins 18, 10 | 8, 13 shown:
    # (5+3) + (6+7) - (3+7) = 11, so the 7 in row 0 = 18 - 11. Every cell that could help is
    # already hidden or zero, so the audit hides row r0's total instead.
    t = pd.DataFrame(
        {"area_code": np.repeat(["r0", "r1"], 3), "cat": ["x", "y", "z"] * 2,
         "n": [7, 5, 6, 0, 3, 7]}
    )
    groups = [["area_code"], ["cat"]]
    structural = secondary_suppress(t, "n", groups, audit=False)
    assert structural.suppressed.tolist() == [True, True, True, False, True, True]
    assert not structural.total_hidden(["area_code"], ["r0"])
    audited = secondary_suppress(t, "n", groups)
    assert audited.total_hidden(["area_code"], ["r0"])
    assert audited.suppressed[structural.suppressed].all()  # only ever adds
    assert audited.hidden_totals > structural.hidden_totals
    assert audited.unaudited == 0


def test_audit_skips_blocks_above_the_size_cap_and_says_so() -> None:
    t = pd.DataFrame({"g": ["A"] * 12, "n": [3] * 12})
    assert secondary_suppress(t, "n", [["g"]], max_audit_cells=5).unaudited == 12
    assert secondary_suppress(t, "n", [["g"]]).unaudited == 0


def test_hierarchy_from_columns_and_duplicate_rows() -> None:
    t = pd.DataFrame({"area_code": ["a", "b"], "parent_code": ["P", "P"], "n": [3, 30]})
    h = Hierarchy.from_columns(t, "area_code", "parent_code")
    assert h.parent_of == {"a": "P", "b": "P"}
    dup = pd.concat([t, t])
    with pytest.raises(ValueError, match="one row per"):
        secondary_suppress(dup, "n", hierarchy=h)


def test_secondary_suppression_disabled_for_raw_policy() -> None:
    t = pd.DataFrame({"g": ["A", "A"], "n": [3, 30]})
    assert not secondary_suppress(t, "n", [["g"]], policy=RAW).suppressed.any()


def test_apply_policy_with_groups_hides_complements_and_their_rates() -> None:
    t = pd.DataFrame(
        {
            "area_code": ["A", "A", "A"],
            "quintile": [1, 2, 3],
            "plans_numerator": [3, 40, 60],
            "plans_denominator": [100, 200, 300],
            "plans": [0.03, 0.2, 0.2],
        }
    )
    out = apply_policy(t, RatioSpec("plans"), groups=[["area_code"]])
    assert out["plans_numerator_suppressed"].tolist() == [True, True, False]
    assert _values(out["plans"]) == [None, None, 0.2]
    assert out.attrs["hidden_totals"]["plans_numerator"] == frozenset()


# --------------------------------------------------------------------------- display and guard


def test_format_count() -> None:
    assert format_count(1235) == "1,235"
    assert format_count(0) == "0"
    assert format_count(pd.NA, suppressed=True) == SUPPRESSED == "*"
    assert format_count(pd.NA) == MISSING
    assert format_count(10.0) == "10"


def test_format_rate() -> None:
    assert format_rate(1234.56) == "1,234.6"
    assert format_rate(12.3456, decimals=2, suffix="%") == "12.35%"
    assert format_rate(0.5, suppressed=True) == SUPPRESSED
    assert format_rate(float("nan")) == MISSING


def test_suppression_note_explains_the_star() -> None:
    assert SUPPRESSION_NOTE.startswith("* = 1-7 people")
    assert "nearest 5" in SUPPRESSION_NOTE


def test_guard_rejects_small_and_unrounded_counts() -> None:
    with pytest.raises(DisclosureError, match=r"'plans'.*between 1 and 7"):
        assert_no_small_counts(pd.DataFrame({"plans": [10, 3]}), ["plans"])
    with pytest.raises(DisclosureError, match="not rounded"):
        assert_no_small_counts(pd.DataFrame({"plans": [10, 13]}), ["plans"])


def test_guard_accepts_controlled_output_and_raw_policy(metric_table: pd.DataFrame) -> None:
    out = apply_policy(metric_table, SPECS)
    counts = ["coverage_numerator", "coverage_denominator", "population", "frailty_n"]
    assert_no_small_counts(out, counts)  # must not raise
    assert_no_small_counts(metric_table, counts, RAW)  # analyst raw data is exempt
    with pytest.raises(DisclosureError):
        assert_no_small_counts(metric_table, counts)


# --------------------------------------------------------------------------- properties

COUNT = st.one_of(st.just(0), st.integers(1, 7), st.integers(8, 400))
PROPS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class Group:
    """One additive relation as an attacker sees it: total = sum of members."""

    members: np.ndarray
    total_row: int | None  # the row holding the total, or None if published elsewhere
    total_nonzero: bool
    total_shown: bool


def _all_groups(
    table: pd.DataFrame,
    raw: np.ndarray,
    hidden: np.ndarray,
    hidden_totals: frozenset,
    groups: list[list[str]],
    hierarchy: Hierarchy | None,
) -> list[Group]:
    """Every additive group in the table, rebuilt independently of the implementation."""

    def virtual(cols: tuple, key: tuple, pos: np.ndarray) -> Group:
        total = raw[pos].sum()
        small = 1 <= total <= DisclosurePolicy().threshold
        return Group(pos, None, total > 0, not small and (cols, key) not in hidden_totals)

    out = []
    for cols in groups:
        for key, pos in table.groupby(cols, sort=False).indices.items():
            out.append(virtual(tuple(cols), key if isinstance(key, tuple) else (key,), pos))
    if hierarchy is not None:
        keys = [hierarchy.column, *hierarchy.by]
        row_of = {k: i for i, k in enumerate(table[keys].itertuples(index=False, name=None))}
        parent = table[hierarchy.column].map(hierarchy.parent_of)
        for key, pos in table.assign(__p=parent).groupby(["__p", *hierarchy.by]).indices.items():
            key = key if isinstance(key, tuple) else (key,)
            if key in row_of:
                i = row_of[key]
                assert raw[i] == raw[pos].sum()  # fixture sanity: parents are sums of children
                out.append(Group(pos, i, raw[i] > 0, not hidden[i]))
            else:
                out.append(virtual(tuple(keys), key, pos))
    return out


def _check_no_differencing(groups: list[Group], raw: np.ndarray, hidden: np.ndarray) -> None:
    for g in groups:
        hidden_nonzero = int(np.count_nonzero(hidden[g.members] & (raw[g.members] > 0)))
        if g.total_shown:
            # The attack: shown total minus every other shown member isolates the one hidden cell.
            assert hidden_nonzero != 1, f"cell recoverable by differencing in group {g.members}"
        # Stronger form: the total is one more unknown of the same linear constraint.
        unknowns = hidden_nonzero + int(g.total_nonzero and not g.total_shown)
        assert unknowns != 1, f"group {g.members}: exactly one unknown"


def _exactly_recoverable(groups: list[Group], raw: np.ndarray, hidden: np.ndarray) -> list[int]:
    """Hidden non-zero rows whose value is fixed by the whole system of shown values.

    Unknowns are the hidden non-zero rows plus every hidden non-zero total; a row is
    recoverable iff its unit vector lies in the row space of the constraint matrix.
    """
    rows = [int(i) for i in np.flatnonzero(hidden & (raw > 0))]
    col = {("row", r): j for j, r in enumerate(rows)}
    for k, g in enumerate(groups):
        if g.total_row is None and g.total_nonzero and not g.total_shown:
            col[("total", k)] = len(col)
    a = np.zeros((len(groups), len(col)))
    for k, g in enumerate(groups):
        for m in g.members:
            if ("row", int(m)) in col:
                a[k, col[("row", int(m))]] += 1
        total = ("row", g.total_row) if g.total_row is not None else ("total", k)
        if total in col:
            a[k, col[total]] -= 1
    rank = np.linalg.matrix_rank(a)
    found = []
    for j, r in enumerate(rows):
        e = np.zeros(len(col))
        e[j] = 1
        if np.linalg.matrix_rank(np.vstack([a, e])) == rank:
            found.append(r)
    return found


def _check_emitted_counts(raw: np.ndarray, shown: pd.Series, flag: pd.Series) -> None:
    vals = shown.to_numpy(dtype="float64", na_value=np.nan)
    emitted = ~np.isnan(vals)
    assert not np.any((vals[emitted] >= 1) & (vals[emitted] <= 7)), "a 1-7 count was emitted"
    assert np.all(np.mod(vals[emitted], 5) == 0), "an unrounded count was emitted"
    assert np.all(vals[raw == 0] == 0), "0 must stay 0"
    assert np.array_equal(np.isnan(vals), flag.to_numpy()), "flag and <NA> disagree"
    assert np.all(flag.to_numpy()[(raw >= 1) & (raw <= 7)]), "a small count was not flagged"


@st.composite
def area_by_category(draw):
    n_areas = draw(st.integers(2, 7))
    n_cats = draw(st.integers(2, 5))
    counts = draw(st.lists(COUNT, min_size=n_areas * n_cats, max_size=n_areas * n_cats))
    return pd.DataFrame(
        {
            "area_code": np.repeat([f"A{i}" for i in range(n_areas)], n_cats),
            "category": np.tile([f"c{j}" for j in range(n_cats)], n_areas),
            "n": counts,
        }
    )


@PROPS
@given(area_by_category())
def test_property_table_no_small_counts_and_no_differencing(table: pd.DataFrame) -> None:
    groups = [["area_code"], ["category"]]
    out = apply_policy(table, "n", groups=groups)
    raw = table["n"].to_numpy(dtype="float64")
    hidden = out["n_suppressed"].to_numpy()
    _check_emitted_counts(raw, out["n"], out["n_suppressed"])
    assert not np.any(hidden & (raw == 0)), "a zero was hidden: it protects nothing"
    checked = _all_groups(table, raw, hidden, out.attrs["hidden_totals"]["n"], groups, None)
    _check_no_differencing(checked, raw, hidden)
    assert "unaudited" not in out.attrs
    assert _exactly_recoverable(checked, raw, hidden) == []


@st.composite
def two_level_hierarchy(draw):
    """ICS -> 1-4 parents -> 2-8 children each, x 1-3 categories; parents hold raw sums."""
    n_parents = draw(st.integers(1, 4))
    cats = [f"c{j}" for j in range(draw(st.integers(1, 3)))]
    parent_of: dict[str, str] = {}
    rows = []
    for p in range(n_parents):
        parent = f"P{p}"
        parent_of[parent] = "ICS"
        sums = {c: [0, 0] for c in cats}
        for k in range(draw(st.integers(2, 8))):
            kid = f"{parent}k{k}"
            parent_of[kid] = parent
            for c in cats:
                num = draw(COUNT)
                den = num + draw(COUNT)
                rows.append((kid, c, num, den))
                sums[c][0] += num
                sums[c][1] += den
        rows += [(parent, c, num, den) for c, (num, den) in sums.items()]
    t = pd.DataFrame(rows, columns=["area_code", "category", "cov_numerator", "cov_denominator"])
    t["cov"] = t["cov_numerator"] / t["cov_denominator"].where(t["cov_denominator"] > 0)
    return t, parent_of, len(cats)


@PROPS
@given(two_level_hierarchy())
def test_property_hierarchy_no_small_counts_and_no_differencing(data) -> None:
    table, parent_of, n_cats = data
    hierarchy = Hierarchy(parent_of, column="area_code", by=("category",))
    groups = [["area_code"]] if n_cats > 1 else []
    out = apply_policy(table, RatioSpec("cov"), groups=groups, hierarchy=hierarchy)
    for col in ("cov_numerator", "cov_denominator"):
        raw = table[col].to_numpy(dtype="float64")
        hidden = out[f"{col}_suppressed"].to_numpy()
        _check_emitted_counts(raw, out[col], out[f"{col}_suppressed"])
        checked = _all_groups(
            table, raw, hidden, out.attrs["hidden_totals"][col], groups, hierarchy
        )
        assert len(checked) >= len(set(parent_of.values()))  # every parent group was checked
        _check_no_differencing(checked, raw, hidden)
        assert _exactly_recoverable(checked, raw, hidden) == []
    assert "unaudited" not in out.attrs
    # a rate is never shown when either of its counts is hidden
    rate_hidden = out["cov_numerator_suppressed"] | out["cov_denominator_suppressed"]
    assert out.loc[rate_hidden, "cov"].isna().all()
    assert out["cov_suppressed"].equals(rate_hidden.rename("cov_suppressed"))


# --------------------------------------------------------------------------- per role, whole metric tables


def test_fractional_counts_that_would_round_into_1_to_7_are_suppressed() -> None:
    # a gap of 7.3 plans is not "at most 7", but rounded to 5 it would show a count of 5: below 8 is small
    out = control_counts(pd.Series([0.4, 7.0, 7.3, 7.6, 8.0, 8.4]))
    assert _values(out) == [None, None, None, None, 10, 10]


ROLE_VIEWS = [(role, False) for role in ("commissioner", "strategist", "social_care")] + [
    (role, True) for role in ("analyst", "commissioner", "strategist", "social_care")]  # True: a download
FRACTIONAL = st.floats(0, 60, allow_nan=False, allow_infinity=False)


@PROPS
@given(st.lists(st.one_of(COUNT, FRACTIONAL), min_size=1, max_size=40), st.sampled_from(ROLE_VIEWS))
def test_property_no_count_from_1_to_7_for_a_non_analyst_role_or_any_download(counts, view) -> None:
    from explorer.domain.access import disclosure_policy_for

    role, publication = view
    out = control_counts(pd.Series(counts, dtype="float64"), disclosure_policy_for(role, publication=publication))
    vals = out.to_numpy(dtype="float64", na_value=np.nan)
    shown = vals[~np.isnan(vals)]
    assert not np.any((shown > 0) & (shown < 8)) and np.all(np.mod(shown, 5) == 0)


@st.composite
def metric_rows(draw):
    """Areas under 1-3 parents with people, plans among them and plan items: one release table."""
    n = draw(st.integers(2, 12))
    people = np.array(draw(st.lists(COUNT, min_size=n, max_size=n)), dtype=float)
    share = np.array(draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
    plans = np.floor(people * share)
    return pd.DataFrame({"area_code": [f"A{i}" for i in range(n)],
                         "parent_code": [f"P{draw(st.integers(0, 2))}" for _ in range(n)],
                         "people": people, "plans": plans,
                         "items": plans * draw(st.integers(0, 10)),
                         "expected": plans * draw(st.floats(0, 0.9))})


@PROPS
@given(metric_rows(), st.sampled_from(ROLE_VIEWS),
       st.sampled_from(["plans", "coverage", "reviewed_in_period", "completeness",
                        "expected_admissions_without_plan"]))
def test_property_release_tables_emit_no_small_counts_for_non_analyst_roles(rows, view, metric) -> None:
    """The tables the app, its downloads and the CLI emit (explorer.domain.release.control)."""
    from explorer.domain.access import disclosure_policy_for
    from explorer.domain.metrics import METRICS
    from explorer.domain.release import control

    role, publication = view
    num, den = {"plans": ("plans", "people"), "coverage": ("plans", "people"),
                "reviewed_in_period": ("items", "plans"), "completeness": ("items", "plans"),
                "expected_admissions_without_plan": ("expected", "plans")}[metric]
    value = rows[num] / rows[den].where(rows[den] > 0)
    table = pd.DataFrame({"area_code": rows["area_code"], "parent_code": rows["parent_code"],
                          metric: rows[num] if metric == "plans" else value,
                          f"{metric}_numerator": rows[num], f"{metric}_denominator": rows[den],
                          f"{metric}_lower": np.nan, f"{metric}_upper": np.nan})
    if metric == "reviewed_in_period":  # a proportion: reviewed plans <= plans
        table[f"{metric}_numerator"] = np.minimum(rows["items"], rows["plans"])
    out = control(table, METRICS[metric], disclosure_policy_for(role, publication=publication),
                  groups=[["parent_code"]])
    people_counts = [metric] if metric == "plans" else []
    if metric not in ("expected_admissions_without_plan",):
        people_counts.append(f"{metric}_numerator")
    people_counts.append(f"{metric}_denominator")
    for col in people_counts:
        vals = pd.to_numeric(out[col], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        assert not np.any((vals > 0) & (vals < 8)), f"{col} emitted a 1-7 count"
    hidden = out[f"{metric}_suppressed"].to_numpy(dtype=bool)
    # a hidden value leaves no trace: not in its own column, nor in its numerator when that is the value
    assert pd.isna(out.loc[hidden, metric]).all()
    if metric in ("completeness", "expected_admissions_without_plan"):
        assert pd.isna(out.loc[hidden, f"{metric}_numerator"]).all()
