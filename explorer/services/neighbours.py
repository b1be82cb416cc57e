"""Nearest neighbours of a place or PCN among all of England's, from the bundle's national table.

The public face for pages and for other views that want a comparator group:

>>> frame = nearest(bundle, "place", "E09000012")            # doctest: +SKIP
>>> comparators = list(frame["area_code"])                    # the 15 most similar places

Method (features, z-scores, theme weights): explorer.domain.neighbours; features:
explorer.bundle.neighbours. `in_region` marks neighbours inside the bundle's region: only those have
care-plan data in a regional app.
"""

from __future__ import annotations

import pandas as pd

from explorer.bundle.store import Bundle
from explorer.domain import neighbours as method
from explorer.errors import ExplorerError

NEIGHBOUR_LEVELS: tuple[str, ...] = ("place", "pcn")


def level_table(bundle: Bundle, level: str) -> pd.DataFrame:
    """Every English area of `level` with its features (population: residents or registered patients)."""
    if level not in NEIGHBOUR_LEVELS:
        raise ExplorerError(f"nearest neighbours are for {' and '.join(NEIGHBOUR_LEVELS)} areas, not {level!r}")
    table = bundle.neighbour_features
    region_codes = set(bundle.areas.loc[bundle.areas["level"] == level, "area_code"])
    return (table[table["level"] == level].reset_index(drop=True)
            .assign(in_region=lambda f: f["area_code"].isin(region_codes)))


def nearest(bundle: Bundle, level: str, code: str, k: int = method.DEFAULT_K) -> pd.DataFrame:
    """The `k` areas of `level` in England most like `code`, most similar first.

    Columns: rank, area_code, area_name, distance, in_region, population and every feature."""
    table = level_table(bundle, level)
    ranked = method.nearest(table, code, k)
    return ranked.merge(table, on="area_code", how="left")[
        ["rank", "area_code", "area_name", "distance", "in_region", "population", *method.WEIGHTS]]


def area_row(bundle: Bundle, level: str, code: str) -> pd.Series:
    """The area's own features (the first row of the comparison)."""
    table = level_table(bundle, level)
    rows = table[table["area_code"] == code]
    if rows.empty:
        raise ExplorerError(f"area {code!r} is not in the national {level} table")
    return rows.iloc[0]


def zscores(bundle: Bundle, level: str, codes: list[str]) -> pd.DataFrame:
    """z-scores (across England's areas of `level`) of the given areas' features, for the chart."""
    table = level_table(bundle, level)
    z = method.standardise(table, tuple(method.WEIGHTS)).assign(area_code=table["area_code"])
    return z.set_index("area_code").loc[codes].reset_index()


def comparator_group(bundle: Bundle, level: str, code: str, k: int = method.DEFAULT_K) -> tuple[str, ...]:
    """The area's nearest neighbours that have data in the bundle's region, most similar first: the
    comparator group the spine chart and the compare-areas bars take (`group=` in their URLs).
    Empty when the level has no neighbours or the bundle has no national table."""
    if level not in NEIGHBOUR_LEVELS:
        return ()
    try:
        frame = nearest(bundle, level, code, k)
    except (ExplorerError, KeyError):
        return ()
    return tuple(frame.loc[frame["in_region"].astype(bool), "area_code"])
