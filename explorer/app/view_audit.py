"""Audit of data access: every page load and Dash callback a signed-in user makes is one line in
the audit log (who, role, which view, its inputs in short, when), not only sign-ins and exports.

Runs after the response is made, so only data actually served (2xx) is recorded as viewed;
refused forged requests (403) go to the application log as warnings instead. Details are cut to
bounded lengths so a user cannot grow the log by sending huge inputs. Cost: one JSON dump and one
locked append (see explorer.auth.auditlog), well under a millisecond.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask, Response, request

from explorer.auth.auditlog import audit
from explorer.config import Settings

log = logging.getLogger(__name__)
CALLBACK_PATH = "/_dash-update-component"
VALUE_CHARS = 80  # one input's value
FIELD_CHARS = 600  # outputs, inputs or a URL
SKIP_PREFIXES = ("/_", "/assets/", "/login", "/logout")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _compact(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), default=str)


def _props(items: Any) -> Iterator[str]:
    """'id.property=value' for Dash's inputs/state lists (nested lists for pattern-matching ids)."""
    for item in items if isinstance(items, list) else []:
        if isinstance(item, list):
            yield from _props(item)
        elif isinstance(item, dict):
            yield f"{_compact(item.get('id'))}.{item.get('property')}={clip(_compact(item.get('value')), VALUE_CHARS)}"


def callback_details(body: Any) -> dict[str, str]:
    """Which outputs were asked for and with which inputs, each bounded in length."""
    body = body if isinstance(body, dict) else {}
    return {
        "view": clip(_compact(body.get("output", "")), FIELD_CHARS),
        "inputs": clip("; ".join(_props(body.get("inputs"))), FIELD_CHARS),
        "state": clip("; ".join(_props(body.get("state"))), FIELD_CHARS),
        "changed": clip(_compact(body.get("changedPropIds", [])), FIELD_CHARS),
    }


def _details() -> tuple[str, dict[str, str]] | None:
    """(event, details) for a data request, None for static files, sign-in pages and the like."""
    if request.path == CALLBACK_PATH and request.method == "POST":
        return "view", callback_details(request.get_json(silent=True, cache=True))
    if request.method == "GET" and not request.path.startswith(SKIP_PREFIXES):
        return "page", {"view": clip(request.full_path.rstrip("?"), FIELD_CHARS)}
    return None


def install(server: Flask, settings: Settings, who: Callable[[], tuple[str, str] | None]) -> None:
    """Record each served data request of a known user; `who` gives (user, role) or None."""

    @server.after_request
    def _audit_view(response: Response) -> Response:
        found = _details()
        identity = who() if found else None
        if found is None or identity is None:
            return response
        event, details = found
        if response.status_code == 403:
            log.warning("refused %s for %s (%s): %s", event, *identity, details.get("view"))
        elif 200 <= response.status_code < 300:
            audit(settings, event, *identity, **details)
        return response
