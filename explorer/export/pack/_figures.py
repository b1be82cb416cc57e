"""The charts of a board pack: the figure export's drawings, framed for a slide.

A slide already carries the chart's subtitle and the sources footnote, so the chart itself keeps
its title and the SYNTHETIC mark but not the export frame's long footnote (which would repeat the
slide's, in small print, nine times). The drawing is the figure export's own (``resolve`` checks
the request, ``_kinds.draw`` draws it from the role's controlled tables), so a slide shows exactly
the numbers `explorer export figure` would. On the map the pack's area is outlined.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from explorer.export import _kinds
from explorer.export.items import ExportRequest, resolve, subtitle
from explorer.export.pack._model import PICTURE_PX, Picture
from explorer.export.renderer import render
from explorer.export.style import Frame, frame_figure
from explorer.figures import theme
from explorer.services.app_data import AppData

Renderer = Callable[[go.Figure], bytes]
OUTLINE_WIDTH = 4
LEGEND_MARGIN_PX = 330
EDGE_PX = 24  # the mark's distance from the picture's right edge


@dataclass(frozen=True)
class Chart:
    """A slide's chart: the picture, the numbers behind it and the line under the slide title."""

    picture: Picture
    table: pd.DataFrame
    subtitle: str
    title: str


def default_renderer(figure: go.Figure) -> bytes:
    return render(figure, "png", width=PICTURE_PX[0], height=PICTURE_PX[1], scale=2)


def outline_area(fig: go.Figure, code: str) -> go.Figure:
    """Draw `code`'s boundary thick and dark over a classed map (its colour stays visible)."""
    base = next((t for t in fig.data if isinstance(t, go.Choropleth)), None)
    if base is None or code not in list(base.locations or ()):
        return fig
    clear = [[0, "rgba(0,0,0,0)"], [1, "rgba(0,0,0,0)"]]
    # a white halo under a dark line: visible on the darkest and the lightest class colours alike
    for colour, width in ((theme.BACKGROUND, OUTLINE_WIDTH + 3), (theme.TEXT, OUTLINE_WIDTH)):
        fig.add_trace(go.Choropleth(geojson=base.geojson, locations=[code], featureidkey=base.featureidkey, z=[0],
                                    colorscale=clear, showscale=False, hoverinfo="skip", showlegend=False,
                                    marker={"line": {"color": colour, "width": width}}, geo=base.geo))
    return fig


def _legend_room(fig: go.Figure, width: int) -> None:
    """Keep a side legend inside the picture (its classes are the map's key): widen the right
    margin, and keep the SYNTHETIC mark at the picture's right edge rather than the plot's."""
    fig.update_layout(margin={"r": LEGEND_MARGIN_PX})
    left = fig.layout.margin.l or 0
    plot = width - left - LEGEND_MARGIN_PX
    for note in fig.layout.annotations:
        if theme.SYNTHETIC_MARK in str(note.text) and note.xref == "paper":
            note.x, note.xanchor, note.xshift = (width - left - EDGE_PX) / plot, "right", 0  # paper = plot area


def chart(data: AppData, request: ExportRequest, renderer: Renderer, *, highlight: str | None = None) -> Chart:
    """Check, draw, frame for a slide and render one chart (ExportError/AccessDenied if refused)."""
    r = resolve(data, request)
    drawn = _kinds.draw(r)
    width, height = PICTURE_PX
    figure = frame_figure(drawn.figure, Frame(drawn.title, drawn.note, "", drawn.synthetic, width, height),
                          legend_on_side=drawn.legend_on_side)
    if drawn.legend_on_side:
        _legend_room(figure, width)
    if highlight:
        figure = outline_area(figure, highlight)
    alt = drawn.alt_text + (f" {data.name_of(highlight)} is outlined." if highlight else "")
    return Chart(Picture(renderer(figure), alt, width, height), drawn.table, subtitle(r, drawn.units), drawn.title)
