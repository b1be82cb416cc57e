"""Statistical process control as NHS England's "Making Data Count" (MDC) does it: XmR charts with
natural process limits from the mean moving range, MDC's special-cause rules, the variation and
assurance icons, baselines and rebasing. Pure: values in, a table and two icons out.

Implemented from MDC's published method, checked against how NHSRplotthedots (NHS-R community,
which implements MDC) defines its rules, icons and rebasing; no code taken from it.
``_limits`` (mean, moving ranges, limits per segment), ``_rules`` (the four rules), ``_chart``
(point types, icons, :func:`xmr_chart`).
"""

from __future__ import annotations

from explorer.domain.spc._chart import (
    ASSURANCE_LABELS,
    ASSURANCE_TYPES,
    COLUMNS,
    COMMON_CAUSE,
    POINT_TYPES,
    VARIATION_LABELS,
    SpcChart,
    assurance,
    point_type,
    xmr_chart,
)
from explorer.domain.spc._limits import (
    CLOSE_FACTOR,
    LIMIT_FACTOR,
    SCREEN_FACTOR,
    Limits,
    mean_moving_range,
    xmr_limits,
)
from explorer.domain.spc._rules import (
    RULE_LABELS,
    RULES,
    SHIFT_POINTS,
    TREND_POINTS,
    detect,
)

__all__ = [
    "ASSURANCE_LABELS", "ASSURANCE_TYPES", "CLOSE_FACTOR", "COLUMNS", "COMMON_CAUSE", "LIMIT_FACTOR", "POINT_TYPES",
    "RULES", "RULE_LABELS", "SCREEN_FACTOR", "SHIFT_POINTS", "TREND_POINTS", "VARIATION_LABELS",
    "Limits", "SpcChart", "assurance", "detect", "mean_moving_range", "point_type", "xmr_chart", "xmr_limits",
]
