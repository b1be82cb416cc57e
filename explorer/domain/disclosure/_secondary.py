"""Secondary suppression: hide complementary cells so that no hidden cell can be worked out from
the totals, siblings or parent areas shown beside it (with an exact-recovery audit)."""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from explorer.domain.disclosure._policy import (
    ArrayLike,
    DisclosurePolicy,
    GroupKey,
    _floats,
    _policy,
    _round_to_base,
    _series,
    _small,
)

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
