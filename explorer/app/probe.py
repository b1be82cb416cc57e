"""Call the app's callbacks over HTTP exactly as the browser does (benchmarks, load test, tests).

`CallbackProbe(get, post)` reads `/_dash-dependencies` once; `call(...)` posts one
`/_dash-update-component` request built from the dependency's outputs/inputs/state with the values
you give, and reports the status, the bytes on the wire (gzip if the server compressed), the
uncompressed size and the server time. `get`/`post` adapt a Flask test client or a requests
session, so the same code measures in-process and against a running gunicorn.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ENDPOINT = "/_dash-update-component"


@dataclass(frozen=True)
class CallResult:
    status: int
    wire_bytes: int  # as sent (compressed if the server gzipped it)
    raw_bytes: int  # uncompressed JSON
    seconds: float
    body: Any  # parsed JSON (None for 204 No Content)

    def output(self, component_id: str, prop: str) -> Any:
        if not self.body:
            return None
        return self.body["response"][component_id][prop]


def _split_outputs(output: str) -> list[tuple[Any, str]]:
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    out = []
    for part in parts:
        ident, prop = part.rsplit(".", 1)
        out.append((json.loads(ident) if ident.startswith("{") else ident, prop))
    return out


def _parse_id(ident: str) -> Any:
    return json.loads(ident) if ident.startswith("{") else ident


def key(component_id: Any, prop: str) -> str:
    """'map-view.data' or '{"name":"level","type":"map-control"}.value' (sorted keys, compact)."""
    if isinstance(component_id, dict):
        ident = "{" + ",".join(f"{json.dumps(k)}:{json.dumps(component_id[k])}" for k in sorted(component_id)) + "}"
    else:
        ident = str(component_id)
    return f"{ident}.{prop}"


class CallbackProbe:
    def __init__(self, get: Callable[[str], Any], post: Callable[[str, bytes, dict], Any]):
        self._get, self._post = get, post
        response = get("/_dash-dependencies")
        self.dependencies: list[dict] = json.loads(_content(response))

    @classmethod
    def for_flask(cls, client: Any, *, gzip_accepted: bool = True) -> CallbackProbe:
        headers = {"Accept-Encoding": "gzip"} if gzip_accepted else {}
        return cls(lambda path: client.get(path, headers=headers),
                   lambda path, body, h: client.post(path, data=body, headers={**headers, **h}))

    @classmethod
    def for_requests(cls, session: Any, base_url: str, *, timeout: float = 30) -> CallbackProbe:
        return cls(lambda path: session.get(base_url + path, timeout=timeout),
                   lambda path, body, h: session.post(base_url + path, data=body, headers=h, timeout=timeout))

    def dependency(self, output_contains: str) -> dict:
        found = [d for d in self.dependencies if output_contains in d["output"] and not d.get("clientside_function")]
        if len(found) != 1:
            raise KeyError(f"{len(found)} server callbacks have an output containing {output_contains!r}")
        return found[0]

    def request_body(self, dep: dict, values: Mapping[str, Any], changed: Sequence[str],
                     wildcard_ids: Mapping[str, Sequence[Any]] | None = None) -> dict:
        """The JSON the renderer posts. `values` maps 'id.prop' keys (see :func:`key`) to values;
        `wildcard_ids` gives the concrete ids behind an ALL pattern (keyed by the pattern's type)."""
        wildcard_ids = wildcard_ids or {}

        def expand(ident: Any, prop: str) -> Any:
            if isinstance(ident, dict) and any(v == ["ALL"] for v in ident.values()):
                concrete = wildcard_ids.get(ident.get("type"), [])
                return [{"id": c, "property": prop, **({"value": values[key(c, prop)]} if key(c, prop) in values
                                                        else {})} for c in concrete]
            entry = {"id": ident, "property": prop}
            if key(ident, prop) in values:
                entry["value"] = values[key(ident, prop)]
            return entry

        outputs = [expand(i, p) for i, p in _split_outputs(dep["output"])]
        for entry in outputs:
            for item in entry if isinstance(entry, list) else [entry]:
                item.pop("value", None)
        return {
            "output": dep["output"],
            "outputs": outputs if dep["output"].startswith("..") else outputs[0],
            "inputs": [expand(_parse_id(i["id"]), i["property"]) for i in dep["inputs"]],
            "state": [expand(_parse_id(s["id"]), s["property"]) for s in dep["state"]],
            "changedPropIds": list(changed),
        }

    def call(self, output_contains: str, values: Mapping[str, Any], changed: Sequence[str],
             wildcard_ids: Mapping[str, Sequence[Any]] | None = None) -> CallResult:
        dep = self.dependency(output_contains)
        body = json.dumps(self.request_body(dep, values, changed, wildcard_ids)).encode()
        started = time.perf_counter()
        response = self._post(ENDPOINT, body, {"Content-Type": "application/json"})
        seconds = time.perf_counter() - started
        wire = _wire(response)
        content = _content(response)
        status = getattr(response, "status_code", 0)
        parsed = json.loads(content) if content and status == 200 else None
        return CallResult(status, len(wire), len(content), seconds, parsed)


def _wire(response: Any) -> bytes:
    """The body as it crossed the wire (compressed if the server gzipped it)."""
    data = getattr(response, "data", None)
    if data is not None:  # Flask test client: never decoded
        return data
    if response.headers.get("Content-Encoding") == "gzip":  # requests decoded it; the header has the size
        return b"\0" * int(response.headers.get("Content-Length", len(gzip.compress(response.content))))
    return response.content


def _content(response: Any) -> bytes:
    data = getattr(response, "data", None)
    if data is not None:  # Flask test client
        return gzip.decompress(data) if response.headers.get("Content-Encoding") == "gzip" else data
    return response.content
