"""The one house style: fonts, colours, colour-blind-safe palettes and the source note.

Every figure function in :mod:`explorer.figures` finishes with :func:`house_style`, so the app and
future exports (PNG/SVG/PDF board packs) look the same. No plotly template is used: the default
template adds about 6 KB to every figure sent to the browser, and we set what we need explicitly.
"""

from __future__ import annotations

from collections.abc import Iterable

import plotly.graph_objects as go

from explorer.domain.disclosure import SUPPRESSION_NOTE

FONT_FAMILY = 'system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif'
# Exports are drawn by the server's Chromium with fonts installed from Debian packages
# (fonts-liberation: metric-compatible with Arial; fonts-dejavu-core as the fallback), never fetched.
PRINT_FONT_FAMILY = '"Liberation Sans", "DejaVu Sans", Arial, sans-serif'
TEXT = "#212b32"
MUTED = "#4c6272"
GRID = "#d8dde0"
ACCENT = "#005eb8"  # NHS blue: reference lines, single-series bars
COMPARATOR = "#212b32"
BACKGROUND = "#ffffff"  # paper, plot and hover-label background
SYNTHETIC_COLOUR = "#5c2d91"  # the SYNTHETIC banner's purple (9:1 on white)

# Sequential: viridis sampled at 5 points, light (low) to dark (high). Perceptually uniform and
# readable with the common colour-vision deficiencies and in greyscale.
VIRIDIS_5 = ("#fde725", "#5ec962", "#21918c", "#3b528b", "#440154")
# cividis: the alternative tuned for deuteranopia/protanopia.
CIVIDIS_5 = ("#fee838", "#c3b369", "#7f7c75", "#4a5a7b", "#00224e")
# Diverging (ColorBrewer PuOr, colour-blind safe): orange = below the comparator, purple = above.
PUOR_5 = ("#e66101", "#fdb863", "#f7f7f7", "#b2abd2", "#5e3c99")
SEQUENTIAL = {"viridis": VIRIDIS_5, "cividis": CIVIDIS_5}
DIVERGING = {"puor": PUOR_5}

SUPPRESSED_COLOUR = "#9e9e9e"  # mid grey: not in any palette above, distinct from PuOr's white
NO_DATA_COLOUR = "#ffffff"
BOUNDARY_COLOUR = "#ffffff"
SUPPRESSED_LABEL = "Suppressed: fewer than 8 people"
NO_DATA_LABEL = "No data"

# Significance against a benchmark (stats.compare_to_benchmark): blue/orange, never red/green.
SIGNIFICANCE_COLOURS = {"better": "#0072b2", "similar": "#c8c8c8", "worse": "#e69f00",
                        "higher": "#56b4e9", "lower": "#cc79a7", "not compared": "#ffffff"}

# SPC points as Making Data Count colours them: blue improving, orange concerning, purple for a
# special cause in a metric with no good direction, grey common cause (the same blue and orange as
# significance, so one legend reads across pages).
SPC_COLOURS = {"improving": SIGNIFICANCE_COLOURS["better"], "concerning": SIGNIFICANCE_COLOURS["worse"],
               "neither": "#5e3c99", "common": "#7b7d7d"}

SYNTHETIC_NOTE = "SYNTHETIC DATA: people, care plans and admissions are simulated; not real patients."
PUBLIC_SOURCES = ("ONS LSOA 2021 boundaries and Census 2021 (OGL v3.0); MHCLG English Indices of "
                  "Deprivation 2025 (OGL v3.0). Contains OS data © Crown copyright and database right.")


def palette(name: str, classes: int = 5) -> tuple[str, ...]:
    """Colours for `classes` classes from a named palette (5-class palettes, thinned when fewer)."""
    colours = SEQUENTIAL.get(name) or DIVERGING.get(name)
    if colours is None:
        raise ValueError(f"unknown palette {name!r}: choose one of {', '.join([*SEQUENTIAL, *DIVERGING])}")
    if not 1 <= classes <= len(colours):
        raise ValueError(f"palette {name!r} has {len(colours)} classes, asked for {classes}")
    if classes == len(colours):
        return colours
    step = (len(colours) - 1) / max(classes - 1, 1)
    return tuple(colours[round(i * step)] for i in range(classes))


def source_note(*, synthetic: bool, sources: Iterable[str] = (), suppression: bool = True) -> str:
    """The footnote for every exported figure or table: SYNTHETIC flag, sources, suppression rule."""
    parts = [SYNTHETIC_NOTE] if synthetic else []
    parts.append("Sources: " + "; ".join([*sources, PUBLIC_SOURCES]))
    if suppression:
        parts.append(SUPPRESSION_NOTE + ".")
    return " ".join(parts)


SYNTHETIC_MARK = "SYNTHETIC DATA"
SYNTHETIC_MARK_HEIGHT = 22  # px of top margin the mark takes


def mark_synthetic(fig: go.Figure) -> go.Figure:
    """Put SYNTHETIC DATA in the figure itself (top left), so any image of it says so too.

    The figure's own title, if any, follows the mark; the plot moves down to make room.
    """
    title = fig.layout.title.text if fig.layout.title and fig.layout.title.text else ""
    if title.startswith(SYNTHETIC_MARK):
        return fig
    top = fig.layout.margin.t if fig.layout.margin and fig.layout.margin.t is not None else 12
    fig.update_layout(
        title={"text": f"{SYNTHETIC_MARK} · {title}" if title else SYNTHETIC_MARK, "x": 0, "xanchor": "left",
               "xref": "paper", "y": 1, "yref": "container", "yanchor": "top", "pad": {"t": 4},
               "font": {"size": 11 if not title else 15, "color": SYNTHETIC_COLOUR}},
        margin={"t": top + SYNTHETIC_MARK_HEIGHT},
    )
    return fig


def house_style(fig: go.Figure, *, title: str | None = None, height: int | None = None,
                legend: bool = True) -> go.Figure:
    """Apply the house style in place and return the figure."""
    fig.update_layout(
        template=None,
        font={"family": FONT_FAMILY, "size": 13, "color": TEXT},
        paper_bgcolor=BACKGROUND,
        plot_bgcolor=BACKGROUND,
        margin={"l": 8, "r": 8, "t": 40 if title else 12, "b": 8},
        showlegend=legend,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0},
        hoverlabel={"bgcolor": BACKGROUND, "font": {"family": FONT_FAMILY, "color": TEXT}},
    )
    if title:
        fig.update_layout(title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}})
    if height:
        fig.update_layout(height=height)
    fig.update_xaxes(gridcolor=GRID, zerolinecolor=GRID, linecolor=MUTED, automargin=True)
    fig.update_yaxes(gridcolor=GRID, zerolinecolor=GRID, linecolor=MUTED, automargin=True)
    return fig


# Every dcc.Graph's config (explorer.app.components.graph; the map's is sent with the theme). Offline
# governance: nothing on the chart toolbar may link to an outside service. plotly.js 3 shows a
# "send to cloud" button pointing at cloud.plotly.com by default; these switch every such link off.
GRAPH_CONFIG = {
    "displaylogo": False,
    "modeBarButtonsToRemove": ["lasso2d", "select2d", "sendDataToCloud", "editInChartStudio"],
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "showLink": False,
    "sendData": False,
    "plotlyServerURL": "",
    "toImageButtonOptions": {"format": "png", "scale": 2},
    "topojsonURL": "/assets/topo/",  # never the CDN (stack-notes)
}


def graph_config(filename: str | None = None) -> dict:
    """GRAPH_CONFIG, with the toolbar's "download plot" saving as `filename` (.png added by plotly)."""
    if not filename:
        return GRAPH_CONFIG
    return {**GRAPH_CONFIG, "toImageButtonOptions": {**GRAPH_CONFIG["toImageButtonOptions"], "filename": filename}}
