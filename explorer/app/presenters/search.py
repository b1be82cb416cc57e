"""Finding an area or a GP practice by name or code, and what a practice's landing shows.

Areas: every level the role may see (ICS, place, PCN, LSOA), so a role never gets offered an area it
could not open. Practices: the real practices of NHS Digital's registration files whose PCN is in
the app's region (a practice outside any PCN, 'Unallocated', has no profile to land on); they land
on their PCN's profile. A practice's registered list is a count of a whole practice, public in the
NHS Digital release, but it leaves the server through the role's disclosure policy like every count
(rounded to 5 for controlled roles).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import pandas as pd

from explorer.domain.disclosure import DisclosurePolicy, apply_policy, format_count
from explorer.services.app_data import AppData

SEARCH_RESULTS = 25  # results shown at most, areas first
MIN_CHARS = 2
PRACTICE_LEVEL = "pcn"  # practices land on their PCN's profile
PROFILE_PATH = "/profile"


@dataclass(frozen=True)
class Match:
    """One search result: what it is, its name and code, and where it leads."""

    kind: str  # an area level label or "GP practice"
    code: str
    name: str
    href: str
    detail: str = ""


def profile_href(area: str, practice: str | None = None) -> str:
    query = {"area": area, **({"practice": practice} if practice else {})}
    return f"{PROFILE_PATH}?{urlencode(query)}"


def _matches(names: pd.Series, codes: pd.Series, text: str) -> pd.Series:
    return names.str.lower().str.contains(text, regex=False) | codes.str.lower().str.contains(text, regex=False)


def area_matches(data: AppData, levels: tuple[str, ...], text: str, limit: int = SEARCH_RESULTS) -> list[Match]:
    """Areas at the given levels whose name or code contains `text` (case-insensitive), larger areas
    first and exact code matches before all."""
    text = text.strip().lower()
    if len(text) < MIN_CHARS:
        return []
    areas = data.bundle.areas[data.bundle.areas["level"].isin(levels)]
    hits = areas[_matches(areas["area_name"].astype(str), areas["area_code"].astype(str), text)]
    hits = hits.assign(_exact=hits["area_code"].str.lower() != text,
                       _order=hits["level"].map({lv: i for i, lv in enumerate(levels)}))
    hits = hits.sort_values(["_exact", "_order", "area_name"]).head(limit)
    return [Match(kind=data.level_label(r.level), code=r.area_code, name=r.area_name, href=profile_href(r.area_code))
            for r in hits.itertuples()]


def practices_on_offer(data: AppData, levels: tuple[str, ...]) -> pd.DataFrame:
    """The practices a role can land from: in a PCN of the app's region, when the role sees PCNs."""
    if PRACTICE_LEVEL not in levels:
        return data.bundle.practices.iloc[0:0]
    practices = data.bundle.practices
    return practices[practices["pcn_code"].map(data.area_level).eq(PRACTICE_LEVEL)]


def registered_list(practices: pd.DataFrame, policy: DisclosurePolicy) -> pd.Series:
    """Each practice's registered patients (NHS Digital, July 2023) through the role's policy, as text."""
    controlled = apply_policy(practices[["practice_code", "patients"]].reset_index(drop=True), "patients", policy)
    text = [format_count(v, s) for v, s in zip(controlled["patients"], controlled["patients_suppressed"])]
    return pd.Series(text, index=practices["practice_code"].to_numpy())


def practice_matches(data: AppData, levels: tuple[str, ...], text: str, policy: DisclosurePolicy,
                     limit: int = SEARCH_RESULTS) -> list[Match]:
    """Practices whose name or code contains `text`, exact code matches first."""
    text = text.strip().lower()
    if len(text) < MIN_CHARS:
        return []
    offered = practices_on_offer(data, levels)
    hits = offered[_matches(offered["practice_name"].astype(str), offered["practice_code"].astype(str), text)]
    hits = hits.assign(_exact=hits["practice_code"].str.lower() != text).sort_values(["_exact", "practice_name"])
    hits = hits.head(limit)
    counts = registered_list(hits, policy)
    return [Match(kind="GP practice", code=r.practice_code, name=r.practice_name,
                  href=profile_href(r.pcn_code, r.practice_code),
                  detail=f"{counts[r.practice_code]} registered patients; "
                         f"in {data.name_of(r.pcn_code)} ({r.pcn_code})")
            for r in hits.itertuples()]


def search(data: AppData, levels: tuple[str, ...], text: str | None, policy: DisclosurePolicy) -> list[Match]:
    """Matches of `text`, at most SEARCH_RESULTS: ICSs, places and PCNs, then practices, then LSOAs (so
    the many LSOAs named after a borough do not crowd out its practices); an exact code comes first."""
    text = (text or "").strip()
    upper, lsoa = tuple(lv for lv in levels if lv != "lsoa"), tuple(lv for lv in levels if lv == "lsoa")
    matches = [*area_matches(data, upper, text), *practice_matches(data, levels, text, policy),
               *area_matches(data, lsoa, text)]
    exact = [m for m in matches if m.code.lower() == text.lower()]
    return [*exact, *[m for m in matches if m not in exact]][:SEARCH_RESULTS]


@dataclass(frozen=True)
class PracticeSummary:
    code: str
    name: str
    pcn_code: str
    pcn_name: str
    registered: str  # formatted, controlled
    practices_in_pcn: int


def practice_summary(data: AppData, levels: tuple[str, ...], code: str | None, policy: DisclosurePolicy
                     ) -> PracticeSummary | None:
    """The practice a search landed from (None if unknown or not on offer to the role)."""
    offered = practices_on_offer(data, levels)
    row = offered[offered["practice_code"] == code]
    if code is None or row.empty:
        return None
    r = row.iloc[0]
    count = registered_list(row, policy).iloc[0]
    return PracticeSummary(code=r["practice_code"], name=r["practice_name"], pcn_code=r["pcn_code"],
                           pcn_name=data.name_of(r["pcn_code"]), registered=count,
                           practices_in_pcn=int(offered["pcn_code"].eq(r["pcn_code"]).sum()))
