"""The Fingertips spine chart: one row per metric, the comparator at the centre, the range of the
areas at the level as grey bars (worst to best, darker between the 25th and 75th percentiles) and
the area as a circle coloured by its significance against the comparator.

Pure: frame in (``explorer.services.area_views.spine_frame``'s columns), figure out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from explorer.figures import theme
from explorer.figures.classify import format_number
from explorer.figures.labels import escape_label, escape_labels

__all__ = ["IQR_COLOUR", "NOT_COMPARED_MARKER", "RANGE_COLOUR", "SIGNIFICANCE_NAMES", "spine_figure", "spine_positions"]

RANGE_COLOUR = theme.GRID  # worst to best
IQR_COLOUR = "#8a9ba6"  # 25th to 75th percentile
#: Metrics that are not compared (no polarity, no CI, counts) are drawn as Fingertips does: blue.
NOT_COMPARED_MARKER = theme.ACCENT
SIGNIFICANCE_NAMES = {"better": "Better (95%)", "similar": "Similar", "worse": "Worse (95%)",
                      "higher": "Higher (95%)", "lower": "Lower (95%)", "not compared": "Not compared"}
ROW_HEIGHT = 34


def _f(x: object) -> float:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return np.nan
    return v


def spine_positions(row: pd.Series) -> dict[str, float]:
    """Where a row's values sit on the spine's 0-1 scale: the comparator at 0.5, the farthest of
    worst, best and the area at 0 or 1, best to the right (higher to the right with no polarity).

    A row with no comparator, or a count (``comparator`` NaN or not comparable), is centred on the
    middle of its interquartile range instead, without the parent's and group's marks (their totals
    are not one area's count); the frame says so in its significance."""
    values = {k: _f(row.get(k)) for k in ("value", "worst", "q25", "q75", "best", "parent", "group")}
    centre = _f(row.get("comparator"))
    if not np.isfinite(centre) or str(row.get("kind")) == "count":
        centre = (values["q25"] + values["q75"]) / 2
        values.update(parent=np.nan, group=np.nan)  # a parent's or group's total is not one area's count
    spread = [abs(v - centre) for k, v in values.items() if np.isfinite(v) and k not in ("parent", "group")]
    half = max(spread, default=0.0) or 1.0
    flip = -1.0 if row.get("higher_is_better") is False else 1.0
    out = {k: 0.5 + flip * (v - centre) / (2 * half) if np.isfinite(v) else np.nan for k, v in values.items()}
    return {k: float(np.clip(v, -0.05, 1.05)) if np.isfinite(v) else np.nan for k, v in out.items()}


def _hover(row: pd.Series, comparator_name: str) -> str:
    unit = str(row.get("short_unit", ""))
    def fmt(key: str) -> str:
        v = _f(row.get(key))
        return format_number(v, unit) if np.isfinite(v) else "not available"
    text = f"<b>{escape_label(row['label'])}</b><br>Area: {fmt('value')}"
    if np.isfinite(_f(row.get("lower"))):
        text += f" (95% CI {fmt('lower')} to {fmt('upper')})"
    text += (f"<br>{escape_label(comparator_name)}: {fmt('comparator')}<br>Worst {fmt('worst')} · 25th {fmt('q25')}"
             f" · 75th {fmt('q75')} · Best {fmt('best')}<br>{SIGNIFICANCE_NAMES.get(str(row['significance']), '')}")
    return text


def spine_figure(frame: pd.DataFrame, *, area_name: str, comparator_name: str, parent_name: str | None = None,
                 group_name: str | None = None) -> go.Figure:
    """The spine chart of one area. ``frame``: label, value, lower, upper, comparator, worst, q25,
    q75, best, significance, higher_is_better, kind, optional parent and group, short_unit."""
    rows = frame.reset_index(drop=True)
    pos = pd.DataFrame([spine_positions(r) for _, r in rows.iterrows()],
                       columns=["value", "worst", "q25", "q75", "best", "parent", "group"])
    labels = escape_labels(rows["label"])
    fig = go.Figure()
    lo = np.fmin(pos["worst"], pos["best"])
    fig.add_trace(go.Bar(y=labels, x=(np.fmax(pos["worst"], pos["best"]) - lo).tolist(), base=lo.tolist(),
                         orientation="h", marker={"color": RANGE_COLOUR}, name="Range of areas (worst to best)",
                         hoverinfo="skip", width=0.55))
    qlo = np.fmin(pos["q25"], pos["q75"])
    fig.add_trace(go.Bar(y=labels, x=(np.fmax(pos["q25"], pos["q75"]) - qlo).tolist(), base=qlo.tolist(),
                         orientation="h", marker={"color": IQR_COLOUR}, name="25th to 75th percentile",
                         hoverinfo="skip", width=0.55))
    for name, column, symbol in ((parent_name, "parent", "diamond-open"), (group_name, "group", "x-thin-open")):
        if name and rows.get(column) is not None and np.isfinite(pos[column]).any():
            fig.add_trace(go.Scatter(y=labels, x=pos[column].tolist(), mode="markers", name=escape_label(name),
                                     marker={"symbol": symbol, "size": 11, "color": theme.TEXT,
                                             "line": {"width": 2, "color": theme.TEXT}}, hoverinfo="skip"))
    sig = rows["significance"].astype(str)
    for level in [s for s in SIGNIFICANCE_NAMES if (sig == s).any()]:
        keep = (sig == level).to_numpy()
        colour = NOT_COMPARED_MARKER if level == "not compared" else theme.SIGNIFICANCE_COLOURS[level]
        fig.add_trace(go.Scatter(
            y=[lab for lab, k in zip(labels, keep) if k], x=pos["value"][keep].tolist(), mode="markers",
            name=f"Area: {SIGNIFICANCE_NAMES[level][0].lower()}{SIGNIFICANCE_NAMES[level][1:]}",
            marker={"size": 13, "color": colour, "line": {"color": theme.TEXT, "width": 1}},
            customdata=[_hover(r, comparator_name) for (_, r), k in zip(rows.iterrows(), keep) if k],
            hovertemplate="%{customdata}<extra></extra>"))
    fig.add_vline(x=0.5, line={"color": theme.COMPARATOR, "width": 2})
    theme.house_style(fig, height=110 + ROW_HEIGHT * len(rows))
    fig.update_layout(barmode="overlay", bargap=0.45, margin={"t": 80, "l": 8, "r": 8, "b": 40},
                      legend={"font": {"size": 11}})
    fig.update_yaxes(autorange="reversed", showgrid=False, title=None)
    fig.update_xaxes(range=[-0.06, 1.06], showticklabels=False, showgrid=False, zeroline=False,
                     title={"text": f"◀ worst / lowest · centre line: {escape_label(comparator_name)} · "
                                    "best / highest ▶", "font": {"size": 12, "color": theme.MUTED}})
    return fig
