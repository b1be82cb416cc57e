"""The XmR (SPC) chart, Making Data Count style: pure, a table in and a figure out.

Input: the table of :func:`explorer.domain.spc.xmr_chart` with a ``month`` column (values already
disclosure-controlled; a hidden month is a gap). The mean is a solid line and the process limits
dashed, both broken where the limits are rebased; points are grey (common cause), blue
(improving), orange (concerning) or purple (special cause, no good direction); a target is a
dotted line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from explorer.figures import theme
from explorer.figures.labels import escape_label, escape_labels


def point_colour(point_type: str) -> str:
    """The MDC colour of a point type (common_cause, improving_high, concerning_low, neither_high ...)."""
    return theme.SPC_COLOURS.get(str(point_type).split("_")[0], theme.SPC_COLOURS["common"])


def _by_segment(months: list[str], values: np.ndarray, segments: np.ndarray) -> tuple[list, list]:
    """x and y with a gap between segments, so rebased limits are drawn as separate steps."""
    xs: list = []
    ys: list = []
    for i, (m, v) in enumerate(zip(months, values, strict=True)):
        if i and segments[i] != segments[i - 1]:
            xs.append(None)
            ys.append(None)
        xs.append(m)
        ys.append(None if not np.isfinite(v) else float(v))
    return xs, ys


def spc_figure(table: pd.DataFrame, *, label: str, unit: str, target: float | None = None,
               height: int = 320) -> go.Figure:
    """An XmR chart. table: month, value, segment, mean, lower_limit, upper_limit, special_cause, point_type."""
    months = escape_labels(table["month"].astype(str))
    value = pd.to_numeric(table["value"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    segments = table["segment"].to_numpy()
    fig = go.Figure()
    for column, name, dash in (("upper_limit", "Upper process limit", "dash"), ("mean", "Mean", "solid"),
                               ("lower_limit", "Lower process limit", "dash")):
        y = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        xs, ys = _by_segment(months, y, segments)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=name, hoverinfo="skip",
                                 line={"color": theme.MUTED, "width": 1.5 if dash == "solid" else 1.2, "dash": dash}))
    if target is not None and np.isfinite(target):
        fig.add_trace(go.Scatter(x=[months[0], months[-1]], y=[target, target], mode="lines", name="Target",
                                 line={"color": theme.COMPARATOR, "width": 1.5, "dash": "dot"}, hoverinfo="skip"))
    causes = [escape_label(s) if s else "common cause" for s in table["special_cause"].astype(str)]
    fig.add_trace(go.Scatter(
        x=months, y=[None if not np.isfinite(v) else float(v) for v in value], mode="lines+markers",
        name=escape_label(label), line={"color": theme.SPC_COLOURS["common"], "width": 1.5},
        marker={"color": [point_colour(t) for t in table["point_type"]], "size": 9,
                "line": {"color": theme.BACKGROUND, "width": 1}},
        customdata=causes, hovertemplate="%{x}: %{y:,.3~f} " + escape_label(unit) + "<br>%{customdata}<extra></extra>"))
    theme.house_style(fig, height=height)
    fig.update_yaxes(title=escape_label(unit))  # the block's title names the metric
    return fig
