"""Statistical disclosure control: the one policy every path out of the server goes through.

Rules (NHS Digital HES convention, OpenSAFELY 2025), applied below national level:

* a count of 0 stays 0; counts of 1-7 people are suppressed (shown as ``*``);
  every other count is rounded to the nearest 5 (halves round up);
* **every released statistic is computed only from rounded counts, or withheld**: anyone can
  request "all" and "all but one group" and subtract, so a statistic computed from an exact count
  (an index with its expected count, a DSR's interval, a mean of whole items) gives the count back.
  Rates and percentages are recomputed from the *rounded* numerator and denominator (here);
  statistics that need more inputs (DSR per age band, completeness, expected admissions) are
  computed from inputs rounded by :func:`round_counts` (``DisclosurePolicy.statistics_rounding``,
  used by the metrics engine); all are suppressed when a count they rest on is suppressed;
* means and scores based on 1-7 people are suppressed;
* totals are summed from unrounded data and then rounded (:func:`controlled_total`);
* secondary suppression: wherever a suppressed cell could be recovered by subtracting
  the shown cells from a shown total, a complementary cell is hidden too, so that every
  additive group holds either 0 or at least 2 hidden non-zero cells; an audit then checks
  that no hidden cell can be solved exactly by combining groups (:func:`secondary_suppress`).

Dash callbacks, hovers, tables, CSV downloads, the CLI and exports all call
:func:`apply_policy` (or the primitives) and finish with :func:`assert_no_small_counts`.
Pure pandas/numpy: nothing here knows about Dash or plotly.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

__all__ = [
    "MISSING",
    "SUPPRESSED",
    "SUPPRESSION_NOTE",
    "CountSpec",
    "DisclosureError",
    "DisclosurePolicy",
    "GroupKey",
    "Hierarchy",
    "MeanSpec",
    "MetricSpec",
    "RatioSpec",
    "SuppressionResult",
    "apply_policy",
    "assert_no_small_counts",
    "control_counts",
    "controlled_mean",
    "controlled_rate",
    "controlled_total",
    "format_count",
    "format_rate",
    "is_small",
    "round_counts",
    "secondary_suppress",
]

SUPPRESSED = "*"
"""Display token for a suppressed value (tables, hovers, CSV)."""

MISSING = ""
"""Display text for a value that is simply not available (not a disclosure decision)."""

SUPPRESSION_NOTE = (
    "* = 1-7 people, or hidden so that a small number cannot be worked out from totals; "
    "other counts rounded to the nearest 5"
)
"""Footnote every renderer shows next to controlled figures."""

ArrayLike: TypeAlias = pd.Series | np.ndarray | Sequence[float]
GroupKey: TypeAlias = tuple[tuple[str, ...], tuple[Any, ...]]
"""Identifies a group total: (key columns, key values), e.g. ``(("category",), ("q1",))``."""


class DisclosureError(ValueError):
    """Raised when data about to leave the server would break the disclosure policy."""


# --------------------------------------------------------------------------- policy


@dataclass(frozen=True)
class DisclosurePolicy:
    """Thresholds for one audience; ``enabled=False`` passes raw values (analyst role only)."""

    threshold: int = 7
    rounding_base: int = 5
    enabled: bool = True
    deprivation_level: str = "lsoa"
    """The smallest area whose IMD decile places people in deprivation groups and filters. A role
    that may not see LSOAs gets groups of whole areas it may see (``"pcn"``), so that no breakdown
    or IMD filter, however combined, isolates an LSOA (see :mod:`explorer.domain.access`)."""

    def __post_init__(self) -> None:
        if self.threshold < 0:
            raise ValueError(f"threshold must be >= 0, got {self.threshold}")
        if self.rounding_base < 1:
            raise ValueError(f"rounding_base must be >= 1, got {self.rounding_base}")

    @property
    def statistics_rounding(self) -> int | None:
        """The base every count is rounded to before any statistic is computed from it (None: raw).

        This is the rule that makes differencing useless: a released index, DSR, mean, CI or SII
        is a function of rounded counts only, so two requests ("all" and "all but one group")
        give the difference of two rounded numbers, a range, never the hidden small count.
        """
        return self.rounding_base if self.enabled else None

    @classmethod
    def for_publication(cls) -> DisclosurePolicy:
        """Policy for anything published (board packs, public downloads): always enabled."""
        return cls(enabled=True)

    @classmethod
    def raw(cls) -> DisclosurePolicy:
        """No control at all: for the analyst role inside the secure environment."""
        return cls(enabled=False)


_DEFAULT = DisclosurePolicy()


def _policy(policy: DisclosurePolicy | None) -> DisclosurePolicy:
    return _DEFAULT if policy is None else policy


def _series(values: ArrayLike) -> pd.Series:
    return values if isinstance(values, pd.Series) else pd.Series(values)


def _floats(values: pd.Series) -> np.ndarray:
    """Numeric values as float64 with NaN for missing, whatever the nullable dtype."""
    return pd.to_numeric(values, errors="raise").to_numpy(dtype="float64", na_value=np.nan)


def _small(x: np.ndarray, policy: DisclosurePolicy) -> np.ndarray:
    # below threshold + 1, not at most threshold: a fractional count (a gap of 7.3 plans) would
    # otherwise round to 5, a shown count between 1 and 7; for whole counts it is the same as <= 7
    return (x > 0) & (x < policy.threshold + 1)


# --------------------------------------------------------------------------- primitives


def is_small(counts: ArrayLike, policy: DisclosurePolicy | None = None) -> pd.Series:
    """True where a count is 1..threshold people (0 and missing are not small)."""
    s = _series(counts)
    return pd.Series(_small(_floats(s), _policy(policy)), index=s.index, name=s.name)


def _round_to_base(x: np.ndarray, base: int) -> np.ndarray:
    """Nearest multiple of ``base``, halves up: explicit, never banker's rounding."""
    return np.floor(x / base + 0.5) * base


def round_counts(counts: Any, base: int) -> np.ndarray:
    """Counts (any array shape, fractional expected counts too) rounded to the nearest ``base``,
    small ones included (1-2 -> 0, 3-7 -> 5): the inputs of every released statistic.

    Suppression is decided separately, on the exact totals; this only removes the precision that
    differencing two requests would otherwise turn into an exact count.

    >>> round_counts([0, 2, 3, 12, 13], 5).tolist()
    [0.0, 0.0, 5.0, 10.0, 15.0]
    """
    x = np.asarray(counts, dtype="float64")
    return np.where(np.isfinite(x), _round_to_base(np.nan_to_num(x), base), np.nan)


def control_counts(counts: ArrayLike, policy: DisclosurePolicy | None = None) -> pd.Series:
    """Counts as they may be shown: 0 kept, 1-7 -> <NA>, others rounded to the nearest 5.

    Returns a nullable ``Int64`` series (same index and name) where <NA> means
    suppressed or missing; with a disabled policy the input is returned unchanged.

    >>> control_counts(pd.Series([0, 3, 8, 16, 23])).tolist()
    [0, <NA>, 10, 15, 25]
    """
    pol = _policy(policy)
    s = _series(counts)
    if not pol.enabled:
        return s.copy()
    x = _floats(s)
    if np.any(x < 0):
        raise ValueError(f"counts must be non-negative; {s.name or 'counts'} has negatives")
    hide = np.isnan(x) | _small(x, pol)
    rounded = np.where(hide, 0.0, _round_to_base(np.nan_to_num(x), pol.rounding_base))
    data = pd.arrays.IntegerArray(rounded.astype("int64"), hide)
    return pd.Series(data, index=s.index, name=s.name)


def controlled_total(counts: ArrayLike, policy: DisclosurePolicy | None = None) -> Any:
    """Total of unrounded counts, then controlled: never sum already-rounded cells."""
    s = _series(counts)
    total = float(np.nansum(_floats(s)))
    if not _policy(policy).enabled:
        return total
    return control_counts(pd.Series([total]), policy).iloc[0]


def controlled_rate(
    numerator: ArrayLike,
    denominator: ArrayLike,
    multiplier: float = 1.0,
    policy: DisclosurePolicy | None = None,
) -> pd.Series:
    """numerator/denominator x multiplier from *controlled* counts; <NA> if either is suppressed.

    A zero or missing denominator gives <NA> as well (undefined, not a disclosure).
    """
    pol = _policy(policy)
    num, den = _series(numerator), _series(denominator)
    if pol.enabled:
        num, den = control_counts(num, pol), control_counts(den, pol)
    n, d = _floats(num), _floats(den)
    ok = ~np.isnan(n) & ~np.isnan(d) & (d > 0)
    rate = np.divide(n, d, out=np.zeros_like(n), where=ok) * multiplier
    return pd.Series(_nullable_float(np.where(ok, rate, np.nan)), index=num.index)


def controlled_mean(
    values: ArrayLike, n_people: ArrayLike, policy: DisclosurePolicy | None = None
) -> pd.Series:
    """Means/scores with <NA> where they rest on 1-7 people (values are not rounded)."""
    pol = _policy(policy)
    v, n = _series(values), _series(n_people)
    x = _floats(v)
    if pol.enabled:
        x = np.where(_small(_floats(n), pol), np.nan, x)
    return pd.Series(_nullable_float(x), index=v.index, name=v.name)


def _nullable_float(x: np.ndarray) -> pd.arrays.FloatingArray:
    x = np.asarray(x, dtype="float64")
    mask = np.isnan(x)
    return pd.arrays.FloatingArray(np.where(mask, 0.0, x), mask)


# --------------------------------------------------------------------------- secondary suppression


@dataclass(frozen=True)
class Hierarchy:
    """Parent/child codes in one column: a parent's row is the total of its children's rows.

    ``by`` names the other key columns that must match between a parent row and its
    children (e.g. ``("category",)`` in an area x category table). A parent whose row
    is absent from the table is treated as a total published elsewhere.
    """

    parent_of: Mapping[Hashable, Hashable]
    column: str = "area_code"
    by: tuple[str, ...] = ()

    @classmethod
    def from_columns(
        cls, table: pd.DataFrame, column: str, parent_column: str, by: Sequence[str] = ()
    ) -> Hierarchy:
        """Build ``parent_of`` from a child-code column and a parent-code column."""
        pairs = table[[column, parent_column]].dropna().drop_duplicates()
        return cls(dict(zip(pairs[column], pairs[parent_column])), column, tuple(by))


@dataclass(frozen=True)
class SuppressionResult:
    """Cells to hide (primary and complementary) and totals outside the table to hide."""

    suppressed: pd.Series
    hidden_totals: frozenset[GroupKey]
    unaudited: int = 0
    """Hidden cells in groups too large for the exact-recovery audit (structural rule only)."""

    def total_hidden(self, columns: Sequence[str], key: Sequence[Any]) -> bool:
        """Whether the total for ``key`` over ``columns`` must be shown as SUPPRESSED."""
        return (tuple(columns), tuple(key)) in self.hidden_totals


def _as_key(key: Any) -> tuple[Any, ...]:
    return key if isinstance(key, tuple) else (key,)


class _Cells:
    """Working set for the suppression engine: table rows first, then virtual totals."""

    def __init__(self, raw: np.ndarray, suppressed: np.ndarray) -> None:
        self.raw = list(raw)
        self.suppressed = list(suppressed)
        self.virtual_keys: dict[int, GroupKey] = {}
        self.constraints: list[np.ndarray] = []  # members..., total last

    def add_virtual(self, key: GroupKey, raw: float, suppressed: bool) -> int:
        self.raw.append(raw)
        self.suppressed.append(suppressed)
        idx = len(self.raw) - 1
        self.virtual_keys[idx] = key
        return idx


def _add_groups(
    cells: _Cells,
    table: pd.DataFrame,
    raw: np.ndarray,
    groups: Sequence[Sequence[str]],
    policy: DisclosurePolicy,
) -> None:
    for cols in groups:
        cols = list(cols)
        for key, pos in table.groupby(cols, dropna=False, sort=False).indices.items():
            total = float(np.nansum(raw[pos]))
            t = cells.add_virtual(
                (tuple(cols), _as_key(key)), total, bool(_small(np.array([total]), policy)[0])
            )
            cells.constraints.append(np.append(pos, t))


def _add_hierarchy(
    cells: _Cells, table: pd.DataFrame, raw: np.ndarray, h: Hierarchy, policy: DisclosurePolicy
) -> None:
    keys = [h.column, *h.by]
    own = [_as_key(k) for k in table[keys].itertuples(index=False, name=None)]
    where: dict[tuple[Any, ...], int] = {}
    for pos, key in enumerate(own):
        if key in where:
            raise ValueError(f"Hierarchy needs one row per {keys}; {key} appears twice")
        where[key] = pos
    parent = table[h.column].map(lambda c: h.parent_of.get(c))
    frame = pd.DataFrame({"__parent": parent.to_numpy(dtype=object)})
    for col in h.by:
        frame[col] = table[col].to_numpy(dtype=object)
    children = frame[frame["__parent"].notna()]
    for key, pos in children.groupby(["__parent", *h.by], dropna=False, sort=False).indices.items():
        members = children.index.to_numpy()[pos]
        key = _as_key(key)
        total_pos = where.get(key)
        if total_pos is None:
            total = float(np.nansum(raw[members]))
            total_pos = cells.add_virtual(
                (tuple(keys), key), total, bool(_small(np.array([total]), policy)[0])
            )
        cells.constraints.append(np.append(members, total_pos))


class _Protector:
    """Hides complementary cells; hiding only ever grows, so every loop reaches a fixed point.

    A complement is the smallest non-zero shown cell by rounded count (ties: earliest row), so the
    choice reveals no more than rounding does; totals
    outside the table, and cells whose hiding would force such a total to be hidden, are used
    only as a last resort.
    """

    def __init__(self, cells: _Cells, rounding_base: int = 5) -> None:
        self.rounding_base = rounding_base
        self.constraints = cells.constraints
        self.raw = np.nan_to_num(np.asarray(cells.raw, dtype="float64"))
        self.hidden = np.asarray(cells.suppressed, dtype=bool).copy()
        self.nonzero = self.raw > 0
        size = self.raw.size
        self.virtual = np.zeros(size, dtype=bool)
        self.virtual[list(cells.virtual_keys)] = True
        self.forces_virtual = np.zeros(size, dtype=bool)
        self.member_of: list[list[int]] = [[] for _ in range(size)]
        for ci, m in enumerate(self.constraints):
            for c in m:
                self.member_of[c].append(ci)
            nz_members = m[:-1][self.nonzero[m[:-1]]]
            if self.virtual[m[-1]] and nz_members.size == 1:
                self.forces_virtual[nz_members[0]] = True
        self.queue: deque[int] = deque(range(len(self.constraints)))
        self.queued = np.ones(len(self.constraints), dtype=bool)

    def _pick(self, cand: np.ndarray) -> int:
        # smallest by the *rounded* count, so which cell is hidden tells no more than rounding does
        rank = _round_to_base(self.raw[cand], self.rounding_base)
        keys = (cand, rank, self.forces_virtual[cand], self.virtual[cand])
        return int(cand[np.lexsort(keys)[0]])

    def hide(self, cell: int) -> None:
        self.hidden[cell] = True
        for cj in self.member_of[cell]:
            if not self.queued[cj]:
                self.queued[cj] = True
                self.queue.append(cj)

    def propagate(self) -> None:
        """Structural rule: no group (members + total) with exactly one hidden non-zero cell."""
        hidden, nonzero = self.hidden, self.nonzero
        while self.queue:
            ci = self.queue.popleft()
            self.queued[ci] = False
            m = self.constraints[ci]
            if np.count_nonzero(hidden[m] & nonzero[m]) != 1:
                continue
            cand = m[~hidden[m] & nonzero[m]]
            if cand.size:  # empty only if a given total != sum of its members
                self.hide(self._pick(cand))

    def audit(self, max_cells: int) -> int:
        """Exact-recovery audit: while a hidden cell is fixed by the linear system of shown
        values (e.g. a = T1 - (T2 + T3 - T4) across several groups), hide one more cell near it.
        Ends at the latest when a component's non-zero cells are all hidden (then x -> k*x
        solves the system, so no non-zero cell is fixed). Components of more than
        ``max_cells`` hidden cells are not audited (dense linear algebra is cubic); returns
        how many hidden cells were left unaudited."""
        verified: set[tuple[int, ...]] = set()
        while True:
            picks: list[int] = []
            too_big = 0
            for comp, cons in self._components():
                key = tuple(comp.tolist())
                if key in verified:
                    continue
                if comp.size > max_cells:
                    too_big += comp.size
                    continue
                fixed = self._fixed_cells(comp, cons)
                if fixed.size == 0:
                    verified.add(key)  # same unknowns => same system: stays safe
                    continue
                target = int(fixed[0])
                near = self._cells_of(self.member_of[target])
                cand = near[~self.hidden[near] & self.nonzero[near]]
                if cand.size == 0:
                    every = self._cells_of(cons)
                    cand = every[~self.hidden[every] & self.nonzero[every]]
                if cand.size:
                    picks.append(self._pick(cand))
            if not picks:
                return too_big
            for cell in picks:
                self.hide(cell)
            self.propagate()

    def _cells_of(self, constraint_ids: Sequence[int]) -> np.ndarray:
        return np.unique(np.concatenate([self.constraints[ci] for ci in constraint_ids]))

    def _components(self) -> list[tuple[np.ndarray, list[int]]]:
        """Hidden non-zero cells linked by shared groups, with the groups touching them."""
        unknown = self.hidden & self.nonzero
        parent = {int(c): int(c) for c in np.flatnonzero(unknown)}

        def find(c: int) -> int:
            while parent[c] != c:
                parent[c] = parent[parent[c]]
                c = parent[c]
            return c

        touching: list[int] = []
        for ci, m in enumerate(self.constraints):
            u = m[unknown[m]]
            if u.size:
                touching.append(ci)
                root = find(int(u[0]))
                for c in u[1:]:
                    other = find(int(c))
                    if other != root:
                        parent[other] = root
        comps: dict[int, list[int]] = {}
        for c in parent:
            comps.setdefault(find(c), []).append(c)
        cons_of: dict[int, list[int]] = {}
        for ci in touching:
            m = self.constraints[ci]
            cons_of.setdefault(find(int(m[unknown[m]][0])), []).append(ci)
        return [(np.array(sorted(cells)), cons_of.get(root, [])) for root, cells in comps.items()]

    def _fixed_cells(self, comp: np.ndarray, cons: list[int]) -> np.ndarray:
        """Cells of ``comp`` with the same value in every solution: zero rows of the null space."""
        if not cons:
            return comp[:0]  # in no group: nothing relates it to shown values
        col = {int(c): j for j, c in enumerate(comp)}
        a = np.zeros((len(cons), comp.size))
        for i, ci in enumerate(cons):
            m = self.constraints[ci]
            for k, c in enumerate(m):
                j = col.get(int(c))
                if j is not None:
                    a[i, j] += -1.0 if k == m.size - 1 else 1.0  # members - total = 0
        eigval, eigvec = np.linalg.eigh(a.T @ a)
        null = eigvec[:, eigval <= 1e-9 * max(1.0, float(eigval.max()))]
        free = np.einsum("ij,ij->i", null, null) > 1e-10  # |projection of e_j on null space|^2
        return comp[~free]


def secondary_suppress(
    table: pd.DataFrame,
    count_col: str,
    groups: Sequence[Sequence[str]] = (),
    *,
    hierarchy: Hierarchy | Sequence[Hierarchy] | None = None,
    suppressed: ArrayLike | None = None,
    policy: DisclosurePolicy | None = None,
    audit: bool = True,
    max_audit_cells: int = 500,
) -> SuppressionResult:
    """Primary plus complementary suppression of ``count_col`` over overlapping additive groups.

    * ``groups``: each entry lists key columns; rows sharing those values are siblings whose
      total is shown *elsewhere* (a margin, a chart total). Such totals are modelled from
      the unrounded sum; any that must be hidden are returned in ``hidden_totals``.
    * ``hierarchy``: parent rows *in this table* are totals of their child rows (stack the
      levels you show into one table, so parents can be hidden and cascade upwards).

    In every group (members plus its total) the result hides 0 or >= 2 non-zero cells.
    With ``audit`` (default) it then also hides more until no hidden cell can be solved
    exactly from the shown values by combining several groups (linked blocks of more than
    ``max_audit_cells`` hidden cells are skipped and counted in ``unaudited``).
    Zeros are never hidden: a 0 reveals nothing. Disabled policy -> nothing hidden.

    >>> t = pd.DataFrame({"area_code": ["A", "A", "B", "B"], "cat": ["x", "y", "x", "y"],
    ...                   "n": [3, 40, 20, 50]})
    >>> secondary_suppress(t, "n", [["area_code"], ["cat"]]).suppressed.tolist()
    [True, True, True, True]
    """
    pol = _policy(policy)
    if not pol.enabled:
        return SuppressionResult(pd.Series(False, index=table.index, name=count_col), frozenset())
    raw = _floats(table[count_col])
    primary = (
        _small(raw, pol)
        if suppressed is None
        else np.asarray(_series(suppressed).to_numpy(dtype=bool, na_value=False))
    )
    if primary.shape != raw.shape:
        raise ValueError("suppressed must have one entry per table row")
    cells = _Cells(raw, primary)
    _add_groups(cells, table, raw, groups, pol)
    hierarchies = [hierarchy] if isinstance(hierarchy, Hierarchy) else list(hierarchy or ())
    for h in hierarchies:
        _add_hierarchy(cells, table, raw, h, pol)
    protector = _Protector(cells, pol.rounding_base)
    protector.propagate()
    unaudited = protector.audit(max_audit_cells) if audit else 0
    hidden = protector.hidden
    n = len(table)
    hidden_totals = frozenset(k for i, k in cells.virtual_keys.items() if hidden[i])
    mask = pd.Series(hidden[:n], index=table.index, name=count_col)
    return SuppressionResult(mask, hidden_totals, unaudited)


# --------------------------------------------------------------------------- table level


@dataclass(frozen=True)
class CountSpec:
    """A plain count of people (e.g. ``population``): controlled and flagged."""

    column: str

    @property
    def name(self) -> str:
        return self.column


Recompute: TypeAlias = Callable[[pd.Series, pd.Series], tuple[ArrayLike, ArrayLike, ArrayLike]]


@dataclass(frozen=True)
class RatioSpec:
    """A rate/percentage ``name`` built from count columns, with optional CI columns.

    ``recompute(num, den) -> (value, lower, upper)`` rebuilds the value and CI from the
    controlled counts (it is called only on shown rows with den > 0); every output is
    multiplied by ``multiplier``. Without ``recompute`` the value is num/den x multiplier
    and CI columns are not allowed. ``standardised=True`` (DSR, SMR) keeps the value and CI
    as given, as HES does, but still hides them when the observed count is suppressed.
    Columns default to ``<name>_numerator``, ``<name>_denominator``, ``<name>_lower/_upper``,
    except that a standardised spec controls a denominator only if it is named: name it for
    a DSR (a population count), leave it out for an SMR (expected counts are not people).
    """

    name: str
    numerator: str | None = None
    denominator: str | None = None
    multiplier: float = 1.0
    recompute: Recompute | None = None
    lower: str | None = None
    upper: str | None = None
    standardised: bool = False

    @property
    def num_col(self) -> str:
        return self.numerator or f"{self.name}_numerator"

    @property
    def den_col(self) -> str | None:
        if self.standardised and self.denominator is None:
            return None  # e.g. expected counts of an SMR are not counts of people
        return self.denominator or f"{self.name}_denominator"


@dataclass(frozen=True)
class MeanSpec:
    """A mean or score ``name`` over ``n`` people: hidden (with its CI) when n is 1-7."""

    name: str
    n: str
    lower: str | None = None
    upper: str | None = None


MetricSpec: TypeAlias = CountSpec | RatioSpec | MeanSpec


def _ci_cols(table: pd.DataFrame, spec: RatioSpec | MeanSpec) -> list[str]:
    cols = [spec.lower or f"{spec.name}_lower", spec.upper or f"{spec.name}_upper"]
    explicit = [c for c in (spec.lower, spec.upper) if c is not None]
    missing = [c for c in explicit if c not in table.columns]
    if missing:
        raise KeyError(f"{spec.name}: CI columns {missing} not in table")
    return [c for c in cols if c in table.columns]


def _count_columns(specs: Sequence[MetricSpec]) -> list[str]:
    cols: list[str] = []
    for spec in specs:
        if isinstance(spec, CountSpec):
            new = [spec.column]
        elif isinstance(spec, RatioSpec):
            new = [c for c in (spec.num_col, spec.den_col) if c is not None]
        else:
            new = [spec.n]
        cols += [c for c in new if c not in cols]
    return cols


def _normalise_specs(metrics: MetricSpec | str | Sequence[MetricSpec | str]) -> list[MetricSpec]:
    items = [metrics] if isinstance(metrics, (str, CountSpec, RatioSpec, MeanSpec)) else metrics
    return [CountSpec(m) if isinstance(m, str) else m for m in items]


def apply_policy(
    table: pd.DataFrame,
    metrics: MetricSpec | str | Sequence[MetricSpec | str],
    policy: DisclosurePolicy | None = None,
    *,
    groups: Sequence[Sequence[str]] | None = None,
    hierarchy: Hierarchy | Sequence[Hierarchy] | None = None,
) -> pd.DataFrame:
    """Return ``table`` with every listed metric controlled, plus ``<name>_suppressed`` flags.

    Count columns (plain counts, numerators, denominators, mean ``n``) are rounded, with
    primary and - when ``groups``/``hierarchy`` are given - secondary suppression applied
    to each; ratios are recomputed from the controlled counts; suppressed values and their
    CIs become <NA>. A flag column is added per metric and per count column. A disabled
    policy returns raw values with all flags False. A plain string means ``CountSpec``.

    Totals outside the table that must be hidden are listed in
    ``result.attrs["hidden_totals"]`` (count column -> frozenset of :data:`GroupKey`);
    ``attrs["unaudited"]`` appears only if a block was too large for the exact-recovery
    audit (see :func:`secondary_suppress`). Stack the levels you show (e.g. PCN rows with
    their LSOA rows) so parent totals are rows that can be hidden:

    >>> t = pd.DataFrame({"area_code": ["P", "a", "b", "c"], "plans": [53, 3, 20, 30]})
    >>> h = Hierarchy({"a": "P", "b": "P", "c": "P"})
    >>> apply_policy(t, "plans", hierarchy=h)["plans"].tolist()
    [55, <NA>, <NA>, 30]
    """
    pol = _policy(policy)
    specs = _normalise_specs(metrics)
    counts = _count_columns(specs)
    missing = [c for c in counts if c not in table.columns]
    missing += [
        s.name for s in specs if not isinstance(s, CountSpec) and s.name not in table.columns
    ]
    if missing:
        raise KeyError(f"apply_policy: columns {missing} not in table")
    out = table.copy()
    flags: dict[str, np.ndarray] = {}
    hidden_totals: dict[str, frozenset[GroupKey]] = {}
    unaudited: dict[str, int] = {}
    if not pol.enabled:
        for spec in specs:
            flags[spec.name] = np.zeros(len(table), dtype=bool)
        for col in counts:
            flags[col] = np.zeros(len(table), dtype=bool)
    else:
        for col in counts:
            if groups or hierarchy:
                res = secondary_suppress(table, col, groups or (), hierarchy=hierarchy, policy=pol)
                mask = res.suppressed.to_numpy()
                hidden_totals[col] = res.hidden_totals
                if res.unaudited:
                    unaudited[col] = res.unaudited
            else:
                mask = _small(_floats(table[col]), pol)
            controlled = control_counts(table[col], pol)
            controlled[mask] = pd.NA
            out[col] = controlled
            flags[col] = mask
        for spec in specs:
            if isinstance(spec, RatioSpec):
                flags[spec.name] = _apply_ratio(out, table, spec, flags)
            elif isinstance(spec, MeanSpec):
                flags[spec.name] = _apply_mean(out, table, spec, pol)
    for name, mask in flags.items():
        out[f"{name}_suppressed"] = mask
    if hidden_totals:
        out.attrs["hidden_totals"] = hidden_totals
    if unaudited:
        out.attrs["unaudited"] = unaudited
    return out


def _apply_ratio(
    out: pd.DataFrame, table: pd.DataFrame, spec: RatioSpec, flags: Mapping[str, np.ndarray]
) -> np.ndarray:
    ci = _ci_cols(table, spec)
    hidden = flags[spec.num_col].copy()
    if spec.den_col is not None:
        hidden |= flags[spec.den_col]
    if spec.standardised:
        for col in [spec.name, *ci]:
            out[col] = _nullable_float(np.where(hidden, np.nan, _floats(table[col])))
        return hidden
    if spec.recompute is None and ci:
        raise ValueError(
            f"{spec.name}: CI columns {ci} cannot be kept after rounding; "
            "pass recompute=... to rebuild them from the controlled counts"
        )
    num, den = _floats(out[spec.num_col]), _floats(out[spec.den_col])
    ok = ~hidden & ~np.isnan(num) & ~np.isnan(den) & (den > 0)
    results = [np.full(len(out), np.nan) for _ in range(1 + len(ci))]
    if ok.any():
        n_s = pd.Series(num[ok], index=out.index[ok])
        d_s = pd.Series(den[ok], index=out.index[ok])
        if spec.recompute is None:
            computed = [n_s.to_numpy() / d_s.to_numpy()]
        else:
            value, lower, upper = spec.recompute(n_s, d_s)
            computed = [np.asarray(value, dtype="float64")]
            computed += [np.asarray(v, dtype="float64") for v in (lower, upper)][: len(ci)]
        for res, vals in zip(results, computed):
            res[ok] = vals * spec.multiplier
    for col, vals in zip([spec.name, *ci], results):
        out[col] = _nullable_float(vals)
    return hidden


def _apply_mean(
    out: pd.DataFrame, table: pd.DataFrame, spec: MeanSpec, pol: DisclosurePolicy
) -> np.ndarray:
    hidden = _small(_floats(table[spec.n]), pol)
    for col in [spec.name, *_ci_cols(table, spec)]:
        out[col] = _nullable_float(np.where(hidden, np.nan, _floats(table[col])))
    return hidden


# --------------------------------------------------------------------------- display and guard


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def format_count(value: Any, suppressed: bool = False) -> str:
    """A controlled count for display: ``1,235``; SUPPRESSED if flagged; MISSING if absent."""
    if suppressed:
        return SUPPRESSED
    if _is_missing(value):
        return MISSING
    return f"{int(round(float(value))):,}"


def format_rate(
    value: Any, suppressed: bool = False, *, decimals: int = 1, suffix: str = ""
) -> str:
    """A controlled rate/percentage for display: ``1,234.5`` + suffix; SUPPRESSED if flagged."""
    if suppressed:
        return SUPPRESSED
    if _is_missing(value):
        return MISSING
    return f"{float(value):,.{decimals}f}{suffix}"


def assert_no_small_counts(
    table: pd.DataFrame,
    count_cols: Sequence[str],
    policy: DisclosurePolicy | None = None,
) -> None:
    """Defence in depth before anything is emitted: no 1-7 counts, all counts rounded.

    Raises :class:`DisclosureError` naming the column and first offending row. A disabled
    policy (analyst, raw data) skips the check; the default is the publication policy.
    """
    pol = _policy(policy)
    if not pol.enabled:
        return
    problems: list[str] = []
    for col in count_cols:
        if col not in table.columns:
            raise KeyError(f"assert_no_small_counts: column {col!r} not in table")
        x = _floats(table[col])
        small = _small(x, pol)
        unrounded = ~np.isnan(x) & ~small & (np.mod(x, pol.rounding_base) != 0)
        for bad, what in ((small, f"between 1 and {pol.threshold}"),
                          (unrounded, f"not rounded to a multiple of {pol.rounding_base}")):
            if bad.any():
                first = table.index[np.flatnonzero(bad)[0]]
                problems.append(
                    f"column {col!r} has {int(bad.sum())} value(s) {what} (first at row {first!r})"
                )
    if problems:
        raise DisclosureError(
            "Refusing to emit unsafe counts: " + "; ".join(problems)
            + ". Apply the disclosure policy (apply_policy) before export."
        )
