"""Choropleth maps: classed colours on our own boundaries, no tiles (map_style "white-bg").

The app assembles the same figure in the browser (assets/explorer.js, `map_figure`) from geometry
cached once per level plus compact class/value arrays; this pure function is the reference for that
and for static exports, and is what the benchmark's "naive" callback returns.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from explorer.figures import theme
from explorer.figures.classify import Classes, discrete_colorscale, format_number
from explorer.figures.labels import escape_label, escape_labels

HOVER_TEMPLATE = "<b>%{text}</b><br>%{customdata}<extra></extra>"


def hover_values(values: Sequence[float], class_index: Sequence[int], unit: str) -> list[str]:
    """What the hover shows per area: the value with its unit, or why there is none."""
    out = []
    for v, c in zip(values, class_index):
        if c == -1:
            out.append(theme.SUPPRESSED_LABEL)
        elif v is None or not np.isfinite(v):
            out.append(theme.NO_DATA_LABEL)
        else:
            out.append(format_number(float(v), unit))
    return out


def fit_view(bounds: Sequence[float] | None, width: float = 800, height: float = 560) -> dict:
    """Centre and zoom that fit [min lon, min lat, max lon, max lat] into the figure (Web Mercator,
    512-pixel world at zoom 0, as MapLibre). plotly's map subplot does not fit choropleths itself.
    assets/explorer.js `fitView` does the same in the browser."""
    if not bounds or len(bounds) != 4:
        return {"center": {"lon": -0.12, "lat": 51.5}, "zoom": 8.5}

    def merc(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    y0, y1 = merc(bounds[1]), merc(bounds[3])
    zx = math.log2(width * 360 / (max(bounds[2] - bounds[0], 1e-4) * 512))
    zy = math.log2(height * 2 * math.pi / (max(y1 - y0, 1e-6) * 512))
    lat = math.degrees(2 * math.atan(math.exp((y0 + y1) / 2)) - math.pi / 2)
    return {"center": {"lon": (bounds[0] + bounds[2]) / 2, "lat": lat}, "zoom": min(zx, zy) - 0.2}


def choropleth_figure(geojson: dict, codes: Sequence[str], names: Sequence[str], values: Sequence[float],
                      class_index: Sequence[int], classes: Classes, *, title: str | None = None,
                      uirevision: str | None = None, height: int = 560, width: int = 800,
                      bounds: Sequence[float] | None = None) -> go.Figure:
    """A classed choropleth: z is the class index, coloured by a stepped scale (grey = suppressed).

    `geojson` features carry the area code as `id`; `codes`, `names`, `values` and `class_index`
    are aligned. The legend is not drawn on the figure (the app shows an HTML legend beside it;
    exports add :func:`legend_annotation`).
    """
    k = max(classes.k, 1)
    fig = go.Figure(go.Choroplethmap(
        geojson=geojson,
        locations=list(codes),
        z=list(np.asarray(class_index, dtype=int)),
        zmin=-2.5,
        zmax=k - 0.5,
        colorscale=discrete_colorscale(classes.colours or (theme.NO_DATA_COLOUR,)),
        showscale=False,
        marker={"line": {"color": theme.BOUNDARY_COLOUR, "width": 0.5}, "opacity": 0.9},
        text=escape_labels(names),
        customdata=hover_values(values, class_index, classes.unit),
        hovertemplate=HOVER_TEMPLATE,
    ))
    theme.house_style(fig, title=escape_label(title) if title else None, height=height, legend=False)
    fig.update_layout(
        map={"style": "white-bg", **fit_view(bounds, width, height)},
        margin={"l": 0, "r": 0, "t": 40 if title else 0, "b": 0},
        uirevision=uirevision,
        clickmode="event",
    )
    return fig


def legend_annotation(classes: Classes) -> str:
    """The legend as one line of text, for exports and text alternatives."""
    return "; ".join(f"{e.label} ({e.count:,} areas)" for e in classes.legend)


def vector_choropleth_figure(geojson: dict, codes: Sequence[str], names: Sequence[str], values: Sequence[float],
                             class_index: Sequence[int], classes: Classes, *, legend_title: str = "") -> go.Figure:
    """The same classed map as :func:`choropleth_figure`, for print: a ``go.Choropleth`` on a ``geo``
    subplot, so SVG and PDF exports hold one vector ``<path>`` per area (MapLibre maps export as a
    bitmap). No base map (``visible=False``; the world topojson plotly asks for is our empty stub),
    fitted to the areas shown. The legend lists every class, the suppressed and no-data classes
    included, with its number of areas."""
    k = max(classes.k, 1)
    fig = go.Figure(go.Choropleth(
        geojson=geojson, locations=list(codes), featureidkey="id",
        z=list(np.asarray(class_index, dtype=int)), zmin=-2.5, zmax=k - 0.5,
        colorscale=discrete_colorscale(classes.colours or (theme.NO_DATA_COLOUR,)), showscale=False,
        marker={"line": {"color": theme.BOUNDARY_COLOUR, "width": 0.4}},
        text=escape_labels(names), customdata=hover_values(values, class_index, classes.unit),
        hovertemplate=HOVER_TEMPLATE, showlegend=False,
    ))
    for entry in classes.legend:  # legend keys: empty geo markers that only draw in the legend
        fig.add_trace(go.Scattergeo(
            lon=[None], lat=[None], mode="markers", name=escape_label(f"{entry.label} ({entry.count:,} areas)"),
            marker={"symbol": "square", "size": 14, "color": entry.colour, "line": {"color": theme.MUTED, "width": 1}},
            legendgroup="classes", legendgrouptitle={"text": escape_label(legend_title)} if legend_title else None,
            hoverinfo="skip"))
    theme.house_style(fig, legend=True)
    fig.update_geos(visible=False, fitbounds="locations", projection_type="mercator", bgcolor=theme.BACKGROUND)
    fig.update_layout(legend={"orientation": "v", "x": 1.0, "xanchor": "left", "y": 0.5, "yanchor": "middle"})
    return fig
