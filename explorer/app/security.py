"""Security headers on every response, and no caching of anything but static files.

The Content-Security-Policy allows only this server: scripts from 'self' plus the hashes of
Dash's own inline scripts (the renderer bootstrap and any inline clientside callback;
`Dash.csp_hashes()`); inline styles because React and plotly set style attributes; blob:
workers and images for the MapLibre map. No 'unsafe-eval': Dash 4's renderer, dcc and plotly.js
only reach `new Function` as a fallback for browsers without globalThis, and the traces this app
draws (bar, scatter, choroplethmap) loaded in headless Chromium with no CSP violation. WebGL
traces (scattergl, splom, parcoords) compile code at run time: adding one needs
ALLOW_EVAL = True. Framing is refused twice (frame-ancestors and X-Frame-Options) for older
browsers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from flask import Flask, Response, request

STATIC_PREFIXES = ("/assets/", "/_dash-component-suites/", "/_favicon.ico")
# responses that set their own Cache-Control (explorer.app.geometry: private, revalidated by ETag)
OWN_CACHE_PREFIXES = ("/_geometry/",)
ALLOW_EVAL = False


def content_security_policy(script_hashes: Sequence[str] = ()) -> str:
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *(["'unsafe-eval'"] if ALLOW_EVAL else []), *script_hashes],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "child-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def security_headers(script_hashes: Sequence[str] = ()) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(script_hashes),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
                              "interest-cohort=()",
        "Cross-Origin-Opener-Policy": "same-origin",
    }


def install_headers(server: Flask, script_hashes: Sequence[str] | Callable[[], Sequence[str]] = ()) -> None:
    """Add the headers to every response; data and pages get Cache-Control: no-store.

    `script_hashes` may be a callable (`Dash.csp_hashes`): it is called at the first response,
    because Dash adds some inline scripts (the pages' clientside functions) only when it sets
    itself up at the first request."""
    cache: dict[str, dict[str, str]] = {}

    def headers() -> dict[str, str]:
        if "headers" not in cache:
            cache["headers"] = security_headers(script_hashes() if callable(script_hashes) else script_hashes)
        return cache["headers"]

    @server.after_request
    def _secure(response: Response) -> Response:
        for name, value in headers().items():
            response.headers.setdefault(name, value)
        if not request.path.startswith(STATIC_PREFIXES) and not (
                request.path.startswith(OWN_CACHE_PREFIXES) and "Cache-Control" in response.headers):
            response.headers["Cache-Control"] = "no-store"
            response.headers.pop("Expires", None)
        return response
