"""Classed colour scales for choropleths: quantiles or Jenks natural breaks, legend labels, colours.

A map coloured by class (5 classes by default) reads more reliably than a continuous ramp, and the
legend can state each class's range with its unit. Values that were suppressed by disclosure
control get class -1 (their own grey class), missing values class -2.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from explorer.figures import theme

SCHEMES = ("quantile", "jenks")
SUPPRESSED_CLASS = -1
NO_DATA_CLASS = -2
JENKS_SAMPLE = 600  # Fisher-Jenks is O(k n^2): classify a rank-spaced sample of at most this many values


def round_sig(x: float, digits: int = 3) -> float:
    """`x` rounded to `digits` significant figures (0 and non-finite values unchanged)."""
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


def round_sig_array(values: np.ndarray, digits: int = 3) -> np.ndarray:
    """Vectorised :func:`round_sig`; NaN stays NaN."""
    v = np.asarray(values, dtype=float)
    out = v.copy()
    ok = np.isfinite(v) & (v != 0)
    mags = np.floor(np.log10(np.abs(v[ok])))
    scale = 10.0 ** (digits - 1 - mags)
    out[ok] = np.round(v[ok] * scale) / scale
    return out


def quantile_breaks(values: Sequence[float], k: int = 5) -> np.ndarray:
    """Class edges at the 0, 1/k, ..., 1 quantiles of the finite values (duplicates merged).

    Each edge is one of the values themselves (inverted CDF, no interpolation), so a legend shows
    only numbers some area already shows after disclosure control: never an in-between count
    such as 4 people between areas with 0 and 10.
    """
    v = _finite(values)
    if v.size == 0:
        return np.array([])
    ordered = np.sort(v)
    n = ordered.size
    # the inverted-CDF quantile i/k in integer arithmetic (0.6 as a float would round up a rank)
    edges = ordered[[max((i * n + k - 1) // k - 1, 0) for i in range(k + 1)]]
    return _class_edges(edges)


def _class_edges(edges: np.ndarray) -> np.ndarray:
    """Sorted edges with the empty classes merged. Classes are (lower, upper] and the first [min, upper],
    so a first edge repeated ([min, min, ...]) is a class of its own (the areas at the minimum) and
    stays; any later repeat would be an empty class and goes. With as many areas as classes, each
    area is then its own class (5 ICSs: 5 classes), instead of the lowest two sharing one."""
    edges = np.sort(np.asarray(edges, dtype=float))
    if edges.size < 2:
        return np.unique(edges)
    return np.concatenate([[edges[0]], np.unique(edges[1:])])


def jenks_breaks(values: Sequence[float], k: int = 5) -> np.ndarray:
    """Fisher-Jenks natural breaks (minimum within-class sum of squares), edges min..max.

    jenkspy's Fisher-Jenks (compiled ahead of time: no start-up cost, where mapclassify's numba kernel
    took 5-7 s to compile in every new process), exact on up to JENKS_SAMPLE values; larger inputs are classified on
    a rank-spaced sample (deterministic, unlike mapclassify's randomly sampled FisherJenksSampled,
    so a view's legend is the same on every request), with the true minimum and maximum as outer
    edges. Each inner edge is a value of the input (the largest of its class).
    """
    v = np.sort(_finite(values))
    if v.size == 0:
        return np.array([])
    unique = np.unique(v)
    if unique.size <= k:  # each value its own class (the first closed at the minimum)
        return np.concatenate([[unique[0]], unique])
    import jenkspy

    sample = v if v.size <= JENKS_SAMPLE else v[np.linspace(0, v.size - 1, JENKS_SAMPLE).round().astype(int)]
    edges = jenkspy.jenks_breaks(sample, n_classes=k)  # min, then each class's largest value
    out = _class_edges(np.asarray(edges, dtype=float))
    out[0], out[-1] = v[0], v[-1]
    return out


def diverging_breaks(values: Sequence[float], k: int = 5) -> np.ndarray:
    """Symmetric edges around 0 for differences: k (odd) classes, the middle one straddling 0.

    The outer edge is the largest absolute difference, rounded up to 2 significant figures,
    so the same colour always means the same size of difference above or below.
    """
    v = _finite(values)
    if v.size == 0:
        return np.array([])
    if k % 2 == 0:
        raise ValueError("a diverging scale needs an odd number of classes")
    top = float(np.max(np.abs(v)))
    if top == 0:
        return np.array([-1.0, 1.0]) * 1e-9
    mag = 10 ** math.floor(math.log10(top))
    top = math.ceil(top / mag * 10) / 10 * mag
    half = k // 2
    inner = top / (2 * half + 1)  # middle class covers +/- one band
    positive = [inner * (2 * i + 1) for i in range(half)] + [top]
    return np.array([-p for p in positive[::-1]] + positive)


def assign_classes(values: Sequence[float], breaks: np.ndarray, suppressed: Sequence[bool] | None = None
                   ) -> np.ndarray:
    """Class index per value: 0..len(breaks)-2 (right-inclusive edges, the first class closed),
    SUPPRESSED_CLASS where flagged, NO_DATA_CLASS where missing."""
    v = np.asarray(values, dtype=float)
    out = np.full(v.shape, NO_DATA_CLASS, dtype=int)
    ok = np.isfinite(v)
    if len(breaks) >= 2:
        inner = np.asarray(breaks[1:-1], dtype=float)
        out[ok] = np.searchsorted(inner, v[ok], side="left")
    if suppressed is not None:
        out[np.asarray(suppressed, dtype=bool)] = SUPPRESSED_CLASS
    return out


def format_number(x: float, unit: str = "", digits: int = 3) -> str:
    """A value rounded to `digits` significant figures, thousands separated, with its unit."""
    if x is None or not math.isfinite(x):
        return ""
    r = round_sig(float(x), digits)
    whole = r == int(r) and abs(r) >= 1
    decimals = 0 if r == 0 or whole else max(0, digits - 1 - math.floor(math.log10(abs(r))))
    text = f"{r:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", "-0.0"):
        text = text[1:]
    return f"{text}{unit}" if unit in ("%", "pp") else (f"{text} {unit}" if unit else text)


@dataclass(frozen=True)
class LegendEntry:
    label: str
    colour: str
    count: int
    klass: int


@dataclass(frozen=True)
class Classes:
    """The classification of one map: edges, colours and the legend (classes, then grey ones).

    `requested` is the number of classes asked for; `note` says why fewer are drawn ("" when as many)."""

    breaks: tuple[float, ...]
    colours: tuple[str, ...]
    unit: str
    scheme: str
    legend: tuple[LegendEntry, ...]
    requested: int = 0
    note: str = ""

    @property
    def k(self) -> int:
        return len(self.colours)

    @property
    def drawn(self) -> int:
        """Classes with at least one area on the map (what a reader can see)."""
        return sum(1 for e in self.legend if e.klass >= 0 and e.count > 0)


def fewer_classes_note(values: np.ndarray, breaks: np.ndarray, index: np.ndarray, k: int, scheme: str) -> str:
    """Why the map shows fewer than `k` colour classes, in words for the legend ("" if it shows k)."""
    shown = int(len({int(i) for i in index if i >= 0}))
    if shown >= k or values.size == 0:
        return ""
    distinct = int(np.unique(values).size)
    if distinct < k:
        return (f"{shown} classes, not {k}: the areas have only {distinct} different value"
                f"{'' if distinct == 1 else 's'}.")
    if scheme == "quantile":
        return (f"{shown} classes, not {k}: many areas share the same value (ties), so some quantile "
                "edges coincide and their classes merge.")
    return f"{shown} classes, not {k}: natural breaks found no more distinct groups in these values."


def class_labels(breaks: Sequence[float], unit: str = "", diverging: bool = False) -> list[str]:
    """'a to b' per class; % and pp stay on each number, other units go in the legend's title.
    Differences get a sign (+2.1pp)."""
    unit = unit if unit in ("%", "pp") else ""
    labels = []
    for lo, hi in itertools.pairwise(breaks):
        lo_t, hi_t = format_number(lo, unit), format_number(hi, unit)
        if diverging:
            lo_t = ("+" if lo > 0 else "") + lo_t
            hi_t = ("+" if hi > 0 else "") + hi_t
        labels.append(lo_t if lo_t == hi_t else f"{lo_t} to {hi_t}")
    return labels


def classify(values: Sequence[float], suppressed: Sequence[bool] | None = None, *, scheme: str = "quantile",
             k: int = 5, unit: str = "", palette: str = "viridis", diverging: bool = False
             ) -> tuple[np.ndarray, Classes]:
    """Class index per value and the :class:`Classes` describing them (for legend and colours).

    `diverging=True` uses symmetric breaks around 0 (differences from a parent area) and a
    diverging palette; otherwise `scheme` is "quantile" or "jenks".
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unknown classification {scheme!r}: choose one of {', '.join(SCHEMES)}")
    v = np.asarray(values, dtype=float)
    hidden = np.zeros(v.shape, dtype=bool) if suppressed is None else np.asarray(suppressed, dtype=bool)
    shown = np.where(hidden, np.nan, v)
    if diverging:  # the chosen palette (colour-blind safe), its middle colour the middle class
        breaks = diverging_breaks(shown, k)
        if palette not in theme.SEQUENTIAL and palette not in theme.DIVERGING:
            palette = "viridis"
    else:
        breaks = jenks_breaks(shown, k) if scheme == "jenks" else quantile_breaks(shown, k)
        if palette not in theme.SEQUENTIAL:
            palette = "viridis"
    if len(breaks) == 1:
        breaks = np.array([breaks[0], breaks[0]])
    n_classes = max(len(breaks) - 1, 0)
    index = assign_classes(shown, breaks, hidden)
    colours = theme.palette(palette, n_classes) if n_classes else ()
    labels = class_labels(breaks, unit, diverging)
    entries = [LegendEntry(label, colour, int(np.sum(index == i)), i)
               for i, (label, colour) in enumerate(zip(labels, colours))]
    n_hidden = int(np.sum(index == SUPPRESSED_CLASS))
    if n_hidden:
        entries.append(LegendEntry(theme.SUPPRESSED_LABEL, theme.SUPPRESSED_COLOUR, n_hidden, SUPPRESSED_CLASS))
    n_missing = int(np.sum(index == NO_DATA_CLASS))
    if n_missing:
        entries.append(LegendEntry(theme.NO_DATA_LABEL, theme.NO_DATA_COLOUR, n_missing, NO_DATA_CLASS))
    scheme_used = "diverging" if diverging else scheme
    note = fewer_classes_note(_finite(shown), breaks, index, k, scheme_used)
    classes = Classes(tuple(float(b) for b in breaks), tuple(colours), unit, scheme_used, tuple(entries), k, note)
    return index, classes


def significance_classes(significance: Sequence[str], suppressed: Sequence[bool] | None = None, *,
                         higher_is_better: bool | None = True, comparator: str = "the parent area"
                         ) -> tuple[np.ndarray, Classes]:
    """Classes for the "compared with the parent" map from each area's significance label
    (``explorer.domain.stats.compare_to_benchmark``, the one classification the bars, tables and
    funnel use): better / similar / worse (higher / similar / lower for a metric with no good
    direction) in the Fingertips-style colours of theme.SIGNIFICANCE_COLOURS; "not compared" is
    no data, suppressed areas keep their grey class."""
    order = ("better", "similar", "worse") if higher_is_better is not None else ("lower", "similar", "higher")
    sig = np.asarray(significance, dtype=str)
    index = np.full(sig.shape, NO_DATA_CLASS, dtype=int)
    for i, label in enumerate(order):
        index[sig == label] = i
    if suppressed is not None:
        index[np.asarray(suppressed, dtype=bool)] = SUPPRESSED_CLASS
    words = {"better": "Better than", "worse": "Worse than", "similar": "Similar to", "higher": "Higher than",
             "lower": "Lower than"}
    labels = [f"{words[o]} {comparator}" for o in order]
    colours = tuple(theme.SIGNIFICANCE_COLOURS[o] for o in order)
    entries = [LegendEntry(label, colour, int(np.sum(index == i)), i)
               for i, (label, colour) in enumerate(zip(labels, colours))]
    for klass, label, colour in ((SUPPRESSED_CLASS, theme.SUPPRESSED_LABEL, theme.SUPPRESSED_COLOUR),
                                 (NO_DATA_CLASS, "Not compared (no confidence interval)", theme.NO_DATA_COLOUR)):
        n = int(np.sum(index == klass))
        if n:
            entries.append(LegendEntry(label, colour, n, klass))
    return index, Classes((), colours, "", "significance", tuple(entries), len(order), "")


def discrete_colorscale(colours: Sequence[str]) -> list[list]:
    """A plotly colour scale for z = class index -2..k-1 (no data, suppressed, classes), stepped."""
    stops = [theme.NO_DATA_COLOUR, theme.SUPPRESSED_COLOUR, *colours]
    n = len(stops)
    scale = []
    for i, colour in enumerate(stops):
        scale.append([i / n, colour])
        scale.append([(i + 1) / n, colour])
    return scale


def _finite(values: Sequence[float]) -> np.ndarray:
    v = np.asarray(values, dtype=float).ravel()
    return v[np.isfinite(v)]
