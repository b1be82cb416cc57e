"""Charts other than maps: pure functions, frame in, go.Figure out, in the house style.

Input frames hold numbers that have already been through disclosure control; missing values
(suppressed or unavailable) are drawn as gaps and listed in the text alternative, never as zero.
Column contracts are in each docstring.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from explorer.figures import theme
from explorer.figures.classify import format_number
from explorer.figures.labels import escape_label, escape_labels


def nice_step(x: float) -> float:
    """A round tick step (1, 2 or 5 x 10^n) close to `x`."""
    if not np.isfinite(x) or x <= 0:
        return 1.0
    mag = 10 ** np.floor(np.log10(x))
    for m in (1, 2, 5, 10):
        if x <= m * mag:
            return float(m * mag)
    return float(10 * mag)


def _num(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _error_arrays(frame: pd.DataFrame) -> dict | None:
    if not {"lower", "upper"} <= set(frame.columns):
        return None
    value, lower, upper = _num(frame["value"]), _num(frame["lower"]), _num(frame["upper"])
    return {"type": "data", "symmetric": False, "array": np.nan_to_num(upper - value).tolist(),
            "arrayminus": np.nan_to_num(value - lower).tolist(), "color": theme.MUTED, "thickness": 1.2,
            "width": 4}


def _axis_title(label: str, unit: str) -> str:
    """'Label (unit)', escaped: metric labels and units are shown as plotly pseudo-HTML."""
    return escape_label(f"{label} ({unit})" if unit else label)


def _comparator_text(name: str, value: float, unit: str) -> str:
    """The comparator line's annotation, e.g. 'London 52.3%' (the name comes from data: escaped)."""
    return escape_label(f"{name} {format_number(value, unit)}")


def _hover(frame: pd.DataFrame, unit: str) -> list[str]:
    out = []
    has_ci = {"lower", "upper"} <= set(frame.columns)
    for _, row in frame.iterrows():
        v = row.get("value")
        if v is None or pd.isna(v):
            out.append("suppressed or not available")
            continue
        text = format_number(float(v), unit)
        if has_ci and not pd.isna(row["lower"]) and not pd.isna(row["upper"]):
            text += f" (95% CI {format_number(float(row['lower']), unit)} to {format_number(float(row['upper']), unit)})"
        if "numerator" in row and "denominator" in row and not pd.isna(row["denominator"]):
            num = "*" if pd.isna(row["numerator"]) else f"{int(row['numerator']):,}"
            text += f"<br>{num} of {int(row['denominator']):,}"
        out.append(text)
    return out


def _deprivation_groups(frame: pd.DataFrame) -> int:
    """5 for quintiles, 10 for deciles: the frame's labels name the least deprived group
    ("5 (least deprived)" only for quintiles), since a deprived area's deciles may stop at 5."""
    labels = frame["label"].astype(str) if "label" in frame.columns else pd.Series(dtype=str)
    return 5 if (labels == "5 (least deprived)").any() else 10


def gradient_figure(frame: pd.DataFrame, *, label: str, unit: str, comparator: float | None = None,
                    comparator_name: str = "London", sii_text: str | None = None) -> go.Figure:
    """Value by IMD decile or quintile (1 = most deprived) with 95% CIs and the fitted SII line.

    frame: decile (the group number, 1..10 or 1..5), label (group_label's), value, lower, upper, and optionally fitted (the SII regression line
    evaluated at each decile's population midpoint).
    """
    fig = go.Figure()
    groups = _deprivation_groups(frame)
    name, share = ("quintile", "20%") if groups == 5 else ("decile", "10%")
    x = frame["decile"].astype(int).tolist()
    fig.add_trace(go.Scatter(
        x=x, y=_num(frame["value"]).tolist(), mode="markers", name=escape_label(label),
        marker={"size": 10, "color": theme.ACCENT, "symbol": "circle"},
        error_y=_error_arrays(frame), customdata=_hover(frame, unit),
        hovertemplate=f"IMD {name} %{{x}}<br>%{{customdata}}<extra></extra>",
    ))
    if "fitted" in frame.columns and frame["fitted"].notna().any():
        fig.add_trace(go.Scatter(
            x=x, y=_num(frame["fitted"]).tolist(), mode="lines", name="Slope index of inequality (fitted)",
            line={"color": theme.TEXT, "dash": "dash", "width": 1.5}, hoverinfo="skip",
        ))
    if comparator is not None and np.isfinite(comparator):
        fig.add_hline(y=comparator, line={"color": theme.MUTED, "dash": "dot", "width": 1},
                      annotation_text=_comparator_text(comparator_name, comparator, unit),
                      annotation_position="top right")
    theme.house_style(fig, height=320)
    fig.update_xaxes(title=f"IMD 2025 {name} (1 = most deprived {share} in England)", tickmode="array",
                     tickvals=list(range(1, groups + 1)), range=[0.5, groups + 0.5])
    fig.update_yaxes(title=_axis_title(label, unit), rangemode="tozero")
    if sii_text:
        fig.add_annotation(text=escape_label(sii_text), xref="paper", yref="paper", x=0, y=-0.32, showarrow=False,
                           xanchor="left", font={"size": 12, "color": theme.MUTED})
        fig.update_layout(margin={"b": 60})
    return fig


def group_figure(frame: pd.DataFrame, *, label: str, unit: str, comparator: float | None = None,
                 comparator_name: str = "London") -> go.Figure:
    """Horizontal bars per group with 95% CIs and a comparator line.

    frame: group (display label), value, lower, upper, optional numerator/denominator and
    significance ("better", "similar", "worse", "higher", "lower", "not compared").
    """
    colours = [theme.SIGNIFICANCE_COLOURS.get(str(s), theme.ACCENT) for s in frame["significance"]] \
        if "significance" in frame.columns else theme.ACCENT
    fig = go.Figure(go.Bar(
        y=escape_labels(frame["group"].astype(str)), x=_num(frame["value"]).tolist(), orientation="h",
        marker={"color": colours, "line": {"color": theme.TEXT, "width": 0.6}},
        error_x=_error_arrays(frame), customdata=_hover(frame, unit),
        hovertemplate="<b>%{y}</b><br>%{customdata}<extra></extra>", name=escape_label(label),
    ))
    if comparator is not None and np.isfinite(comparator):
        # label on the roomier side of the line, so it is never cut off at the chart's edge
        widest = float(np.nanmax(_num(frame["upper"] if "upper" in frame.columns else frame["value"]),
                                 initial=comparator))
        side = "top right" if comparator < 0.5 * widest else "top left"
        fig.add_vline(x=comparator, line={"color": theme.COMPARATOR, "dash": "dash", "width": 1.2},
                      annotation_text=_comparator_text(comparator_name, comparator, unit),
                      annotation_position=side, annotation_yanchor="bottom")  # above the bars
    theme.house_style(fig, height=max(200, 70 + 36 * len(frame)), legend=False)
    fig.update_layout(margin={"t": 28})
    fig.update_xaxes(title=_axis_title(label, unit), rangemode="tozero")
    fig.update_yaxes(autorange="reversed", type="category")  # "2", "3" would make a numeric axis
    return fig


def funnel_figure(frame: pd.DataFrame, limits: pd.DataFrame, *, label: str, unit: str, comparator: float,
                  comparator_name: str = "London", denominator_label: str = "Denominator") -> go.Figure:
    """Funnel plot: each area's value against its denominator, with 95% and 99.8% control limits.

    frame: area_name, value, denominator, and optionally position ("within 95%",
    "between 95% and 99.8%", "outside 99.8%"); limits: denominator, lower95, upper95,
    lower998, upper998 (smooth in the denominator).
    """
    fig = go.Figure()
    d = _num(limits["denominator"]).tolist()
    for col, name, dash in (("upper998", "99.8% limits", "dash"), ("lower998", None, "dash"),
                            ("upper95", "95% limits", "dot"), ("lower95", None, "dot")):
        fig.add_trace(go.Scatter(x=d, y=_num(limits[col]).tolist(), mode="lines", name=name or col,
                                 showlegend=name is not None, legendgroup=dash,
                                 line={"color": theme.MUTED, "dash": dash, "width": 1}, hoverinfo="skip"))
    fig.add_hline(y=comparator, line={"color": theme.COMPARATOR, "width": 1.2},
                  annotation_text=_comparator_text(comparator_name, comparator, unit),
                  annotation_position="bottom right")
    symbols = {"within 95%": ("circle", theme.ACCENT), "between 95% and 99.8%": ("diamond", "#e69f00"),
               "outside 99.8%": ("square", "#cc79a7")}
    groups = frame["position"] if "position" in frame.columns else pd.Series("area", index=frame.index)
    for position, part in frame.groupby(groups, sort=False):
        symbol, colour = symbols.get(str(position), ("circle", theme.ACCENT))
        fig.add_trace(go.Scatter(
            x=_num(part["denominator"]).tolist(), y=_num(part["value"]).tolist(), mode="markers",
            name=escape_label(position), text=escape_labels(part["area_name"].astype(str)),
            marker={"symbol": symbol, "color": colour, "size": 8, "line": {"color": theme.TEXT, "width": 0.5}},
            hovertemplate="<b>%{text}</b><br>%{y:.3~g}" + escape_label(unit if unit in ("%", "pp") else f" {unit}")
                          + "<br>" + escape_label(denominator_label) + " %{x:,}<extra></extra>",
        ))
    theme.house_style(fig, height=380)
    fig.update_xaxes(title=escape_label(denominator_label), rangemode="tozero")
    fig.update_yaxes(title=_axis_title(label, unit))
    return fig


def pyramid_figure(frame: pd.DataFrame) -> go.Figure:
    """Population by age band and sex, females left, males right.

    frame: age_band, sex ("female"/"male"), population (controlled counts; NaN = suppressed).
    """
    order = list(dict.fromkeys(frame["age_band"]))
    fig = go.Figure()
    for sex, colour, sign in (("female", "#7b3294", -1), ("male", "#008837", 1)):
        part = frame[frame["sex"] == sex].set_index("age_band").reindex(order)
        pop = _num(part["population"])
        fig.add_trace(go.Bar(
            y=escape_labels(order), x=(sign * pop).tolist(), orientation="h", name=sex.capitalize(),
            marker={"color": colour}, customdata=[f"{int(p):,}" if np.isfinite(p) else "*" for p in pop],
            hovertemplate=f"{sex.capitalize()} %{{y}}: %{{customdata}} people<extra></extra>",
        ))
    top = float(np.nanmax(_num(frame["population"]))) if len(frame) and np.isfinite(_num(frame["population"])).any() \
        else 1.0
    step = nice_step(top / 2)
    half = np.arange(0, top + step, step)
    ticks = np.concatenate([-half[:0:-1], half])
    theme.house_style(fig, height=260)
    fig.update_layout(barmode="relative", bargap=0.1)
    fig.update_yaxes(type="category")
    fig.update_xaxes(title="People", tickvals=ticks.tolist(), ticktext=[f"{abs(t):,.0f}" for t in ticks])
    return fig


def share_bar_figure(frame: pd.DataFrame, *, label: str, unit: str = "%") -> go.Figure:
    """Horizontal bars of shares per category (e.g. ethnic group, disability).

    frame: category, value (share in `unit`), optional count.
    """
    custom = [f"{format_number(v, unit)}" + (f" ({int(c):,} people)" if "count" in frame and not pd.isna(c) else "")
              for v, c in zip(_num(frame["value"]),
                              frame["count"] if "count" in frame else [None] * len(frame))]
    fig = go.Figure(go.Bar(y=escape_labels(frame["category"].astype(str)), x=_num(frame["value"]).tolist(),
                           orientation="h", marker={"color": theme.ACCENT}, customdata=custom,
                           hovertemplate="<b>%{y}</b>: %{customdata}<extra></extra>"))
    theme.house_style(fig, height=max(160, 40 + 30 * len(frame)), legend=False)
    fig.update_xaxes(title=_axis_title(label, unit), rangemode="tozero")
    fig.update_yaxes(autorange="reversed", type="category")
    return fig


def trend_figure(frame: pd.DataFrame, *, label: str, unit: str, name: str = "") -> go.Figure:
    """A metric over time with its 95% CI band. frame: period, value, lower, upper."""
    x = escape_labels(frame["period"].astype(str))
    fig = go.Figure()
    if {"lower", "upper"} <= set(frame.columns):
        fig.add_trace(go.Scatter(x=x + x[::-1], y=_num(frame["upper"]).tolist() + _num(frame["lower"]).tolist()[::-1],
                                 fill="toself", fillcolor="rgba(0,94,184,0.15)", line={"width": 0},
                                 name="95% CI", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=_num(frame["value"]).tolist(), mode="lines+markers",
                             name=escape_label(name or label),
                             line={"color": theme.ACCENT, "width": 2}, customdata=_hover(frame, unit),
                             hovertemplate="%{x}<br>%{customdata}<extra></extra>"))
    theme.house_style(fig, height=280)
    fig.update_yaxes(title=_axis_title(label, unit), rangemode="tozero")
    return fig


def cascade_figure(frame: pd.DataFrame) -> go.Figure:
    """The care-plan cascade: people at each stage, largest first.

    frame: stage (label), count (controlled; NaN = suppressed), optional share (% of first stage).
    """
    counts = _num(frame["count"])
    custom = [("*" if not np.isfinite(c) else f"{int(c):,}")
              + (f" ({format_number(s, '%')} of the first stage)" if "share" in frame and np.isfinite(s) else "")
              for c, s in zip(counts, _num(frame["share"]) if "share" in frame else [np.nan] * len(frame))]
    fig = go.Figure(go.Bar(y=escape_labels(frame["stage"].astype(str)), x=counts.tolist(), orientation="h",
                           marker={"color": theme.palette("viridis", 5)[3]}, customdata=custom,
                           hovertemplate="<b>%{y}</b><br>%{customdata} people<extra></extra>"))
    theme.house_style(fig, height=max(200, 50 + 38 * len(frame)), legend=False)
    fig.update_xaxes(title="People", rangemode="tozero")
    fig.update_yaxes(autorange="reversed", type="category")
    return fig


def outreach_figure(frame: pd.DataFrame, *, people_label: str = "High-risk people without a plan") -> go.Figure:
    """Areas ranked by people to reach, largest at the top; targeted areas (within capacity) in colour.

    frame: area_name, people (controlled count), targeted (bool).
    """
    colours = [theme.palette("viridis", 5)[3] if t else "#c8c8c8" for t in frame["targeted"]]
    fig = go.Figure(go.Bar(y=escape_labels(frame["area_name"].astype(str)), x=_num(frame["people"]).tolist(),
                           orientation="h", marker={"color": colours, "line": {"color": theme.TEXT, "width": 0.5}},
                           hovertemplate="<b>%{y}</b><br>%{x:,} people<extra></extra>"))
    theme.house_style(fig, height=max(220, 60 + 24 * len(frame)), legend=False)
    fig.update_xaxes(title=escape_label(people_label), rangemode="tozero")
    fig.update_yaxes(autorange="reversed", type="category")
    return fig
