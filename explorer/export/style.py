"""The one print style of every exported figure: title, subtitle, legend, footnote, SYNTHETIC mark.

The app's figures (explorer.figures, in the house style of ``theme``) are reused as they are and
framed here for paper: the print fonts (Debian's Liberation Sans, DejaVu Sans as fallback), a bold
title saying what and where, a subtitle with level, area, filters, period and role, the legend
above the plot, and a footnote with the sources, the disclosure-control note and when it was made.
Plotly does not wrap text, so the footnote is wrapped here to the figure's width.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import plotly.graph_objects as go

from explorer.figures import theme
from explorer.figures.labels import escape_label

__all__ = ["Frame", "frame_figure"]

TITLE_SIZE = 20
SUBTITLE_SIZE = 13
BODY_SIZE = 12
FOOT_SIZE = 10
FOOT_LINE_PX = 13
CHAR_PX = 5.4  # average width of a Liberation Sans character at FOOT_SIZE
SUBTITLE_CHAR_PX = 6.6


@dataclass(frozen=True)
class Frame:
    """What goes around a figure on paper (plain text: escaped here)."""

    title: str
    subtitle: str
    footnote: str
    synthetic: bool
    width: int
    height: int


def _wrap(text: str, width_px: int, char_px: float) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines += textwrap.wrap(paragraph, max(int(width_px / char_px), 20)) or [""]
    return lines


def frame_figure(fig: go.Figure, frame: Frame, *, legend_on_side: bool = False) -> go.Figure:
    """Frame `fig` for print in place and return it; sizes are in CSS px of the exported page."""
    sub_lines = _wrap(frame.subtitle, frame.width - 40, SUBTITLE_CHAR_PX)
    foot_lines = _wrap(frame.footnote, frame.width - 40, CHAR_PX)
    head = 16 + TITLE_SIZE + 10 + len(sub_lines) * (SUBTITLE_SIZE + 4)
    legend_band = 0 if legend_on_side or not fig.layout.showlegend else 34
    top = head + legend_band + 12
    foot = len(foot_lines) * FOOT_LINE_PX + 10
    bottom = foot + (8 if legend_on_side else 70)  # room for tick labels and the axis title above it
    fig.update_layout(
        font={"family": theme.PRINT_FONT_FAMILY, "size": BODY_SIZE, "color": theme.TEXT},
        hoverlabel={"font": {"family": theme.PRINT_FONT_FAMILY}},
        width=frame.width, height=frame.height,
        margin={"l": 70 if not legend_on_side else 20, "r": 30, "t": top, "b": bottom, "autoexpand": True},
        title={"text": f"<b>{escape_label(frame.title)}</b>", "x": 0, "xref": "paper", "xanchor": "left",
               "y": 1, "yref": "container", "yanchor": "top", "pad": {"t": 16, "l": 0},
               "font": {"size": TITLE_SIZE, "color": theme.TEXT},
               "subtitle": {"text": "<br>".join(escape_label(s) for s in sub_lines),
                            "font": {"size": SUBTITLE_SIZE, "color": theme.MUTED}}},
        annotations=[*fig.layout.annotations],
    )
    if fig.layout.showlegend and not legend_on_side:
        fig.update_layout(legend={"orientation": "h", "x": 0, "xanchor": "left", "y": 1, "yanchor": "bottom",
                                  "yref": "paper", "font": {"size": BODY_SIZE}})
    fig.add_annotation(text="<br>".join(escape_label(s) for s in foot_lines), xref="paper", yref="paper",
                       x=0, y=0, xanchor="left", yanchor="top", yshift=-(bottom - foot), align="left",
                       showarrow=False, font={"size": FOOT_SIZE, "color": theme.MUTED})
    if frame.synthetic:
        fig.add_annotation(text=f"<b>{theme.SYNTHETIC_MARK}</b>", xref="paper", yref="paper", x=1, y=1,
                           xanchor="right", yanchor="bottom", yshift=top - 16 - TITLE_SIZE - 8, showarrow=False,
                           font={"size": 16, "color": "#ffffff"}, bgcolor=theme.SYNTHETIC_COLOUR, borderpad=4)
    return fig
