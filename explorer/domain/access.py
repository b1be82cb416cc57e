"""Roles and what each may see, like a shared care record: each user sees only what is appropriate.

Checks here are called inside every callback and export (endpoints can be called directly,
so hiding a control in the layout is not enough). Unknown roles, levels and capabilities
fail closed. Pure Python/pandas: nothing here knows about Dash.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

import pandas as pd

from explorer.domain.disclosure import DisclosurePolicy
from explorer.vocab import LEVEL_SHORT_LABELS, LEVELS

__all__ = [
    "CLINICAL_CASCADE_MEASURES",
    "CLINICAL_DERIVED",
    "CLINICAL_FIELDS",
    "CLINICAL_METRICS",
    "LEVELS",
    "LEVEL_LABELS",
    "ROLE_POLICIES",
    "AccessDenied",
    "Capability",
    "Role",
    "RolePolicy",
    "check_clinical",
    "check_level",
    "deprivation_groups_note",
    "disclosure_policy_for",
    "is_clinical",
    "permits",
    "policy_for",
    "strip_clinical_columns",
    "visible_metrics",
]

LEVEL_LABELS = LEVEL_SHORT_LABELS  # in messages: "may not see LSOA-level data"

CLINICAL_FIELDS: frozenset[str] = frozenset(
    {"resuscitation_decision", "ceiling_of_treatment", "diagnoses", "medications"}
)
"""Clinical plan-content items; metrics and columns derived from them are clinical too."""

CLINICAL_METRICS: frozenset[str] = frozenset({"completeness", "plans_missing_key_items"})
"""Metrics computed from clinical content: plan completeness counts the 10 completeness items, which
include the resuscitation decision and the ceiling of treatment (so do its ``items_sum`` parts);
plans missing a key item count the key items, which include both."""

CLINICAL_CASCADE_MEASURES: tuple[str, ...] = ("key_complete", "kc_reviewed", "kc_reviewed_viewed")
"""Cascade steps (explorer.domain.metrics.CASCADE_STEPS) built on "all key items recorded": the
complete step and every step after it counts only plans whose key clinical items are recorded."""

CLINICAL_DERIVED: frozenset[str] = frozenset({*CLINICAL_METRICS, *CLINICAL_CASCADE_MEASURES,
                                              "items_sum", "items_sumsq"})
"""Every metric or measure name derived from clinical content: one list, used by :func:`is_clinical`
(and so by the app, the CLI and exports alike)."""


class Role(StrEnum):
    """Who is looking: decides levels, suppression and which content is visible."""

    ANALYST = "analyst"
    COMMISSIONER = "commissioner"
    STRATEGIST = "strategist"
    SOCIAL_CARE = "social_care"


class Capability(StrEnum):
    """Things a role may or may not do, checked with :func:`permits`."""

    CLINICAL_CONTENT = "clinical_content"
    MODEL_DIAGNOSTICS = "model_diagnostics"
    OUTREACH = "outreach"
    RAW_COUNTS = "raw_counts"


class AccessDenied(Exception):
    """The role may not see this; ``str(exc)`` is a message fit to show the user."""

    def __init__(self, message: str, *, role: str | None = None, level: str | None = None):
        super().__init__(message)
        self.message = message
        self.role = role
        self.level = level


@dataclass(frozen=True)
class RolePolicy:
    """Everything a role is allowed, in one place so callbacks and exports agree."""

    role: Role
    allowed_levels: frozenset[str]
    suppress: bool
    clinical_content: bool
    model_diagnostics: bool
    outreach: bool

    @property
    def levels(self) -> tuple[str, ...]:
        """Allowed levels in hierarchy order (largest area first)."""
        return tuple(lv for lv in LEVELS if lv in self.allowed_levels)

    @property
    def lowest_level(self) -> str:
        """The smallest area level this role may see."""
        return self.levels[-1]


_ALL = frozenset(LEVELS)
_NO_LSOA = frozenset({"ics", "place", "pcn"})

ROLE_POLICIES: Mapping[Role, RolePolicy] = MappingProxyType(
    {
        Role.ANALYST: RolePolicy(Role.ANALYST, _ALL, False, True, True, True),
        Role.COMMISSIONER: RolePolicy(Role.COMMISSIONER, _ALL, True, True, False, True),
        Role.STRATEGIST: RolePolicy(Role.STRATEGIST, _NO_LSOA, True, True, False, False),
        Role.SOCIAL_CARE: RolePolicy(Role.SOCIAL_CARE, _NO_LSOA, True, False, False, False),
    }
)


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise AccessDenied(
            f"Unknown role {str(role)!r}; no data can be shown.", role=str(role)
        ) from None


def policy_for(role: Role | str) -> RolePolicy:
    """The :class:`RolePolicy` for a role (AccessDenied for an unknown role)."""
    return ROLE_POLICIES[_role(role)]


def check_level(role: Role | str, level: str) -> None:
    """Raise AccessDenied unless ``role`` may see data at ``level``."""
    pol = policy_for(role)
    if level not in LEVELS:
        raise ValueError(f"Unknown level {level!r}; expected one of {', '.join(LEVELS)}.")
    if level not in pol.allowed_levels:
        raise AccessDenied(
            f"Role '{pol.role}' may not see {LEVEL_LABELS[level]}-level data; "
            f"the lowest level it may see is {LEVEL_LABELS[pol.lowest_level]}.",
            role=str(pol.role),
            level=level,
        )


def permits(role: Role | str, capability: Capability | str) -> bool:
    """Whether ``role`` has ``capability`` (ValueError for an unknown capability)."""
    pol = policy_for(role)
    cap = Capability(capability)
    return {
        Capability.CLINICAL_CONTENT: pol.clinical_content,
        Capability.MODEL_DIAGNOSTICS: pol.model_diagnostics,
        Capability.OUTREACH: pol.outreach,
        Capability.RAW_COUNTS: not pol.suppress,
    }[cap]


def disclosure_policy_for(role: Role | str, publication: bool = False) -> DisclosurePolicy:
    """Disclosure policy for a role; anything published is controlled whatever the role."""
    pol = policy_for(role)
    # deprivation groups of whole areas the role may see: an LSOA never stands alone in a group
    level = "lsoa" if "lsoa" in pol.allowed_levels else pol.lowest_level
    if publication or pol.suppress:
        return DisclosurePolicy(deprivation_level=level)
    return DisclosurePolicy.raw()


def deprivation_groups_note(policy: DisclosurePolicy) -> str:
    """How deprivation groups are formed under ``policy``, for labels next to IMD filters and
    gradients ("" when they are LSOAs by their own decile)."""
    level = policy.deprivation_level
    if level == "lsoa":
        return ""
    return (f"groups of whole {LEVEL_LABELS[level]}s by their population-weighted IMD 2025 score: "
            "your role does not see LSOAs")


def is_clinical(name: object) -> bool:
    """True if a column/metric name is, or is derived from, a clinical plan-content field.

    Matches a field, or a name in :data:`CLINICAL_DERIVED`, as a run of ``_``-separated words
    anywhere in the name (so ``medications_pct``, ``has_ceiling_of_treatment`` and
    ``completeness_lower`` all match), which is stricter than a prefix test: stripping too much is
    safe, too little is not.
    """
    words = str(name).lower().split("_")
    for field in CLINICAL_FIELDS | CLINICAL_DERIVED:
        target = field.split("_")
        k = len(target)
        if any(words[i : i + k] == target for i in range(len(words) - k + 1)):
            return True
    return False


def check_clinical(role: Role | str, names: Iterable[str]) -> None:
    """AccessDenied if ``role`` asks for a metric or measure derived from clinical content it may not see."""
    if permits(role, Capability.CLINICAL_CONTENT):
        return
    clinical = [str(n) for n in names if is_clinical(n)]
    if clinical:
        raise AccessDenied(f"Role '{policy_for(role).role}' may not see metrics built from clinical plan "
                           f"content ({', '.join(clinical)}).", role=str(role))


def strip_clinical_columns(
    table: pd.DataFrame, role: Role | str, *, metric_col: str | None = None
) -> pd.DataFrame:
    """Drop clinical columns (and, in long tables, rows whose ``metric_col`` is clinical).

    Roles with clinical content get the table back unchanged.
    """
    if permits(role, Capability.CLINICAL_CONTENT):
        return table
    out = table.drop(columns=[c for c in table.columns if is_clinical(c)])
    if metric_col is not None and metric_col in out.columns:
        out = out[~out[metric_col].map(is_clinical).astype(bool)]
    return out


def visible_metrics(names: Iterable[str], role: Role | str) -> list[str]:
    """The metric names ``role`` may see, in their given order (for menus and exports)."""
    allowed = permits(role, Capability.CLINICAL_CONTENT)
    return [n for n in names if allowed or not is_clinical(n)]
