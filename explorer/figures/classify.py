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
    return np.unique(edges)


def jenks_breaks(values: Sequence[float], k: int = 5) -> np.ndarray:
    """Fisher-Jenks natural breaks (minimum within-class sum of squares), edges min..max.

    mapclassify's FisherJenks, exact on up to JENKS_SAMPLE values; larger inputs are classified on
    a rank-spaced sample (deterministic, unlike mapclassify's randomly sampled FisherJenksSampled,
    so a view's legend is the same on every request), with the true minimum and maximum as outer
    edges. Each inner edge is a value of the input (the largest of its class).
    """
    v = np.sort(_finite(values))
    if v.size == 0:
        return np.array([])
    unique = np.unique(v)
    if unique.size <= k:
        return unique if unique.size > 1 else np.array([unique[0], unique[0]])
    import mapclassify  # here, not at the top: its import compiles numba kernels (seconds); the app warms it

    sample = v if v.size <= JENKS_SAMPLE else v[np.linspace(0, v.size - 1, JENKS_SAMPLE).round().astype(int)]
    upper = mapclassify.FisherJenks(sample, k=k).bins  # each class's largest value, the last = max
    out = np.unique(np.concatenate([[sample[0]], upper]))
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
    """The classification of one map: edges, colours and the legend (classes, then grey ones)."""

    breaks: tuple[float, ...]
    colours: tuple[str, ...]
    unit: str
    scheme: str
    legend: tuple[LegendEntry, ...]

    @property
    def k(self) -> int:
        return len(self.colours)


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
    if diverging:
        breaks = diverging_breaks(shown, k)
        palette = palette if palette in theme.DIVERGING else "puor"
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
    classes = Classes(tuple(float(b) for b in breaks), tuple(colours), unit,
                      "diverging" if diverging else scheme, tuple(entries))
    return index, classes


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
