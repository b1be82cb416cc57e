"""A seeded random world in the record layouts, for the engine-equality and release tests.

Bigger and messier than the hand-made small world (tests/careplan_world.py), in its 6 LSOAs and
areas: a few thousand people, several plans per person in every status (closed and unclosed,
withdrawn, deceased, drafts), reviews, urgent and other views, plans of people not in the people
table, risk scores rounded to two decimals (many ties at any top-N% cut-off), users and logins.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
from careplan_world import LSOAS, person, plan, view, write_table

from explorer.records.schema import COMPLETENESS_ITEMS, LAYOUTS

STATUSES = ("active", "active", "active", "draft", "withdrawn", "deceased")
SERVICES = ("ambulance", "nhs_111", "emergency_department", "gp")


def _allowed(table: str, column: str) -> tuple:
    return tuple(LAYOUTS[table].columns[column].allowed)


def _day(rng: np.random.Generator, start: str = "2024-06-01", days: int = 900) -> str:
    return (dt.date.fromisoformat(start) + dt.timedelta(days=int(rng.integers(days)))).isoformat()


def write_random_world(directory: Path, people: int = 3000, seed: int = 18) -> Path:
    rng = np.random.default_rng(seed)
    lsoas = LSOAS["lsoa_code"].tolist()
    sexes, ethnic, frailty = (_allowed("people", c) for c in ("sex", "ethnic_group", "frailty"))
    rows, plans, reviews, views, scores = [], [], [], [], []
    for i in range(people):
        pid = f"q{i:05d}"
        lsoa = lsoas[int(rng.integers(len(lsoas)))]
        rows.append(person(pid, lsoa, sexes[i % len(sexes)], int(rng.integers(0, 100)), ethnic[int(rng.integers(len(ethnic)))],
                           frailty[int(rng.integers(len(frailty)))], bool(rng.random() < 0.2), bool(rng.random() < 0.1)))
        scores.append({"person_id": pid, "risk": round(float(rng.beta(1, 6)), 2)})
        for j in range(int(rng.choice([0, 0, 1, 1, 2]))):
            status = STATUSES[int(rng.integers(len(STATUSES)))]
            created = _day(rng)
            closed = _day(rng, created, 500) if status != "active" and rng.random() < 0.7 else None
            items = tuple(c for c in COMPLETENESS_ITEMS if rng.random() < 0.8)
            plan_id = f"{pid}-{j}"
            plans.append(plan(plan_id, pid, lsoa, created, status=status, closed=closed,
                              period=int(rng.choice([6, 12])), items=items,
                              last_reviewed=_day(rng, created, 300) if rng.random() < 0.5 else None))
            for k in range(int(rng.integers(3))):
                reviews.append({"review_id": f"r{plan_id}-{k}", "plan_id": plan_id, "review_date": dt.date.fromisoformat(_day(rng, created, 600))})
            for k in range(int(rng.integers(4))):
                views.append(view(f"v{plan_id}-{k}", plan_id, _day(rng, "2025-01-01", 700),
                                  SERVICES[int(rng.integers(len(SERVICES)))]))
    for i in range(40):  # plans of people who left (not in the people table)
        plans.append(plan(f"gone{i}", f"gone{i}", lsoas[i % len(lsoas)], _day(rng)))
    users = [{"user_id": f"u{i}", "organisation_code": "Y1", "organisation_type": "gp_practice", "practice_code": "Y1",
              "lsoa_code": lsoas[i % len(lsoas)] if i % 7 else None, "role": "gp"} for i in range(60)]
    logins = [{"user_id": f"u{i}", "month": f"2026-{m:02d}", "logins": int(rng.integers(0, 20))}
              for i in range(60) for m in range(1, 11) if rng.random() < 0.6]
    extra = np.random.default_rng(seed + 1)  # model inputs beyond careplan_world.person, drawn apart
    for row in rows:
        row["ltc_count"], row["admissions_prev_12m"] = int(extra.integers(0, 8)), int(extra.choice([0, 0, 0, 1, 2, 4]))
    for name, table in (("people", rows), ("plans", plans), ("plan_reviews", reviews), ("plan_views", views),
                        ("risk_scores", scores), ("users", users), ("user_logins", logins)):
        write_table(directory, name, table)
    return directory


def write_world_model(records: Path, path: Path) -> Path:
    """A risk model fitted (lightly penalised) on the world's people, saved as the JSON file
    `explorer model train` writes, and the risk_scores table that train_region writes beside the
    records from it (score_people with the bundle's deciles): the stored scores to compare with."""
    import pandas as pd

    from explorer.domain.risk import fit_risk_model, join_deprivation, score_people
    from explorer.services.models import save_model, write_risk_scores

    people = pd.read_parquet(records / "people")
    model, _ = fit_risk_model(join_deprivation(people, LSOAS), C=1.0)
    shutil.rmtree(records / "risk_scores", ignore_errors=True)
    write_risk_scores(records, score_people(model, [people], LSOAS.set_index("lsoa_code")["imd_decile"]))
    return save_model(model, path)
