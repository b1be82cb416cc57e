"""SPC charts of a metric's monthly series for an area, as a role may see them (the CLI and the app).

The series is the engine's monthly trend put through the role's disclosure policy
(:func:`explorer.domain.release.control`, as the profile's trend chart), and the chart is computed
from those released values only (a hidden month is a gap): the mean, limits and rules are
functions of figures the role already sees, so they give away no count the trend does not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from explorer.domain import spc
from explorer.domain.disclosure import DisclosurePolicy
from explorer.domain.metrics import MetricInfo
from explorer.domain.release import as_generic_columns, as_metric_columns, control
from explorer.errors import ExplorerError

ROW_COLUMNS = ("month", "value", "mean", "lower_limit", "upper_limit", "special_cause")
"""One row per month, as the CLI prints and the app's table shows (plus segment and point_type)."""


def controlled_series(engine: Any, info: MetricInfo, filters: Any, area: str | None, risk: Any,
                      policy: DisclosurePolicy) -> pd.DataFrame:
    """The metric's monthly values for the area through the policy: month, value, suppressed."""
    frame, _ = engine.trend(info.name, filters, area, risk=risk, policy=policy)
    controlled = as_generic_columns(control(as_metric_columns(frame, info.name), info, policy), info.name)
    value = pd.to_numeric(controlled["value"], errors="coerce").astype(float)
    hidden = controlled["suppressed"].astype(bool)
    return pd.DataFrame({"month": controlled["month"].astype(str), "value": value.mask(hidden),
                         "suppressed": hidden})


def rebase_positions(months: Sequence[str], rebase: Sequence[str]) -> list[int]:
    """Positions of the rebase months in the series; a month outside it is a plain error."""
    months = list(months)
    out = []
    for month in rebase:
        if month not in months:
            span = f"{months[0]} to {months[-1]}" if months else "no months"
            raise ExplorerError(f"rebase month '{month}' is not in the series ({span}); give YYYY-MM")
        if months.index(month) == 0:
            raise ExplorerError(f"rebase month '{month}' is the first month: rebase at a later month")
        out.append(months.index(month))
    return out


def check_options(n: int, target: float | None, baseline: int | None) -> None:
    """Plain errors for a target or baseline the chart cannot use."""
    if target is not None and not math.isfinite(target):
        raise ExplorerError("the target must be a finite number")
    if baseline is not None and not 2 <= baseline <= n:
        raise ExplorerError(f"the baseline must be from 2 to {n} months (the series has {n})")


def spc_chart(series: pd.DataFrame, info: MetricInfo, *, target: float | None = None, baseline: int | None = None,
              rebase: Sequence[str] = ()) -> spc.SpcChart:
    """The XmR chart of a controlled series (month, value): its table gains the month column first."""
    check_options(len(series), target, baseline)
    positions = rebase_positions(series["month"].tolist(), rebase)
    chart = spc.xmr_chart(series["value"].to_numpy(dtype=float), higher_is_better=info.higher_is_better,
                          target=target, baseline=baseline, rebase=positions)
    table = chart.table.copy()
    table.insert(0, "month", series["month"].to_numpy())
    return spc.SpcChart(table, chart.variation, chart.assurance)


def icons_header(chart: spc.SpcChart, info: MetricInfo, target: float | None) -> dict[str, object]:
    """The chart's icons and what they mean, for a JSON header or CSV columns."""
    return {"metric": info.name, "higher_is_better": info.higher_is_better, "target": target,
            "variation": chart.variation, "variation_label": spc.VARIATION_LABELS.get(chart.variation or "", ""),
            "assurance": chart.assurance, "assurance_label": spc.ASSURANCE_LABELS.get(chart.assurance or "", "")}


def spc_export(level: str, area: str, metric: str, filters: list[str] | None, *, target: float | None,
               baseline: int | None, rebase: Sequence[str], role: str, region: str
               ) -> tuple[pd.DataFrame, dict[str, object]]:
    """What `explorer spc` prints: one row per month (ROW_COLUMNS, point_type) and the icons header."""
    from explorer.config import load_settings
    from explorer.domain import access, release
    from explorer.domain.metrics import Filters, check_metric
    from explorer.services import load_engine
    from explorer.services.app_data import (
        _records_synthetic,  # the app's test: imported tables are real
    )

    access.check_level(role, level)  # refuse before reading anything
    info = check_metric(metric)
    release.check_metrics(role, [metric])
    if info.source == "geography":
        raise ExplorerError(f"{metric} is a fixed area measure from the bundle: it has no monthly series")
    parsed = Filters.parse(filters)
    engine = load_engine(load_settings(), region)
    if engine.index.level_of(area) != level:
        raise ExplorerError(f"area '{area}' is not at level '{level}' (it is a {engine.index.level_of(area)} area)")
    policy = access.disclosure_policy_for(role)
    series = controlled_series(engine, info, parsed, area, None, policy)
    chart = spc_chart(series, info, target=target, baseline=baseline, rebase=rebase)
    synthetic = _records_synthetic(load_settings(), region, engine)
    header = {"data": "SYNTHETIC" if synthetic else "records", "level": level, "area": area, "role": role,
              **icons_header(chart, info, target)}
    return chart.table[[*ROW_COLUMNS, "point_type"]], header


# --------------------------------------------------------------------------- the app (through AppData)


def app_series(data: Any, code: str | None, metric: str, filters: Any, risk: Any,
               policy: DisclosurePolicy) -> pd.DataFrame:
    """The area's controlled monthly series from the app's cached trend: month, value (NaN if hidden)."""
    frame, _ = data.trend(code, metric, filters, risk, policy)  # already through release.control
    value = pd.to_numeric(frame["value"], errors="coerce").astype(float)
    hidden = frame["suppressed"].astype(bool) if "suppressed" in frame else pd.Series(False, index=frame.index)
    return pd.DataFrame({"month": frame["period"].astype(str), "value": value.mask(hidden)})


def change_summary(data: Any, code: str | None, metrics: Sequence[str], filters: Any, risk: Any,
                   policy: DisclosurePolicy, targets: dict[str, float] | None = None) -> pd.DataFrame:
    """Every metric's variation and assurance icon for one area (MDC's summary of change):
    metric, label, variation, assurance ("" without a target), latest month and value."""
    rows = []
    for metric in metrics:
        info = data.metric(metric)
        if info.source == "geography":
            continue
        target = (targets or {}).get(metric)
        try:
            chart = spc_chart(app_series(data, code, metric, filters, risk, policy), info, target=target)
        except ExplorerError:
            continue  # e.g. a metric the engine cannot serve for these filters
        if chart.variation is None:
            continue  # too few released values for limits: nothing to place in the matrix
        valued = chart.table.dropna(subset=["value"])
        rows.append({"metric": metric, "label": info.label, "variation": chart.variation or "",
                     "assurance": chart.assurance or "",
                     "month": valued["month"].iloc[-1] if len(valued) else "",
                     "value": float(valued["value"].iloc[-1]) if len(valued) else float("nan")})
    return pd.DataFrame(rows, columns=["metric", "label", "variation", "assurance", "month", "value"])
