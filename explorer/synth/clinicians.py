"""Seeded synthetic clinician users (USERS) and their monthly logins (USER_LOGINS).

2-8 clinical users per GP practice, plus users in acute trusts, the ambulance service, NHS 111,
community trusts, hospices, care homes and local authorities (synthetic ODS-like codes,
ORGANISATIONS). Monthly logins are gamma-Poisson with a lognormal user-level activity, calibrated
so that about 55% of users log in at least once in a month and about 12% more than 10 times (CMC
outcome measures). Only months with at least one login are rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from explorer.bundle.store import Bundle
from explorer.records.schema import EXTRACT_DATE, HISTORY_MONTHS, USERS
from explorer.synth import cohort
from explorer.synth.draws import choose, labels_at, largest_remainder

# Organisations other than practices: one per `per_people` residents (at least one per ICS where
# `per_ics`), users per organisation uniform in `users`, roles with shares.
ORGANISATIONS = {
    "gp_practice": {"users": (2, 8), "roles": {"gp": 0.45, "practice_nurse": 0.35, "other": 0.20}},
    "acute_trust": {"prefix": "RZ", "digits": 3, "per_people": 450_000, "users": (40, 150),
                    "roles": {"consultant": 0.55, "other": 0.45}},
    "ambulance_service": {"prefix": "RZA", "digits": 2, "per_people": 6_000_000, "users": (150, 400),
                          "roles": {"paramedic": 0.85, "call_handler": 0.15}},
    "nhs_111": {"prefix": "NZ1", "digits": 2, "per_ics": True, "users": (40, 100),
                "roles": {"call_handler": 0.80, "other": 0.20}},
    "community_trust": {"prefix": "RZC", "digits": 2, "per_ics": True, "users": (30, 100),
                        "roles": {"community_nurse": 0.80, "other": 0.20}},
    "hospice": {"prefix": "NZH", "digits": 3, "per_people": 450_000, "users": (8, 30),
                "roles": {"consultant": 0.30, "community_nurse": 0.50, "other": 0.20}},
    "care_home": {"prefix": "VZ", "digits": 4, "per_people": 25_000, "users": (1, 4),
                  "roles": {"other": 0.70, "community_nurse": 0.30}},
    "local_authority": {"prefix": "LZ", "digits": 3, "per_place": True, "users": (5, 20),
                        "roles": {"social_worker": 1.0}},
}
LOGINS = {
    "activity_log_median": {"gp": 0.5, "practice_nurse": 0.2, "consultant": 0.2, "paramedic": 1.5,
                            "call_handler": 1.7, "community_nurse": 0.9, "social_worker": 0.2, "other": -0.1},
    "activity_log_sd": 1.9,  # between users
    "month_gamma_shape": 1.2,  # month-to-month variation within a user
    "monthly_growth": 0.01,  # use grows about 1% a month over the window
}


def _site_lsoa(bundle: Bundle) -> pd.Series:
    """Each practice's site: the LSOA holding most of its registered patients."""
    shares = bundle.practice_shares.sort_values(["practice_code", "patients", "lsoa_code"],
                                                ascending=[True, False, True])
    return shares.drop_duplicates("practice_code").set_index("practice_code")["lsoa_code"]


def make_users(bundle: Bundle, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng([seed, 6])
    lsoas = bundle.lsoas.sort_values("lsoa_code", ignore_index=True)
    population = int(lsoas["population"].sum())
    orgs = []  # (organisation_code, type, practice_code, lsoa_code)
    sites = _site_lsoa(bundle)
    practices = bundle.practices
    if "in_region" in practices:  # real registrations: the region's own practices, not every one with a patient here
        practices = practices[practices["in_region"]]
    for code in sorted(practices["practice_code"]):
        orgs.append((code, "gp_practice", code, sites.get(code)))
    ics_pop = lsoas.groupby("ics_code")["population"].sum().sort_index()
    place_pop = lsoas.groupby("place_code")["population"].sum().sort_index()
    for kind, spec in ORGANISATIONS.items():
        if kind == "gp_practice":
            continue
        if spec.get("per_place"):
            homes = list(place_pop.index)
            column = "place_code"
        else:
            column = "ics_code"
            if spec.get("per_ics"):
                homes = list(ics_pop.index)
            else:
                count = max(1, round(population / spec["per_people"]))
                per_ics = largest_remainder(ics_pop.to_numpy(float), count)
                homes = [ics for ics, k in zip(ics_pop.index, per_ics) for _ in range(k)]
        for number, home in enumerate(homes, start=1):
            pool = lsoas[lsoas[column] == home]
            site = pool["lsoa_code"].to_numpy()[rng.choice(len(pool), p=pool["population"] / pool["population"].sum())]
            orgs.append((f"{spec['prefix']}{number:0{spec['digits']}d}", kind, None, site))
    frames = []
    for code, kind, practice, site in orgs:
        spec = ORGANISATIONS[kind]
        k = int(rng.integers(spec["users"][0], spec["users"][1] + 1))
        frames.append((code, kind, practice, site, labels_at(spec["roles"], choose(rng, spec["roles"], k))))
    users = pd.DataFrame({
        "organisation_code": np.repeat([f[0] for f in frames], [len(f[4]) for f in frames]),
        "organisation_type": np.repeat([f[1] for f in frames], [len(f[4]) for f in frames]),
        "practice_code": pd.Series(np.repeat(np.asarray([f[2] for f in frames], dtype=object),
                                             [len(f[4]) for f in frames])),
        "lsoa_code": np.repeat([f[3] for f in frames], [len(f[4]) for f in frames]),
        "role": pd.concat([f[4] for f in frames], ignore_index=True),
    })
    users.insert(0, "user_id", cohort.make_ids("U", 0, len(users), cohort.id_keys(seed, 6)))
    for column in ("organisation_code", "organisation_type", "practice_code", "lsoa_code", "role"):
        users[column] = users[column].astype("str")
    return users[list(USERS.columns)]


def months() -> list[str]:
    """The HISTORY_MONTHS calendar months of the window, oldest first ('YYYY-MM')."""
    last = np.datetime64(EXTRACT_DATE[:7], "M")
    return [str(m) for m in np.arange(last - HISTORY_MONTHS + 1, last + 1)]


def make_logins(users: pd.DataFrame, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng([seed, 7])
    lg = LOGINS
    n, m = len(users), HISTORY_MONTHS
    median = users["role"].map(lg["activity_log_median"]).to_numpy(float)
    activity = np.exp(median + rng.normal(0, lg["activity_log_sd"], n))
    growth = (1 + lg["monthly_growth"]) ** (np.arange(m) - (m - 1))
    shape = lg["month_gamma_shape"]
    mean = activity[:, None] * growth[None, :] * rng.gamma(shape, 1 / shape, (n, m))
    logins = np.minimum(rng.poisson(mean), 10_000)
    user_i, month_i = np.nonzero(logins)
    return pd.DataFrame({
        "user_id": pd.Series(pd.array(users["user_id"].to_numpy()[user_i], dtype="str")),
        "month": pd.Series(pd.array(np.asarray(months(), dtype=object)[month_i], dtype="str")),
        "logins": logins[user_i, month_i].astype(np.int64),
    })
