"""Figures to PNG, SVG or PDF bytes on the server, offline, with one warm renderer per process.

kaleido 1.x drives a headless Chromium (the Debian ``chromium`` package; ``BROWSER_PATH`` points
kaleido at it when it is not on PATH). Starting Chromium takes about a second, so the first call
starts kaleido's sync server (``kaleido.start_sync_server``) and later calls reuse it. Nothing is
fetched: plotly.js comes from the installed plotly package, MathJax is switched off (kaleido would
load it from a CDN), and the world topojson that ``geo`` subplots ask for is the empty stub in
``assets/topo`` (our own boundaries are drawn from GeoJSON).

Stopping: Chromium's profile lives in a folder we own (``explorer-chromium-*`` in the temp
directory, handed to choreographer as ``tmp_dir``), and :func:`stop_renderer` closes Chromium, then
removes that folder whatever is left in it. It runs at exit *before* Python's ``weakref.finalize``
clean-ups: those would otherwise remove the profile while Chromium still writes to it and print
``OSError: Directory not empty: 'Default'`` after a successful export. The exit hook is registered
after the first figure is rendered, when choreographer's temporary folders (and so the finalizers'
own exit hook) exist: exit hooks run last-registered first.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Literal

import plotly.graph_objects as go
import plotly.io as pio

from explorer.atomic import write_bytes_atomic
from explorer.errors import ExplorerError

__all__ = ["DEFAULT_HEIGHT", "DEFAULT_WIDTH", "FORMATS", "MIN_SCALE", "RenderError", "render", "stop_renderer",
           "write_export"]

Format = Literal["png", "svg", "pdf"]
FORMATS: tuple[str, ...] = ("png", "svg", "pdf")
DEFAULT_WIDTH = 1000  # CSS px: about A4 landscape text width at 96 dpi, so fonts print at their size
DEFAULT_HEIGHT = 700
MIN_SCALE = 2  # PNG pixels per CSS px: print quality (2000 x 1400 px for the defaults)
TOPO_DIR = Path(__file__).resolve().parents[2] / "assets" / "topo"
BROWSER_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")

_lock = threading.Lock()  # kaleido's sync server is one queue: one figure at a time per process
_started = False
_exit_hook = False  # stop_renderer registered with atexit (after the first figure)
_profile: Path | None = None  # the folder Chromium's profile is made in while the renderer runs


class RenderError(ExplorerError):
    """The figure could not be rendered (no Chromium, a renderer failure): a message, not a traceback."""


def _browser_env() -> None:
    """Point kaleido at the system Chromium when it is not found on PATH by name."""
    if os.environ.get("BROWSER_PATH") or shutil.which("chromium") or shutil.which("google-chrome"):
        return
    for candidate in BROWSER_CANDIDATES:
        if Path(candidate).is_file():
            os.environ["BROWSER_PATH"] = candidate
            return
    raise RenderError("no Chromium found for rendering figures: install the Debian package `chromium` "
                      "or set BROWSER_PATH")


def _ensure_started() -> None:
    global _started, _profile
    if _started:
        return
    import kaleido

    _browser_env()
    _profile = Path(tempfile.mkdtemp(prefix="explorer-chromium-"))
    # MathJax would come from a CDN; tmp_dir: Chromium's profile goes in a folder we remove ourselves
    kaleido.start_sync_server(mathjax=False, silence_warnings=True, tmp_dir=str(_profile))
    _started = True


def _register_exit_hook() -> None:
    """Stop the renderer at exit, before the finalizers of choreographer's temporary folders run."""
    global _exit_hook
    if not _exit_hook:
        atexit.register(stop_renderer)
        _exit_hook = True


def stop_renderer() -> None:
    """Close Chromium in an orderly way and remove its profile folder (at exit; tests may call it).

    Whatever Chromium's helpers still write while closing is removed with the folder, without error:
    a finished export must not end with a traceback."""
    global _started, _profile
    if _started:
        import kaleido

        with _lock:
            kaleido.stop_sync_server(silence_warnings=True)
            _started = False
    if _profile is not None:
        shutil.rmtree(_profile, ignore_errors=True)
        _profile = None


def render(figure: go.Figure, fmt: Format, *, width: int = DEFAULT_WIDTH, height: int = DEFAULT_HEIGHT,
           scale: float = MIN_SCALE) -> bytes:
    """The figure as PNG, SVG or PDF bytes, `width` x `height` CSS px; PNG at `scale` (at least 2)."""
    if fmt not in FORMATS:
        raise RenderError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if fmt == "png" and scale < MIN_SCALE:
        raise RenderError(f"PNG scale {scale} is below print quality ({MIN_SCALE})")
    import kaleido

    # A plain dict for kaleido: choreographer formats the whole message into a debug-log string even
    # when debug logging is off, and the repr of a map's 10,000 NumPy rings takes seconds (plain
    # lists: a fraction of that). orjson writes the arrays as lists fast; json reads them back.
    spec = json.loads(pio.to_json(figure, validate=False, engine="orjson"))
    opts = {"format": fmt, "width": int(width), "height": int(height), "scale": float(scale if fmt == "png" else 1)}
    with _lock:
        _ensure_started()
        try:
            data = kaleido.calc_fig_sync(spec, opts=opts, topojson=TOPO_DIR.as_uri() + "/")
        except Exception as exc:
            raise RenderError(f"the figure could not be rendered as {fmt.upper()}: {exc}") from exc
        finally:
            _register_exit_hook()
    if isinstance(data, Exception):  # the sync server hands exceptions back as values
        raise RenderError(f"the figure could not be rendered as {fmt.upper()}: {data}")
    return bytes(data)


def write_export(path: str | Path, data: bytes) -> Path:
    """Write an export atomically: the whole file appears at once, or nothing (and the old file stays).

    An unwritable place is an ExplorerError naming it, so the CLI prints a message, not a traceback."""
    path = Path(path)
    try:
        return write_bytes_atomic(path, data)
    except OSError as exc:
        raise ExplorerError(f"cannot write {path}: {exc.strerror or exc}") from None
