"""The profile page's "Board pack" buttons: the area's pack as PowerPoint or PDF in one click.

The area comes from the profile's view store, checked by the page's own reader (a forged store is
refused with 403 like every other profile callback); the role and user come from the session. The
pack goes through explorer.export.files (the role's rights, publication disclosure control for
every role, audit) and is handed to the browser by a dcc.Download. Building a pack renders about
ten charts, so the last few packs are kept (per area, level and role) and the second format, or a
colleague's identical request, only lays the same slides out again (each download is audited).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from dash import Dash, Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate

from explorer.app import ids
from explorer.app.auth import current_role, current_user_name
from explorer.app.state import InvalidInput
from explorer.export import ExportError
from explorer.export.files import audit_pack
from explorer.export.pack import (
    PACK_FORMATS,
    PACK_LEVELS,
    Pack,
    build_pack,
    pack_bytes,
    pack_filename,
)
from explorer.services.app_data import AppData

MIME = {"pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "pdf": "application/pdf"}
LABELS = {"pptx": "Board pack (PowerPoint)", "pdf": "Board pack (PDF)"}
CACHED_PACKS = 4


def controls() -> html.Div:
    """The two buttons, a status line read out by screen readers, and the download."""
    buttons = [html.Button(LABELS[fmt], id={"type": ids.PROFILE_PACK_BUTTON, "fmt": fmt}, n_clicks=0,
                           className="export-button pack-button",
                           title=f"Make this area's board pack as {fmt.upper()} (about 15 seconds)")
               for fmt in PACK_FORMATS]
    return html.Div([html.Span("Board pack for this area:", className="export-label"), *buttons,
                     dcc.Loading(html.Span(id=ids.PROFILE_PACK_STATUS, role="status", className="table-note"),
                                 type="dot"),
                     dcc.Download(id=ids.PROFILE_PACK_DOWNLOAD)],
                    className="export-menu pack-menu", role="group", **{"aria-label": "Board pack"})


def _packs(data: AppData) -> Callable[[str, str, str], Pack]:
    """The few most recent packs of this app (one cache per AppData, as its other results)."""
    if "board_packs" not in data._cache:
        data._cache["board_packs"] = lru_cache(maxsize=CACHED_PACKS)(
            lambda level, area, role: build_pack(data, level, area, role))
    return data._cache["board_packs"]


def register(app: Dash, data: AppData, area_of: Callable[[Any], str | None]) -> None:
    """`area_of(store)` is the profile page's reader of its view store (403 on a forged store)."""

    @app.callback(
        Output(ids.PROFILE_PACK_DOWNLOAD, "data"),
        Output(ids.PROFILE_PACK_STATUS, "children"),
        Input({"type": ids.PROFILE_PACK_BUTTON, "fmt": "pptx"}, "n_clicks"),
        Input({"type": ids.PROFILE_PACK_BUTTON, "fmt": "pdf"}, "n_clicks"),
        State(ids.PROFILE_VIEW, "data"),
        prevent_initial_call=True,
    )
    def download(pptx: Any, pdf: Any, stored: Any) -> tuple:
        trigger = ctx.triggered_id
        if not isinstance(trigger, dict) or not any(isinstance(c, int) and c > 0 for c in (pptx, pdf)):
            raise PreventUpdate
        fmt = trigger.get("fmt")
        if fmt not in PACK_FORMATS:
            raise InvalidInput("Malformed request: unknown board pack format.")
        role = current_role().value
        area = area_of(stored)
        level = data.level_of(area) if area else None
        if level not in PACK_LEVELS:
            return None, "Choose an ICS, place or PCN above: a board pack is made for one of those."
        try:
            pack = _packs(data)(level, area, role)
        except ExportError as exc:
            raise InvalidInput(f"This board pack cannot be made: {exc}") from None
        payload = pack_bytes(pack, fmt)
        audit_pack(data, current_user_name(), pack, fmt, None)
        return (dcc.send_bytes(payload, pack_filename(area, fmt), type=MIME[fmt]),
                f"{LABELS[fmt]} for {pack.area_name}: {len(pack.slides)} slides, made {pack.notes.made_at[:16]} UTC.")


__all__ = ["controls", "register"]
