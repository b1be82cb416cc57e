"""What every table and pack says about itself: sources with versions and dates, definitions,
suppression rules, the role it was made for, when, and the SYNTHETIC mark.

Read from the bundle manifest (official files: title, publisher, when fetched, SHA-256) and the
records manifest (extract date, generator, whether synthetic), so a board paper can be traced to
exactly the data it was made from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from explorer.domain.disclosure import SUPPRESSION_NOTE
from explorer.figures.theme import PUBLIC_SOURCES, SYNTHETIC_MARK, SYNTHETIC_NOTE
from explorer.services.app_data import AppData

__all__ = ["ExportNotes", "export_notes", "records_manifest"]

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
    suppression: str = CONTROL_NOTE

    @property
    def footnote(self) -> str:
        mark = f"{SYNTHETIC_MARK}. " if self.synthetic else ""
        return (f"{mark}Sources: {short_sources(self.sources)}. {SUPPRESSION_NOTE}. "
                f"Made {self.made_at[:16].replace('T', ' ')} UTC for role {self.role}.")

    def lines(self) -> list[tuple[str, str]]:
        """(heading, text) pairs for a notes sheet or a methods page."""
        rows = [("Title", self.title)]
        if self.synthetic:
            rows.append((SYNTHETIC_MARK, SYNTHETIC_NOTE))
        rows += [("Made", f"{self.made_at} (UTC)"), ("Role", self.role), ("Disclosure control", self.suppression)]
        rows += [("Source", s) for s in self.sources]
        rows += [(f"Definition: {label}", text) for label, text in self.definitions]
        return rows


def short_sources(sources: Iterable[str]) -> str:
    """The sources' names without their details (for one-line footnotes)."""
    return "; ".join(s.split(" (", 1)[0] for s in sources)


def records_manifest(data: AppData) -> dict:
    """The records manifest of the data in use ({} when no records are loaded)."""
    if not data.has_engine():
        return {}
    from explorer.records.store import read_manifest, records_dir

    try:
        return read_manifest(records_dir(data.settings, data.region))
    except Exception:  # noqa: BLE001 - provenance unknown: the notes say so rather than fail the export
        return {}


def _sources(data: AppData) -> tuple[str, ...]:
    manifest = data.bundle.manifest
    out = []
    records = records_manifest(data)
    if records:
        kind = "SYNTHETIC person-level records" if records.get("synthetic", True) else "Person-level records"
        out.append(f"{kind} (extract date {records.get('extract_date', '?')}, made "
                   f"{str(records.get('generated_at', '?'))[:10]}, tool {records.get('tool_version', '?')})")
    out.append(f"GP registrations by LSOA ({manifest.get('gp_registrations', 'unknown')})")
    for name, rec in (manifest.get("sources") or {}).items():
        if isinstance(rec, dict):
            out.append(f"{rec.get('title', name)} ({rec.get('publisher', '?')}; fetched "
                       f"{str(rec.get('fetched_at', '?'))[:10]}; sha256 {str(rec.get('sha256', ''))[:12]})")
    out.append(f"Bundle {data.region} built {str(manifest.get('built_at', '?'))[:10]} "
               f"(tool {manifest.get('tool_version', '?')}). {PUBLIC_SOURCES}")
    return tuple(out)


def export_notes(data: AppData, role: str, title: str, metrics: Iterable[str] = ()) -> ExportNotes:
    """The notes for an export of `metrics` made now for `role`."""
    definitions = []
    for name in metrics:
        if name in data.metrics:
            info = data.metrics[name]
            definitions.append((info.label, f"{info.description} Unit: {info.unit}; denominator: {info.denominator}."))
    return ExportNotes(title=title, role=str(role), made_at=datetime.now(UTC).isoformat(timespec="seconds"),
                       synthetic=data.synthetic, sources=_sources(data), definitions=tuple(definitions))
