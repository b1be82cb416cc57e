"""What the app and exports say about PCNs: whether their figures are apportioned, and which PCNs
cross a place boundary (both from the bundle's PCN tables, absent in bundles built before them)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from explorer.bundle.store import TABLE_FILES, Bundle
from explorer.vocab import DRAWN_LSOAS_NOTE, PCN_APPORTIONED_NOTE


def optional_table(bundle: Bundle, table: str) -> pd.DataFrame | None:
    """A bundle table (``pcn_weights``, ``pcns``), or None when the bundle predates it."""
    return getattr(bundle, table) if (bundle.directory / TABLE_FILES[table]).exists() else None


def apportioned(bundle: Bundle) -> bool:
    """Whether the engine makes this bundle's PCN figures from apportioned registrations."""
    return (bundle.directory / TABLE_FILES["pcn_weights"]).exists()


def crossing_pcns(bundle: Bundle) -> frozenset[str]:
    """Codes of the PCNs at least 10% of whose registered patients live outside their place."""
    return _crossing(bundle.directory / TABLE_FILES["pcns"])


@lru_cache(maxsize=8)
def _crossing(path: Path) -> frozenset[str]:  # read once per bundle: hovers ask on every move
    if not path.exists():
        return frozenset()
    pcns = pd.read_parquet(path, columns=None)
    if "crosses_place" not in pcns:
        return frozenset()
    return frozenset(pcns.loc[pcns["crosses_place"].astype(bool), "pcn_code"].astype(str))


def pcn_note(bundle: Bundle, level: str) -> str:
    """The note beside PCN-level maps and tables ("" at other levels or without apportioning)."""
    return PCN_APPORTIONED_NOTE if level == "pcn" and apportioned(bundle) else ""


def drawn_lsoas_note(bundle: Bundle, level: str, within_level: str | None) -> str:
    """The note beside LSOAs listed within a PCN: they are the LSOAs drawn in it ("" otherwise)."""
    return DRAWN_LSOAS_NOTE if level == "lsoa" and within_level == "pcn" and apportioned(bundle) else ""
