"""Tables and board packs end to end: check, build under the role's disclosure policy, write
atomically, audit (who, what, when). The CLI and the app's download buttons both come through here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pandas as pd

from explorer.domain import access
from explorer.export.figure import audit_export
from explorer.export.items import ExportError, ExportRequest, build_item
from explorer.export.notes import export_notes
from explorer.export.pack import (
    PACK_FORMATS,
    PACK_LEVELS,
    Pack,
    build_pack,
    check_pack,
    pack_bytes,
    pack_filename,
)
from explorer.export.renderer import write_export
from explorer.export.tables import TABLE_FORMATS, table_bytes
from explorer.services.app_data import AppData

__all__ = ["audit_pack", "export_pack", "export_packs", "export_table", "flat_table", "pack_areas"]


def flat_table(table: pd.DataFrame) -> pd.DataFrame:
    """The item's table with its scalar results (the gradient's SII/RII, the trend test, the
    comparator) as columns, so a CSV holds every number the figure shows."""
    out = table.copy()
    for key, value in (table.attrs or {}).items():
        items = value.items() if isinstance(value, dict) else [(key, value)]
        for name, v in items:
            if isinstance(v, bool):  # a flag ("high_risk": the cascade's cohort), not a count
                name = f"{name}_flag"
            if isinstance(v, (int, float, str, bool)) and name not in out.columns:
                out[name] = v
    out.attrs = {}
    return out


def export_table(data: AppData, request: ExportRequest, fmt: str, *, user: str, out: str | Path | None = None
                 ) -> tuple[pd.DataFrame, bytes]:
    """The numbers behind one figure as CSV or xlsx for the request's role; written atomically to
    `out` when given, and audited."""
    if fmt not in TABLE_FORMATS:
        raise ExportError(f"unknown table format '{fmt}': choose one of {', '.join(TABLE_FORMATS)}")
    item = build_item(data, request)  # checks area, level, role, filters; the role's controlled numbers
    table = flat_table(item.table)
    notes = export_notes(data, request.role, item.title, [request.metric] if request.metric else [])
    payload = table_bytes(table, notes, fmt)
    if out is not None:
        write_export(out, payload)
    audit_export(data, user, request, fmt, what="table", file=str(out) if out is not None else None,
                 rows=len(table))
    return table, payload


def export_pack(data: AppData, level: str, area: str, role: str, fmt: str, *, user: str,
                out: str | Path | None = None, renderer: Callable | None = None) -> bytes:
    """One board pack as PPTX or PDF; written atomically to `out` when given, and audited."""
    if fmt not in PACK_FORMATS:
        raise ExportError(f"unknown pack format '{fmt}': choose one of {', '.join(PACK_FORMATS)}")
    pack = build_pack(data, level, area, role, renderer=renderer)
    payload = pack_bytes(pack, fmt)
    if out is not None:
        write_export(out, payload)
    audit_pack(data, user, pack, fmt, out)
    return payload


def audit_pack(data: AppData, user: str, pack: Pack, fmt: str, out: str | Path | None) -> None:
    """Record one board pack in the audit log: who (user, role), what (area, level, format), when."""
    from explorer.auth.users import audit

    audit(data.settings, "export", user, pack.role, what="board_pack", format=fmt, level=pack.level,
          area=pack.area_code, region=data.region, slides=len(pack.slides),
          file=str(out) if out is not None else None)


def pack_areas(data: AppData, level: str, role: str) -> tuple[str, ...]:
    """Every area of `level` a batch run makes a pack for (the role's rights checked first)."""
    if level not in PACK_LEVELS:
        raise ExportError(f"a board pack is made for an ICS, place or PCN: --level {' | '.join(PACK_LEVELS)}")
    access.check_level(role, level)
    return tuple(data.geometry[level].codes)


def export_packs(data: AppData, level: str, areas: Iterable[str], role: str, fmt: str, directory: str | Path, *,
                 user: str, renderer: Callable | None = None) -> Iterator[Path]:
    """A pack per area into `directory` (board-pack-<code>.<fmt>), yielding each file as it is
    written (so a caller can show progress). Every area is checked before the first is drawn."""
    directory = Path(directory)
    areas = tuple(areas)
    for code in areas:
        check_pack(data, level, code, role)
    for code in areas:
        path = directory / pack_filename(code, fmt)
        export_pack(data, level, code, role, fmt, user=user, out=path, renderer=renderer)
        yield path
