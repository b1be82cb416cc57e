"""Tiny hand-made worlds in the record layouts, for the metrics and aggregation tests.

The "small world" has 14 people in 6 LSOAs with plans chosen to hit every snapshot rule; the
expected numbers quoted in the tests are worked out by hand from the tables below (snapshot
2026-10-31). Parquet parts are written directly with pyarrow (not through the generator or the
store), in the schema's column names and kinds.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from explorer.bundle.store import Bundle
from explorer.records.schema import COMPLETENESS_ITEMS, KEY_ITEMS, LAYOUTS

REGION = "E12000007"
D = dt.date.fromisoformat

# ICS I1 > places P1, P2; ICS I2 > place P3. PCNs N1 (P1), N2 (P2), N3, N4 (P3).
LSOAS = pd.DataFrame({
    "lsoa_code": ["L1", "L2", "L3", "L4", "L5", "L6"],
    "lsoa_name": ["Lsoa 1", "Lsoa 2", "Lsoa 3", "Lsoa 4", "Lsoa 5", "Lsoa 6"],
    "pcn_code": ["N1", "N1", "N2", "N3", "N4", "N4"],
    "place_code": ["P1", "P1", "P2", "P3", "P3", "P3"],
    "ics_code": ["I1", "I1", "I1", "I2", "I2", "I2"],
    "imd_decile": [1, 10, 3, 5, 2, 9],
    "imd_score": [50.0, 5.0, 35.0, 20.0, 45.0, 8.0],
    "population": [1000, 1200, 900, 1100, 1000, 800],
})


def make_bundle(directory: Path, lsoas: pd.DataFrame = LSOAS) -> Bundle:
    lsoas = lsoas.copy()
    lsoas["imd_quintile"] = (lsoas["imd_decile"] + 1) // 2
    lsoas["core20"] = lsoas["imd_decile"] <= 2
    rows = [("ics", c, f"ICS {c}", REGION) for c in sorted(lsoas["ics_code"].unique())]
    rows += [("place", c, f"Place {c}", p) for c, p in lsoas[["place_code", "ics_code"]].drop_duplicates().values]
    rows += [("pcn", c, f"PCN {c}", p) for c, p in lsoas[["pcn_code", "place_code"]].drop_duplicates().values]
    rows += [("lsoa", c, n, p) for c, n, p in lsoas[["lsoa_code", "lsoa_name", "pcn_code"]].values]
    areas = pd.DataFrame(rows, columns=["level", "area_code", "area_name", "parent_code"])
    return Bundle(directory=Path(directory), manifest={"region": "london"}, lsoas=lsoas,
                  age_sex=pd.DataFrame(columns=["lsoa_code", "sex", "age_band", "population"]), areas=areas)


def write_bundle(directory: Path, bundle: Bundle) -> None:
    """The bundle files load_bundle reads (for CLI tests)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "manifest.json").write_text(json.dumps({"region": "london"}))
    bundle.lsoas.to_parquet(directory / "lsoa.parquet", index=False)
    bundle.age_sex.to_parquet(directory / "age_sex.parquet", index=False)
    bundle.areas.to_parquet(directory / "areas.parquet", index=False)


_ARROW = {"str": pa.string(), "int": pa.int64(), "bool": pa.bool_(), "date": pa.date32(), "float": pa.float64()}


def write_table(directory: Path, name: str, rows: list[dict]) -> None:
    """One Parquet part in the layout's columns and kinds (missing optional columns left empty)."""
    folder = Path(directory) / name
    folder.mkdir(parents=True, exist_ok=True)
    if name in LAYOUTS:
        columns = LAYOUTS[name].columns
        arrays = {c: pa.array([r.get(c) for r in rows], type=_ARROW[col.kind]) for c, col in columns.items()}
    else:  # risk_scores
        arrays = {"person_id": pa.array([r["person_id"] for r in rows], pa.string()),
                  "risk": pa.array([r["risk"] for r in rows], pa.float64())}
    pq.write_table(pa.table(arrays), folder / "part-00000.parquet")


def person(pid, lsoa, sex, age, ethnic, frailty, disabled=False, admitted=False):
    return {"person_id": pid, "practice_code": "Y1", "lsoa_code": lsoa, "sex": sex, "age": age,
            "ethnic_group": ethnic, "disabled": disabled, "ltc_count": 1, "frailty": frailty,
            "admissions_prev_12m": 0, "admitted_next_12m": admitted}


def plan(plan_id, pid, lsoa, created, status="active", closed=None, period=12, items=COMPLETENESS_ITEMS,
         last_reviewed=None):
    row = {"plan_id": plan_id, "person_id": pid, "lsoa_code": lsoa, "practice_code": "Y1",
           "created_date": D(created), "last_reviewed_date": D(last_reviewed) if last_reviewed else None,
           "review_period_months": period, "status": status, "closed_date": D(closed) if closed else None}
    row.update({item: item in items for item in COMPLETENESS_ITEMS})
    return row


PEOPLE = [
    person("p1", "L1", "female", 80, "white", "moderate", True),
    person("p2", "L1", "male", 70, "black", "mild"),
    person("p3", "L1", "female", 30, "asian", "not_assessed"),
    person("p4", "L1", "male", 90, "white", "severe", True),
    person("p5", "L2", "female", 82, "white", "moderate"),
    person("p6", "L2", "male", 40, "white", "not_assessed"),
    person("p7", "L3", "female", 86, "black", "severe", True),
    person("p8", "L3", "male", 10, "mixed", "not_assessed"),
    person("p9", "L4", "female", 75, "white", "fit"),
    person("p10", "L4", "male", 66, "other", "fit"),
    person("p11", "L5", "female", 88, "asian", "severe", True),
    person("p12", "L5", "female", 50, "black", "not_assessed"),
    person("p13", "L6", "male", 79, "white", "mild"),
    person("p14", "L6", "female", 20, "white", "not_assessed"),
]
FIVE_ITEMS = ("resuscitation_decision", "preferred_place_of_care", "preferred_place_of_death", "key_contacts",
              "diagnoses")  # no ceiling_of_treatment: not key-complete
EIGHT_ITEMS = tuple(i for i in COMPLETENESS_ITEMS if i not in ("lasting_power_of_attorney", "care_needs"))
PLANS = [
    plan("c1", "p1", "L1", "2025-01-15", last_reviewed="2025-12-01"),                  # reviewed, complete
    plan("c2", "p2", "L1", "2026-10-31", period=6, items=KEY_ITEMS),                 # created on the month end
    plan("c3", "p3", "L1", "2026-09-01", status="draft"),                            # never counted
    plan("c4", "p4", "L1", "2024-06-01", status="deceased", closed="2026-08-15"),    # died mid-August
    plan("c5", "p5", "L2", "2025-03-01", status="withdrawn", closed="2026-10-31"),   # closed on the month end
    plan("c6", "p7", "L3", "2024-10-31", items=FIVE_ITEMS, last_reviewed="2025-10-31"),  # review boundary: in
    plan("c7", "p9", "L4", "2023-01-01", items=EIGHT_ITEMS, last_reviewed="2025-10-30"),  # one day late: out
    plan("c8", "p11", "L5", "2026-01-10", period=6, last_reviewed="2026-05-01"),
    plan("c9", "p13", "L6", "2026-03-01", items=()),                                  # p13's latest plan
    plan("c10", "p13", "L6", "2025-06-01"),                                           # p13's older plan
]
REVIEWS = [
    {"review_id": "r1", "plan_id": "c1", "review_date": D("2025-12-01")},
    {"review_id": "r2", "plan_id": "c6", "review_date": D("2025-10-31")},
    {"review_id": "r3", "plan_id": "c7", "review_date": D("2024-10-30")},
    {"review_id": "r4", "plan_id": "c7", "review_date": D("2025-10-30")},
    {"review_id": "r5", "plan_id": "c8", "review_date": D("2026-05-01")},
    {"review_id": "r6", "plan_id": "c1", "review_date": D("2026-11-15")},  # after the snapshot: ignored
]


def view(vid, plan_id, date, service):
    return {"view_id": vid, "plan_id": plan_id, "view_date": D(date), "service": service}


VIEWS = [
    view("v1", "c8", "2026-06-01", "ambulance"),
    view("v2", "c8", "2025-11-01", "nhs_111"),              # first day of the 12-month window
    view("v3", "c8", "2025-10-31", "emergency_department"),  # one day before it: out
    view("v4", "c8", "2026-06-02", "gp"),                   # not urgent care
    view("v5", "c1", "2026-02-01", "emergency_department"),
    view("v6", "c10", "2026-10-31", "ambulance"),           # p13's older plan, last day of the window
    view("v7", "c4", "2026-08-01", "ambulance"),            # p4 before death: counted in views
    view("v8", "c3", "2026-10-01", "ambulance"),            # a draft: never counted
]
USERS = [
    {"user_id": "u1", "organisation_code": "Y1", "organisation_type": "gp_practice", "practice_code": "Y1",
     "lsoa_code": "L1", "role": "gp"},
    {"user_id": "u2", "organisation_code": "Y1", "organisation_type": "gp_practice", "practice_code": "Y1",
     "lsoa_code": "L1", "role": "practice_nurse"},
    {"user_id": "u3", "organisation_code": "Y3", "organisation_type": "gp_practice", "practice_code": "Y3",
     "lsoa_code": "L3", "role": "gp"},
    {"user_id": "u4", "organisation_code": "RRU", "organisation_type": "ambulance_service", "practice_code": None,
     "lsoa_code": None, "role": "paramedic"},
    {"user_id": "u5", "organisation_code": "Z9", "organisation_type": "hospice", "practice_code": None,
     "lsoa_code": "E01999999", "role": "other"},
]
LOGINS = [
    {"user_id": "u1", "month": "2026-10", "logins": 3},
    {"user_id": "u2", "month": "2026-10", "logins": 12},
    {"user_id": "u4", "month": "2026-10", "logins": 20},
    {"user_id": "u5", "month": "2026-10", "logins": 1},
    {"user_id": "u3", "month": "2026-09", "logins": 11},
    {"user_id": "u1", "month": "2026-09", "logins": 10},
]
# high risk under min_probability 0.5: p1, p4 (dies), p5, p7, p11, p12
RISK = {"p1": 0.9, "p4": 0.8, "p5": 0.7, "p7": 0.6, "p11": 0.55, "p12": 0.5}


def write_small_world(directory: Path, *, risk: bool = True) -> Path:
    write_table(directory, "people", PEOPLE)
    write_table(directory, "plans", PLANS)
    write_table(directory, "plan_reviews", REVIEWS)
    write_table(directory, "plan_views", VIEWS)
    write_table(directory, "users", USERS)
    write_table(directory, "user_logins", LOGINS)
    if risk:
        write_table(directory, "risk_scores",
                    [{"person_id": p["person_id"], "risk": RISK.get(p["person_id"], 0.1)} for p in PEOPLE])
    return directory


# --------------------------------------------------------------------------- a social gradient

GRADIENT_LSOAS = pd.DataFrame({
    "lsoa_code": [f"G{q}" for q in range(1, 6)],
    "lsoa_name": [f"Gradient {q}" for q in range(1, 6)],
    "pcn_code": ["GN1", "GN1", "GN2", "GN2", "GN2"],
    "place_code": ["GP1"] * 5,
    "ics_code": ["GI1"] * 5,
    "imd_decile": [1, 3, 5, 7, 9],  # quintiles 1..5
    "imd_score": [50.0, 35.0, 20.0, 12.0, 5.0],
    "population": [200] * 5,
})


def write_gradient_world(directory: Path, plans_per_quintile=(10, 20, 30, 40, 50), people_per_lsoa: int = 200
                         ) -> Path:
    """people_per_lsoa people in each of 5 LSOAs (quintiles 1..5), ages spread 0-99, with the first
    plans_per_quintile[q] people of each LSOA holding an active plan."""
    people, plans = [], []
    for q in range(1, 6):
        for i in range(people_per_lsoa):
            pid = f"g{q}-{i}"
            age = (i * 7) % 100
            people.append(person(pid, f"G{q}", ("female", "male")[i % 2], age, "white",
                                 "moderate" if age >= 65 else "not_assessed"))
            if i < plans_per_quintile[q - 1]:
                plans.append(plan(f"gc{q}-{i}", pid, f"G{q}", "2026-01-01"))
    write_table(directory, "people", people)
    write_table(directory, "plans", plans)
    return directory
