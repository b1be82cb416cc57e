"""PCNs from the practice map and registrations: apportioning weights, a PCN table, and one PCN per
LSOA for maps.

- Membership and names come from the practice map (each practice in exactly one PCN; practices
  the map calls 'Unallocated', PCN_CODE 'U', are in none and get no PCN weight).
- Weights: each LSOA's registered patients split by the PCN of their practice,
  (lsoa_code, pcn_code, patients, weight), weights of an LSOA summing to 1. These are the honest
  PCN catchments: a PCN's registered population in an area is the sum of its patients there.
- A PCN's ICS and sub-ICB are those of its practices in the map (the one holding most of its
  patients if they differ; the map's January 2024 codes, so Surrey Heartlands and Sussex carry their
  pre-April-2024 ICB codes, and the build adds `place_ics_code`, the ICS of the PCN's place); its place is the local authority where most of its registered patients
  live, and it "crosses a place boundary" when at least CROSSING_SHARE of them live in other places.
- For drawing and for today's LSOA-based aggregation each LSOA also gets one PCN: the PCN holding
  the largest share of its patients among the PCNs of its own place (so PCNs nest in places); an
  LSOA with none goes to the PCN of the nearest LSOA of its place. A place where no PCN is based (the
  City of London: its patients' PCNs are based in neighbouring boroughs) keeps each LSOA's
  largest-share PCN, so there a PCN reaches into a second place.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from explorer.errors import SourceFormatError

UNALLOCATED = "U"  # NHS Digital's PCN_CODE for practices in no PCN
CROSSING_SHARE = 0.10  # a PCN with this share of its patients living in other places crosses a boundary


def pcn_weights(registrations: pd.DataFrame, practice_map: pd.DataFrame) -> pd.DataFrame:
    """(lsoa_code, pcn_code, patients, weight) from registrations (practice_code, lsoa_code, patients)."""
    joined = registrations.merge(practice_map[["practice_code", "pcn_code"]], on="practice_code", how="left",
                                 validate="m:1")
    unknown = joined["pcn_code"].isna()
    if unknown.any():  # convert_registrations leaves these out; a caller skipping it is a bug
        raise SourceFormatError("gp-reg-pat-prac-map.csv",
                                f"practice '{joined['practice_code'][unknown].iloc[0]}' is not in the map")
    joined = joined[joined["pcn_code"] != UNALLOCATED]
    weights = joined.groupby(["lsoa_code", "pcn_code"], as_index=False, sort=True)["patients"].sum()
    weights["weight"] = weights["patients"] / weights.groupby("lsoa_code")["patients"].transform("sum")
    return weights


def _top(frame: pd.DataFrame, key: str, value: str, weight: str = "patients") -> pd.DataFrame:
    """Per `key`, the `value` with the largest total weight, its weight and the key's total."""
    totals = frame.groupby([key, value], as_index=False)[weight].sum()
    top = totals.sort_values([key, weight, value], ascending=[True, False, True]).drop_duplicates(key)
    return top.set_index(key).assign(total=totals.groupby(key)[weight].sum())


def pcn_table(weights: pd.DataFrame, practice_map: pd.DataFrame, list_sizes: pd.Series,
              place_of_lsoa: pd.Series) -> pd.DataFrame:
    """One row per PCN with registered patients in England: name, ICS and sub-ICB (map), place (where
    most of its patients live), that place's share, whether it crosses a place boundary, practices.

    `list_sizes`: converted patients per practice; `place_of_lsoa`: LAD code per LSOA 2021 (England)."""
    members = practice_map[practice_map["pcn_code"] != UNALLOCATED].assign(
        patients=lambda f: f["practice_code"].map(list_sizes).fillna(0))
    ics = _top(members, "pcn_code", "icb_code")["icb_code"]
    sicbl = _top(members, "pcn_code", "sicbl_code")["sicbl_code"]
    located = weights.assign(place_code=weights["lsoa_code"].map(place_of_lsoa)).dropna(subset=["place_code"])
    place = _top(located, "pcn_code", "place_code")
    table = pd.DataFrame({
        "pcn_name": members.drop_duplicates("pcn_code").set_index("pcn_code")["pcn_name"],
        "ics_code": ics, "sicbl_code": sicbl,
        "practices": members.groupby("pcn_code").size(),
        "patients": weights.groupby("pcn_code")["patients"].sum(),
        "place_code": place["place_code"],
        "place_share": place["patients"] / place["total"],
    }).rename_axis("pcn_code").reset_index()
    table = table.dropna(subset=["place_code"])
    table["patients"] = table["patients"].astype("int64")
    table["crosses_place"] = table["place_share"] <= 1 - CROSSING_SHARE
    return table.sort_values("pcn_code", ignore_index=True)


def assign_lsoas_to_pcns(weights: pd.DataFrame, lsoas: pd.DataFrame, pcn_place: pd.Series
                         ) -> tuple[pd.DataFrame, int]:
    """(lsoa21cd, pcn_code) for every LSOA in `lsoas` (columns lsoa21cd, lad_code, x, y), and how many
    LSOAs are not in their largest-share PCN (because that PCN is based in another place, or none serves
    the LSOA). `pcn_place`: each PCN's place (pcn_table's place_code)."""
    best = weights[weights["lsoa_code"].isin(lsoas["lsoa21cd"])].rename(columns={"lsoa_code": "lsoa21cd"})
    best = best.sort_values(["lsoa21cd", "weight", "pcn_code"], ascending=[True, False, True])
    first_choice = best.drop_duplicates("lsoa21cd").set_index("lsoa21cd")["pcn_code"]
    place_of = lsoas.set_index("lsoa21cd")["lad_code"]
    in_place = best[best["pcn_code"].map(pcn_place).to_numpy() == best["lsoa21cd"].map(place_of).to_numpy()]
    assigned = in_place.drop_duplicates("lsoa21cd").set_index("lsoa21cd")["pcn_code"]
    moved = int((assigned != first_choice.reindex(assigned.index)).sum())
    missing = lsoas[~lsoas["lsoa21cd"].isin(assigned.index)]
    if len(missing):
        have = lsoas[lsoas["lsoa21cd"].isin(assigned.index)]
        extra = {}
        for row in missing.itertuples():
            pool = have[have["lad_code"] == row.lad_code]
            if pool.empty and row.lsoa21cd in first_choice.index:  # no PCN is based in this place
                extra[row.lsoa21cd] = first_choice[row.lsoa21cd]
                continue
            pool = have if pool.empty else pool
            nearest = pool.iloc[int(np.argmin(np.hypot(pool["x"] - row.x, pool["y"] - row.y)))]
            extra[row.lsoa21cd] = assigned[nearest["lsoa21cd"]]
        assigned = pd.concat([assigned, pd.Series(extra)])
        moved += int(sum(code != first_choice.get(lsoa) for lsoa, code in extra.items()))
    result = assigned.rename("pcn_code").rename_axis("lsoa21cd").reset_index()
    return result.sort_values("lsoa21cd", ignore_index=True), moved
