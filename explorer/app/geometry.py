"""Boundaries for the browser: one cacheable HTTP resource per level, `/_geometry/<level>.json`.

Each level's payload ({level, codes, names, labels, geojson}; names escaped for plotly's hover) is
written to JSON bytes and gzipped once per process, on its first request, and then served as those
bytes to everyone: no per-request serialisation (England's LSOA layer is 11 MB of JSON, 1.9 MB
gzipped). The response carries an ETag (a hash of the bytes) and `Cache-Control: private, no-cache`,
so the browser keeps it across page loads and revalidates with a request of a few hundred bytes
(304 Not Modified) instead of downloading it again; `private` because the answer depends on the
role. The role check is that of every data callback (`context.role_and_policy`): boundaries are
public, but a role sees only its levels, and a level the region does not offer is refused (403).
assets/explorer.js `geometryRequest` fetches it into the level's memory store.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from dataclasses import dataclass

from flask import Flask, Response, request

from explorer.app.context import role_and_policy
from explorer.domain.geography import LEVELS
from explorer.figures.labels import escape_labels
from explorer.services.app_data import AppData
from explorer.services.app_geometry import payload_json

ROUTE = "/_geometry/<level>.json"
PREFIX = "/_geometry/"  # explorer.app.security leaves these responses' Cache-Control alone
CACHE_CONTROL = "private, no-cache"  # keep, but ask (ETag) before reuse: the answer depends on the role
GZIP_LEVEL = 6
_EXTENSION = "explorer_geometry"


def url_for_level(level: str) -> str:
    return ROUTE.replace("<level>", level)


def browser_geometry(payload: dict) -> dict:
    """A level's geometry payload with area names escaped: the browser's map (assets/explorer.js)
    shows them as plotly hover text, where an imported name like '<a href=...>' would be live HTML."""
    return {**payload, "names": escape_labels(payload["names"])}


@dataclass(frozen=True)
class Encoded:
    """One level's payload as sent: gzip bytes, their raw size, and the ETag."""

    gzipped: bytes
    raw_bytes: int
    etag: str  # unquoted (werkzeug quotes it in the header)

    def raw(self) -> bytes:
        """The uncompressed JSON, for the rare client that does not accept gzip."""
        return gzip.decompress(self.gzipped)


def encode_level(data: AppData, level: str) -> Encoded:
    """The level's payload serialised and gzipped (about 2 s for England's LSOAs on these machines)."""
    geometry = data.geometry[level]
    raw = payload_json(geometry, escape_labels(geometry.names))
    return Encoded(gzip.compress(raw, compresslevel=GZIP_LEVEL), len(raw), hashlib.sha256(raw).hexdigest()[:32])


class GeometryCache:
    """Encoded levels of one app, each made once (a lock: two first requests do not both encode it)."""

    def __init__(self, data: AppData) -> None:
        self._data = data
        self._done: dict[str, Encoded] = {}
        self._lock = threading.Lock()

    def get(self, level: str) -> Encoded:
        if level not in self._done:
            with self._lock:
                if level not in self._done:
                    self._done[level] = encode_level(self._data, level)
        return self._done[level]


def send_level(cache: GeometryCache, level: str) -> Response:
    """The level's bytes (gzip if accepted), or 304 when the browser's copy is current."""
    if level not in LEVELS:
        return Response('{"error": "no such level"}', status=404, mimetype="application/json")
    role_and_policy(level)  # AccessDenied (403) for a level beyond the role or not offered here
    encoded = cache.get(level)
    headers = {"Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding, Cookie"}
    if request.if_none_match.contains(encoded.etag):
        response = Response(status=304, headers=headers)
    elif "gzip" in request.headers.get("Accept-Encoding", "").lower():
        response = Response(encoded.gzipped, mimetype="application/json",
                            headers={**headers, "Content-Encoding": "gzip"})
    else:
        response = Response(encoded.raw(), mimetype="application/json", headers=headers)
    response.set_etag(encoded.etag)
    return response


def register(server: Flask, data: AppData) -> None:
    cache = GeometryCache(data)
    server.extensions[_EXTENSION] = cache

    @server.route(ROUTE)
    def geometry_level(level: str) -> Response:
        return send_level(server.extensions[_EXTENSION], level)


def cache_of(server: Flask) -> GeometryCache:
    return server.extensions[_EXTENSION]


__all__ = ["ROUTE", "browser_geometry", "cache_of", "encode_level", "register", "url_for_level"]
