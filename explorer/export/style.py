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
TITLE_CHAR_PX = 11.5  # bold, TITLE_SIZE
LABEL_CHAR_PX = 7.6  # tick labels at BODY_SIZE, generous for capitals
EDGE = 24  # px between the page edge and the title, footnote and plot
BADGE_PX = 220  # width kept free for the SYNTHETIC DATA mark beside the title
LEGEND_ROW = 26  # px a legend above the plot is lifted when labels sit on the plot's top edge


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


def _left_margin(fig: go.Figure) -> int:
    """Room for the y axis: its category labels (bars) or numbers and title. Fixed here rather than
    left to plotly's automargin, so the title and footnote can line up with the page's left edge."""
    labels = [str(v) for t in fig.data if getattr(t, "orientation", None) == "h" and t.y is not None for v in t.y]
    if labels:
        return int(min(max(len(x) for x in labels) * LABEL_CHAR_PX + 24, 420))
    return 80


def _legend_width(fig: go.Figure) -> int:
    """Room on the right for a side legend (a map's classes): its longest entry or title."""
    names = [str(t.name or "") for t in fig.data if t.showlegend is not False]
    names += [str(t.legendgrouptitle.text or "") for t in fig.data if t.legendgrouptitle]
    return int(min(max((len(n) for n in names), default=10) * LABEL_CHAR_PX + 56, 420))


def _labels_on_top_edge(fig: go.Figure) -> bool:
    """Annotations standing on the plot's top edge (a comparator line's label, "London 3.89%"): they
    take the band where a legend above the plot goes, so the legend needs a row of its own."""
    return any(a.yanchor == "bottom" and a.y is not None and float(a.y) >= 1
               and str(a.yref or "").endswith(("domain", "paper")) for a in fig.layout.annotations)


def _has_outside_text(fig: go.Figure) -> bool:
    return any(getattr(t, "texttemplate", None) and getattr(t, "textposition", None) == "outside" for t in fig.data)


def frame_figure(fig: go.Figure, frame: Frame, *, legend_on_side: bool = False) -> go.Figure:
    """Frame `fig` for print in place and return it; sizes are in CSS px of the exported page."""
    title_lines = _wrap(frame.title, frame.width - EDGE - (BADGE_PX if frame.synthetic else EDGE), TITLE_CHAR_PX)
    sub_lines = _wrap(frame.subtitle, frame.width - 2 * EDGE, SUBTITLE_CHAR_PX)
    foot_lines = _wrap(frame.footnote, frame.width - 2 * EDGE, CHAR_PX)
    head = 14 + len(title_lines) * (TITLE_SIZE + 6) + 6 + len(sub_lines) * (SUBTITLE_SIZE + 5)
    legend_above = bool(fig.layout.showlegend) and not legend_on_side
    lift = LEGEND_ROW if legend_above and _labels_on_top_edge(fig) else 0
    band = 8 if legend_on_side else 40 + lift  # the legend above the plot, and comparator labels, go here
    top = head + band
    foot = len(foot_lines) * FOOT_LINE_PX + 12
    bottom = foot + (8 if legend_on_side else 64)  # tick labels and the axis title above the footnote
    plot_height = max(frame.height - top - bottom, 1)
    left = EDGE if legend_on_side else _left_margin(fig)
    right = _legend_width(fig) if legend_on_side else EDGE + (48 if _has_outside_text(fig) else 0)
    fig.update_layout(
        font={"family": theme.PRINT_FONT_FAMILY, "size": BODY_SIZE, "color": theme.TEXT},
        hoverlabel={"font": {"family": theme.PRINT_FONT_FAMILY}},
        width=frame.width, height=frame.height,
        margin={"l": left, "r": right, "t": top, "b": bottom, "autoexpand": False},
        title={"text": "<br>".join(f"<b>{escape_label(t)}</b>" for t in title_lines), "x": 0, "xref": "container",
               "xanchor": "left", "y": 1, "yref": "container", "yanchor": "top", "pad": {"t": 14, "l": EDGE},
               "font": {"size": TITLE_SIZE, "color": theme.TEXT},
               "subtitle": {"text": "<br>".join(escape_label(s) for s in sub_lines),
                            "font": {"size": SUBTITLE_SIZE, "color": theme.MUTED}}},
    )
    fig.update_yaxes(automargin=False)
    fig.update_xaxes(automargin=False)
    if legend_above:  # lifted above labels on the plot's top edge (y in plot heights: 1 is the top edge)
        fig.update_layout(legend={"orientation": "h", "x": 0, "xanchor": "left", "y": 1.0 + lift / plot_height,
                                  "yanchor": "bottom", "yref": "paper", "font": {"size": BODY_SIZE}})
    fig.add_annotation(text="<br>".join(escape_label(s) for s in foot_lines), xref="paper", yref="paper",
                       x=0, y=0, xanchor="left", yanchor="top", xshift=EDGE - left, yshift=-(bottom - foot),
                       align="left", showarrow=False, font={"size": FOOT_SIZE, "color": theme.MUTED})
    if frame.synthetic:
        fig.add_annotation(text=f"<b>{theme.SYNTHETIC_MARK}</b>", xref="paper", yref="paper", x=1, y=1,
                           xanchor="right", yanchor="top", xshift=right - EDGE, yshift=top - 12, showarrow=False,
                           font={"size": 16, "color": "#ffffff"}, bgcolor=theme.SYNTHETIC_COLOUR, borderpad=5)
    return fig
