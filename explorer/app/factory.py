"""The composition root: `create_app(settings, region)` builds the Dash app and its Flask server.

Shared data is loaded once here (read-only afterwards); per-user state lives in the URL and in
dcc.Store components. Everything is served from this server: Dash's own scripts, plotly.js,
our stylesheet and scripts from assets/ - no CDN, no web fonts, no map tiles.
"""

from __future__ import annotations

import copy
import gzip
import logging
from pathlib import Path

import dash
from dash import Dash, html
from dash.development.base_component import Component
from flask import Flask, Response, jsonify, request

from explorer.app import auth, exports, geometry, security, shell
from explorer.app.context import DATA_EXTENSION
from explorer.app.pages import PAGES
from explorer.app.state import InvalidInput
from explorer.config import Settings
from explorer.domain.access import AccessDenied, Role
from explorer.services.app_data import AppData

log = logging.getLogger(__name__)
ASSETS = Path(__file__).resolve().parents[2] / "assets"
APP_TITLE = "Population Health Explorer"
COMPRESS_MIN_BYTES = 1400  # below one packet gzip gains nothing
COMPRESSIBLE = ("application/json", "text/html", "text/css", "application/javascript", "text/javascript")

INDEX_STRING = """<!DOCTYPE html>
<html lang="en">
    <head>
        {%metas%}
        <title>{%title%}</title>
        {%favicon%}
        {%css%}
    </head>
    <body>
        {%app_entry%}
        {%config%}
        {%scripts%}
        {%renderer%}
    </body>
</html>"""


def create_app(settings: Settings, region: str = "london", *, demo_role: Role | str | None = None,
               data: AppData | None = None, warm: bool = True, debug: bool = False) -> Dash:
    """Build the app. `demo_role` skips sign-in and shows everything as that role (and says so).

    `data` lets tests and benchmarks share one loaded AppData between apps; `warm` computes the
    default views at start so the first user does not wait for the engine's cell tables.
    """
    data = data or AppData.load(settings, region)
    app = Dash(
        __name__,
        use_pages=True,
        pages_folder="",
        assets_folder=str(ASSETS),
        serve_locally=True,
        title=APP_TITLE,
        update_title=None,
        index_string=INDEX_STRING,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
        suppress_callback_exceptions=False,
    )
    server: Flask = app.server
    server.extensions[DATA_EXTENSION] = data
    auth.init_auth(server, settings, Role(demo_role) if demo_role else None)
    _install_error_handler(server)
    install_compression(server)
    for page in PAGES:
        dash.register_page(page.MODULE, path=page.PATH, name=page.NAME, title=f"{page.NAME} - {APP_TITLE}",
                           order=page.ORDER, layout=page.layout, description=page.DESCRIPTION)
    with server.test_request_context("/"):  # Dash evaluates a layout function once when it is set
        app.layout = shell.layout
    shell.register(app, data)
    geometry.register(server, data)  # boundaries: one cacheable resource per level
    exports.register(app, data)
    for page in PAGES:
        page.register(app, data)
    security.install_headers(server, app.csp_hashes)  # hashes of Dash's inline scripts, taken at first request
    _slim_validation_layout(app)
    if warm:
        from explorer.app.presenters.map import warm as warm_maps

        warm_maps(data)
    app.enable_dev_tools(debug=debug, dev_tools_ui=debug, dev_tools_props_check=debug,
                         dev_tools_hot_reload=False, dev_tools_serve_dev_bundles=debug)
    return app


def _slim_validation_layout(app: Dash) -> None:
    """Replace the validation layout Dash builds at the first request (every page's default layout,
    sent in the config of every page load) with each component that has an id, its children and list
    or dict props left out: the callbacks are checked against exactly the same ids and component types,
    but an England page load no longer carries every page's tables (3.8 MB of JSON before, mostly the
    overview's 1,272 PCN rows)."""

    @app.server.before_request
    def _slim() -> None:  # runs after Dash's own first-request setup, registered before it
        layout = app.validation_layout
        if layout is None or getattr(app, "_explorer_slim", False):
            return
        app.validation_layout = html.Div([_bare(c) for c in _with_ids(layout)])
        app._explorer_slim = True


def _with_ids(layout: Component) -> list[Component]:
    return [c for c in [layout, *layout._traverse()]
            if isinstance(c, Component) and getattr(c, "id", None) is not None]


def _bare(component: Component) -> Component:
    bare = copy.copy(component)
    for prop in bare._prop_names:
        if prop != "id" and prop in vars(bare) and (
                prop == "children" or isinstance(getattr(bare, prop), (list, dict, tuple))):
            delattr(bare, prop)
    return bare


def _install_error_handler(server: Flask) -> None:
    @server.errorhandler(AccessDenied)
    def _denied(exc: AccessDenied):  # a forged callback request: refuse, say why, leak nothing
        return jsonify(error=str(exc)), 403

    @server.errorhandler(InvalidInput)
    def _malformed(exc: InvalidInput):  # a callback input no control can send: 400, not a 500 traceback
        return jsonify(error=str(exc)), 400


def install_compression(server: Flask) -> None:
    """gzip JSON and text responses when the browser accepts it (Flask-Compress not needed)."""

    @server.after_request
    def _gzip(response: Response) -> Response:
        if (response.direct_passthrough or response.status_code < 200 or response.status_code >= 300
                or "gzip" not in request.headers.get("Accept-Encoding", "").lower()
                or response.headers.get("Content-Encoding")
                or not (response.mimetype or "").startswith(COMPRESSIBLE)):
            return response
        body = response.get_data()
        if len(body) < COMPRESS_MIN_BYTES:
            return response
        response.set_data(gzip.compress(body, compresslevel=5))
        response.headers["Content-Encoding"] = "gzip"
        response.headers["Content-Length"] = str(len(response.get_data()))
        response.headers.add("Vary", "Accept-Encoding")
        return response
