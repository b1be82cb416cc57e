"""Who is at risk of an emergency admission in the next 12 months, and who of them has no plan.

A transparent logistic regression (a scikit-learn Pipeline: :class:`RiskEncoder` then an
unpenalised ``LogisticRegression``) on the person-level PEOPLE layout of
:mod:`explorer.records.schema`, joined to the IMD 2025 decile of the person's LSOA:

========================  =====================================================================
feature                   encoding (reference level in brackets)
========================  =====================================================================
age                       bands 0-15, 16-29, 30-44, 65-74, 75-84, 85+ [45-64]; or a cubic
                          B-spline (``age="spline"``, knots 16, 30, 45, 65, 75, 85)
sex                       male [female]
IMD decile                linear, per decile step towards less deprived (1 = most deprived)
ethnic group              Asian, Black, Mixed, Other [White]
long-term conditions      count, linear, capped at 10
frailty (eFI)             mild, moderate, severe [fit, or not assessed]
prior emergency admiss.   1, 2, 3+ in the previous 12 months [0]
========================  =====================================================================

The bands encoding is the same, column for column, as the synthetic generator's
:func:`explorer.synth.truth.design_matrix`, so fitted odds ratios can be checked against the truth.
"Not assessed" frailty shares the reference with "fit": in the demo everyone under 65 is not
assessed, so a separate level would duplicate the age bands; a person of 65+ without an eFI score
is treated as fit (a limit stated on the model card).

Fitting is unpenalised by default (``C=None``; sklearn's ``C=inf``) with the 'newton-cholesky'
solver, so odds ratios are maximum-likelihood estimates and 95% CIs come from the inverse Fisher
information (X'WX)^-1, computed here in float64. The design is a dense float32 matrix of about 20
columns (80 bytes a person), so 1 million people fit in a few seconds.

The fitted model is saved as JSON (:func:`save_model`), never pickled: loading rebuilds the
estimator from the coefficients (:func:`load_model`), so a model file from an untrusted place can't
run code, and a file with unexpected fields, another format version or another encoding is
refused with a message.

From risk to outreach (pure functions): :class:`RiskDefinition` says what "high risk" means,
:func:`flag_high_risk` applies it over the whole population of a region, :func:`score_people`
scores people chunk by chunk into the ``risk_scores`` table (person_id, risk) and
:func:`outreach_by_area` counts high-risk people with and without a plan per area.

"Top N%" needs the distribution of every score in the region. It is computed exactly from the
concatenated score column: scores are float32, 35 MB for London's 8.8 million people and 230 MB for
England's 57 million, so no quantile sketch is needed (a sketch would also make the flagged set
depend on the sketch's error). :func:`flag_high_risk` flags exactly ceil(n x N / 100) people; among
people tied at the cut-off, those with the lowest person_id first - the same rule as the DuckDB
aggregation in :mod:`explorer.records.aggregate` (``ORDER BY risk DESC, person_id``), so pandas and
SQL flag the same people. Once the flags are known, every count and sum of
:func:`outreach_by_area` is additive, so areas can be aggregated chunk by chunk (or by DuckDB/Dask)
and the partial tables added up with :func:`combine_outreach`.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import math
import platform
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from explorer.atomic import write_parquet_parts, write_text_atomic
from explorer.domain import stats
from explorer.errors import ExplorerError
from explorer.records.schema import AGE_BANDS, ETHNIC_GROUPS, FRAILTY, SEXES

__all__ = [
    "AGE_ENCODINGS", "DEFAULT_DEFINITION", "DEFAULT_SEED", "FORMAT", "FORMAT_VERSION", "MODEL_COLUMNS", "OUTCOME",
    "DesignFit", "RiskDefinition", "RiskEncoder", "RiskModel", "RiskModelError",
    "age_band_codes", "build_pipeline", "combine_outreach", "encode", "feature_names", "fit_on_design",
    "fit_risk_model", "flag_high_risk", "join_deprivation", "load_model", "model_from_dict", "model_path",
    "model_to_dict", "outreach_by_area", "risk_threshold", "save_model", "score_people", "simulated_people",
    "split_by_person", "write_risk_scores",
]

OUTCOME = "admitted_next_12m"
DEFAULT_SEED = 20261122
DEFAULT_VALIDATION_SHARE = 0.3
MODEL_COLUMNS = ("age", "sex", "ethnic_group", "ltc_count", "frailty", "admissions_prev_12m", "imd_decile")
AGE_ENCODINGS = ("bands", "spline")
REFERENCE_AGE_BAND = "45-64"
AGE_BAND_STARTS = np.array([int(b.rstrip("+").split("-")[0]) for b in AGE_BANDS])
LTC_CAP = 10  # conditions beyond 10 add nothing (few people; the generator's truth uses the same cap)
PRIOR_CATEGORIES = ("1", "2", "3+")  # reference 0
FRAILTY_LEVELS = ("mild", "moderate", "severe")  # reference: fit or not_assessed
ETHNIC_LEVELS = tuple(g for g in ETHNIC_GROUPS if g != "white")  # reference White
SPLINE_DEGREE = 3
SPLINE_INNER_KNOTS = (16, 30, 45, 65, 75, 85)
SPLINE_RANGE = (0, 105)  # ages above 105 are treated as 105
SPLINE_REFERENCE_AGE = 55  # age curves are shown as odds ratios against this age
CHUNK_ROWS = 1_000_000

FORMAT = "explorer.admission_risk_model"
FORMAT_VERSION = 1
ENCODING_NAME = "explorer.domain.risk.encode"
ENCODING_VERSION = 1
MAX_MODEL_FILE_BYTES = 5_000_000
MODEL_FILE = "admission_risk.json"
RISK_TABLE = "risk_scores"
SOLVERS = ("newton-cholesky", "lbfgs")

LABELS = {
    **{f"age_{b}": f"Age {b} (vs 45-64)" for b in AGE_BANDS},
    "male": "Male (vs female)",
    "imd_decile": "Per IMD decile less deprived",
    **{f"ethnic_{g}": f"{g.capitalize()} (vs White)" for g in ETHNIC_GROUPS},
    "ltc_count": "Per long-term condition (up to 10)",
    **{f"frailty_{f}": f"Frailty {f} (vs fit/not assessed)" for f in FRAILTY_LEVELS},
    "prior_1": "1 prior emergency admission (vs 0)",
    "prior_2": "2 prior emergency admissions (vs 0)",
    "prior_3+": "3+ prior emergency admissions (vs 0)",
}


class RiskModelError(ExplorerError):
    """The risk model cannot be trained, loaded or applied as asked (the message says why)."""


# ============================================================================ encoding


def _spline_knots() -> np.ndarray:
    lo, hi = SPLINE_RANGE
    return np.array([lo] * (SPLINE_DEGREE + 1) + list(SPLINE_INNER_KNOTS) + [hi] * (SPLINE_DEGREE + 1), float)


def _spline_basis_full(age: np.ndarray) -> np.ndarray:
    from scipy.interpolate import BSpline

    x = np.clip(np.asarray(age, dtype=float), *SPLINE_RANGE)
    return BSpline.design_matrix(x, _spline_knots(), SPLINE_DEGREE).toarray()


@functools.lru_cache(maxsize=1)
def _dropped_spline_basis() -> int:
    """The basis function dropped for identifiability (the basis sums to 1, like the intercept):
    the one largest at the reference age."""
    return int(np.argmax(_spline_basis_full(np.array([SPLINE_REFERENCE_AGE]))[0]))


def _spline_kept() -> list[int]:
    n_basis = len(_spline_knots()) - SPLINE_DEGREE - 1
    dropped = _dropped_spline_basis()
    return [j for j in range(n_basis) if j != dropped]


def spline_basis(age: np.ndarray) -> np.ndarray:
    """The age spline columns of the design (the dropped basis removed)."""
    return _spline_basis_full(age)[:, _spline_kept()]


def feature_names(age: str = "bands") -> list[str]:
    """Design columns in order (bands: the same names and order as explorer.synth.truth.design_matrix)."""
    if age not in AGE_ENCODINGS:
        raise RiskModelError(f"age encoding must be one of {', '.join(AGE_ENCODINGS)}, got {age!r}")
    if age == "bands":
        age_cols = [f"age_{b}" for b in AGE_BANDS if b != REFERENCE_AGE_BAND]
    else:
        age_cols = [f"age_bs{j}" for j in _spline_kept()]
    return [*age_cols, "male", "imd_decile", *(f"ethnic_{g}" for g in ETHNIC_LEVELS), "ltc_count",
            *(f"frailty_{f}" for f in FRAILTY_LEVELS), *(f"prior_{c}" for c in PRIOR_CATEGORIES)]


def encoding_spec(age: str = "bands") -> dict:
    """Everything that defines the encoding, stored in the model file and checked on loading."""
    feature_names(age)
    return {
        "name": ENCODING_NAME,
        "version": ENCODING_VERSION,
        "age": age,
        "age_bands": list(AGE_BANDS),
        "spline": ({"degree": SPLINE_DEGREE, "knots": _spline_knots().tolist(), "kept_basis": _spline_kept(),
                    "reference_age": SPLINE_REFERENCE_AGE} if age == "spline" else None),
        "ltc_cap": LTC_CAP,
        "imd_decile": "linear: 1 = most deprived ... 10 = least deprived",
        "reference_levels": {"age_band": REFERENCE_AGE_BAND, "sex": "female", "ethnic_group": "white",
                             "frailty": "fit or not_assessed", "admissions_prev_12m": "0"},
    }


def age_band_codes(age: np.ndarray | pd.Series) -> np.ndarray:
    """Index into AGE_BANDS of each age."""
    return np.searchsorted(AGE_BAND_STARTS, np.asarray(age), side="right") - 1


def _numeric(frame: pd.DataFrame, column: str, low: float, high: float | None = None) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values) | (values < low) | (values != np.round(values))
    if high is not None:
        bad |= values > high
    if bad.any():
        example = frame[column].iloc[int(np.flatnonzero(bad)[0])]
        span = f"{low:g}-{high:g}" if high is not None else f">= {low:g}"
        raise RiskModelError(f"column '{column}': {int(bad.sum()):,} values missing or not whole numbers in "
                             f"{span} (e.g. {example!r})")
    return values


def _codes(frame: pd.DataFrame, column: str, categories: Sequence[str]) -> np.ndarray:
    series = frame[column]
    codes = np.full(len(series), -1, dtype=np.int8)
    for i, category in enumerate(categories):
        codes[(series == category).to_numpy(dtype=bool, na_value=False)] = i
    if (codes < 0).any():
        bad = pd.unique(series[codes < 0].astype("object").fillna("<empty>"))[:5]
        raise RiskModelError(f"column '{column}': {int((codes < 0).sum()):,} values are not one of "
                             f"{', '.join(categories)} (e.g. {', '.join(map(repr, bad))})")
    return codes


def encode(frame: pd.DataFrame, age: str = "bands", imd_decile: Any = None) -> np.ndarray:
    """The float32 design matrix (rows of `frame`, columns `feature_names(age)`).

    `frame` has the PEOPLE columns age, sex, ethnic_group, ltc_count, frailty, admissions_prev_12m
    and imd_decile (the decile of the person's LSOA), unless `imd_decile` is given separately
    (aligned by position). Missing or unknown values raise RiskModelError naming the column."""
    names = feature_names(age)
    needed = [c for c in MODEL_COLUMNS if c != "imd_decile" or imd_decile is None]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise RiskModelError(f"the people frame lacks column(s) {', '.join(missing)} needed by the risk model")
    n = len(frame)
    x = np.zeros((n, len(names)), dtype=np.float32)
    col = 0
    ages = _numeric(frame, "age", 0, 130)
    if age == "bands":
        band = age_band_codes(ages)
        for b, name in enumerate(AGE_BANDS):
            if name != REFERENCE_AGE_BAND:
                x[band == b, col] = 1
                col += 1
    else:
        k = len(_spline_kept())
        for start in range(0, n, CHUNK_ROWS):
            x[start:start + CHUNK_ROWS, col:col + k] = spline_basis(ages[start:start + CHUNK_ROWS])
        col += k
    x[:, col] = _codes(frame, "sex", SEXES) == SEXES.index("male")
    col += 1
    if imd_decile is None:
        x[:, col] = _numeric(frame, "imd_decile", 1, 10)
    else:
        x[:, col] = _numeric(pd.DataFrame({"imd_decile": np.asarray(imd_decile)}), "imd_decile", 1, 10)
    col += 1
    ethnic = _codes(frame, "ethnic_group", ETHNIC_GROUPS)
    for g in ETHNIC_LEVELS:
        x[:, col] = ethnic == ETHNIC_GROUPS.index(g)
        col += 1
    x[:, col] = np.minimum(_numeric(frame, "ltc_count", 0), LTC_CAP)
    col += 1
    frailty = _codes(frame, "frailty", FRAILTY)
    for f in FRAILTY_LEVELS:
        x[:, col] = frailty == FRAILTY.index(f)
        col += 1
    prior = np.minimum(_numeric(frame, "admissions_prev_12m", 0), 3)
    for c in (1, 2, 3):
        x[:, col] = prior == c
        col += 1
    assert col == len(names)
    return x


class RiskEncoder(TransformerMixin, BaseEstimator):
    """Pipeline step: a people frame (with imd_decile) to the float32 design. Stateless: the levels
    come from explorer.records.schema, so fitting only records the feature names."""

    def __init__(self, age: str = "bands"):
        self.age = age

    def fit(self, X: Any = None, y: Any = None) -> RiskEncoder:  # noqa: N803 - sklearn naming
        self.feature_names_out_ = np.asarray(feature_names(self.age), dtype=object)
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        return encode(X, self.age)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(feature_names(self.age), dtype=object)


# ============================================================================ fitting


def build_pipeline(age: str = "bands", C: float | None = None, solver: str = "newton-cholesky",  # noqa: N803
                   max_iter: int = 100) -> Pipeline:
    """The unfitted Pipeline: RiskEncoder then LogisticRegression (C=None: unpenalised)."""
    if solver not in SOLVERS:
        raise RiskModelError(f"solver must be one of {', '.join(SOLVERS)}, got {solver!r}")
    if C is not None and not (math.isfinite(C) and C > 0):
        raise RiskModelError(f"C must be a positive number (or None for no penalty), got {C!r}")
    estimator = LogisticRegression(C=np.inf if C is None else float(C), solver=solver, max_iter=max_iter,
                                   tol=1e-8 if solver == "newton-cholesky" else 1e-6)
    return Pipeline([("encode", RiskEncoder(age=age).fit()), ("logit", estimator)])


def single_threaded_blas() -> Any:
    """A context limiting BLAS to one thread. The design is tall and narrow (millions x ~20): several
    BLAS threads are no faster on it, and on a busy 2-core machine they were 4x slower (threads
    spinning while waiting for a core)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def fisher_covariance(x: np.ndarray, coef: np.ndarray, intercept: float) -> np.ndarray:
    """(X'WX)^-1 with X = [1, x] and W = p(1-p): covariance of (intercept, coef...) of an unpenalised
    logistic regression. Accumulated in float64 over chunks of rows."""
    with single_threaded_blas():
        return _fisher_covariance(x, coef, intercept)


def _fisher_covariance(x: np.ndarray, coef: np.ndarray, intercept: float) -> np.ndarray:
    k = x.shape[1] + 1
    info = np.zeros((k, k))
    coef = np.asarray(coef, dtype=float)
    for start in range(0, len(x), 250_000):
        chunk = np.empty((min(250_000, len(x) - start), k))
        chunk[:, 0] = 1.0
        chunk[:, 1:] = x[start:start + 250_000]
        p = 1.0 / (1.0 + np.exp(-(chunk @ np.r_[intercept, coef])))
        info += (chunk * (p * (1 - p))[:, None]).T @ chunk
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        cov = None
    if cov is None or not np.all(np.isfinite(cov)) or np.linalg.cond(info) > 1e13:
        raise RiskModelError("the risk model's features are collinear in the training data (the Fisher "
                             "information cannot be inverted); check that every level occurs")
    return cov


def _check_design(x: np.ndarray, y: np.ndarray, names: Sequence[str]) -> None:
    if len(y) == 0 or y.all() or not y.any():
        raise RiskModelError("the training data need people with and without an emergency admission")
    constant = [n for n, lo, hi in zip(names, x.min(axis=0), x.max(axis=0)) if lo == hi]
    if constant:
        raise RiskModelError(f"no variation in the training data for {', '.join(constant)}: an unpenalised "
                             "model cannot estimate their odds ratios (too few people; or pass a penalty C)")


def _fit_estimator(x: np.ndarray, y: np.ndarray, estimator: LogisticRegression) -> LogisticRegression:
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings(), single_threaded_blas():
        warnings.simplefilter("error", ConvergenceWarning)
        try:
            estimator.fit(x, y)
        except ConvergenceWarning as exc:
            raise RiskModelError(f"the logistic regression did not converge ({exc}); the data may separate "
                                 "perfectly on some level - try a small penalty (C)") from None
    # float32 designs give float32 coefficients; keep them as float64 so predictions are computed
    # exactly as after loading the model from JSON (where numbers are float64)
    estimator.coef_ = estimator.coef_.astype(np.float64)
    estimator.intercept_ = estimator.intercept_.astype(np.float64)
    return estimator


@dataclass(frozen=True)
class DesignFit:
    """An unpenalised logistic fit on a given design (column names kept)."""

    coefficients: pd.Series
    intercept: float
    covariance: pd.DataFrame  # rows/columns: "intercept", then the design columns

    @property
    def standard_errors(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self.covariance.to_numpy()))[1:], index=self.coefficients.index)


def fit_on_design(design: pd.DataFrame, y: Any, C: float | None = None) -> DesignFit:  # noqa: N803
    """Fit outcome `y` on any ready-made design, e.g. explorer.synth.truth.design_matrix (the
    generator's own encoding), with the same estimator and covariance as the risk model."""
    x = design.to_numpy(dtype=np.float32)
    yy = np.asarray(y, dtype=bool)
    _check_design(x, yy, list(design.columns))
    est = _fit_estimator(x, yy, build_pipeline(C=C).named_steps["logit"])
    coef = est.coef_[0].astype(float)
    cov = fisher_covariance(x, coef, float(est.intercept_[0]))
    names = ["intercept", *design.columns]
    return DesignFit(pd.Series(coef, index=design.columns), float(est.intercept_[0]),
                     pd.DataFrame(cov, index=names, columns=names))


def library_versions() -> dict[str, str]:
    import scipy
    import sklearn

    from explorer import __version__

    return {"python": platform.python_version(), "numpy": np.__version__, "pandas": pd.__version__,
            "scipy": scipy.__version__, "scikit-learn": sklearn.__version__, "explorer": __version__}


def design_sha256(x: np.ndarray, y: np.ndarray, names: Sequence[str]) -> str:
    """sha256 of the training design (float32, C order), outcome (one byte each) and column names."""
    digest = hashlib.sha256(json.dumps(list(names)).encode())
    for start in range(0, len(x), CHUNK_ROWS):
        digest.update(np.ascontiguousarray(x[start:start + CHUNK_ROWS], dtype=np.float32).tobytes())
    digest.update(np.asarray(y, dtype=np.uint8).tobytes())
    return digest.hexdigest()


@dataclass
class RiskModel:
    """A fitted risk model: the sklearn Pipeline plus what the model file records about it."""

    pipeline: Pipeline
    covariance: np.ndarray | None  # (1 + features)^2, intercept first; None if not known
    training: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    training_data_sha256: str = ""
    created_at: str = ""
    library_versions: dict = field(default_factory=dict)

    @property
    def estimator(self) -> LogisticRegression:
        return self.pipeline.named_steps["logit"]

    @property
    def age(self) -> str:
        return self.pipeline.named_steps["encode"].age

    @property
    def features(self) -> list[str]:
        return feature_names(self.age)

    @property
    def coefficients(self) -> pd.Series:
        return pd.Series(self.estimator.coef_[0].astype(float), index=self.features)

    @property
    def intercept(self) -> float:
        return float(self.estimator.intercept_[0])

    def predict(self, frame: pd.DataFrame, imd_decile: Any = None) -> np.ndarray:
        """Probability of an emergency admission in the next 12 months, per row (float64).

        The same numbers as ``pipeline.predict_proba(frame)[:, 1]``; `imd_decile` may be given
        separately (aligned by position) instead of as a column."""
        return self.predict_design(encode(frame, self.age, imd_decile))

    def predict_design(self, x: np.ndarray) -> np.ndarray:
        return self.estimator.predict_proba(x)[:, 1]

    def odds_ratios(self, confidence: float = 0.95) -> pd.DataFrame:
        """One row per feature: log odds ratio, its standard error, odds ratio and Wald CI."""
        coef = self.coefficients
        se = (pd.Series(np.sqrt(np.diag(self.covariance))[1:], index=coef.index) if self.covariance is not None
              else pd.Series(np.nan, index=coef.index))
        z = stats.z_value(confidence)
        return pd.DataFrame({
            "feature": coef.index,
            "label": [LABELS.get(f, f.replace("age_bs", "age spline basis ")) for f in coef.index],
            "log_odds_ratio": coef.to_numpy(), "se": se.to_numpy(), "odds_ratio": np.exp(coef.to_numpy()),
            "ci_lower": np.exp(coef.to_numpy() - z * se.to_numpy()),
            "ci_upper": np.exp(coef.to_numpy() + z * se.to_numpy()),
        })

    def age_curve(self, ages: Sequence[int] = tuple(range(0, 101, 5)), confidence: float = 0.95) -> pd.DataFrame:
        """Odds ratio of each age against SPLINE_REFERENCE_AGE (spline) or the 45-64 band (bands), with CI."""
        ages_arr = np.asarray(ages)
        if self.age == "spline":
            diff = spline_basis(ages_arr) - spline_basis(np.array([SPLINE_REFERENCE_AGE]))
            idx = [self.features.index(f"age_bs{j}") for j in _spline_kept()]
        else:
            bands = age_band_codes(ages_arr)
            names = [f"age_{b}" for b in AGE_BANDS if b != REFERENCE_AGE_BAND]
            idx = [self.features.index(n) for n in names]
            diff = np.array([[1.0 if AGE_BANDS[b] == n[4:] else 0.0 for n in names] for b in bands])
        beta = self.coefficients.to_numpy()[idx]
        log_or = diff @ beta
        if self.covariance is not None:
            cov = self.covariance[np.ix_(np.array(idx) + 1, np.array(idx) + 1)]
            se = np.sqrt(np.einsum("ij,jk,ik->i", diff, cov, diff))
        else:
            se = np.full(len(ages_arr), np.nan)
        z = stats.z_value(confidence)
        return pd.DataFrame({"age": ages_arr, "log_odds_ratio": log_or, "odds_ratio": np.exp(log_or),
                             "ci_lower": np.exp(log_or - z * se), "ci_upper": np.exp(log_or + z * se)})


def person_uniform(person_ids: Any, seed: int) -> np.ndarray:
    """A number in [0, 1) per person: a seeded hash of the person_id (pandas' SipHash), so the same
    person gets the same number for the same seed, whatever the row order or chunking."""
    key = hashlib.sha256(str(seed).encode()).hexdigest()[:16]
    hashed = pd.util.hash_pandas_object(pd.Series(person_ids).astype("str"), index=False, hash_key=key).to_numpy()
    return (hashed >> np.uint64(11)).astype(np.float64) / float(2 ** 53)


def split_by_person(person_ids: Any, validation_share: float = DEFAULT_VALIDATION_SHARE,
                    seed: int = DEFAULT_SEED) -> np.ndarray:
    """True for people in the validation set (person_uniform below the share): a person always falls
    on the same side for the same seed, whatever the row order or chunking."""
    if not 0 < validation_share < 1:
        raise RiskModelError(f"validation share must be between 0 and 1, got {validation_share!r}")
    return person_uniform(person_ids, seed) < validation_share


def fit_risk_model(frame: pd.DataFrame, *, age: str = "bands", C: float | None = None,  # noqa: N803
                   solver: str = "newton-cholesky", validation_share: float = DEFAULT_VALIDATION_SHARE,
                   seed: int = DEFAULT_SEED, outcome: str = OUTCOME, provenance: Mapping | None = None,
                   ) -> tuple[RiskModel, np.ndarray]:
    """Fit on the training people of `frame`; returns the model and the validation mask.

    `frame`: PEOPLE columns (person_id used for the split when present; otherwise a seeded random
    split of rows) plus imd_decile and the outcome. `provenance` is stored in the model's
    `training` record (e.g. region, synthetic, source files)."""
    if outcome not in frame.columns:
        raise RiskModelError(f"the people frame has no '{outcome}' column: the outcome is needed to train")
    y_all = frame[outcome]
    if y_all.isna().any():
        raise RiskModelError(f"'{outcome}' is empty for {int(y_all.isna().sum()):,} people; training needs the "
                             "outcome for everyone (from a later admissions extract)")
    y_all = y_all.to_numpy(dtype=bool)
    if "person_id" in frame.columns:
        validation = split_by_person(frame["person_id"], validation_share, seed)
        split = "seeded hash of person_id"
    else:
        validation = np.random.default_rng(seed).random(len(frame)) < validation_share
        split = "seeded random rows (no person_id column)"
    pipeline = build_pipeline(age=age, C=C, solver=solver)
    x_all = encode(frame, age)
    train = ~validation
    x, y = x_all[train], y_all[train]
    del x_all
    names = feature_names(age)
    _check_design(x, y, names)
    estimator = _fit_estimator(x, y, pipeline.named_steps["logit"])
    covariance = fisher_covariance(x, estimator.coef_[0], float(estimator.intercept_[0]))
    training = {
        "rows": int(train.sum()), "events": int(y.sum()), "validation_rows": int(validation.sum()),
        "validation_events": int(y_all[validation].sum()), "validation_share": validation_share, "seed": seed,
        "split": split, "outcome": outcome, "iterations": int(np.max(estimator.n_iter_)),
        **dict(provenance or {}),
    }
    model = RiskModel(pipeline, covariance, training=training, training_data_sha256=design_sha256(x, y, names),
                      created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                      library_versions=library_versions())
    return model, validation


def join_deprivation(people: pd.DataFrame, lsoas: pd.DataFrame) -> pd.DataFrame:
    """`people` with imd_decile, imd_quintile and core20 of each person's LSOA (from the bundle's
    LSOA table: lsoa_code, imd_decile[, imd_quintile, core20]). Unknown LSOAs raise."""
    table = lsoas.set_index("lsoa_code")
    where = table.index.get_indexer(people["lsoa_code"])
    if (where < 0).any():
        bad = pd.unique(people["lsoa_code"][where < 0])[:5]
        raise RiskModelError(f"{int((where < 0).sum()):,} people live in LSOAs not in the bundle "
                             f"(e.g. {', '.join(map(str, bad))}); rebuild the bundle or the records")
    decile = table["imd_decile"].to_numpy()[where]
    quintile = table["imd_quintile"].to_numpy()[where] if "imd_quintile" in table else (decile + 1) // 2
    core20 = table["core20"].to_numpy()[where] if "core20" in table else decile <= 2
    return people.assign(imd_decile=decile.astype(np.int64), imd_quintile=np.asarray(quintile, dtype=np.int64),
                         core20=np.asarray(core20, dtype=bool))


# ============================================================================ persistence

_TOP_KEYS = ("format", "format_version", "model_type", "outcome", "encoding", "features", "coefficients",
             "intercept", "covariance", "estimator", "library_versions", "training_data_sha256", "training",
             "metrics", "created_at")


def model_path(settings: Any, region: str) -> Path:
    """Where `explorer model train` keeps a region's model: <data_dir>/models/<region>/admission_risk.json."""
    return Path(settings.data_dir) / "models" / region / MODEL_FILE


def json_safe(value: Any) -> Any:
    """Plain JSON types: numpy scalars/arrays converted, NaN and infinities as None."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray, pd.Index, pd.Series)):
        return [json_safe(v) for v in (value.tolist() if hasattr(value, "tolist") else value)]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def model_to_dict(model: RiskModel) -> dict:
    est = model.estimator
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_type": "logistic_regression",
        "outcome": model.training.get("outcome", OUTCOME),
        "encoding": encoding_spec(model.age),
        "features": model.features,
        "coefficients": [float(v) for v in est.coef_[0]],
        "intercept": float(est.intercept_[0]),
        "covariance": None if model.covariance is None else [[float(v) for v in row] for row in model.covariance],
        "estimator": {"class": "sklearn.linear_model.LogisticRegression",
                      "C": None if not math.isfinite(est.C) else float(est.C), "solver": est.solver},
        "library_versions": dict(model.library_versions),
        "training_data_sha256": model.training_data_sha256,
        "training": json_safe(model.training),
        "metrics": json_safe(model.metrics),
        "created_at": model.created_at,
    }


def save_model(model: RiskModel, path: str | Path) -> Path:
    """Write the model as JSON (no pickle), atomically: a temporary file renamed into place."""
    return write_text_atomic(Path(path), json.dumps(model_to_dict(model), indent=1, allow_nan=False))


def _finite_list(value: Any, length: int) -> list[float] | None:
    if not isinstance(value, list) or len(value) != length or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value):
        return None
    return [float(v) for v in value]


def model_from_dict(payload: Any, *, source: str = "model file") -> RiskModel:
    """Rebuild a RiskModel from its JSON dict, checking every field; nothing in it is executed."""
    def fail(message: str) -> RiskModelError:
        return RiskModelError(f"{source}: {message}. Retrain with `explorer model train`.")

    if not isinstance(payload, dict):
        raise fail("not a JSON object")
    if payload.get("format") != FORMAT:
        raise fail(f"not an explorer admission-risk model (format {payload.get('format')!r}, expected {FORMAT!r})")
    if payload.get("format_version") != FORMAT_VERSION:
        raise fail(f"written in format version {payload.get('format_version')!r}; this version of the explorer "
                   f"reads version {FORMAT_VERSION} only")
    unexpected = sorted(set(payload) - set(_TOP_KEYS))
    missing = [k for k in _TOP_KEYS if k not in payload]
    if unexpected or missing:
        raise fail("fields do not match the format" + (f"; unexpected {', '.join(unexpected)}" if unexpected else "")
                   + (f"; missing {', '.join(missing)}" if missing else ""))
    if payload["model_type"] != "logistic_regression":
        raise fail(f"model type {payload['model_type']!r} is not supported (only logistic_regression)")
    encoding = payload["encoding"]
    age = encoding.get("age") if isinstance(encoding, dict) else None
    if age not in AGE_ENCODINGS or encoding != encoding_spec(age):
        raise fail("its feature encoding differs from this version's (encoding "
                   f"{encoding.get('name') if isinstance(encoding, dict) else '?'} version "
                   f"{encoding.get('version') if isinstance(encoding, dict) else '?'}, expected {ENCODING_NAME} "
                   f"version {ENCODING_VERSION})")
    names = feature_names(age)
    if payload["features"] != names:
        raise fail(f"its features {payload['features']!r} are not {names!r}")
    coef = _finite_list(payload["coefficients"], len(names))
    if coef is None:
        raise fail(f"'coefficients' must be a list of {len(names)} finite numbers")
    intercept = _finite_list([payload["intercept"]], 1)
    if intercept is None:
        raise fail("'intercept' must be a finite number")
    cov = payload["covariance"]
    if cov is not None:
        rows = [_finite_list(row, len(names) + 1) for row in cov] if isinstance(cov, list) else [None]
        if len(rows) != len(names) + 1 or any(row is None for row in rows):
            raise fail("'covariance' must be a square matrix of finite numbers over intercept and features")
        cov = np.array(rows)
    est = payload["estimator"]
    if (not isinstance(est, dict) or set(est) != {"class", "C", "solver"}
            or est["class"] != "sklearn.linear_model.LogisticRegression" or est["solver"] not in SOLVERS
            or not (est["C"] is None or (isinstance(est["C"], (int, float)) and est["C"] > 0))):
        raise fail("'estimator' must name LogisticRegression with a known solver and C (null = no penalty)")
    for key in ("library_versions", "training", "metrics"):
        if not isinstance(payload[key], dict):
            raise fail(f"'{key}' must be a JSON object")
    for key in ("training_data_sha256", "created_at", "outcome"):
        if not isinstance(payload[key], str):
            raise fail(f"'{key}' must be a string")
    if not re.fullmatch(r"[0-9a-f]{64}", payload["training_data_sha256"]):
        raise fail("'training_data_sha256' is not a sha256 hex digest")
    pipeline = build_pipeline(age=age, C=est["C"], solver=est["solver"])
    lr = pipeline.named_steps["logit"]
    lr.coef_ = np.array([coef])
    lr.intercept_ = np.array(intercept)
    lr.classes_ = np.array([False, True])
    lr.n_features_in_ = len(names)
    lr.n_iter_ = np.array([0], dtype=np.int32)
    training = dict(payload["training"])
    training.setdefault("outcome", payload["outcome"])
    return RiskModel(pipeline, cov, training=training, metrics=payload["metrics"],
                     training_data_sha256=payload["training_data_sha256"], created_at=payload["created_at"],
                     library_versions=payload["library_versions"])


def load_model(path: str | Path) -> RiskModel:
    """Load a model saved by save_model. Only JSON is parsed (size-limited, no NaN/Infinity)."""
    path = Path(path)
    if not path.is_file():
        raise RiskModelError(f"no risk model at {path}: run `explorer model train` first")
    if path.stat().st_size > MAX_MODEL_FILE_BYTES:
        raise RiskModelError(f"{path} is larger than a risk model file can be ({MAX_MODEL_FILE_BYTES:,} bytes)")

    def reject(constant: str) -> Any:
        raise RiskModelError(f"{path}: the model file contains {constant}, which is not valid JSON")

    try:
        payload = json.loads(path.read_text(encoding="utf-8"), parse_constant=reject)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RiskModelError(f"{path} is not a JSON model file ({exc})") from None
    return model_from_dict(payload, source=str(path))


# ============================================================================ risk to outreach


@dataclass(frozen=True)
class RiskDefinition:
    """What "high risk" means: the top `value` percent by score in the region ("top_percent"), or a
    predicted probability of at least `value` ("min_probability")."""

    kind: Literal["top_percent", "min_probability"]
    value: float

    def __post_init__(self) -> None:
        if self.kind == "top_percent":
            if not (isinstance(self.value, (int, float)) and 0 < self.value <= 100):
                raise RiskModelError(f"top_percent must be more than 0 and at most 100, got {self.value!r}")
        elif self.kind == "min_probability":
            if not (isinstance(self.value, (int, float)) and 0 <= self.value <= 1):
                raise RiskModelError(f"min_probability must be between 0 and 1, got {self.value!r}")
        else:
            raise RiskModelError(f"risk definition kind must be top_percent or min_probability, got {self.kind!r}")

    def describe(self) -> str:
        if self.kind == "top_percent":
            return f"the {self.value:g}% of people with the highest predicted risk"
        return f"predicted risk of {self.value:.1%} or more"

    def as_dict(self) -> dict:
        return {"kind": self.kind, "value": float(self.value)}


DEFAULT_DEFINITION = RiskDefinition("top_percent", 10.0)


def _scores(scores: Any) -> np.ndarray:
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


def flag_high_risk(scores: Any, definition: RiskDefinition, tie_break: Any = None) -> np.ndarray:
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


def risk_threshold(scores: Any, definition: RiskDefinition) -> float:
    """The lowest score flagged (top_percent) or the minimum probability; NaN if nobody is flagged."""
    if definition.kind == "min_probability":
        return float(definition.value)
    arr = _scores(scores)
    k = _top_count(len(arr), definition.value)
    return float(np.partition(arr, len(arr) - k)[len(arr) - k]) if k else float("nan")


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
        risk = model.predict(chunk, deciles[where]).astype(np.float32)
        yield pd.DataFrame({"person_id": chunk["person_id"].to_numpy(), "risk": risk})


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


def outreach_by_area(people_scores: pd.DataFrame, has_plan: Any, area_keys: str | Sequence[str],
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


def write_risk_scores(directory: str | Path, frames: Iterable[pd.DataFrame], metadata: Mapping | None = None
                      ) -> int:
    """Write the risk_scores table (person_id, risk) under `directory/risk_scores/part-NNNNN.parquet`.

    Uses explorer.records.store.write_table when the schema has a risk_scores layout; otherwise
    writes the same layout itself, atomically (temporary directory renamed into place), with
    `metadata` (e.g. the model's training hash) in each part's Parquet key-value metadata."""
    import pyarrow as pa

    from explorer.records.schema import LAYOUTS

    directory = Path(directory)
    if RISK_TABLE in LAYOUTS:
        from explorer.records.store import write_table

        return write_table(directory, RISK_TABLE, frames)
    schema = pa.schema([pa.field("person_id", pa.string(), nullable=False),
                        pa.field("risk", pa.float32(), nullable=False)],
                       metadata={b"explorer.risk_model": json.dumps(json_safe(dict(metadata or {}))).encode()})
    tables = (pa.Table.from_arrays([pa.array(frame["person_id"].astype("str").to_numpy(), pa.string()),
                                    pa.array(frame["risk"].to_numpy(np.float32), pa.float32())], schema=schema)
              for frame in frames)
    return write_parquet_parts(directory / RISK_TABLE, tables, schema.empty_table())


# ============================================================================ simulated people


def simulated_people(n: int, seed: int = 0, n_lsoas: int = 2000) -> tuple[pd.DataFrame, pd.DataFrame]:
    """People with random covariates and outcomes drawn from explorer.synth.truth (for tests and
    benchmarks; not the synthetic cohort, which explorer.synth.cohort makes from the bundle).

    Returns (people in the PEOPLE layout, lsoas with lsoa_code, imd_decile, imd_quintile, core20).
    Covariates are independent and every level is common, so every odds ratio is well estimated."""
    from explorer.synth import truth

    rng = np.random.default_rng(seed)
    lsoa_decile = rng.integers(1, 11, n_lsoas)
    lsoas = pd.DataFrame({"lsoa_code": [f"E01{i:06d}" for i in range(n_lsoas)], "imd_decile": lsoa_decile,
                          "imd_quintile": (lsoa_decile + 1) // 2, "core20": lsoa_decile <= 2})
    lsoa_i = rng.integers(0, n_lsoas, n)
    band = rng.choice(len(AGE_BANDS), n, p=[0.15, 0.15, 0.15, 0.15, 0.14, 0.14, 0.12])
    low = np.array([0, 16, 30, 45, 65, 75, 85])
    high = np.array([15, 29, 44, 64, 74, 84, 100])
    age = low[band] + np.floor(rng.random(n) * (high[band] - low[band] + 1)).astype(np.int64)
    old = band >= 4
    frailty = np.where(old, rng.choice(4, n, p=[0.35, 0.30, 0.20, 0.15]), FRAILTY.index("not_assessed"))
    ltc = rng.poisson(np.array([0.3, 0.5, 0.8, 1.5, 2.2, 2.8, 3.2])[band])
    prior = rng.choice(np.array([0, 1, 2, 3, 4, 6]), n, p=[0.58, 0.15, 0.12, 0.08, 0.04, 0.03])
    people = pd.DataFrame({
        "person_id": pd.array([f"S{i:011d}" for i in rng.permutation(n)], dtype="str"),
        "practice_code": pd.array(np.char.add("Y", (lsoa_i % 400).astype(str)), dtype="str"),
        "lsoa_code": lsoas["lsoa_code"].to_numpy()[lsoa_i],
        "sex": np.array(SEXES)[rng.integers(0, 2, n)],
        "age": age.astype(np.int64),
        "ethnic_group": np.array(ETHNIC_GROUPS)[rng.choice(5, n, p=[0.2, 0.15, 0.15, 0.35, 0.15])],
        "disabled": rng.random(n) < 0.2,
        "ltc_count": ltc.astype(np.int64),
        "frailty": np.array(FRAILTY)[frailty],
        "admissions_prev_12m": prior.astype(np.int64),
    })
    for col in ("lsoa_code", "sex", "ethnic_group", "frailty"):
        people[col] = people[col].astype("str")
    p = truth.true_probability(people, pd.Series(lsoa_decile[lsoa_i], index=people.index))
    people["admitted_next_12m"] = rng.random(n) < p
    return people, lsoas
