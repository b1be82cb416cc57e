"""The differencing attack, run against what each non-analyst role is shown: zero exact counts of 1-7.

For every role but the analyst, every care-plan metric the role may see is requested as the map,
its table and the CLI get it (``AppData.controlled``: the one release path), once for everyone and
once for "all but one group" of every filter dimension. The attacker of :mod:`tests.attack` infers
exact counts from every printed number, subtracts, and also takes each parent area minus its shown
children; every small cell it gets is compared with the analyst's truth. Strategists and social
care are attacked at PCN level (their lowest) against places; commissioners at LSOA level against
PCNs, for the metrics whose figures go beyond a plain rate (index, DSR, mean) and plain counts.

The attacker is shown to work: on the same data released the way it was before this rule (index
and mean from exact counts), it recovers small cells.
"""

from __future__ import annotations

import pandas as pd
import pytest

from attack import AttackResult, difference, inferred_counts, parent_minus_children, true_counts
from explorer.domain import access
from explorer.domain.disclosure import DisclosurePolicy, MeanSpec, RatioSpec, apply_policy
from explorer.domain.metrics import VOCAB, Filters

pytestmark = pytest.mark.slow

FILTER_DIMENSIONS = ("age_band", "sex", "ethnic_group", "imd_quintile", "frailty", "disabled")
COMMISSIONER_METRICS = ("plans", "coverage", "adjusted_coverage", "coverage_dsr", "completeness")


def all_but_one(dimension: str) -> list[tuple[str, Filters]]:
    """Filters selecting every group of a dimension but one, labelled by the group left out."""
    groups = (False, True) if dimension == "disabled" else VOCAB[dimension]
    return [(f"{dimension}!={g}", Filters(**{dimension: tuple(x for x in groups if x != g)})) for g in groups]


def role_metrics(data, role: str) -> list[str]:
    names = [n for n, info in data.metrics.items() if info.source != "geography"]
    names = access.visible_metrics(names, role)
    return [n for n in names if n in COMMISSIONER_METRICS] if role == "commissioner" else names


#: Results per (release, policy, level, metric): strategists and social care share one policy, so
#: the figures social care sees were already attacked as the strategist's.
_DONE: dict[tuple, AttackResult] = {}


def attack_role(data, role: str, release, metrics: tuple[str, ...] | None = None) -> AttackResult:
    """Run the attack on everything `release(level, metric, filters, policy)` shows to `role`."""
    policy = access.disclosure_policy_for(role)
    level = access.policy_for(role).lowest_level
    result = AttackResult()
    for metric in metrics or role_metrics(data, role):
        key = (release.__qualname__, policy, level, metric)
        if key not in _DONE:
            _DONE[key] = attack_metric(data, metric, level, policy, release)
        result.add(_DONE[key])
    return result


def attack_metric(data, metric: str, level: str, policy: DisclosurePolicy, release) -> AttackResult:
    """"All" minus "all but one group" for every filter dimension, and parents minus children."""
    truth_policy = DisclosurePolicy(enabled=False, deprivation_level=policy.deprivation_level)
    parent_level = {"lsoa": "pcn", "pcn": "place"}[level]
    parent_of = {c: data.parent_of[c] for c in data.codes_within(level, None)}
    result = AttackResult()
    role = f"{policy.deprivation_level}-groups"
    info = data.metric(metric)

    def seen(lvl: str, flt: Filters):
        return release(lvl, metric, flt, policy)

    def truth(lvl: str, flt: Filters):
        return true_counts(metric, info, data.raw_table(lvl, metric, flt, None, truth_policy))

    views = [("all", Filters())]
    if info.filterable:
        views += [v for d in FILTER_DIMENSIONS for v in all_but_one(d)]
    whole = seen(level, Filters())
    whole_guess, whole_truth = inferred_counts(metric, info, whole), truth(level, Filters())
    for label, flt in views:
        table = seen(level, flt)
        guess, exact = inferred_counts(metric, info, table), truth(level, flt)
        if label != "all":
            result.add(difference(f"{role} {metric} {level} all-({label})", whole_guess, guess,
                                  whole_truth, exact))
        parents = inferred_counts(metric, info, seen(parent_level, flt))
        hidden = table.loc[table[f"{metric}_suppressed"].astype(bool), "area_code"].astype(str)
        result.add(parent_minus_children(f"{role} {metric} {parent_level}-{level} ({label})", parents,
                                         guess, parent_of, exact, hidden))
    return result


def released(data):
    def release(level, metric, filters, policy):
        return data.controlled(level, metric, filters, None, policy)
    return release


@pytest.mark.parametrize("role", ["strategist", "social_care", "commissioner"])
def test_no_exact_small_count_is_recovered_by_differencing(london_app_data, role: str) -> None:
    result = attack_role(london_app_data, role, released(london_app_data))
    assert result.attempts > 1000, "the attack must actually subtract released figures"
    assert result.recovered == [], f"{len(result.recovered)} exact small counts recovered: {result.recovered[:10]}"


def legacy_release(data):
    """The release rule before this one: the index from the exact expected count, the mean from
    exact counts (both kept as computed), everything else as now."""
    def release(level, metric, filters, policy):
        raw = data.raw_table(level, metric, filters, None, DisclosurePolicy.raw())
        m = metric
        if m == "adjusted_coverage":
            specs = [RatioSpec(m, denominator=None, standardised=True)]
        elif m == "completeness":
            specs = [MeanSpec(m, n=f"{m}_denominator"), f"{m}_denominator", f"{m}_numerator"]
        else:
            return data.controlled(level, metric, filters, None, policy)
        return apply_policy(raw, specs, policy, groups=[["parent_code"]])
    return release


def test_the_attacker_recovers_small_counts_from_the_previous_rule(london_app_data) -> None:
    result = attack_role(london_app_data, "strategist", legacy_release(london_app_data),
                         ("adjusted_coverage", "completeness"))
    assert len(result.recovered) >= 20, "the attack should find the leak of the previous release rule"


def test_deprivation_groups_never_isolate_an_lsoa_for_roles_without_lsoa_access(london_app_data) -> None:
    """A strategist's IMD filter or deprivation breakdown takes whole PCNs (their population-weighted
    IMD score's decile), so no difference of two requests can single out an LSOA; a commissioner,
    who may see LSOAs, keeps LSOA-based groups."""
    data = london_app_data
    strategist = access.disclosure_policy_for("strategist")
    exact = DisclosurePolicy(enabled=False, deprivation_level=strategist.deprivation_level)

    def plans(flt: Filters, policy: DisclosurePolicy):
        return data.raw_table("pcn", "plans", flt, None, policy).set_index("area_code")["plans_numerator"]

    whole = plans(Filters(), exact)
    in_some_quintile = 0 * whole
    for q in range(1, 6):
        part = plans(Filters(imd_quintile=(q,)), exact)
        assert ((part == 0) | (part == whole)).all(), f"quintile {q} splits a PCN"
        in_some_quintile += part
    assert (in_some_quintile == whole).all()
    split = 0
    for code in list(whole.index)[:25]:
        groups = data.groups_table(code, "coverage", "imd_decile", Filters(), None, strategist)
        assert (pd.to_numeric(groups["denominator"], errors="coerce").fillna(0) > 0).sum() <= 1
        lsoa_groups = data.groups_table(code, "coverage", "imd_decile", Filters(), None,
                                        access.disclosure_policy_for("commissioner"))
        split += (pd.to_numeric(lsoa_groups["denominator"], errors="coerce").fillna(0) > 0).sum() > 1
    assert split > 0, "a commissioner's deprivation groups inside a PCN come from its LSOAs"
    region = data.groups_table(None, "coverage", "imd_quintile", Filters(), None, strategist)
    assert (pd.to_numeric(region["denominator"], errors="coerce").fillna(0) > 0).sum() == 5
