"""Summing the cells of one request: its filters, grouping keys and area restriction, with PCN
figures made from the apportioned registered population - the one place the engine does that.

A request is apportioned when one of its dims is ``area:pcn`` or it is restricted to a PCN (and the
bundle has PCN weights). Then, instead of counting each LSOA in its drawn PCN:

* ``area:pcn`` in dims: the cells are summed by LSOA and the LSOA axis is contracted with the
  LSOA x PCN weight matrix (:func:`explorer.domain.metrics.contract_lsoas`), so every PCN gets
  ``sum weight x count`` of every LSOA its patients live in;
* restricted to one PCN: every cell row is weighted by its LSOA's weight in that PCN;

and the request's final sums are rounded to whole persons (:meth:`Summing.whole`,
:func:`explorer.domain.metrics.whole_persons`) before any statistic or disclosure control sees them. Under a policy whose deprivation groups are whole areas (a role that may
not see LSOAs), a PCN's apportioned people all take their PCN's IMD group (the decile of its
apportioned population-weighted IMD score): IMD filters keep or drop whole PCNs and a breakdown by
IMD puts a PCN in one group, so no difference of two requests singles out an LSOA.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from explorer.domain import metrics as M
from explorer.domain.coverage._common import Key
from explorer.domain.metrics import AreaIndex, Cells, Filters

_IMD = ("imd_decile", "imd_quintile")
_PCN = "area:pcn"


@dataclass(frozen=True)
class Summing:
    """How the cells of one request are summed: call it with a cell table and measure names.

    ``keys_of(cells, dims)``: the engine's grouping keys. ``restrict``: (level, area index) or None.
    ``deprivation_level``: the policy's (see :class:`explorer.domain.disclosure.DisclosurePolicy`).
    """

    index: AreaIndex
    dims: tuple[str, ...]
    filters: Filters
    restrict: tuple[str, int] | None
    deprivation_level: str
    keys_of: Callable[[Cells, Sequence[str]], list[Key]]

    @property
    def apportioned(self) -> bool:
        """Whether this request's figures are PCN figures made from the apportioned population."""
        to_pcn = _PCN in self.dims or (self.restrict is not None and self.restrict[0] == "pcn")
        return self.index.pcn_apportioned and to_pcn

    def __call__(self, cells: Cells, measures: Sequence[str]) -> dict[str, np.ndarray]:
        if not self.apportioned:
            return cells.sums(self._mask(cells, self.filters, True), self.keys_of(cells, self.dims), measures)
        pcn_groups = self.deprivation_level != "lsoa"
        flt = replace(self.filters, imd_decile=(), imd_quintile=()) if pcn_groups else self.filters
        dims = [d for d in self.dims if not (pcn_groups and d in _IMD)]
        mask = self._mask(cells, flt, False)
        keys = self.keys_of(cells, [d for d in dims if d != _PCN])
        keyed = [d for d in dims if d != "month" or "month" in cells.codes]  # a person table has no months
        index = self.index
        if self.restrict is not None and self.restrict[0] == "pcn":
            pcn = self.restrict[1]
            scale = index.pcn_column(pcn)[cells.codes["lsoa"]]
            mask = scale > 0 if mask is None else mask & (scale > 0)
            if _PCN in dims:  # every row counts in the one PCN
                keys.insert(keyed.index(_PCN), (np.full(cells.n, pcn, np.int32), index.n_areas("pcn") + 1))
            sums = cells.sums(mask, keys, measures, scale=scale)
        else:
            axis = keyed.index(_PCN)
            keys.insert(axis, (cells.codes["lsoa"], cells.size("lsoa")))
            sums = {m: M.contract_lsoas(v, axis, index.pcn_matrix)
                    for m, v in cells.sums(mask, keys, measures).items()}
        if len(keyed) < len(dims):  # a length-1 month axis, so every axis sits where ``dims`` says
            sums = {m: np.expand_dims(v, dims.index("month")) for m, v in sums.items()}
        return self._pcn_groups(sums, dims) if pcn_groups else sums

    def whole(self, sums: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The request's final sums (people alive, plans...) as whole persons when apportioned:
        rounded once, after differences such as people less deaths, so a PCN's 3.8 people alive
        are 4 whatever its 4.3 people and 0.5 deaths would round to."""
        return M.whole_persons(sums, M.HIGH_RISK_MEASURES) if self.apportioned else sums

    def _mask(self, cells: Cells, flt: Filters, restrict: bool) -> np.ndarray | None:
        mask = cells.mask(flt, deprivation_level=self.deprivation_level)
        if restrict and self.restrict is not None:
            in_area = cells.area_codes(self.restrict[0]) == self.restrict[1]
            mask = in_area if mask is None else mask & in_area
        return mask

    def _pcn_groups(self, sums: dict[str, np.ndarray], dims: list[str]) -> dict[str, np.ndarray]:
        """Sums (shaped by ``dims``, the request's dims less IMD ones) with the request's IMD filter
        and IMD dims applied by each PCN's own group."""
        decile, quintile = self._pcn_deprivation()
        restricted = self.restrict is not None and self.restrict[0] == "pcn"
        # an array over the PCN axis (or the one PCN's scalar), broadcast against the sums
        axis = dims.index(_PCN) if _PCN in dims else None

        def along_pcn(values: np.ndarray) -> np.ndarray:
            if restricted and axis is None:
                return values[self.restrict[1]]
            if restricted:
                values = values[self.restrict[1]] + 0 * values
            shape = [1] * len(dims)
            shape[axis] = len(values)
            return values.reshape(shape)

        group = {"imd_decile": decile, "imd_quintile": quintile}
        keep = np.ones(len(decile), bool)
        for dim in _IMD:
            allowed = getattr(self.filters, dim)
            if allowed:
                table = np.zeros(len(M.VOCAB[dim]) + 1, bool)
                table[[M.VOCAB[dim].index(v) for v in allowed]] = True
                keep &= table[group[dim]]
        out = {m: np.asarray(v) * along_pcn(keep.astype(float)) for m, v in sums.items()}
        for position, dim in ((i, d) for i, d in enumerate(self.dims) if d in _IMD):
            onehot = np.eye(len(M.VOCAB[dim]) + 1)[group[dim]]  # (PCN + outside) x groups
            out = {m: _insert_groups(v, position, onehot, axis, self.restrict) for m, v in out.items()}
            if axis is not None and position <= axis:
                axis += 1
        return out

    def _pcn_deprivation(self) -> tuple[np.ndarray, np.ndarray]:
        """Decile and quintile code of each PCN (plus outside): its own, or that of its area at the
        policy's deprivation level when that is above PCNs."""
        level = self.deprivation_level
        if level in ("pcn", "lsoa"):
            return self.index.area_deprivation("pcn")
        decile, quintile = self.index.area_deprivation(level)
        codes = self.index.codes[level].get_indexer(self.index.ancestor_codes("pcn", level))
        at = np.append(np.where(codes < 0, len(self.index.codes[level]), codes), len(self.index.codes[level]))
        return decile[at], quintile[at]


def _insert_groups(values: np.ndarray, position: int, onehot: np.ndarray, pcn_axis: int | None,
                   restrict: tuple[str, int] | None) -> np.ndarray:
    """``values`` with a group axis inserted at ``position``, each PCN's total in its own group."""
    expanded = np.expand_dims(values, position)
    if pcn_axis is None:  # restricted to one PCN without a PCN axis: its group only
        row = onehot[restrict[1]] if restrict is not None else onehot[-1]
        shape = [1] * expanded.ndim
        shape[position] = len(row)
        return expanded * row.reshape(shape)
    axis = pcn_axis + 1 if position <= pcn_axis else pcn_axis
    shape = [1] * expanded.ndim
    shape[axis], shape[position] = onehot.shape
    ordered = onehot if axis < position else onehot.T  # reshape keeps order: PCN axis first or last
    return expanded * ordered.reshape(shape)
