"""Layouts of the person-level extracts: the synthetic demo writes them, real extracts are imported
into them, and the metrics engine reads them. One definition, so the three cannot drift apart.

All tables are stored as Parquet under `<data_dir>/records/<region>/<table>/` (one or more part
files per table, so national data can be written and read in chunks). Dates are ISO dates.
The reference ("extract") date of the demo is 2026-10-31; the history covers the 24 months before.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from explorer.vocab import (  # noqa: F401 - the layouts' values
    AGE_BANDS, COMPLETENESS_ITEMS, ETHNIC_CODES, ETHNIC_GROUPS, ETHNIC_LABELS, ETHNIC_NOT_STATED, FRAILTY, KEY_ITEMS,
    ORGANISATION_TYPES, SEXES,
)

EXTRACT_DATE = "2026-10-31"
HISTORY_MONTHS = 24

PLAN_STATUSES = ("active", "draft", "withdrawn", "deceased")
URGENT_CARE_SERVICES = ("ambulance", "nhs_111", "emergency_department")
VIEW_SERVICES = (*URGENT_CARE_SERVICES, "gp", "community", "hospice", "social_care")
#: How an extract may say a coded value was not recorded (compared lower-case, spaces and dashes as
#: "_"): the NHS Data Dictionary's "not stated" (Z) and "not known" (99), and common spellings. Only
#: columns with a ``not_stated`` value accept them (a blank too), and the import counts them.
NOT_STATED_WORDS = ("not_stated", "not_known", "unknown", "not_recorded", "z", "99", "refused", "prefer_not_to_say")
NOT_STATED_EMPTY = ""
"""``Column.not_stated`` of a yes/no column: a not-stated value is stored empty (unknown)."""

USER_ROLES = ("gp", "practice_nurse", "consultant", "paramedic", "call_handler", "community_nurse",
              "social_worker", "other")


def age_band(age: int) -> str:
    for band in reversed(AGE_BANDS):
        low = int(band.rstrip("+").split("-")[0])
        if age >= low:
            return band
    raise ValueError(f"age {age} is negative")


@dataclass(frozen=True)
class Column:
    kind: str  # "str", "int", "bool", "date", "float"
    doc: str
    required: bool = True
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    not_stated: str | None = None
    """What a "not stated"/unknown value (NOT_STATED_WORDS, or blank) is stored as; None: refused."""


@dataclass(frozen=True)
class Layout:
    name: str
    doc: str
    key: str
    columns: dict[str, Column] = field(default_factory=dict)


PEOPLE = Layout(
    "people",
    "One row per registered person: GP registration and risk-factor extract, as at the extract date.",
    key="person_id",
    columns={
        "person_id": Column("str", "pseudonymous person identifier"),
        "practice_code": Column("str", "ODS code of the registered GP practice"),
        "lsoa_code": Column("str", "LSOA 2021 of residence (2011 codes are converted on import)"),
        "sex": Column("str", "sex as recorded (not stated is refused: the Census denominators and the "
                      "age-sex standardisation need it, and GP registrations always carry it)", allowed=SEXES),
        "age": Column("int", "age in whole years at the extract date", minimum=0, maximum=115),
        "ethnic_group": Column("str", "Census 2021 5-category ethnic group; not stated, not known or blank is "
                               "stored as not_stated and counted", allowed=ETHNIC_CODES,
                               not_stated=ETHNIC_NOT_STATED),
        "disabled": Column("bool", "disabled under the Equality Act (recorded); not known or blank is stored "
                           "empty (unknown) and counted", not_stated=NOT_STATED_EMPTY),
        "ltc_count": Column("int", "number of long-term conditions", minimum=0, maximum=20),
        "frailty": Column("str", "electronic frailty index category (65+), else not_assessed; not known or "
                          "blank is stored as not_assessed and counted", allowed=FRAILTY, not_stated="not_assessed"),
        "admissions_prev_12m": Column("int", "emergency admissions in the 12 months before the extract date",
                                      minimum=0, maximum=100),
        "admitted_next_12m": Column("bool", "emergency admission in the 12 months after the index date "
                                    "(the risk model's outcome; in real data from a later admissions extract)",
                                    required=False),
    },
)

PLANS = Layout(
    "plans",
    "One row per advance and urgent care plan (CMC-like), with its ten completeness items.",
    key="plan_id",
    columns={
        "plan_id": Column("str", "pseudonymous plan identifier"),
        "person_id": Column("str", "the person the plan is for"),
        "lsoa_code": Column("str", "LSOA 2021 of the person's residence"),
        "practice_code": Column("str", "ODS code of the person's GP practice"),
        "created_date": Column("date", "date the plan was first published"),
        "last_reviewed_date": Column("date", "date of the latest review (empty if never reviewed)", required=False),
        "review_period_months": Column("int", "agreed review period", minimum=1, maximum=24),
        "status": Column("str", "plan status at the extract date", allowed=PLAN_STATUSES),
        "closed_date": Column("date", "date the plan stopped being live (death or withdrawal)", required=False),
        **{item: Column("bool", f"completeness item: {item.replace('_', ' ')} recorded") for item in
           COMPLETENESS_ITEMS},
    },
)

PLAN_REVIEWS = Layout(
    "plan_reviews",
    "One row per review of a plan, so that '% reviewed within period' can be taken at any month end.",
    key="review_id",
    columns={
        "review_id": Column("str", "identifier of the review"),
        "plan_id": Column("str", "the plan reviewed"),
        "review_date": Column("date", "date of the review"),
    },
)

PLAN_VIEWS = Layout(
    "plan_views",
    "One row per view of a plan by a service.",
    key="view_id",
    columns={
        "view_id": Column("str", "identifier of the view event"),
        "plan_id": Column("str", "the plan viewed"),
        "view_date": Column("date", "date of the view"),
        "service": Column("str", "service that viewed it", allowed=VIEW_SERVICES),
    },
)

USERS = Layout(
    "users",
    "One row per clinician user of the care-plan system.",
    key="user_id",
    columns={
        "user_id": Column("str", "pseudonymous user identifier"),
        "organisation_code": Column("str", "ODS code of the user's organisation (practice or trust)"),
        "organisation_type": Column("str", "kind of organisation", allowed=ORGANISATION_TYPES),
        "practice_code": Column("str", "ODS code of the practice, for practice users", required=False),
        "lsoa_code": Column("str", "LSOA 2021 where the organisation is (practices: their site)", required=False),
        "role": Column("str", "professional role", allowed=USER_ROLES),
    },
)

USER_LOGINS = Layout(
    "user_logins",
    "Logins per user per calendar month.",
    key="user_id,month",
    columns={
        "user_id": Column("str", "the user"),
        "month": Column("str", "calendar month, YYYY-MM"),
        "logins": Column("int", "number of logins in the month", minimum=0, maximum=10_000),
    },
)

ADMISSIONS = Layout(
    "admissions",
    "One row per emergency hospital admission (SUS/HES-like extract), from which people's admission "
    "history and outcome are derived.",
    key="admission_id",
    columns={
        "admission_id": Column("str", "identifier of the admission (spell)"),
        "person_id": Column("str", "the person admitted"),
        "admission_date": Column("date", "date of admission"),
        "admission_method": Column("str", "emergency admission method (HES ADMIMETH 21-2D)", required=False),
    },
)

LAYOUTS: dict[str, Layout] = {
    t.name: t for t in (PEOPLE, PLANS, PLAN_REVIEWS, PLAN_VIEWS, USERS, USER_LOGINS, ADMISSIONS)
}
