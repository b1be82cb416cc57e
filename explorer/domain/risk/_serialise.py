"""The risk model as a JSON dict or string (never pickle): writing records the coefficients,
covariance, encoding and provenance; reading checks every field and rebuilds the estimator from
the numbers, so a model from an untrusted place cannot run code. Files are read and written by
explorer.services.models."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import NoReturn

import numpy as np
import pandas as pd

from explorer.domain.risk._encoding import (
    AGE_ENCODINGS, ENCODING_NAME, ENCODING_VERSION, OUTCOME, encoding_spec, feature_names,
)
from explorer.domain.risk._errors import RiskModelError
from explorer.domain.risk._model import SOLVERS, RiskModel, build_pipeline

FORMAT = "explorer.admission_risk_model"
FORMAT_VERSION = 1
MAX_MODEL_FILE_BYTES = 5_000_000

_TOP_KEYS = ("format", "format_version", "model_type", "outcome", "encoding", "features", "coefficients",
             "intercept", "covariance", "estimator", "library_versions", "training_data_sha256", "training",
             "metrics", "created_at")


def json_safe(value: object) -> object:
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



def _finite_list(value: object, length: int) -> list[float] | None:
    if not isinstance(value, list) or len(value) != length or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value):
        return None
    return [float(v) for v in value]


def model_from_dict(payload: object, *, source: str = "model file") -> RiskModel:
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
    return RiskModel(pipeline=pipeline, covariance=cov, training=training, metrics=payload["metrics"],
                     training_data_sha256=payload["training_data_sha256"], created_at=payload["created_at"],
                     library_versions=payload["library_versions"])


def model_to_json(model: RiskModel) -> str:
    """The model file's text: strict JSON (no NaN or infinities), indented."""
    return json.dumps(model_to_dict(model), indent=1, allow_nan=False)


def model_from_json(text: str | bytes, *, source: str = "model file") -> RiskModel:
    """Rebuild a model from the text of its file. Only JSON is parsed (size-limited, no NaN/Infinity);
    `source` (e.g. the file's path) starts every error message."""
    if len(text) > MAX_MODEL_FILE_BYTES:
        raise RiskModelError(f"{source} is larger than a risk model file can be ({MAX_MODEL_FILE_BYTES:,} bytes)")

    def reject(constant: str) -> NoReturn:
        raise RiskModelError(f"{source}: the model file contains {constant}, which is not valid JSON")

    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        payload = json.loads(text, parse_constant=reject)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RiskModelError(f"{source} is not a JSON model file ({exc})") from None
    return model_from_dict(payload, source=source)
