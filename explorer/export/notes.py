"""What every table and pack says about itself: sources with versions and dates, definitions,
suppression rules, the role it was made for, when, and the SYNTHETIC mark.

The sources come from :mod:`explorer.services.provenance` (the bundle and records manifests), as
in every exported figure's footnote, so a board paper can be traced to the data it was made from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from explorer.domain.disclosure import SUPPRESSION_NOTE
from explorer.figures.theme import PUBLIC_SOURCES, SYNTHETIC_MARK, SYNTHETIC_NOTE
from explorer.services.provenance import provenance

if TYPE_CHECKING:  # a type only: the app's data modules (shapely) are not needed to print a table
    from explorer.services.app_data import AppData

__all__ = ["ExportNotes", "export_notes"]

CONTROL_NOTE = (SUPPRESSION_NOTE + ". Rates, percentages, intervals and indices are computed from the rounded "
                "counts. Exports are disclosure-controlled for every role, analysts included.")


@dataclass(frozen=True)
class ExportNotes:
    """The notes of one export; `footnote` is the one line on every slide or page."""

    title: str
    role: str
    made_at: str
    synthetic: bool
    sources: tuple[str, ...]
    definitions: tuple[tuple[str, str], ...]
    short_sources: str = ""
    suppression: str = CONTROL_NOTE

    @property
    def footnote(self) -> str:
        mark = f"{SYNTHETIC_MARK}. " if self.synthetic else ""
        return (f"{mark}Sources: {self.short_sources}. {SUPPRESSION_NOTE}. "
                f"Made {self.made_at[:16].replace('T', ' ')} UTC for role {self.role}.")

    def lines(self) -> list[tuple[str, str]]:
        """(heading, text) pairs for a notes sheet or a methods page."""
        rows = [("Title", self.title)]
        if self.synthetic:
            rows.append(("Data", SYNTHETIC_NOTE))
        rows += [("Made", f"{self.made_at} (UTC)"), ("Role", self.role), ("Disclosure control", self.suppression)]
        rows += [("Source", s) for s in self.sources]
        rows += [(f"Definition: {label}", text) for label, text in self.definitions]
        return rows


def _sources(data: AppData) -> tuple[tuple[str, ...], str]:
    """(every source line, the same in one clause for footnotes): the official files with their
    publishers and fetch dates, the bundle's build and the records (explorer.services.provenance,
    as in the figure exports' footnotes), then the licences."""
    prov = provenance(data)
    fetched = f" (fetched {prov.fetched})" if prov.fetched else ""
    lines = (*(s + fetched for s in prov.sources), prov.bundle, *((prov.records,) if prov.records else ()),
             PUBLIC_SOURCES)
    files = f"{len(prov.sources)} official files{fetched}, listed in the notes" if prov.sources else ""
    short = "; ".join(p for p in (files, prov.bundle, prov.records) if p)
    return lines, short


def export_notes(data: AppData, role: str, title: str, metrics: Iterable[str] = ()) -> ExportNotes:
    """The notes for an export of `metrics` made now for `role`."""
    definitions = []
    for name in metrics:
        if name in data.metrics:
            info = data.metrics[name]
            definitions.append((info.label, f"{info.description} Unit: {info.unit}; denominator: {info.denominator}."))
    lines, short = _sources(data)
    return ExportNotes(title=title, role=str(role), made_at=datetime.now(UTC).isoformat(timespec="seconds"),
                       synthetic=data.synthetic, sources=lines, definitions=tuple(definitions), short_sources=short)
