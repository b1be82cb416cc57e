"""Why areas are neighbours: each feature's z-score (across England's areas of the level) for the
chosen area and its nearest neighbours, one row per feature. Pure: frames in, go.Figure out."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

from explorer.figures import theme
from explorer.figures.labels import escape_label, escape_labels


def neighbour_profile_figure(z: pd.DataFrame, *, area_code: str, names: Mapping[str, str],
                             labels: Mapping[str, str]) -> go.Figure:
    """z: area_code plus one column per feature (z-scores); `labels`: feature -> label, in order."""
    features = list(labels)
    y = escape_labels(labels[f] for f in features)
    fig = go.Figure()
    others = z[z["area_code"] != area_code]
    for _, row in others.iterrows():
        fig.add_trace(go.Scatter(
            x=[float(row[f]) for f in features], y=y, mode="markers", showlegend=False, legendgroup="nb",
            marker={"color": theme.MUTED, "size": 7, "opacity": 0.6, "symbol": "circle-open"},
            hovertemplate=f"{escape_label(names.get(row['area_code'], row['area_code']))}: %{{x:.2f}}<extra></extra>"))
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name="Neighbours", legendgroup="nb",
                             marker={"color": theme.MUTED, "size": 7, "symbol": "circle-open"}))
    own = z[z["area_code"] == area_code].iloc[0]
    fig.add_trace(go.Scatter(
        x=[float(own[f]) for f in features], y=y, mode="markers", name=escape_label(names.get(area_code, area_code)),
        marker={"color": theme.ACCENT, "size": 12, "symbol": "diamond"},
        hovertemplate="%{y}: z = %{x:.2f}<extra></extra>"))
    theme.house_style(fig, height=460)
    fig.add_vline(x=0, line={"color": theme.COMPARATOR, "width": 1, "dash": "dot"})
    fig.update_yaxes(type="category", autorange="reversed")
    fig.update_xaxes(title="z-score (0 = England's average for the level)", zeroline=False)
    return fig
