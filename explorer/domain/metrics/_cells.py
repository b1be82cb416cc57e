"""The bridge from aggregate cell tables to arrays: :class:`AreaIndex` (LSOA -> area per level)
and :class:`Cells` (an encoded cell table, filtered and summed with ``np.bincount``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from explorer.domain import stats
from explorer.domain.metrics._apportion import weight_matrix
from explorer.domain.metrics._filters import _FILTER_KEYS, AGE_GROUP_STARTS, VOCAB, FilterError, Filters
from explorer.vocab import AGE_BANDS, FRAILTY, SEXES


def _band_of(start: int, bands: Sequence[str]) -> int:
    for i, band in reversed(list(enumerate(bands))):
        if start >= int(band.rstrip("+").split("-")[0]):
            return i
    raise ValueError(start)


_AGE_GROUP_TO_BAND = np.array([_band_of(s, AGE_BANDS) for s in AGE_GROUP_STARTS] + [len(AGE_BANDS)])
_AGE_GROUP_TO_ESP = np.array([_band_of(s, stats.ESP2013_BANDS) for s in AGE_GROUP_STARTS]
                             + [len(stats.ESP2013_BANDS)])

# --------------------------------------------------------------------------- geography index


class AreaIndex:
    """LSOA -> area index per level, with names: the bridge from cells to the hierarchy.

    Area indices run 0..n-1 in area-code order; index n is "outside" (an LSOA not in the bundle,
    or no LSOA). Level "region" has one area (the region) and is also the outside slot's home
    when ``outside_in_region``.

    ``pcn_weights`` (the bundle's, see :mod:`explorer.domain.metrics._apportion`): each LSOA's
    registered patients by PCN. With them ``pcn_apportioned`` is True and :attr:`pcn_matrix` spreads
    each LSOA over PCNs by those weights; without them it is each LSOA's drawn PCN (weight 1).
    ``lsoa_to_area["pcn"]`` is always the drawn (majority) PCN: the map's and the LSOA lists'.
    """

    def __init__(self, lsoas: pd.DataFrame, areas: pd.DataFrame, region_code: str, region_name: str,
                 pcn_weights: pd.DataFrame | None = None) -> None:
        self.lsoa_codes = pd.Index(lsoas["lsoa_code"].astype(str))
        self.n_lsoa = len(self.lsoa_codes)
        self.region_code, self.region_name = region_code, region_name
        decile = lsoas["imd_decile"].to_numpy()
        self.imd_decile = np.append(np.where(np.isfinite(decile), decile - 1, 10), 10).astype(np.int16)
        quint = ((decile + 1) // 2)
        self.imd_quintile = np.append(np.where(np.isfinite(quint), quint - 1, 5), 5).astype(np.int16)
        self.areas = areas
        self.codes: dict[str, pd.Index] = {}
        self.names: dict[str, pd.DataFrame] = {}
        self.lsoa_to_area: dict[str, np.ndarray] = {}
        for level in ("ics", "place", "pcn", "lsoa"):
            table = (areas[areas["level"] == level][["area_code", "area_name", "parent_code"]]
                     .drop_duplicates("area_code").sort_values("area_code", ignore_index=True))
            codes = pd.Index(table["area_code"].astype(str))
            column = lsoas[f"{level}_code"].astype(str) if level != "lsoa" else lsoas["lsoa_code"].astype(str)
            idx = codes.get_indexer(column)
            idx = np.where(idx < 0, len(codes), idx)
            self.codes[level] = codes
            self.names[level] = table
            self.lsoa_to_area[level] = np.append(idx, len(codes)).astype(np.int32)
        self.codes["region"] = pd.Index([region_code])
        self.names["region"] = pd.DataFrame({"area_code": [region_code], "area_name": [region_name],
                                             "parent_code": [None]})
        self.lsoa_to_area["region"] = np.append(np.zeros(self.n_lsoa, np.int32), 1).astype(np.int32)
        self._imd_score = pd.to_numeric(lsoas.get("imd_score"), errors="coerce").to_numpy(dtype=float) \
            if "imd_score" in lsoas else np.full(self.n_lsoa, np.nan)
        self._imd_weight = pd.to_numeric(lsoas.get("population"), errors="coerce").fillna(0).to_numpy(dtype=float) \
            if "population" in lsoas else np.ones(self.n_lsoa)
        self._national_decile = decile
        self._deprivation: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._area_deprivation: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.pcn_apportioned = pcn_weights is not None and len(pcn_weights) > 0
        self.pcn_matrix = weight_matrix(self.lsoa_codes, self.codes["pcn"], self.lsoa_to_area["pcn"], pcn_weights)
        self._pcn_columns: dict[int, np.ndarray] = {}

    def pcn_column(self, pcn: int) -> np.ndarray:
        """Weight of each LSOA (and the outside slot) in one PCN: the row weights of a figure
        restricted to that PCN."""
        if pcn not in self._pcn_columns:
            self._pcn_columns[pcn] = self.pcn_matrix[:, pcn].toarray().ravel()
        return self._pcn_columns[pcn]

    def deprivation(self, level: str = "lsoa") -> tuple[np.ndarray, np.ndarray]:
        """(decile code, quintile code) per LSOA (plus the outside slot) for deprivation groups
        formed from whole areas at ``level``.

        ``"lsoa"``: each LSOA's own national IMD decile. Any other level: every LSOA takes the decile
        of its area's population-weighted IMD score, placed among the national LSOA deciles by the
        lowest score of each decile among the bundle's LSOAs (exact for England; for London the
        cut-off is the nearest London LSOA's score). Then every deprivation group and IMD filter is a
        union of whole areas of that level, and no difference of two of them can single out an LSOA.
        """
        if level == "lsoa":
            return self.imd_decile, self.imd_quintile
        if level not in self._deprivation:
            area_decile, _ = self.area_deprivation(level)
            decile = np.append(area_decile[self.lsoa_to_area[level][:-1]], 10).astype(np.int16)
            quintile = np.where(decile < 10, decile // 2, 5).astype(np.int16)
            self._deprivation[level] = (decile, quintile)
        return self._deprivation[level]

    def area_deprivation(self, level: str) -> tuple[np.ndarray, np.ndarray]:
        """(decile code, quintile code) of each area at ``level`` (plus the outside slot, unknown):
        the national decile its population-weighted IMD score falls in (see :meth:`deprivation`).
        A PCN's population is its apportioned one (each LSOA's residents shared by the PCN weights)."""
        if level not in self._area_deprivation:
            n = self.n_areas(level) + 1
            weight = np.where(np.isfinite(self._imd_score), self._imd_weight, 0.0)
            weighted = np.append(np.vstack([weight, np.nan_to_num(self._imd_score) * weight]), [[0.0], [0.0]], axis=1)
            if level == "pcn":
                total, scored = (self.pcn_matrix.T @ weighted.T).T
            else:
                area = self.lsoa_to_area[level]
                total, scored = (np.bincount(area, weights=w, minlength=n) for w in weighted)
            with np.errstate(divide="ignore", invalid="ignore"):
                score = np.where(total > 0, scored / np.where(total > 0, total, 1), np.nan)
            cut = [np.nanmin(np.where(self._national_decile == d, self._imd_score, np.nan))
                   if np.any(self._national_decile == d) else np.inf for d in range(1, 10)]
            area_decile = np.full(n, 10, dtype=np.int16)  # code 10 = unknown
            for a in np.flatnonzero(np.isfinite(score[:-1])):
                area_decile[a] = next((d for d, c in enumerate(cut) if score[a] >= c), 9)
            quintile = np.where(area_decile < 10, area_decile // 2, 5).astype(np.int16)
            self._area_deprivation[level] = (area_decile, quintile)
        return self._area_deprivation[level]

    def level_of(self, area_code: str) -> str:
        if area_code == self.region_code:
            return "region"
        for level in ("ics", "place", "pcn", "lsoa"):
            if area_code in self.codes[level]:
                return level
        raise FilterError(f"unknown area code '{area_code}' (not in the {self.region_name} bundle)")

    def n_areas(self, level: str) -> int:
        return len(self.codes[level])

    def ancestor_codes(self, level: str, ancestor_level: str) -> np.ndarray:
        """For each area at ``level`` its ancestor at ``ancestor_level`` via the areas hierarchy."""
        codes = self.names[level]["area_code"].to_numpy(dtype=object)
        if ancestor_level == "region":
            return np.full(len(codes), self.region_code, dtype=object)
        order = ("ics", "place", "pcn", "lsoa")
        current = pd.Series(codes)
        lvl = level
        while lvl != ancestor_level:
            if order.index(lvl) < order.index(ancestor_level):
                raise FilterError(f"a {lvl} area cannot lie within a {ancestor_level}")
            parents = self.names[lvl].set_index("area_code")["parent_code"]
            current = current.map(parents)
            lvl = order[order.index(lvl) - 1]
        return current.to_numpy(dtype=object)

# --------------------------------------------------------------------------- cells


def _index_codes(values: pd.Series, index: pd.Index) -> np.ndarray:
    """Positions of values in `index` (-1 if absent), looking up each distinct value once: England's
    8 million cells hold 33,755 LSOA codes, and a Python string per row would cost gigabytes.
    A categorical column (stored cells are read so) is looked up by its categories alone."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes, uniques = values.cat.codes.to_numpy(), values.cat.categories
    else:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    found = index.get_indexer(pd.Index(uniques, dtype=object)) if len(uniques) else np.array([], dtype=np.intp)
    return np.append(found, -1)[codes]  # code -1 (missing) takes the appended -1


def _int_codes(values: pd.Series, vocab: Sequence[int]) -> np.ndarray:
    """Category codes of whole numbers in the ascending ``vocab`` (unknown/missing -> len(vocab)),
    by binary search rather than a hash per row."""
    starts = np.asarray(vocab, dtype=np.int64)
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "iu":  # plain numpy integers: no gaps
        v = values.to_numpy(dtype=np.int64)
    else:
        v = pd.to_numeric(values, errors="coerce").astype("Int64").to_numpy(dtype=np.int64,
                                                                            na_value=np.iinfo(np.int64).min)
    if v.size and v.min() >= 0 and v.max() <= starts[-1]:  # small whole numbers: one table lookup each
        table = np.full(int(starts[-1]) + 1, len(starts), dtype=np.int8)
        table[starts] = np.arange(len(starts), dtype=np.int8)
        return table[v]
    pos = np.minimum(np.searchsorted(starts, v), len(starts) - 1)
    return np.where(starts[pos] == v, pos, len(starts)).astype(np.int8)


def _flag_codes(values: pd.Series, missing: int) -> np.ndarray:
    """A yes/no column as 1/0, missing as ``missing``, without a Python object per row (numpy
    bool columns as they are; others through pandas' nullable boolean)."""
    if values.dtype == bool:
        return values.to_numpy().astype(np.int8)
    return values.astype("boolean").to_numpy(dtype=np.int8, na_value=missing)


#: Measures restricted to high-risk people, derived on the fly from a base measure.
HIGH_RISK_MEASURES = {"hr_people": "people", "hr_risk": "risk_sum", "hr_risk_var": "risk_var",
                      "hr_plans": "plans", "hr_risk_plan": "risk_with_plan",
                      "hr_risk_var_plan": "risk_var_with_plan", "hr_deaths": "deaths",
                      "hr_risk_of_deaths": "risk_of_deaths", "hr_risk_var_of_deaths": "risk_var_of_deaths"}
#: Measures restricted to people whose ethnic group is not recorded (the unknown ethnic_group code).
NOT_STATED_MEASURES = {"ns_people": "people", "ns_deaths": "deaths"}
#: Person-side measure -> the plan-side count of people known to have died by the month end, which
#: is taken off it (the people extract has no date of death; plans closed as "deceased" do).
DEATHS_OF = {"people": "deaths", "hr_people": "hr_deaths", "hr_risk": "hr_risk_of_deaths",
             "hr_risk_var": "hr_risk_var_of_deaths", "ns_people": "ns_deaths"}
_N_SEX, _N_FRAILTY = len(SEXES) + 1, len(FRAILTY) + 1


class Cells:
    """An encoded cell table: integer codes per dimension and measures, summable with bincount.

    ``frame`` is an aggregate cell table (from a ``CellSource``) with string keys;
    the dimensions present among lsoa_code, month, age_group, sex, ethnic_group, frailty,
    disabled and high_risk are encoded (unknown/missing -> an extra last code), and derived
    dimensions added: age_band, esp_band, isr_stratum (age band x sex x frailty), imd_decile and
    imd_quintile (of the LSOA; outside the bundle -> the extra code). Rows are sorted by month so
    :meth:`for_months` slices without copying. Read-only after construction.
    """

    def __init__(self, frame: pd.DataFrame, index: AreaIndex, measures: Sequence[str],
                 months: Sequence[str] | None = None) -> None:
        self.index = index
        self.months = tuple(months or ())
        if "month" in frame and not frame["month"].is_monotonic_increasing:  # stored cells come sorted
            frame = frame.sort_values("month", kind="stable", ignore_index=True)
        self.n = len(frame)
        c: dict[str, np.ndarray] = {}
        lsoa = _index_codes(frame["lsoa_code"], index.lsoa_codes)
        c["lsoa"] = np.where(lsoa < 0, index.n_lsoa, lsoa).astype(np.int32)
        c["imd_decile"] = index.imd_decile[c["lsoa"]].astype(np.int8)
        c["imd_quintile"] = index.imd_quintile[c["lsoa"]].astype(np.int8)
        if "month" in frame:
            month = frame["month"]
            if not isinstance(month.dtype, pd.CategoricalDtype):
                month = month.astype(str)  # "YYYY-MM" text (stored cells: a categorical, looked up once)
            found = _index_codes(month, pd.Index(list(self.months), dtype=object))
            c["month"] = np.where(found < 0, len(self.months), found).astype(np.int8)
        if "age_group" in frame:
            c["age_group"] = _int_codes(frame["age_group"], AGE_GROUP_STARTS)
            c["age_band"] = _AGE_GROUP_TO_BAND[c["age_group"]].astype(np.int8)
            c["esp_band"] = _AGE_GROUP_TO_ESP[c["age_group"]].astype(np.int8)
            for dim in ("sex", "ethnic_group", "frailty"):
                found = _index_codes(frame[dim], pd.Index(list(VOCAB[dim]), dtype=object))
                c[dim] = np.where(found < 0, len(VOCAB[dim]), found).astype(np.int8)
            c["disabled"] = _flag_codes(frame["disabled"], missing=2)
            c["high_risk"] = _flag_codes(frame["high_risk"], missing=0)
            c["isr_stratum"] = ((c["age_band"].astype(np.int16) * _N_SEX + c["sex"]) * _N_FRAILTY
                                + c["frailty"]).astype(np.int16)
        self.codes = c
        self.measures = {m: pd.to_numeric(frame[m], errors="coerce").fillna(0).to_numpy(dtype=np.float32)
                         for m in measures if m in frame}
        self._slices: dict[tuple[str, ...], Cells] = {}

    @classmethod
    def _view(cls, parent: Cells, rows: slice) -> Cells:
        view = cls.__new__(cls)
        view.index, view.months = parent.index, parent.months
        view.codes = {k: v[rows] for k, v in parent.codes.items()}
        view.measures = {k: v[rows] for k, v in parent.measures.items()}
        view.n = len(next(iter(view.codes.values()))) if view.codes else 0
        view._slices = {}
        return view

    def for_months(self, months: Sequence[str]) -> Cells:
        """The rows of a contiguous run of months (a view), or self if there is no month axis."""
        if "month" not in self.codes:
            return self
        key = tuple(months)
        if key not in self._slices:
            codes = sorted(self.months.index(m) for m in key)
            if codes != list(range(codes[0], codes[-1] + 1)):
                raise ValueError("months must be contiguous")
            column = self.codes["month"]
            rows = slice(int(np.searchsorted(column, codes[0], "left")),
                         int(np.searchsorted(column, codes[-1], "right")))
            self._slices[key] = Cells._view(self, rows)
        return self._slices[key]

    def dim_codes(self, dim: str, deprivation_level: str = "lsoa") -> np.ndarray:
        """Codes of a dimension per row; IMD deciles and quintiles of whole areas at
        ``deprivation_level`` when that is not "lsoa" (see :meth:`AreaIndex.deprivation`)."""
        if deprivation_level == "lsoa" or dim not in ("imd_decile", "imd_quintile"):
            return self.codes[dim]
        key = f"{dim}@{deprivation_level}"
        if key not in self.codes:
            decile, quintile = self.index.deprivation(deprivation_level)
            self.codes[key] = (decile if dim == "imd_decile" else quintile)[self.codes["lsoa"]].astype(np.int8)
        return self.codes[key]

    def size(self, dim: str) -> int:
        """Number of codes of a dimension, including the unknown/outside slot."""
        if dim == "month":
            return len(self.months) + 1
        if dim == "isr_stratum":
            return (len(AGE_BANDS) + 1) * _N_SEX * _N_FRAILTY
        if dim == "lsoa":
            return self.index.n_lsoa + 1
        return len(VOCAB[dim]) + 1

    def mask(self, filters: Filters, *, months: Sequence[str] | None = None,
             deprivation_level: str = "lsoa") -> np.ndarray | None:
        """Rows matching the filters (and months, if given); None means every row. IMD filters use
        the deciles of whole areas at ``deprivation_level``."""
        keep: np.ndarray | None = None

        def both(m: np.ndarray) -> np.ndarray:
            return m if keep is None else keep & m

        for key in _FILTER_KEYS[:-1]:
            values = getattr(filters, key)
            if not values:
                continue
            allowed = [1 if v else 0 for v in values] if key == "disabled" else [VOCAB[key].index(v) for v in values]
            table = np.zeros(self.size(key), dtype=bool)
            table[allowed] = True
            keep = both(table[self.dim_codes(key, deprivation_level)])
        if filters.risk is not None:
            keep = both(self.codes["high_risk"] == 1)
        if months is not None and "month" in self.codes:
            table = np.zeros(self.size("month"), dtype=bool)
            table[[self.months.index(m) for m in months]] = True
            keep = both(table[self.codes["month"]])
        return keep

    def area_codes(self, level: str) -> np.ndarray:
        return self.index.lsoa_to_area[level][self.codes["lsoa"]]

    def sums(self, mask: np.ndarray | None, keys: Sequence[tuple[np.ndarray, int]],
             measures: Iterable[str], scale: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Sum ``measures`` over the rows in ``mask`` (None = all) grouped by ``keys``, a list of
        (codes per row, number of codes) pairs. Returns float64 arrays shaped by the key sizes
        (0-d for no keys); a measure the table lacks sums to zeros. ``scale``: a weight per row
        multiplying every measure (a PCN's share of each row's LSOA).
        """
        shape = tuple(size for _, size in keys)
        total = int(np.prod(shape)) if shape else 1

        def pick(a: np.ndarray) -> np.ndarray:
            return a if mask is None else a[mask]

        flat = np.zeros(self.n if mask is None else int(mask.sum()), dtype=np.int64)
        for codes, size in keys:
            flat = flat * size + pick(codes)
        hr = ns = None
        out = {}
        for m in measures:
            base = HIGH_RISK_MEASURES.get(m) or NOT_STATED_MEASURES.get(m, m)
            if base not in self.measures or (m in NOT_STATED_MEASURES and "ethnic_group" not in self.codes):
                out[m] = np.zeros(shape)
                continue
            weights = pick(self.measures[base]).astype(np.float64)
            if scale is not None:
                weights = weights * pick(scale)
            if m in HIGH_RISK_MEASURES:
                hr = pick(self.codes["high_risk"]) == 1 if hr is None else hr
                weights = np.where(hr, weights, 0.0)
            elif m in NOT_STATED_MEASURES:  # the unknown ethnic_group slot: not recorded
                ns = pick(self.codes["ethnic_group"]) == len(VOCAB["ethnic_group"]) if ns is None else ns
                weights = np.where(ns, weights, 0.0)
            out[m] = np.bincount(flat, weights=weights, minlength=total).reshape(shape)
        return out

