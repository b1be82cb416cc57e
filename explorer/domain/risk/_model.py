"""Fitting the risk model: the sklearn Pipeline (RiskEncoder then an unpenalised
LogisticRegression), odds ratios with Wald CIs from the inverse Fisher information, and
:class:`RiskModel`, the fitted model with what its file records about it."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import platform
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from explorer.domain import stats
from explorer.domain.risk._encoding import (
    AGE_BANDS, CHUNK_ROWS, DEFAULT_SEED, DEFAULT_VALIDATION_SHARE, LABELS, OUTCOME, REFERENCE_AGE_BAND,
    SPLINE_REFERENCE_AGE, RiskEncoder, _spline_kept, age_band_codes, encode, feature_names, spline_basis,
    split_by_person,
)
from explorer.domain.risk._errors import RiskModelError

SOLVERS = ("newton-cholesky", "lbfgs")


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


def single_threaded_blas() -> AbstractContextManager[object]:
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


def fit_on_design(design: pd.DataFrame, y: ArrayLike, C: float | None = None) -> DesignFit:  # noqa: N803
    """Fit outcome `y` on any ready-made design, e.g. the synthetic generator's truth.design_matrix (the
    generator's own encoding), with the same estimator and covariance as the risk model."""
    x = design.to_numpy(dtype=np.float32)
    yy = np.asarray(y, dtype=bool)
    _check_design(x, yy, list(design.columns))
    est = _fit_estimator(x, yy, build_pipeline(C=C).named_steps["logit"])
    coef = est.coef_[0].astype(float)
    cov = fisher_covariance(x, coef, float(est.intercept_[0]))
    names = ["intercept", *design.columns]
    return DesignFit(coefficients=pd.Series(coef, index=design.columns), intercept=float(est.intercept_[0]),
                     covariance=pd.DataFrame(cov, index=names, columns=names))


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

    def predict(self, frame: pd.DataFrame, imd_decile: ArrayLike | None = None) -> np.ndarray:
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
    model = RiskModel(pipeline=pipeline, covariance=covariance, training=training, training_data_sha256=design_sha256(x, y, names),
                      created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                      library_versions=library_versions())
    return model, validation

