"""A population pyramid for comparison: the area's residents as shares, its parent's as an outline,
and the people with a care plan as narrower bars, all as % so areas of any size compare.

Pure: a frame in, a go.Figure out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from explorer.figures import theme
from explorer.figures.charts import nice_step
from explorer.figures.labels import escape_label, escape_labels

SEX_STYLE = {"female": ("#7b3294", -1), "male": ("#008837", 1)}
PLAN_COLOUR = "#e66101"


def _values(frame: pd.DataFrame, column: str, order: list[str], sex: str) -> np.ndarray:
    part = frame[frame["sex"] == sex].set_index("age_band").reindex(order)
    return pd.to_numeric(part[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def pyramid_comparison_figure(frame: pd.DataFrame, *, area: str, parent: str | None,
                              plans: bool = True) -> go.Figure:
    """frame: age_band, sex, share (% of the area's residents), parent_share (% of the parent's),
    plan_share (% of the area's people with a plan; NaN = suppressed or none). Females left."""
    order = list(dict.fromkeys(frame["age_band"]))
    labels = escape_labels(order)
    fig = go.Figure()
    top = 1.0
    for sex, (colour, sign) in SEX_STYLE.items():
        share = _values(frame, "share", order, sex)
        fig.add_trace(go.Bar(
            y=labels, x=(sign * share).tolist(), orientation="h", width=0.8, name=f"{sex.capitalize()} residents",
            marker={"color": colour, "opacity": 0.55}, customdata=[_pc(v) for v in share],
            hovertemplate=f"{escape_label(area)}, {sex} %{{y}}: %{{customdata}} of residents<extra></extra>"))
        if plans and "plan_share" in frame:
            plan = _values(frame, "plan_share", order, sex)
            fig.add_trace(go.Bar(
                y=labels, x=(sign * plan).tolist(), orientation="h", width=0.35,
                name="People with a care plan" if sex == "female" else None, showlegend=sex == "female",
                legendgroup="plans", marker={"color": PLAN_COLOUR}, customdata=[_pc(v) for v in plan],
                hovertemplate=f"{sex.capitalize()} %{{y}}: %{{customdata}} of people with a plan<extra></extra>"))
            top = max(top, float(np.nanmax(np.append(plan, 0))))
        if parent is not None and "parent_share" in frame:
            outline = _values(frame, "parent_share", order, sex)
            fig.add_trace(go.Scatter(
                y=labels, x=(sign * outline).tolist(), mode="lines+markers", line={"color": theme.COMPARATOR,
                                                                                   "width": 2},
                marker={"symbol": "line-ns-open", "size": 14, "color": theme.COMPARATOR},
                name=f"{escape_label(parent)} (outline)" if sex == "female" else None, showlegend=sex == "female",
                legendgroup="parent", customdata=[_pc(v) for v in outline],
                hovertemplate=f"{escape_label(parent)}, {sex} %{{y}}: %{{customdata}}<extra></extra>"))
            top = max(top, float(np.nanmax(np.append(outline, 0))))
        top = max(top, float(np.nanmax(np.append(share, 0))))
    step = nice_step(top / 4)
    half = np.arange(0, top + step, step)
    ticks = np.concatenate([-half[:0:-1], half])
    theme.house_style(fig, height=340)
    fig.update_layout(barmode="overlay", bargap=0.1)
    fig.update_yaxes(type="category", title="Age band")
    fig.update_xaxes(title="% of the area's people (females left, males right)", tickvals=ticks.tolist(),
                     ticktext=[f"{abs(t):g}%" for t in ticks])
    return fig


def _pc(value: float) -> str:
    return f"{value:.1f}%" if np.isfinite(value) else "* (suppressed)"
