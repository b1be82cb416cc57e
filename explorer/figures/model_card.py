"""Figures of the risk model card: pure functions of the report dict of
:func:`explorer.domain.risk.report_dict` (report in, go.Figure out), and their html fragments for
the self-contained card page."""

from __future__ import annotations

from collections.abc import Mapping

import plotly.graph_objects as go

from explorer.domain.risk import DIMENSION_LABELS, OE_TOLERANCE

__all__ = ["calibration_figure", "calibration_summary", "card_figures_html", "groups_figure"]


def _signed(x: float, decimals: int = 2) -> str:
    """'+0.12', '-0.05', and '0.00' for anything that rounds to zero (never '-0.00' or '+0.00')."""
    text = f"{x:+.{decimals}f}"
    return text[1:] if float(text) == 0 else text


def calibration_summary(report: Mapping) -> str:
    """'calibration slope 0.98, intercept 0.00' (empty without them): the card's subtitle and the
    exported calibration figure's note, written once."""
    slope, intercept = report.get("calibration_slope"), report.get("calibration_intercept")
    if slope is None or intercept is None:
        return ""
    return f"calibration slope {slope:.2f}, intercept {_signed(intercept)}"


def calibration_figure(report: Mapping) -> go.Figure:
    """Observed against predicted admission rate by risk decile (Wilson 95% CIs), with the diagonal."""
    deciles = report["deciles"]
    x = [d["mean_predicted"] for d in deciles]
    y = [d["observed_rate"] for d in deciles]
    top = max([*x, *[d["observed_rate_upper"] for d in deciles], 0.01]) * 1.05
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, top], y=[0, top], mode="lines", name="Perfect calibration",
                             line={"color": "#4c6272", "dash": "dash", "width": 1}, hoverinfo="skip"))
    fig.add_trace(go.Scatter(
        x=x, y=y, mode="markers+lines", name="Risk decile", marker={"color": "#005eb8", "size": 8},
        line={"color": "#005eb8", "width": 1},
        error_y={"type": "data", "symmetric": False, "array": [d["observed_rate_upper"] - d["observed_rate"]
                                                                for d in deciles],
                 "arrayminus": [d["observed_rate"] - d["observed_rate_lower"] for d in deciles]},
        text=[f"decile {d['decile']}: {d['n']:,} people, {d['observed']:,} admitted, {d['expected']:,.0f} expected"
              for d in deciles], hovertemplate="%{text}<br>predicted %{x:.1%}, observed %{y:.1%}<extra></extra>"))
    subtitle = calibration_summary(report)
    fig.update_layout(
        title={"text": f"Observed vs predicted emergency admission by risk decile<br><sub>{subtitle}</sub>"},
        xaxis={"title": "Predicted (mean risk in decile)", "tickformat": ".0%", "range": [0, top]},
        yaxis={"title": "Observed admission rate", "tickformat": ".0%", "range": [0, top]},
        plot_bgcolor="white", legend={"orientation": "h", "y": -0.2}, margin={"l": 60, "r": 20, "t": 70, "b": 60})
    fig.update_xaxes(gridcolor="#d8dde0")
    fig.update_yaxes(gridcolor="#d8dde0")
    return fig


def groups_figure(report: Mapping) -> go.Figure:
    """Observed/expected ratio per group with 95% CIs and the 0.9-1.1 tolerance band."""
    groups = report["groups"]
    labels = [f"{DIMENSION_LABELS[g['dimension']]}: {g['label']}" for g in groups]
    colours = ["#e69f00" if g["flagged"] else "#005eb8" for g in groups]
    fig = go.Figure(go.Scatter(
        x=[g["observed_expected"] for g in groups], y=labels, mode="markers", marker={"color": colours, "size": 8},
        error_x={"type": "data", "symmetric": False,
                 "array": [(g["observed_expected_upper"] or 0) - (g["observed_expected"] or 0) for g in groups],
                 "arrayminus": [(g["observed_expected"] or 0) - (g["observed_expected_lower"] or 0) for g in groups]},
        hovertemplate="%{y}: O/E %{x:.3f}<extra></extra>", name="O/E"))
    lo, hi = report.get("oe_tolerance", OE_TOLERANCE)
    fig.add_vrect(x0=lo, x1=hi, fillcolor="#d8dde0", opacity=0.4, line_width=0)
    fig.add_vline(x=1, line={"color": "#4c6272", "dash": "dash", "width": 1})
    fig.update_layout(title={"text": "Observed / expected admissions by group (held-out people)"},
                      xaxis={"title": "Observed / expected"}, yaxis={"autorange": "reversed"},
                      plot_bgcolor="white", height=max(400, 22 * len(groups) + 120), showlegend=False,
                      margin={"l": 230, "r": 20, "t": 60, "b": 50})
    return fig



def card_figures_html(report: Mapping) -> list[str]:
    """The calibration and group figures as html fragments for the card page: plotly.js inlined once,
    in the first (no CDN)."""
    return [calibration_figure(report).to_html(full_html=False, include_plotlyjs=True),
            groups_figure(report).to_html(full_html=False, include_plotlyjs=False)]
