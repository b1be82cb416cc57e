"""Figure downloads in the app: PNG / SVG / PDF buttons beside every figure, made on the server.

Each figure block carries a small menu (:func:`menu`) and, in a store, what the figure shows (kind,
level, area, metric, filters, groups). A click sends that to one pattern-matched callback, which
takes the role and user from the session (never from the browser), checks the request exactly as
`explorer export figure` does (explorer.export: levels, areas and metrics the role may see,
publication disclosure control for every role), renders it with the warm renderer, audits it and
hands the file to the browser. A forged store gets 403 (beyond the role) or 400 (unknown values).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dash import ALL, MATCH, Dash, Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate

from explorer.app import ids
from explorer.app.auth import current_role, current_user_name
from explorer.app.context import current_data
from explorer.app.state import InvalidInput, MapView, check_store, risk_text
from explorer.domain.metrics import FilterError, Filters
from explorer.export import FORMATS, ExportError, ExportRequest, export_figure
from explorer.export.items import file_stem
from explorer.services.app_data import AppData

BUTTON, REQUEST, DOWNLOAD = ids.EXPORT_BUTTON, ids.EXPORT_REQUEST, ids.EXPORT_DOWNLOAD
MAP_INDEX = "map"
REQUEST_KEYS = ("kind", "level", "area", "metric", "by", "risk", "capacity", "rank")
MIME = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}


def request_data(kind: str, level: str, *, area: str | None = None, metric: str | None = None,
                 filters: Filters | None = None, by: str | None = None, risk: Any = None,
                 capacity: int | None = None, rank_by: str | None = None) -> dict[str, str]:
    """What a figure shows, as the text-only store the download callback reads (`capacity` and
    `rank_by`: the outreach page's, so its export ranks and targets the areas the page shows)."""
    out = {"kind": kind, "level": level, "area": area or "", "metric": metric or "", "by": by or "",
           "risk": risk_text(risk) if risk is not None else ""}
    if capacity is not None:
        out["capacity"] = str(capacity)
    if rank_by:
        out["rank"] = rank_by
    out.update({f"f_{k}": v for k, v in (filters or Filters()).to_query().items()})
    return out


def download_stem(request: Mapping[str, str] | None) -> str | None:
    """The file name (no extension) a figure showing `request` downloads as: its export's name."""
    if not request or not request.get("kind"):
        return None
    return file_stem(current_data(), request.get("area") or None, request.get("metric") or request.get("by") or "",
                     request["kind"])


def menu(index: str, request: Mapping[str, str] | None) -> html.Div:
    """'Download figure: PNG SVG PDF' for the figure `index` (unique on its page). Its `data-filename`
    (the exports' file name) also names the chart toolbar's PNG (components.figure_block)."""
    buttons = [html.Button(fmt.upper(), id={"type": BUTTON, "index": index, "fmt": fmt}, n_clicks=0,
                           className="export-button", title=f"Download this figure as {fmt.upper()}",
                           **{"aria-label": f"Download this figure as {fmt.upper()}"}) for fmt in FORMATS]
    return html.Div([html.Span("Download figure:", className="export-label"), *buttons,
                     dcc.Store(id={"type": REQUEST, "index": index}, data=dict(request or {})),
                     dcc.Download(id={"type": DOWNLOAD, "index": index})],
                    className="export-menu", role="group",
                    **{"aria-label": "Download this figure", "data-filename": download_stem(request) or ""})


def parse_request(stored: Any, role: str) -> ExportRequest:
    """The store as an ExportRequest for `role` (the session's); InvalidInput if malformed."""
    stored = check_store(stored, "figure export")
    if not stored or not stored.get("kind"):
        raise InvalidInput("Malformed request: no figure to export.")
    filters = [f"{k[2:]}={v}" for k, v in stored.items() if k.startswith("f_")]
    odd = [k for k in stored if k not in REQUEST_KEYS and not k.startswith("f_")]
    if odd:
        raise InvalidInput(f"Malformed request: unknown key {odd[0][:40]!r} in the figure export.")
    try:
        parsed = Filters.parse(filters)
    except FilterError as exc:
        raise InvalidInput(f"Bad filter in the figure export: {exc}") from None
    return ExportRequest(stored["kind"], stored.get("level") or "region", stored.get("area") or None,
                         stored.get("metric") or None, parsed, role, stored.get("by") or None,
                         stored.get("risk") or None, stored.get("capacity") or None, stored.get("rank") or None)


def map_request(data: AppData, stored: Mapping[str, str] | None) -> dict[str, str]:
    """The map page's view store as an export request (the map is redrawn in the browser, so its
    request follows the view store rather than being built with the figure)."""
    query = dict(check_store(stored) or {})
    view = MapView.from_query(query, metrics=tuple(data.metrics), default_metric=data.default_metric(),
                              area_level=data.area_level)
    return request_data("map", view.level, area=view.area, metric=view.metric, filters=view.effective_filters,
                        risk=view.risk)


def register(app: Dash, data: AppData) -> None:
    @app.callback(
        Output({"type": DOWNLOAD, "index": MATCH}, "data"),
        Input({"type": BUTTON, "index": MATCH, "fmt": ALL}, "n_clicks"),
        State({"type": REQUEST, "index": MATCH}, "data"),
        prevent_initial_call=True,
    )
    def download(clicks: list, stored: Any) -> dict:
        trigger = ctx.triggered_id
        if not trigger or not any(isinstance(c, int) and c > 0 for c in clicks or []):
            raise PreventUpdate
        fmt = trigger.get("fmt") if isinstance(trigger, Mapping) else None
        if fmt not in FORMATS:
            raise InvalidInput("Malformed request: unknown export format.")
        request = parse_request(stored, current_role().value)
        try:
            item, payload = export_figure(data, request, fmt, user=current_user_name())
        except ExportError as exc:
            raise InvalidInput(f"This figure cannot be exported: {exc}") from None
        return dcc.send_bytes(payload, f"{item.slug}.{fmt}", type=MIME[fmt])

    @app.callback(Output({"type": REQUEST, "index": MAP_INDEX}, "data"),
                  Input(ids.MAP_VIEW, "data"))
    def follow_map_view(stored: Any) -> dict:
        return map_request(data, stored)


__all__ = ["BUTTON", "DOWNLOAD", "MAP_INDEX", "REQUEST", "download_stem", "map_request", "menu", "parse_request",
           "register", "request_data"]
