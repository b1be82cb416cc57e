"""One figure export end to end: build the item, render it, record it in the audit log, write it.

The app's download buttons and `explorer export figure` both come through :func:`export_figure`,
so both are checked, controlled and audited the same way (who, what, when).
"""

from __future__ import annotations

from pathlib import Path

from explorer.export.items import ExportItem, ExportRequest, build_item
from explorer.export.renderer import FORMATS, RenderError, render, write_export
from explorer.services.app_data import AppData

__all__ = ["audit_export", "export_figure"]


def audit_export(data: AppData, user: str, request: ExportRequest, fmt: str, what: str = "figure", **extra: object
                 ) -> None:
    """Record one export in the audit log: who (user, role), what (kind, level, area, metric, filters,
    groups, format) and when (the log line's time)."""
    from explorer.auth.users import audit

    filters = request.filters.to_query() if hasattr(request.filters, "to_query") else request.filters
    extra.update({k: v for k, v in (("capacity", request.capacity), ("rank_by", request.rank_by)) if v is not None})
    audit(data.settings, "export", user, request.role, what=f"{what}_{request.kind}", format=fmt,
          level=request.level, area=request.area, metric=request.metric, by=request.by,
          filters=filters if isinstance(filters, dict) else list(filters or ()), region=data.region, **extra)


def export_figure(data: AppData, request: ExportRequest, fmt: str, *, user: str, out: str | Path | None = None,
                  width: int | None = None, height: int | None = None) -> tuple[ExportItem, bytes]:
    """Build, render and audit one figure; with `out`, write it atomically there (nothing on failure)."""
    if fmt not in FORMATS:
        raise RenderError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    item = build_item(data, request, **{k: v for k, v in (("width", width), ("height", height)) if v})
    payload = render(item.figure, fmt, width=item.width, height=item.height)
    if out is not None:
        write_export(out, payload)
    audit_export(data, user, request, fmt, file=str(out) if out is not None else None)
    return item, payload
