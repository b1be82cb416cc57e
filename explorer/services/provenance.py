"""Where the numbers of an export come from: the bundle's sources with their dates, the records.

Every exported figure, table and pack carries this in its footnote, so a board paper can say which
versions of the official files and which extract (or synthetic generation) it was made from. It is
read from the bundle manifest (``bundle/manifest.json``: each source's title, publisher and fetch
date, the build date and tool version) and the records manifest (``records_manifest.json``).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # a type only: printing a CLI table needs no app data (shapely)
    from explorer.services.app_data import AppData

__all__ = ["Provenance", "provenance"]


@dataclass(frozen=True)
class Provenance:
    """The lines of an export's sources note, shortest useful form first."""

    sources: tuple[str, ...]  # "ONS, LSOA (December 2021) Boundaries EW BGC (fetched 2026-11-30)"
    fetched: str = ""  # the one fetch date when every source was fetched the same day (then not repeated)
    bundle: str = ""  # "London bundle built 2026-11-30 (explorer 0.1.0)"
    records: str = ""  # "care-plan records: synthetic, generated 2026-11-30 (seed 1)" or "" without records
    as_at: str | None = None  # the extract's month end, ISO date, when records are loaded

    def text(self) -> str:
        """One paragraph for a footnote: sources; bundle; records."""
        head = f"Sources (fetched {self.fetched})" if self.fetched else "Sources"
        parts = [f"{head}: " + "; ".join(self.sources)] if self.sources else []
        parts.append(self.bundle)
        if self.records:
            parts.append(self.records)
        return ". ".join(parts) + "."


_PUBLISHER_SHORT = {"Office for National Statistics": "ONS",
                    "Ministry of Housing, Communities and Local Government": "MHCLG",
                    "NHS England (formerly NHS Digital)": "NHS England"}


def _sources(manifest: dict) -> tuple[tuple[str, ...], str]:
    """(one line per source, the common fetch date or "")."""
    raw: Any = manifest.get("sources") or {}
    if isinstance(raw, str):  # bundles store the mapping as its repr
        try:
            raw = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            return (), ""
    entries = list(raw.values()) if isinstance(raw, dict) else []
    dates = {str(e.get("fetched_at", ""))[:10] for e in entries}
    common = dates.pop() if len(dates) == 1 else ""
    out = []
    for entry in entries:
        publisher = str(entry.get("publisher", ""))
        when = str(entry.get("fetched_at", ""))[:10]
        out.append(f"{_PUBLISHER_SHORT.get(publisher, publisher)} {entry.get('title', '?')}"
                   + (f" (fetched {when})" if when and not common else ""))
    return tuple(out), common


def _records_line(data: AppData) -> str:
    if data.engine is None:
        return ""
    from explorer.records.store import read_manifest, records_dir

    try:
        manifest = read_manifest(records_dir(data.settings, data.region))
    except Exception:  # noqa: BLE001 - an old or imported store without a manifest: say what we know
        manifest = {}
    made = str(manifest.get("generated_at") or manifest.get("created_at") or manifest.get("written_at") or "")[:10]
    kind = "synthetic, generated" if data.synthetic else "imported"
    seed = manifest.get("seed")
    return (f"Care-plan records: {kind}{(' ' + made) if made else ''}"
            + (f" (seed {seed})" if seed is not None and data.synthetic else ""))


def provenance(data: AppData) -> Provenance:
    """The sources note of the data behind `data` (cached on the instance: it does not change)."""
    cached = data._cache.get("provenance")
    if cached is not None:
        return cached
    manifest = data.bundle.manifest
    built = str(manifest.get("built_at", ""))[:10]
    bundle = f"{data.region_name} bundle built {built or 'on an unknown date'} (explorer {manifest.get('tool_version', '?')})"
    snapshot = getattr(data.engine, "snapshot", None)
    sources, fetched = _sources(manifest)
    result = Provenance(sources, fetched, bundle, _records_line(data),
                        snapshot.isoformat() if snapshot is not None else None)
    data._cache["provenance"] = result
    return result
