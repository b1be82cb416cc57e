"""The geography hierarchy (ICS > place > PCN > LSOA): roll-ups, drill-down and area summaries."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from explorer.vocab import LEVELS


@dataclass(frozen=True, eq=False)
class Geography:
    """A region's geography as the domain needs it: its key ("london"), ONS code and name, the LSOA
    table (``lsoa_code``, ``<level>_code`` per level, ``imd_decile``, ``imd_score``, ``population``,
    ``core20``...) and the area hierarchy (``level``, ``area_code``, ``area_name``, ``parent_code``).
    The services build it from a region's bundle.

    ``pcn_weights`` (lsoa_code, pcn_code, patients, weight): each LSOA's registered patients by PCN,
    from which PCN figures are apportioned (None: each LSOA counts whole in its drawn PCN, the one
    ``lsoas.pcn_code`` names). ``pcns`` (pcn_code, crosses_place, ...): the bundle's PCN table."""

    region: str
    region_code: str
    region_name: str
    lsoas: pd.DataFrame
    areas: pd.DataFrame
    pcn_weights: pd.DataFrame | None = None
    pcns: pd.DataFrame | None = None


def child_level(level: str) -> str | None:
    i = LEVELS.index(level)
    return LEVELS[i + 1] if i + 1 < len(LEVELS) else None


def parent_level(level: str) -> str | None:
    i = LEVELS.index(level)
    return LEVELS[i - 1] if i > 0 else None


def check_level(level: str) -> str:
    if level not in LEVELS:
        raise ValueError(f"unknown level '{level}': choose one of {', '.join(LEVELS)}")
    return level


def children(areas: pd.DataFrame, area_code: str) -> pd.DataFrame:
    """Areas one level down whose parent is `area_code`."""
    return areas[areas["parent_code"] == area_code]


def ancestry(areas: pd.DataFrame, area_code: str) -> list[tuple[str, str, str]]:
    """(level, code, name) from the top of the hierarchy down to the area, for breadcrumbs."""
    indexed = areas.set_index("area_code")
    chain = []
    code = area_code
    while code in indexed.index:
        row = indexed.loc[code]
        chain.append((row["level"], code, row["area_name"]))
        code = row["parent_code"]
    return chain[::-1]


def lsoas_in(lsoas: pd.DataFrame, areas: pd.DataFrame, area_code: str | None) -> pd.DataFrame:
    """The LSOAs inside an area at any level (all LSOAs for None or the region code)."""
    if area_code is None:
        return lsoas
    level = areas.loc[areas["area_code"] == area_code, "level"]
    if level.empty:
        return lsoas
    return lsoas[lsoas[f"{level.iloc[0]}_code"] == area_code]


def weighted_mean(values: pd.Series, weights: pd.Series) -> float:
    total = weights.sum()
    return float(np.nan) if total == 0 else float((values * weights).sum() / total)


def imd_weights(lsoas: pd.DataFrame) -> pd.Series:
    """Population weights for averaging IMD scores: File 7's denominators if every LSOA has one."""
    published = lsoas.get("imd_population")
    if published is not None and published.notna().all():
        return published.astype("float64")
    return lsoas["population"].astype("float64")


def area_summary(lsoas: pd.DataFrame, areas: pd.DataFrame, level: str,
                 pcn_weights: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per area: population, LSOA count and deprivation, as MHCLG summarises areas.

    `imd_score` is the population-weighted mean of LSOA IMD scores, and `imd_prop_most_deprived_10pc`
    the share of the area's LSOAs in national decile 1 (MHCLG's area-summary measures). The weights
    are File 7's own population denominators when the file had them (MHCLG's weights), else the
    Census 2021 population.

    PCNs with `pcn_weights` (the bundle's): population, IMD score and Core20 share are those of the
    PCN's apportioned residents (each LSOA's shared among PCNs as its registered patients are, the
    population rounded to whole persons), like every other PCN figure; `lsoa_count` and the share of
    LSOAs in decile 1 describe the LSOAs drawn in it.
    """
    check_level(level)
    key = f"{level}_code"
    weights = imd_weights(lsoas)
    work = lsoas.assign(
        imd_weight=weights,
        weighted_score=lsoas["imd_score"] * weights,
        decile1=lsoas["imd_decile"].eq(1),
        core20_population=lsoas["population"].where(lsoas["core20"], 0),
    )
    grouped = work.groupby(key).agg(
        population=("population", "sum"),
        lsoa_count=("lsoa_code", "size"),
        imd_weight=("imd_weight", "sum"),
        weighted_score=("weighted_score", "sum"),
        imd_prop_most_deprived_10pc=("decile1", "mean"),
        core20_population=("core20_population", "sum"),
    )
    if level == "pcn" and pcn_weights is not None:
        shared = _apportioned(work, pcn_weights).reindex(grouped.index).fillna(0.0)
        grouped = grouped.astype({c: "float64" for c in shared.columns})
        grouped[shared.columns] = shared
    grouped["imd_score"] = grouped["weighted_score"] / grouped["imd_weight"]
    grouped["core20_population_share"] = grouped["core20_population"] / grouped["population"]
    names = areas[areas["level"] == level].set_index("area_code")[["area_name", "parent_code"]]
    summary = names.join(grouped, how="inner").rename_axis("area_code").reset_index()
    columns = ["area_code", "area_name", "parent_code", "population", "lsoa_count", "imd_score",
               "imd_prop_most_deprived_10pc", "core20_population_share"]
    return summary[columns].sort_values("area_code", ignore_index=True)


def with_crossing(summary: pd.DataFrame, level: str, pcns: pd.DataFrame | None) -> pd.DataFrame:
    """A PCN summary with ``crosses_place`` (10% or more of the PCN's registered patients live in other
    places) from the bundle's PCN table; other levels, or no table, unchanged."""
    if level != "pcn" or pcns is None or "crosses_place" not in pcns:
        return summary
    crossing = pcns.set_index("pcn_code")["crosses_place"].astype(bool)
    return summary.assign(crosses_place=summary["area_code"].map(crossing).fillna(False).astype(bool))


def _apportioned(work: pd.DataFrame, weights: pd.DataFrame) -> pd.DataFrame:
    """Population, IMD weight, weighted score and Core20 population per PCN, apportioned by weight (an
    LSOA without registrations whole in its drawn PCN, as the metrics engine counts it)."""
    columns = ["population", "imd_weight", "weighted_score", "core20_population"]
    unregistered = work.loc[~work["lsoa_code"].isin(weights["lsoa_code"]), ["lsoa_code", "pcn_code"]]
    weights = pd.concat([weights[["lsoa_code", "pcn_code", "weight"]], unregistered.assign(weight=1.0)])
    joined = weights.merge(work[["lsoa_code", *columns]], on="lsoa_code",
                                                                how="inner", validate="m:1")
    shares = joined[columns].mul(joined["weight"], axis=0).assign(pcn_code=joined["pcn_code"])
    out = shares.groupby("pcn_code")[columns].sum()
    out["population"] = np.floor(out["population"] + 0.5)
    return out


def apportioned_pcn_summary(lsoas: pd.DataFrame, weights: pd.DataFrame) -> pd.DataFrame:
    """One row per PCN from its registered patients where they live, not from the LSOAs drawn in it.

    `weights`: the bundle's pcn_weights (lsoa_code, pcn_code, patients, weight). A PCN's deprivation is
    that of its patients' LSOAs weighted by how many of its patients live in each: `imd_score` the
    patient-weighted mean LSOA score, `decile1_share` / `core20_share` the shares of its patients living
    in national IMD decile 1 / deciles 1-2, and `residents` the Census population apportioned by weight
    (each LSOA's residents shared among PCNs as its registered patients are)."""
    work = weights.merge(lsoas[["lsoa_code", "imd_score", "imd_decile", "population"]], on="lsoa_code",
                         how="inner", validate="m:1")
    patients = work["patients"].astype("float64")
    work = work.assign(scored=patients * work["imd_score"], decile1=patients.where(work["imd_decile"].eq(1), 0.0),
                       core20=patients.where(work["imd_decile"].le(2), 0.0),
                       residents=work["weight"] * work["population"])
    out = work.groupby("pcn_code").agg(registered=("patients", "sum"), lsoa_count=("lsoa_code", "size"),
                                       scored=("scored", "sum"), decile1=("decile1", "sum"),
                                       core20=("core20", "sum"), residents=("residents", "sum"))
    out["imd_score"] = out["scored"] / out["registered"]
    out["decile1_share"] = out["decile1"] / out["registered"]
    out["core20_share"] = out["core20"] / out["registered"]
    columns = ["registered", "residents", "lsoa_count", "imd_score", "decile1_share", "core20_share"]
    return out[columns].reset_index().sort_values("pcn_code", ignore_index=True)
