"""Whole metric tables through the policy: counts controlled, ratios recomputed from controlled
counts, means hidden with their count, flags added (:func:`apply_policy`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import pandas as pd

from explorer.domain.disclosure._policy import (
    ArrayLike,
    DisclosurePolicy,
    GroupKey,
    _floats,
    _nullable_float,
    _policy,
    _small,
    control_counts,
)
from explorer.domain.disclosure._secondary import Hierarchy, secondary_suppress

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
