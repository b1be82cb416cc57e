"""Text alternatives: one plain sentence per figure, read by screen readers and shown in exports."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from explorer.figures.classify import Classes, format_number
from explorer.figures.units import difference_of


def _fmt(v: object, unit: str) -> str:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "not available"
    return "not available" if not math.isfinite(f) else format_number(f, unit)


def describe_map(*, n_areas: int, level_label: str, within: str, metric_label: str, classes: Classes,
                 highest: tuple[str, float] | None, lowest: tuple[str, float] | None,
                 difference_from: str | None = None) -> str:
    what = f"the difference in {metric_label} from {difference_from}" if difference_from else metric_label
    if classes.scheme == "significance":
        what = f"{metric_label} compared with {difference_from or within} (95% confidence interval)"
    scheme = {"quantile": "quantile", "jenks": "natural-break (Jenks)", "diverging": "symmetric",
              "significance": "comparison"}[classes.scheme]
    n_classes = len([e for e in classes.legend if e.klass >= 0])
    parts = [f"Map of {n_areas:,} {level_label} areas in {within} coloured by {what}, "
             f"in {n_classes} {scheme} classes: "
             + "; ".join(f"{e.label} ({e.count:,})" for e in classes.legend) + "."]
    if classes.note:
        parts.append(classes.note)
    if highest and lowest:
        parts.append(f"Highest: {highest[0]} ({_fmt(highest[1], classes.unit)}); "
                     f"lowest: {lowest[0]} ({_fmt(lowest[1], classes.unit)}).")
    return " ".join(parts)


def describe_groups(frame: pd.DataFrame, *, label: str, unit: str, by_label: str,
                    comparator: float | None = None, comparator_name: str = "London") -> str:
    shown = frame.dropna(subset=["value"])
    if shown.empty:
        return f"{label} by {by_label}: no values can be shown (suppressed or unavailable)."
    top = shown.loc[shown["value"].astype(float).idxmax()]
    low = shown.loc[shown["value"].astype(float).idxmin()]
    text = (f"{label} by {by_label}: highest for {top['group']} ({_fmt(top['value'], unit)}), "
            f"lowest for {low['group']} ({_fmt(low['value'], unit)})")
    if comparator is not None:
        text += f"; {comparator_name} overall {_fmt(comparator, unit)}"
    hidden = len(frame) - len(shown)
    if hidden:
        text += f"; {hidden} group(s) suppressed"
    return text + "."


def describe_gradient(frame: pd.DataFrame, *, label: str, unit: str, sii: float | None,
                      sii_lower: float | None = None, sii_upper: float | None = None,
                      group: str = "decile") -> str:
    """`group` names the deprivation groups ("decile" or "quintile"; the frame's group numbers are in
    its ``decile`` column either way). The SII is a gap, so a percentage's is in percentage points."""
    shown = frame.dropna(subset=["value"]).sort_values("decile")
    if shown.empty:
        return f"{label} by deprivation {group}: no values can be shown."
    first, last = shown.iloc[0], shown.iloc[-1]
    text = (f"{label} by IMD {group}: {_fmt(first['value'], unit)} in {group} {int(first['decile'])} "
            f"(most deprived shown) and {_fmt(last['value'], unit)} in {group} {int(last['decile'])}.")
    if sii is not None and math.isfinite(sii):
        gap = difference_of(unit)
        ci = ""
        if sii_lower is not None and sii_upper is not None and math.isfinite(sii_lower):
            ci = f" (95% CI {_fmt(sii_lower, gap)} to {_fmt(sii_upper, gap)})"
        text += (f" Slope index of inequality {_fmt(sii, gap)}{ci}: the modelled gap between the least and "
                 "the most deprived ends of the population.")
    return text


def describe_funnel(frame: pd.DataFrame, *, label: str, comparator_name: str = "London") -> str:
    counts = frame["position"].value_counts() if "position" in frame else pd.Series(dtype=int)
    outside = int(counts.get("outside 99.8%", 0))
    between = int(counts.get("between 95% and 99.8%", 0))
    return (f"Funnel plot of {len(frame):,} areas' {label} against the {comparator_name} value: "
            f"{outside} outside the 99.8% limits, {between} between the 95% and 99.8% limits, "
            f"{len(frame) - outside - between} within the 95% limits.")


def describe_series(labels: Sequence[str], values: Sequence[float], *, what: str, unit: str) -> str:
    pairs = [f"{lab} {_fmt(v, unit)}" for lab, v in zip(labels, values)]
    return f"{what}: " + "; ".join(pairs) + "." if pairs else f"{what}: no data."


def describe_spine(frame: pd.DataFrame, *, area_name: str, comparator_name: str) -> str:
    """The spine chart in words: how many metrics are better, similar, worse than the comparator."""
    counts = frame["significance"].astype(str).value_counts() if "significance" in frame else pd.Series(dtype=int)
    parts = [f"{int(counts.get(k, 0))} {k}" for k in ("better", "similar", "worse", "higher", "lower")
             if counts.get(k, 0)]
    named = {k: ", ".join(frame.loc[frame["significance"] == k, "label"].astype(str)) for k in ("better", "worse")}
    text = (f"Spine chart of {len(frame)} metrics for {area_name} against {comparator_name}: "
            + ("; ".join(parts) if parts else "none compared") + f"; {int(counts.get('not compared', 0))} not compared.")
    for k in ("better", "worse"):
        if named[k]:
            text += f" {k.capitalize()}: {named[k]}."
    return text
# --------------------------------------------------------------------------- what an output shows

@dataclass(frozen=True)
class Subject:
    """What one output (title, table caption, image, CSV) shows: the one place its description is
    written, so a chart, its table and its download never disagree.

    `filters` is the filters' text ("" or "everyone" when unfiltered); `as_at` the month end the
    care-plan figures are for (None for official statistics with their own date); `comparator`
    the benchmark's name, said to be filtered the same way when `filters` are set.
    """

    what: str
    area: str
    level: str
    filters: str = ""
    as_at: str | None = None
    role: str | None = None
    comparator: str | None = None
    unit: str | None = None

    @property
    def filtered(self) -> bool:
        return bool(self.filters) and self.filters != "everyone"

    @property
    def comparator_label(self) -> str | None:
        """"London, same filters" when the comparator is filtered as the area is."""
        if not self.comparator:
            return None
        return f"{self.comparator}, same filters" if self.filtered else self.comparator

    def qualifiers(self) -> str:
        """"; frailty: moderate, severe; as at 31 October 2026" (empty when unfiltered and undated)."""
        return (f"; {self.filters}" if self.filtered else "") + (f"; as at {self.as_at}" if self.as_at else "")

    def title(self) -> str:
        """"Care-plan coverage: North East London (ICS); frailty: moderate, severe; as at 31 October 2026"."""
        return f"{self.what}: {self.area} ({self.level})" + self.qualifiers()

    def caption(self) -> str:
        """The title plus role, comparator and unit: a table's caption or a figure's subtitle."""
        parts = [self.title()]
        if not self.filtered:
            parts.append("all people (no filters)")
        if self.unit:
            parts.append(f"units: {self.unit}")
        if self.comparator_label:
            parts.append(f"compared with {self.comparator_label}")
        if self.role:
            parts.append(f"as seen by the {self.role.replace('_', ' ')} role")
        return "; ".join(parts) + "."

    def header_lines(self) -> list[str]:
        """Key-value lines for the top of a CSV (each written as '# key: value')."""
        lines = [("shows", self.what), ("area", f"{self.area} ({self.level})"),
                 ("filters", self.filters if self.filtered else "none (everyone)"),
                 ("as at", self.as_at or "not applicable"), ("units", self.unit or "see column names"),
                 ("comparator", self.comparator_label or "none"), ("role", self.role or "not stated")]
        return [f"{k}: {v}" for k, v in lines]


def as_at_text(month_end: object) -> str | None:
    """A snapshot date (date or ISO text) as "31 October 2026"; None when there is none."""
    if month_end is None:
        return None
    try:
        day = pd.Timestamp(month_end)
    except (TypeError, ValueError):
        return None
    return f"{day.day} {day.strftime('%B %Y')}"
