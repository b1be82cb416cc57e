"""Plain-English sentences written from released numbers, for board packs.

A board paper is read by people who will act on it, so a sentence may never claim more than the
numbers support:

* "higher" / "lower" only when the 95% confidence intervals say so (an area against a benchmark:
  its interval excludes the benchmark value, the Fingertips rule the key-numbers table uses; two
  groups: the interval of their ratio excludes 1); "similar" otherwise;
* no sentence at all about a suppressed number, or one whose value or interval is missing;
* counts are quoted only as released (already rounded to 5 by disclosure control).

Numbers in, sentences out: no files, no figures, nothing about where the numbers came from.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from explorer.domain.stats import compare_to_benchmark, proportion_ratio

__all__ = [
    "Estimate",
    "benchmark_sentence",
    "cascade_sentence",
    "compare_estimates",
    "format_value",
    "gap_sentence",
    "groups_sentence",
    "outreach_sentence",
    "ratio_interval",
    "sii_sentence",
    "trend_sentence",
]

HIGHER, LOWER, SIMILAR, SUPPRESSED, MISSING = "higher", "lower", "similar", "suppressed", "missing"


@dataclass(frozen=True)
class Estimate:
    """A released value with its 95% CI and (for proportions) the rounded counts it rests on."""

    value: float | None
    lower: float | None = None
    upper: float | None = None
    suppressed: bool = False
    numerator: float | None = None
    denominator: float | None = None

    @property
    def usable(self) -> bool:
        return not self.suppressed and _finite(self.value)

    @property
    def has_ci(self) -> bool:
        return self.usable and _finite(self.lower) and _finite(self.upper)


def _finite(x: float | None) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def format_value(value: float, unit: str = "") -> str:
    """Three significant figures, thousands separated, with the unit ("38.2%", "4.1 per 1,000")."""
    if not _finite(value):
        return "not available"
    v = float(value)
    text = f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"
    if unit == "%":
        return text + "%"
    return f"{text} {unit}".strip()


def _ci(est: Estimate, unit: str) -> str:
    """"95% CI 3.67% to 3.86%", "95% CI 4.56 to 4.79 per 1,000" (a word unit said once)."""
    if unit == "%":
        return f"95% CI {format_value(est.lower, unit)} to {format_value(est.upper, unit)}"
    return f"95% CI {format_value(est.lower)} to {format_value(est.upper, unit)}"


def compare_estimates(area: Estimate, benchmark: Estimate) -> str:
    """higher / lower / similar for an area against a benchmark value, or suppressed / missing.

    The area's 95% CI must exclude the benchmark's value for higher or lower (touching counts as
    similar), the rule of the key-numbers table, so the narrative and the table never disagree."""
    if area.suppressed or benchmark.suppressed:
        return SUPPRESSED
    if not area.has_ci or not benchmark.usable:
        return MISSING
    verdict = str(compare_to_benchmark(area.lower, area.upper, benchmark.value, None))
    return verdict if verdict in (HIGHER, LOWER, SIMILAR) else MISSING


def benchmark_sentence(what: str, unit: str, area_name: str, area: Estimate, benchmarks: Sequence[tuple[str, Estimate]]
                       ) -> str | None:
    """"Care-plan coverage in Camden is 4.1 per 1,000 (95% CI 3.9 to 4.3): higher than North Central
    London (3.6) and similar to London (4.0)." None when the area's own number is suppressed or missing."""
    if not area.has_ci:
        return None
    parts = []
    for name, bench in benchmarks:
        verdict = compare_estimates(area, bench)
        if verdict in (HIGHER, LOWER):
            parts.append(f"{verdict} than {name} ({format_value(bench.value, unit)})")
        elif verdict == SIMILAR:
            parts.append(f"similar to {name} ({format_value(bench.value, unit)})")
    head = f"{what} in {area_name} is {format_value(area.value, unit)} ({_ci(area, unit)})"
    return head + (": " + " and ".join(parts) if parts else "") + "."


def ratio_interval(a: Estimate, b: Estimate, confidence: float = 0.95) -> tuple[float, float, float]:
    """Ratio of two proportions a/b with its CI (log method, Katz et al. 1978, Biometrics 34:469),
    from the released counts; NaNs when a count is missing or zero (`stats.proportion_ratio`)."""
    return proportion_ratio(a.numerator, a.denominator, b.numerator, b.denominator, confidence)


def gap_sentence(what: str, who: str, low_name: str, high_name: str, low: Estimate, high: Estimate,
                 unit: str) -> str | None:
    """The most against the least deprived group: "Coverage among high-risk residents of the most
    deprived fifth is 38% lower than in the least deprived fifth (95% CI 30% to 45% lower)".

    The relative difference and its CI come from the ratio of the released counts; "higher" or
    "lower" only when that CI excludes no difference, "similar" otherwise. Without counts (e.g. a
    standardised rate) the groups' own CIs must not overlap. None if either group is suppressed."""
    if not (low.usable and high.usable):
        return None
    subject = f"{what} among {who} of {low_name}" if who else f"{what} in {low_name}"
    ratio, r_lo, r_hi = ratio_interval(low, high)
    if _finite(ratio):
        if r_lo > 1 or r_hi < 1:
            word = HIGHER if ratio > 1 else LOWER
            far, near = sorted((abs(r_lo - 1), abs(r_hi - 1)), reverse=True)
            return (f"{subject} is {abs(ratio - 1):.0%} {word} than in {high_name} "
                    f"(95% CI {near:.0%} to {far:.0%} {word}).")
        return (f"{subject} is similar to {high_name} ({format_value(low.value, unit)} against "
                f"{format_value(high.value, unit)}; the 95% CI of the ratio, {r_lo:.2f} to {r_hi:.2f}, includes 1).")
    if not (low.has_ci and high.has_ci):
        return None
    if low.lower > high.upper or low.upper < high.lower:
        word = HIGHER if low.value > high.value else LOWER
        return (f"{subject} is {word} than in {high_name}: {format_value(low.value, unit)} ({_ci(low, unit)}) "
                f"against {format_value(high.value, unit)} ({_ci(high, unit)}).")
    return (f"{subject} is similar to {high_name}: {format_value(low.value, unit)} against "
            f"{format_value(high.value, unit)}, with overlapping 95% CIs.")


def sii_sentence(what: str, unit: str, sii: Estimate, rii: Estimate | None = None) -> str | None:
    """The slope index of inequality (least minus most deprived): a direction only when its CI
    excludes 0; the RII is added when it has a CI."""
    if not sii.has_ci:
        return None
    if sii.lower > 0:
        head = f"Across the deprivation gradient {what.lower()} rises from the most to the least deprived"
    elif sii.upper < 0:
        head = f"Across the deprivation gradient {what.lower()} falls from the most to the least deprived"
    else:
        head = f"There is no clear deprivation gradient in {what.lower()}"
    gap = "percentage points" if unit == "%" else unit  # a difference of two percentages
    text = f"{head} (slope index of inequality {format_value(sii.value, gap)}, {_ci(sii, gap)}"
    if rii is not None and rii.has_ci:
        text += f"; relative index {rii.value:.2f}, 95% CI {rii.lower:.2f} to {rii.upper:.2f}"
    return text + ")."


def trend_sentence(what: str, area_name: str, direction: str | None, significant: bool | None,
                   latest: Estimate, unit: str, period: str = "") -> str | None:
    """The Fingertips recent-trend marker in words; None when the latest value is suppressed."""
    if not latest.usable:
        return None
    when = f" in {period}" if period else ""
    head = f"{what} in {area_name} was {format_value(latest.value, unit)}{when}"
    if direction in ("increasing", "decreasing") and significant:
        return f"{head} and has been {direction} over the last five months (statistically significant)."
    if direction == "cannot be calculated" or direction is None:
        return f"{head}; the recent trend cannot be calculated."
    return f"{head}, with no significant change over the last five months."


def groups_sentence(what: str, comparator_name: str, by_label: str, groups: Sequence[tuple[str, str]]
                    ) -> str | None:
    """Which groups differ from the comparator: `groups` are (label, significance) with the
    Fingertips codes (better/worse/higher/lower/similar/not compared). Groups not compared (their
    number suppressed or missing) are left out. None when no group could be compared."""
    compared = [(label, sig) for label, sig in groups if sig in ("better", "worse", HIGHER, LOWER, SIMILAR)]
    if not compared:
        return None
    lower = [label for label, sig in compared if sig in (LOWER, "worse")]
    higher = [label for label, sig in compared if sig in (HIGHER, "better")]
    parts = []
    if lower:
        parts.append(f"lower than {comparator_name} for {_join(lower)}")
    if higher:
        parts.append(f"higher than {comparator_name} for {_join(higher)}")
    if not parts:
        return f"By {by_label.lower()}, {what.lower()} is similar to {comparator_name} in every group compared."
    return f"By {by_label.lower()}, {what.lower()} is " + "; ".join(parts) + " (95% CIs)."


def cascade_sentence(who: str, first: float | None, shares: Sequence[tuple[str, float | None]]) -> str | None:
    """"Of 12,345 high-risk people, 31% have a care plan, ..." from released counts; steps whose
    count is suppressed are left out; None when the first step is suppressed or zero."""
    if not _finite(first) or float(first) <= 0:
        return None
    steps = [f"{label[:1].lower() + label[1:]} {format_value(share, '%')}" for label, share in shares if _finite(share)]
    if not steps:
        return None
    return f"Of {float(first):,.0f} {who}, the share at each step: " + "; ".join(steps) + "."


def outreach_sentence(level_plural: str, top: int, reached: float | None, total: float | None) -> str | None:
    """How concentrated the high-risk people without a plan are, from released (rounded) counts."""
    if not (_finite(reached) and _finite(total)) or float(total) <= 0 or top <= 0:
        return None
    share = float(reached) / float(total)
    return (f"The {top} {level_plural} with most high-risk people without a care plan hold "
            f"{float(reached):,.0f} of them ({share:.0%} of {float(total):,.0f}).")


def _join(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
