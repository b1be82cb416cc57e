"""From risk to outreach: flags over a region's scores, and counts of high-risk people with and
without a plan per area.

"Top N%" is computed exactly from the concatenated score column (float32: 35 MB for London, 230 MB
for England), so no quantile sketch is needed. :func:`flag_high_risk` flags exactly
ceil(n x N / 100) people; among people tied at the cut-off, those with the lowest person_id first -
the same rule as the DuckDB aggregation in the records layer
(``ORDER BY risk DESC, person_id``). Once the flags are known every count and sum of
:func:`outreach_by_area` is additive, so chunks can be aggregated separately and added up with
:func:`combine_outreach`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from explorer.domain import stats
from explorer.domain.risk._definition import RiskDefinition
from explorer.domain.risk._encoding import MODEL_COLUMNS
from explorer.domain.risk._errors import RiskModelError
from explorer.domain.risk._model import RiskModel
from explorer.domain.risk._serialise import model_from_json


def _scores(scores: ArrayLike) -> np.ndarray:
    arr = np.asarray(scores)
    if arr.ndim != 1:
        raise RiskModelError("scores must be one-dimensional")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    if np.isnan(arr).any():
        raise RiskModelError(f"{int(np.isnan(arr).sum()):,} risk scores are missing")
    return arr


def _top_count(n: int, percent: float) -> int:
    return min(n, math.ceil(n * percent / 100 - 1e-9))


def flag_high_risk(scores: ArrayLike, definition: RiskDefinition, tie_break: ArrayLike | None = None) -> np.ndarray:
    """Boolean flags over the whole population given (a region).

    top_percent: exactly ceil(n x value / 100) people, highest score first; people tied at the
    cut-off are taken in order of `tie_break` (e.g. person_id; default row order), so the result
    is deterministic and matches ``ORDER BY risk DESC, person_id`` in SQL.
    min_probability: score >= value."""
    arr = _scores(scores)
    if definition.kind == "min_probability":
        return arr >= definition.value
    n = len(arr)
    k = _top_count(n, definition.value)
    flags = np.zeros(n, dtype=bool)
    if k == 0:
        return flags
    cut = np.partition(arr, n - k)[n - k]  # k-th largest
    flags[arr > cut] = True
    tied = np.flatnonzero(arr == cut)
    need = k - int(flags.sum())
    if need >= len(tied):
        flags[tied] = True
    elif tie_break is None:
        flags[tied[:need]] = True
    else:
        keys = np.asarray(tie_break)
        if len(keys) != n:
            raise RiskModelError("tie_break must have one value per score")
        flags[tied[np.argsort(keys[tied], kind="stable")[:need]]] = True
    return flags


def risk_threshold(scores: ArrayLike, definition: RiskDefinition) -> float:
    """The lowest score flagged (top_percent) or the minimum probability; NaN if nobody is flagged."""
    if definition.kind == "min_probability":
        return float(definition.value)
    arr = _scores(scores)
    k = _top_count(len(arr), definition.value)
    return float(np.partition(arr, len(arr) - k)[len(arr) - k]) if k else float("nan")


def score_frame(model: RiskModel, people: pd.DataFrame, imd_decile: ArrayLike | None = None) -> pd.DataFrame:
    """(person_id, risk float32) of a batch of people: THE scoring of one batch, used by
    :func:`score_people` (the risk_scores table) and by every aggregation engine (DuckDB batches,
    Spark ``mapInPandas``, Dask partitions), so a score is the same number wherever it is made.
    ``people`` has the PEOPLE columns and ``imd_decile`` (or it is given aligned by position)."""
    risk = model.predict(people, imd_decile).astype(np.float32)
    return pd.DataFrame({"person_id": people["person_id"].to_numpy(), "risk": risk})


def score_people(model: RiskModel, people_chunks: Iterable[pd.DataFrame],
                 imd_decile_of_lsoa: Mapping[str, int] | pd.Series) -> Iterator[pd.DataFrame]:
    """Score people chunk by chunk: yields frames (person_id, risk float32), one per chunk, ready to
    be written as the risk_scores table. `imd_decile_of_lsoa` maps lsoa_code to IMD decile."""
    lookup = imd_decile_of_lsoa if isinstance(imd_decile_of_lsoa, pd.Series) else pd.Series(dict(imd_decile_of_lsoa))
    index = pd.Index(lookup.index.astype("str"))
    deciles = lookup.to_numpy()
    for chunk in people_chunks:
        where = index.get_indexer(chunk["lsoa_code"].astype("str"))
        if (where < 0).any():
            bad = pd.unique(chunk["lsoa_code"][where < 0])[:5]
            raise RiskModelError(f"{int((where < 0).sum()):,} people live in LSOAs with no IMD decile "
                                 f"(e.g. {', '.join(map(str, bad))})")
        yield score_frame(model, chunk, deciles[where])


class Scorer:
    """A picklable ``batch -> (person_id, risk)`` for the aggregation engines, built from the model
    file's JSON text: the JSON (not a pickled estimator) travels to Spark executors and Dask
    workers, and each rebuilds the model once with :func:`model_from_json` (nothing executed).
    A batch has the people columns in :attr:`columns` plus ``imd_decile`` (joined by the engine);
    a person without a decile (an LSOA not in the bundle) raises RiskModelError."""

    #: the people columns a batch must carry (imd_decile comes from the bundle's LSOAs)
    columns = ("person_id", "lsoa_code", *(c for c in MODEL_COLUMNS if c != "imd_decile"))

    def __init__(self, model_json: str, source: str = "model file"):
        self.model_json = model_json
        self.source = source
        self._model: RiskModel | None = None

    def __reduce__(self) -> tuple:
        return (Scorer, (self.model_json, self.source))

    @property
    def model(self) -> RiskModel:
        if self._model is None:
            self._model = model_from_json(self.model_json, source=self.source)
        return self._model

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        return score_frame(self.model, batch)


_ADDITIVE = ("people", "high_risk", "high_risk_with_plan", "expected_admissions_high_risk",
             "expected_admissions_without_plan")


def _finish_outreach(sums: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    out = sums.copy()
    out["high_risk_without_plan"] = out["high_risk"] - out["high_risk_with_plan"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["high_risk_plan_coverage"] = np.where(out["high_risk"] > 0, out["high_risk_with_plan"]
                                                  / out["high_risk"].where(out["high_risk"] > 0, 1), np.nan)
    out["high_risk_plan_coverage_numerator"] = out["high_risk_with_plan"]
    out["high_risk_plan_coverage_denominator"] = out["high_risk"]
    lower, upper = stats.wilson_interval(out["high_risk_with_plan"], out["high_risk"], confidence)
    out["high_risk_plan_coverage_lower"], out["high_risk_plan_coverage_upper"] = lower, upper
    keys = [c for c in sums.columns if c not in _ADDITIVE]
    order = [*keys, "people", "high_risk", "high_risk_with_plan", "high_risk_without_plan",
             "high_risk_plan_coverage", "high_risk_plan_coverage_numerator", "high_risk_plan_coverage_denominator",
             "high_risk_plan_coverage_lower", "high_risk_plan_coverage_upper", "expected_admissions_high_risk",
             "expected_admissions_without_plan"]
    return out[order]


def outreach_by_area(people_scores: pd.DataFrame, has_plan: ArrayLike, area_keys: str | Sequence[str],
                     definition: RiskDefinition | None = None, *, confidence: float = 0.95) -> pd.DataFrame:
    """Per area: people, high_risk, high_risk_with_plan, high_risk_without_plan,
    high_risk_plan_coverage (+ _numerator = with plan, _denominator = high risk, Wilson _lower and
    _upper), expected_admissions_high_risk and expected_admissions_without_plan (sum of predicted
    probabilities of high-risk people without a plan).

    `people_scores` has a `risk` column and the area key column(s), and either a bool `high_risk`
    column (flags already computed over the region) or `definition` is given and flags are computed
    here over all rows (ties by person_id when that column is present). `has_plan` is aligned by
    position. The count and sum columns are additive: chunks flagged with the same region-wide
    flags can be aggregated separately and added with combine_outreach."""
    keys = [area_keys] if isinstance(area_keys, str) else list(area_keys)
    missing = [c for c in ["risk", *keys] if c not in people_scores.columns]
    if missing:
        raise RiskModelError(f"people_scores lacks column(s) {', '.join(missing)}")
    plan = np.asarray(has_plan, dtype=bool)
    if plan.shape != (len(people_scores),):
        raise RiskModelError(f"has_plan has {plan.size} values for {len(people_scores)} people")
    risk = _scores(people_scores["risk"]).astype(np.float64)
    if "high_risk" in people_scores.columns:
        high = people_scores["high_risk"].to_numpy(dtype=bool)
    elif definition is not None:
        ties = people_scores["person_id"].to_numpy() if "person_id" in people_scores.columns else None
        high = flag_high_risk(people_scores["risk"].to_numpy(), definition, tie_break=ties)
    else:
        raise RiskModelError("give a RiskDefinition or a high_risk column")
    # sums per area by integer codes and bincount (8.8 million rows in about a second)
    factorized = [pd.factorize(people_scores[k], sort=True, use_na_sentinel=False) for k in keys]
    sizes = [max(len(uniques), 1) for _, uniques in factorized]
    flat = np.ravel_multi_index([codes for codes, _ in factorized], sizes) if len(keys) > 1 else factorized[0][0]
    inverse, cells = pd.factorize(flat, sort=True)
    positions = np.unravel_index(cells, sizes)
    sums = pd.DataFrame({k: np.asarray(uniques)[pos] for k, (_, uniques), pos in zip(keys, factorized, positions)})

    def total(weights: np.ndarray | None) -> np.ndarray:
        return np.bincount(inverse, weights=weights, minlength=len(cells))

    sums["people"] = total(None).astype(np.int64)
    sums["high_risk"] = total(high.astype(float)).round().astype(np.int64)
    sums["high_risk_with_plan"] = total((high & plan).astype(float)).round().astype(np.int64)
    sums["expected_admissions_high_risk"] = total(np.where(high, risk, 0.0))
    sums["expected_admissions_without_plan"] = total(np.where(high & ~plan, risk, 0.0))
    return _finish_outreach(sums, confidence)


def combine_outreach(partials: Iterable[pd.DataFrame], area_keys: str | Sequence[str],
                     confidence: float = 0.95) -> pd.DataFrame:
    """Add up outreach_by_area tables computed on chunks (with the same region-wide flags)."""
    keys = [area_keys] if isinstance(area_keys, str) else list(area_keys)
    frame = pd.concat([p[[*keys, *_ADDITIVE]] for p in partials], ignore_index=True)
    sums = frame.groupby(keys, sort=True, observed=True, dropna=False)[list(_ADDITIVE)].sum().reset_index()
    return _finish_outreach(sums, confidence)

