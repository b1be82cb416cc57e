"""PCN catchments from GP registrations: shares for apportioning, and one PCN per LSOA for maps.

Each LSOA goes to the PCN holding the largest share of its registered patients. A PCN belongs to
the place holding most of its assigned residents; an LSOA whose largest-share PCN lies in another
place goes to the largest-share PCN within its own place, so that PCNs nest inside places.
The fractional shares are kept so that numbers can be apportioned to PCNs where that is better.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from explorer.errors import SourceFormatError


def registration_shares(registrations: pd.DataFrame, practice_map: pd.DataFrame, file: str) -> pd.DataFrame:
    """(lsoa21cd, pcn_code, patients, share): each LSOA's registered patients by PCN."""
    unknown = ~registrations["practice_code"].isin(practice_map["practice_code"])
    if unknown.any():
        first = int(unknown.to_numpy().nonzero()[0][0])
        raise SourceFormatError(file, f"practice '{registrations['practice_code'].iloc[first]}' is not in the "
                                "practice to PCN map", row=first + 2, column="practice_code")
    joined = registrations.merge(practice_map[["practice_code", "pcn_code"]], on="practice_code")
    shares = joined.groupby(["lsoa_code", "pcn_code"], as_index=False)["patients"].sum()
    shares = shares.rename(columns={"lsoa_code": "lsoa21cd"})
    shares["share"] = shares["patients"] / shares.groupby("lsoa21cd")["patients"].transform("sum")
    return shares


def assign_lsoas_to_pcns(shares: pd.DataFrame, lsoas: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """(lsoa21cd, pcn_code) for every LSOA in `lsoas` (columns lsoa21cd, lad_code, population, x, y),
    and how many LSOAs were moved to keep PCNs inside places."""
    shares = shares[shares["lsoa21cd"].isin(lsoas["lsoa21cd"])]
    place_of = lsoas.set_index("lsoa21cd")["lad_code"]
    best = shares.sort_values(["lsoa21cd", "share", "pcn_code"], ascending=[True, False, True])
    first_choice = best.drop_duplicates("lsoa21cd").set_index("lsoa21cd")["pcn_code"]
    pop = lsoas.set_index("lsoa21cd")["population"]
    by_place = pd.DataFrame({"pcn_code": first_choice, "lad_code": place_of.reindex(first_choice.index),
                             "population": pop.reindex(first_choice.index)})
    pcn_place = (by_place.groupby(["pcn_code", "lad_code"])["population"].sum().reset_index()
                 .sort_values(["pcn_code", "population"], ascending=[True, False])
                 .drop_duplicates("pcn_code").set_index("pcn_code")["lad_code"])
    best = best.assign(pcn_place=best["pcn_code"].map(pcn_place), lsoa_place=best["lsoa21cd"].map(place_of))
    in_place = best[best["pcn_place"] == best["lsoa_place"]].drop_duplicates("lsoa21cd")
    assigned = in_place.set_index("lsoa21cd")["pcn_code"]
    moved = int((assigned != first_choice.reindex(assigned.index)).sum())
    # LSOAs with no registrations in their place's PCNs: nearest assigned LSOA in the same place
    missing = lsoas[~lsoas["lsoa21cd"].isin(assigned.index)]
    if len(missing):
        have = lsoas[lsoas["lsoa21cd"].isin(assigned.index)]
        extra = {}
        for row in missing.itertuples():
            pool = have[have["lad_code"] == row.lad_code]
            if pool.empty:
                raise SourceFormatError("gp-reg-pat-prac-lsoa-all.csv",
                                        f"no PCN serves any LSOA in place {row.lad_code}")
            nearest = pool.iloc[int(np.argmin(np.hypot(pool["x"] - row.x, pool["y"] - row.y)))]
            extra[row.lsoa21cd] = assigned[nearest["lsoa21cd"]]
        assigned = pd.concat([assigned, pd.Series(extra)])
        moved += len(extra)
    result = assigned.rename("pcn_code").rename_axis("lsoa21cd").reset_index()
    return result.sort_values("lsoa21cd", ignore_index=True), moved
