"""Roles: which levels, content and capabilities each may see; fail closed on anything unknown."""

from __future__ import annotations

import pandas as pd
import pytest

from explorer.domain.access import (
    CLINICAL_FIELDS,
    LEVELS,
    ROLE_POLICIES,
    AccessDenied,
    Capability,
    Role,
    check_level,
    disclosure_policy_for,
    is_clinical,
    permits,
    policy_for,
    strip_clinical_columns,
    visible_metrics,
)


def test_levels_run_from_largest_to_smallest_area() -> None:
    assert LEVELS == ("ics", "place", "pcn", "lsoa")


def test_every_role_has_a_policy() -> None:
    assert set(ROLE_POLICIES) == set(Role)
    assert all(ROLE_POLICIES[r].role is r for r in Role)


@pytest.mark.parametrize(
    ("role", "levels"),
    [
        (Role.ANALYST, ("ics", "place", "pcn", "lsoa")),
        (Role.COMMISSIONER, ("ics", "place", "pcn", "lsoa")),
        (Role.STRATEGIST, ("ics", "place", "pcn")),
        (Role.SOCIAL_CARE, ("ics", "place", "pcn")),
    ],
)
def test_each_roles_levels(role: Role, levels: tuple[str, ...]) -> None:
    assert policy_for(role).levels == levels
    for level in levels:
        check_level(role, level)  # must not raise
    for level in set(LEVELS) - set(levels):
        with pytest.raises(AccessDenied):
            check_level(role, level)


def test_access_denied_message_names_role_and_level() -> None:
    with pytest.raises(AccessDenied) as info:
        check_level(Role.STRATEGIST, "lsoa")
    assert str(info.value) == (
        "Role 'strategist' may not see LSOA-level data; the lowest level it may see is PCN."
    )
    assert info.value.role == "strategist" and info.value.level == "lsoa"


def test_social_care_denial_message() -> None:
    with pytest.raises(AccessDenied, match=r"Role 'social_care' may not see LSOA-level data"):
        check_level("social_care", "lsoa")


def test_roles_accept_plain_strings_and_unknown_roles_fail_closed() -> None:
    check_level("commissioner", "lsoa")
    with pytest.raises(AccessDenied, match="Unknown role 'admin'"):
        check_level("admin", "ics")
    with pytest.raises(AccessDenied):
        permits("guest", Capability.OUTREACH)


def test_unknown_level_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="Unknown level 'msoa'"):
        check_level(Role.ANALYST, "msoa")


@pytest.mark.parametrize(
    ("role", "clinical", "diagnostics", "outreach", "raw"),
    [
        (Role.ANALYST, True, True, True, True),
        (Role.COMMISSIONER, True, False, True, False),
        (Role.STRATEGIST, True, False, False, False),
        (Role.SOCIAL_CARE, False, False, False, False),
    ],
)
def test_capabilities(
    role: Role, clinical: bool, diagnostics: bool, outreach: bool, raw: bool
) -> None:
    assert permits(role, Capability.CLINICAL_CONTENT) is clinical
    assert permits(role, "model_diagnostics") is diagnostics
    assert permits(role, Capability.OUTREACH) is outreach
    assert permits(role, Capability.RAW_COUNTS) is raw
    assert policy_for(role).suppress is (not raw)


def test_unknown_capability_is_rejected() -> None:
    with pytest.raises(ValueError):
        permits(Role.ANALYST, "delete_everything")


@pytest.mark.parametrize(
    ("role", "enabled"),
    [
        (Role.ANALYST, False),
        (Role.COMMISSIONER, True),
        (Role.STRATEGIST, True),
        (Role.SOCIAL_CARE, True),
    ],
)
def test_disclosure_policy_follows_role(role: Role, enabled: bool) -> None:
    assert disclosure_policy_for(role).enabled is enabled


@pytest.mark.parametrize("role", list(Role))
def test_publication_is_always_controlled(role: Role) -> None:
    pol = disclosure_policy_for(role, publication=True)
    assert pol.enabled and pol.threshold == 7 and pol.rounding_base == 5


def test_clinical_fields() -> None:
    assert CLINICAL_FIELDS == {
        "resuscitation_decision", "ceiling_of_treatment", "diagnoses", "medications",
    }


@pytest.mark.parametrize(
    ("name", "clinical"),
    [
        ("resuscitation_decision", True),
        ("resuscitation_decision_pct", True),
        ("ceiling_of_treatment_recorded_lower", True),
        ("medications_numerator", True),
        ("has_diagnoses", True),
        ("Diagnoses_Count", True),
        ("coverage", False),
        ("population", False),
        ("resuscitation", False),  # part of a field is not the field
        ("diagnosesx", False),
    ],
)
def test_is_clinical(name: str, clinical: bool) -> None:
    assert is_clinical(name) is clinical


@pytest.fixture
def wide() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area_code": ["P1"],
            "coverage": [0.4],
            "resuscitation_decision": [0.3],
            "resuscitation_decision_suppressed": [False],
            "ceiling_of_treatment_lower": [0.1],
            "medications_numerator": [40],
            "diagnoses": [0.9],
        }
    )


def test_social_care_loses_clinical_columns(wide: pd.DataFrame) -> None:
    out = strip_clinical_columns(wide, Role.SOCIAL_CARE)
    assert list(out.columns) == ["area_code", "coverage"]
    assert list(wide.columns)[2] == "resuscitation_decision"  # input untouched


@pytest.mark.parametrize("role", [Role.ANALYST, Role.COMMISSIONER, Role.STRATEGIST])
def test_other_roles_keep_clinical_columns(wide: pd.DataFrame, role: Role) -> None:
    pd.testing.assert_frame_equal(strip_clinical_columns(wide, role), wide)


def test_long_tables_lose_clinical_metric_rows_for_social_care() -> None:
    long = pd.DataFrame(
        {"metric": ["coverage", "medications_reviewed", "ceiling_of_treatment"], "value": [1, 2, 3]}
    )
    out = strip_clinical_columns(long, "social_care", metric_col="metric")
    assert out["metric"].tolist() == ["coverage"]
    kept = strip_clinical_columns(long, "commissioner", metric_col="metric")
    assert kept["metric"].tolist() == long["metric"].tolist()


def test_visible_metrics_for_menus() -> None:
    names = ["coverage", "diagnoses", "plans_reviewed", "medications"]
    assert visible_metrics(names, Role.SOCIAL_CARE) == ["coverage", "plans_reviewed"]
    assert visible_metrics(names, Role.STRATEGIST) == names


def test_role_policies_cannot_be_changed_at_runtime() -> None:
    with pytest.raises(TypeError):
        ROLE_POLICIES[Role.SOCIAL_CARE] = ROLE_POLICIES[Role.ANALYST]  # type: ignore[index]
    with pytest.raises(AttributeError):
        ROLE_POLICIES[Role.SOCIAL_CARE].clinical_content = True  # type: ignore[misc]


# --------------------------------------------------------------------------- clinical-content-derived metrics


@pytest.mark.parametrize("name", ["completeness", "completeness_lower", "completeness_numerator", "key_complete",
                                  "kc_reviewed", "kc_reviewed_viewed", "items_sum", "items_sumsq"])
def test_metrics_built_on_clinical_items_are_clinical(name: str) -> None:
    """Completeness counts the resuscitation decision and ceiling of treatment; the cascade's
    'plan complete' step and the steps after it count only plans with all key items."""
    assert is_clinical(name)


@pytest.mark.parametrize("name", ["plans", "coverage", "reviewed", "reviewed_in_period", "urgent_care_views",
                                  "people", "high_risk_plan_coverage"])
def test_plan_metrics_not_built_on_clinical_items_are_not(name: str) -> None:
    assert not is_clinical(name)


def test_every_clinical_cascade_step_is_a_cascade_measure_after_plans() -> None:
    from explorer.domain.access import CLINICAL_CASCADE_MEASURES, CLINICAL_METRICS
    from explorer.domain.metrics import CASCADE_STEPS, METRICS

    measures = [m for m, _ in CASCADE_STEPS]
    assert measures[measures.index("key_complete"):] == list(CLINICAL_CASCADE_MEASURES)
    assert [m for m in measures if not is_clinical(m)] == ["people", "plans"]
    assert CLINICAL_METRICS <= set(METRICS)


def test_social_care_is_refused_completeness_and_others_are_not() -> None:
    from explorer.domain.access import check_clinical

    with pytest.raises(AccessDenied, match="completeness"):
        check_clinical(Role.SOCIAL_CARE, ["coverage", "completeness"])
    check_clinical(Role.SOCIAL_CARE, ["coverage", "plans"])
    for role in (Role.ANALYST, Role.COMMISSIONER, Role.STRATEGIST):
        check_clinical(role, ["completeness"])
    assert visible_metrics(["coverage", "completeness", "plans"], Role.SOCIAL_CARE) == ["coverage", "plans"]


def test_social_care_cascade_rows_stop_at_has_a_plan() -> None:
    from explorer.domain.metrics import cascade_table

    sums = {"people": 100, "plans": 60, "key_complete": 40, "kc_reviewed": 30, "kc_reviewed_viewed": 10}
    table = cascade_table(sums)
    assert strip_clinical_columns(table, Role.SOCIAL_CARE, metric_col="measure")["measure"].tolist() == \
        ["people", "plans"]
    assert len(strip_clinical_columns(table, Role.COMMISSIONER, metric_col="measure")) == 5
