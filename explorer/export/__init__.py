"""Exports that leave the server: figures (PNG/SVG/PDF), with the numbers behind them, in one print
style; ``safe_cells`` guards every CSV/Excel cell against spreadsheet formula injection.

Layer: cli > app > export > services. Public face:

- :func:`build_item` (``items``): an :class:`ExportRequest` -> :class:`ExportItem` (figure framed for
  print, the disclosure-controlled table behind it, title, subtitle, footnote, alt text, units);
  ExportError for a request that cannot be made, AccessDenied beyond the role's rights.
- :func:`render` (``renderer``): a figure -> PNG/SVG/PDF bytes with a warm kaleido renderer;
  :func:`write_export` writes bytes atomically.
- :func:`export_figure`: build, render, audit and (optionally) write, in one call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from explorer.lazy import lazy_exports

if TYPE_CHECKING:
    from explorer.export.figure import audit_export, export_figure
    from explorer.export.items import (
        BY_CHOICES,
        FIGURE_KINDS,
        ExportError,
        ExportItem,
        ExportRequest,
        build_item,
    )
    from explorer.export.renderer import (
        FORMATS,
        RenderError,
        render,
        stop_renderer,
        write_export,
    )

#: public name -> its module, imported on first use: ``explorer.export.tables`` (what every CLI
#: table goes through) must not bring plotly and the app's data with it
_EXPORTS = {"audit_export": "figure", "export_figure": "figure", "BY_CHOICES": "items", "FIGURE_KINDS": "items",
            "ExportError": "items", "ExportItem": "items", "ExportRequest": "items", "build_item": "items",
            "FORMATS": "renderer", "RenderError": "renderer", "render": "renderer", "stop_renderer": "renderer",
            "write_export": "renderer"}

__all__ = ["BY_CHOICES", "FIGURE_KINDS", "FORMATS", "ExportError", "ExportItem", "ExportRequest", "RenderError",
           "audit_export", "build_item", "export_figure", "render", "stop_renderer", "write_export"]


__getattr__ = lazy_exports(__name__, _EXPORTS)
