"""Synthetic GP practices, registrations and PCNs, written in NHS England's published layouts.

NHS England's "Patients registered at a GP practice" files are not openly mirrored here, so the demo
makes its own, then reads them through the same ingest path a real download takes:
- practices are placed within each place (local authority) in proportion to population, one per
  about 7,800 residents (London: about 1,150 practices for 9 million people);
- each LSOA's residents register with nearby practices in their place: a doubly constrained
  gravity model with weight exp(-distance / 1 km) over the 8 nearest practices, balanced so list
  sizes match drawn capacities (gamma, mean 7,800);
- practices are grouped into PCNs of about 45,000 registered patients (target 30,000-50,000) by
  recursive bisection of their locations inside one place, so every PCN sits in one place and ICS.
Everything is seeded; the same inputs and seed give byte-identical files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from explorer.atomic import write_text_atomic

PEOPLE_PER_PRACTICE = 7_800
PCN_TARGET = 45_000
NEAREST_PRACTICES = 8
DISTANCE_DECAY_M = 1_000.0
BALANCING_ROUNDS = 25
PUBLICATION = "SYNTHETIC"
EXTRACT_DATE = "01-Oct-2026"
SYNTHETIC_POSTCODE = "ZZ99 9ZZ"  # the NHS pseudo-postcode for 'not known'

REGISTRATION_COLUMNS = ["PUBLICATION", "EXTRACT_DATE", "PRACTICE_CODE", "PRACTICE_NAME", "LSOA_CODE", "SEX",
                        "NUMBER_OF_PATIENTS"]
MAP_COLUMNS = ["PUBLICATION", "EXTRACT_DATE", "PRACTICE_CODE", "PRACTICE_NAME", "PRACTICE_POSTCODE",
               "ONS_SUB_ICB_LOCATION_CODE", "SUB_ICB_LOCATION_CODE", "SUB_ICB_LOCATION_NAME", "ONS_ICB_CODE",
               "ICB_CODE", "ICB_NAME", "ONS_COMM_REGION_CODE", "COMM_REGION_CODE", "COMM_REGION_NAME",
               "PCN_CODE", "PCN_NAME"]
REGISTRATIONS_FILE = "gp-reg-pat-prac-lsoa-all.csv"
PRACTICE_MAP_FILE = "gp-reg-pat-prac-map.csv"


@dataclass(frozen=True)
class SyntheticGP:
    registrations: pd.DataFrame  # published layout
    practice_map: pd.DataFrame  # published layout


def pcn_count(registered: float) -> int:
    """How many PCNs a place gets: mean size within 30,000-50,000 where possible, nearest 45,000."""
    low, high = max(1, int(np.ceil(registered / 50_000))), max(1, int(registered // 30_000))
    candidates = range(low, max(low, high) + 1)
    return min(candidates, key=lambda k: abs(registered / k - PCN_TARGET))


def _bisect(xy: np.ndarray, weights: np.ndarray, parts: int) -> list[np.ndarray]:
    """Split points into `parts` compact groups of about equal weight (recursive coordinate bisection)."""
    index = np.arange(len(xy))
    if parts <= 1 or len(xy) <= 1:
        return [index]
    left_parts = parts // 2
    axis = int(np.ptp(xy[:, 0]) < np.ptp(xy[:, 1]))
    order = np.argsort(xy[:, axis], kind="stable")
    cum = np.cumsum(weights[order])
    target = cum[-1] * left_parts / parts
    cut = int(np.argmin(np.abs(cum[:-1] - target))) + 1  # closest cumulative weight to the target

    groups = []
    for part_idx, n in ((order[:cut], left_parts), (order[cut:], parts - left_parts)):
        groups += [part_idx[g] for g in _bisect(xy[part_idx], weights[part_idx], n)]
    return groups


def _place_registrations(
    rng: np.random.Generator, lsoa_xy: np.ndarray, pop_by_sex: np.ndarray, n_practices: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Practice locations, and registrations (lsoa x practice x sex) for one place."""
    total = pop_by_sex.sum(axis=1)
    chosen = rng.choice(len(lsoa_xy), size=n_practices, replace=n_practices > len(lsoa_xy),
                        p=total / total.sum())
    practice_xy = lsoa_xy[chosen] + rng.normal(0, 100, size=(n_practices, 2))
    capacity = rng.gamma(4.0, 1.0, n_practices)
    capacity = capacity / capacity.sum() * total.sum()
    k = min(NEAREST_PRACTICES, n_practices)
    dist = np.hypot(*(lsoa_xy[:, None, :] - practice_xy[None, :, :]).transpose(2, 0, 1))
    nearest = np.argsort(dist, axis=1, kind="stable")[:, :k]
    decay = np.exp(-np.take_along_axis(dist, nearest, axis=1) / DISTANCE_DECAY_M) + 1e-9
    attract = np.ones(n_practices)
    for _ in range(BALANCING_ROUNDS):
        w = decay * attract[nearest]
        flows = w / w.sum(axis=1, keepdims=True) * total[:, None]
        inflow = np.bincount(nearest.ravel(), weights=flows.ravel(), minlength=n_practices)
        attract *= np.where(inflow > 0, capacity / np.maximum(inflow, 1e-9), 1.0)
    w = decay * attract[nearest]
    probs = w / w.sum(axis=1, keepdims=True)
    counts = np.stack([rng.multinomial(pop_by_sex[:, s], probs) for s in range(pop_by_sex.shape[1])], axis=-1)
    return practice_xy, nearest, counts


def generate_gp_files(lsoas: pd.DataFrame, seed: int = 20261122) -> SyntheticGP:
    """Synthetic practices for the LSOAs given.

    `lsoas` columns: lsoa21cd, lad_code, lad_name, sicbl_code, sicbl_name, icb_code, icb_ods, icb_name,
    x, y (British National Grid metres), female, male (residents)."""
    rng = np.random.default_rng(seed)
    registrations, practices = [], []
    practice_no, pcn_no = 0, 0
    for lad_code, place in lsoas.sort_values("lsoa21cd").groupby("lad_code", sort=True):
        xy = place[["x", "y"]].to_numpy(float)
        pop = place[["female", "male"]].to_numpy(np.int64)
        n_practices = max(1, round(pop.sum() / PEOPLE_PER_PRACTICE))
        practice_xy, nearest, counts = _place_registrations(rng, xy, pop, n_practices)
        codes = [f"Z{practice_no + i + 1:05d}" for i in range(n_practices)]
        practice_no += n_practices
        list_sizes = np.bincount(nearest.ravel(), weights=counts.sum(axis=-1).ravel(), minlength=n_practices)
        pcn_groups = _bisect(practice_xy, list_sizes, pcn_count(list_sizes.sum()))
        pcn_of: list[tuple[str, str]] = [("", "")] * n_practices
        for j, group in enumerate(pcn_groups, start=1):
            pcn_no += 1
            for i in group:
                pcn_of[i] = (f"UZ{pcn_no:04d}", f"SYNTHETIC {place['lad_name'].iloc[0].upper()} PCN {j}")
        home = place.iloc[[int(np.argmin(np.hypot(*(xy - p).T))) for p in practice_xy]]
        for i, code in enumerate(codes):
            practices.append({
                "PUBLICATION": PUBLICATION, "EXTRACT_DATE": EXTRACT_DATE, "PRACTICE_CODE": code,
                "PRACTICE_NAME": f"SYNTHETIC PRACTICE {code}", "PRACTICE_POSTCODE": SYNTHETIC_POSTCODE,
                "ONS_SUB_ICB_LOCATION_CODE": home["sicbl_code"].iloc[i], "SUB_ICB_LOCATION_CODE": "",
                "SUB_ICB_LOCATION_NAME": home["sicbl_name"].iloc[i], "ONS_ICB_CODE": home["icb_code"].iloc[i],
                "ICB_CODE": home["icb_ods"].iloc[i], "ICB_NAME": home["icb_name"].iloc[i],
                "ONS_COMM_REGION_CODE": "", "COMM_REGION_CODE": "", "COMM_REGION_NAME": "",
                "PCN_CODE": pcn_of[i][0], "PCN_NAME": pcn_of[i][1],
            })
        lsoa_idx, slot, sex_idx = np.nonzero(counts)
        registrations.append(pd.DataFrame({
            "PRACTICE_CODE": np.asarray(codes)[nearest[lsoa_idx, slot]],
            "LSOA_CODE": place["lsoa21cd"].to_numpy()[lsoa_idx],
            "SEX": np.array(["FEMALE", "MALE"])[sex_idx],
            "NUMBER_OF_PATIENTS": counts[lsoa_idx, slot, sex_idx],
        }))
    regs = pd.concat(registrations, ignore_index=True)
    regs.insert(0, "PUBLICATION", PUBLICATION)
    regs.insert(1, "EXTRACT_DATE", EXTRACT_DATE)
    regs.insert(3, "PRACTICE_NAME", "SYNTHETIC PRACTICE " + regs["PRACTICE_CODE"])
    regs = regs.sort_values(["PRACTICE_CODE", "LSOA_CODE", "SEX"], ignore_index=True)
    return SyntheticGP(registrations=regs[REGISTRATION_COLUMNS],
                       practice_map=pd.DataFrame(practices, columns=MAP_COLUMNS))


def write_gp_files(gp: SyntheticGP, directory: Path) -> tuple[Path, Path]:
    """Write both files atomically (temp name, then rename)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = directory / REGISTRATIONS_FILE, directory / PRACTICE_MAP_FILE
    for frame, path in zip((gp.registrations, gp.practice_map), paths, strict=True):
        write_text_atomic(path, frame.to_csv(index=False))
    return paths
