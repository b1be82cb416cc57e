"""Evaluation and model card of the emergency-admission risk model.

:func:`report_dict` evaluates a fitted model on held-out people: ROC AUC (and, when the caller
gives the true probabilities or a function computing them - on synthetic data - the "oracle" AUC
of the truth on the same people, the best any model could do), Brier score, calibration slope and
intercept, observed/expected admissions by risk decile and by IMD quintile, Core20, ethnic group,
sex and age band, with the flag rate and false-negative rate at the chosen high-risk threshold,
and odds ratios with 95% CIs.

Calibration (Van Calster et al., J Clin Epidemiol 2016; Steyerberg, Clinical Prediction Models):
``calibration_slope`` is b in logit P(admitted) = a + b logit(p) fitted on held-out people;
``calibration_intercept`` is a with b fixed at 1 (logit(p) as offset: "calibration in the large",
0 when the average risk is right); ``recalibration`` holds both coefficients of the two-parameter fit.
A group whose observed/expected ratio lies outside OE_TOLERANCE (0.9-1.1) is ``flagged``.

:func:`compare_with_gbm` fits a HistGradientBoostingClassifier on the raw predictors and reports
whether it beats the logistic model on held-out AUC *and* Brier score; only then would it be worth
offering. It is never saved (no pickle; skops is not a dependency).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.metrics import roc_auc_score

from explorer.domain import stats
from explorer.domain.risk._definition import DEFAULT_DEFINITION, RiskDefinition
from explorer.domain.risk._encoding import (
    DEFAULT_SEED, DEFAULT_VALIDATION_SHARE, OUTCOME, _codes, _numeric, age_band_codes,
)
from explorer.domain.risk._errors import RiskModelError
from explorer.domain.risk._model import RiskModel, fit_risk_model
from explorer.domain.risk._outreach import flag_high_risk, risk_threshold
from explorer.domain.risk._serialise import json_safe
from explorer.vocab import AGE_BANDS, ETHNIC_CODES, ETHNIC_GROUPS, ETHNIC_LABELS, FRAILTY, SEXES

Oracle = ArrayLike | Callable[[pd.DataFrame], ArrayLike]
"""True probabilities of the held-out people (aligned by position), or a function computing them
from the held-out frame (PEOPLE columns with imd_decile)."""

OE_TOLERANCE = (0.9, 1.1)
GROUP_DIMENSIONS = ("imd_quintile", "core20", "ethnic_group", "sex", "age_band")
DIMENSION_LABELS = {"imd_quintile": "IMD quintile", "core20": "Core20", "ethnic_group": "Ethnic group",
                    "sex": "Sex", "age_band": "Age band"}
PEOPLE_COLUMNS = ("person_id", "lsoa_code", "sex", "age", "ethnic_group", "ltc_count", "frailty",
                  "admissions_prev_12m", OUTCOME)

INTENDED_USE = ("Population health planning: estimating how many people in each area are at high risk of an "
                "emergency hospital admission in the next 12 months, and how many of them have no advance or "
                "urgent care plan, to target outreach and commission services.")
NOT_FOR = ("Individual clinical decisions. The score is not a diagnosis, must not decide anyone's care or "
           "access to services, and does not replace clinical judgement or a conversation with the person.")
LIMITS = (
    "Main effects only: no interactions; IMD decile and the count of long-term conditions (capped at 10) act "
    "linearly on the log odds.",
    "Deprivation is that of the person's LSOA (IMD 2025), not of the person.",
    "A person aged 65+ with no electronic frailty index category (not assessed) is treated as fit.",
    "Validated on a held-out share of the same population and period only, not externally; recalibrate "
    "before using it on another population or a later year.",
    "Ethnic group in 5 Census categories hides large differences within them.",
    "Death before admission (a competing risk) is not modelled.",
    "A group's observed/expected ratio outside 0.9-1.1 is flagged; in small groups the ratio is noisy, so "
    "read it with its confidence interval.",
    "Flagging the top N% by risk flags groups at different rates by design (their risk differs); the "
    "false-negative rate shows who the flag misses among those who were admitted.",
)



def _logistic_newton(z: np.ndarray, y: np.ndarray, offset: np.ndarray, iterations: int = 50) -> np.ndarray:
    beta = np.zeros(z.shape[1])
    for _ in range(iterations):
        mu = 1.0 / (1.0 + np.exp(-(offset + z @ beta)))
        w = mu * (1 - mu)
        step = np.linalg.solve((z * w[:, None]).T @ z, z.T @ (y - mu))
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    return beta


def calibration(y: ArrayLike, p: ArrayLike) -> dict[str, float]:
    """calibration_slope, calibration_intercept (slope fixed at 1) and the two-parameter fit."""
    yy = np.asarray(y, dtype=float)
    lp = np.log(np.clip(np.asarray(p, dtype=float), 1e-12, 1 - 1e-12))
    lp = lp - np.log(np.clip(1 - np.asarray(p, dtype=float), 1e-12, 1))
    both = _logistic_newton(np.column_stack([np.ones_like(lp), lp]), yy, np.zeros_like(lp))
    in_the_large = _logistic_newton(np.ones((len(lp), 1)), yy, lp)
    return {"calibration_slope": float(both[1]), "calibration_intercept": float(in_the_large[0]),
            "recalibration": {"intercept": float(both[0]), "slope": float(both[1])}}


def _oe_row(mask: np.ndarray, y: np.ndarray, p: np.ndarray, flags: np.ndarray) -> dict:
    n = int(mask.sum())
    observed = int(y[mask].sum())
    expected = float(p[mask].sum())
    ratio, lower, upper = (float(v) for v in stats.indirect_standardised_ratio(observed, expected))
    admitted = mask & y
    flagged_share = float(flags[mask].mean()) if n else float("nan")
    missed = float(1 - flags[admitted].sum() / admitted.sum()) if admitted.any() else float("nan")
    return {"n": n, "observed": observed, "expected": expected, "observed_expected": ratio,
            "observed_expected_lower": lower, "observed_expected_upper": upper,
            "flag_rate": flagged_share, "false_negative_rate": missed,
            "flagged": bool(np.isfinite(ratio) and not OE_TOLERANCE[0] <= ratio <= OE_TOLERANCE[1])}


def _group_labels(frame: pd.DataFrame) -> dict[str, tuple[np.ndarray, list[tuple[int | str, str]]]]:
    """Per dimension: each person's group and the groups in display order with labels."""
    decile = frame["imd_decile"].to_numpy(np.int64)
    quintile = frame["imd_quintile"].to_numpy(np.int64) if "imd_quintile" in frame else (decile + 1) // 2
    core20 = frame["core20"].to_numpy(bool) if "core20" in frame else decile <= 2
    quintile_labels = {1: "Q1 (most deprived)", 5: "Q5 (least deprived)"}
    return {
        "imd_quintile": (quintile, [(q, quintile_labels.get(q, f"Q{q}")) for q in range(1, 6)]),
        "core20": (np.where(core20, "core20", "rest"), [("core20", "Core20 (most deprived 20%)"), ("rest", "Rest")]),
        "ethnic_group": (frame["ethnic_group"].to_numpy(dtype=object),
                         [(g, ETHNIC_LABELS[g]) for g in ETHNIC_GROUPS]),
        "sex": (frame["sex"].to_numpy(dtype=object), [(s, s.capitalize()) for s in SEXES]),
        "age_band": (np.asarray(AGE_BANDS, dtype=object)[age_band_codes(frame["age"].to_numpy())],
                     [(b, b) for b in AGE_BANDS]),
    }


def _deciles(y: np.ndarray, p: np.ndarray) -> list[dict]:
    order = np.argsort(p, kind="stable")
    decile = np.empty(len(p), dtype=np.int64)
    decile[order] = np.arange(len(p)) * 10 // max(len(p), 1) + 1
    rows = []
    for d in range(1, 11):
        mask = decile == d
        n = int(mask.sum())
        observed = int(y[mask].sum())
        expected = float(p[mask].sum())
        lower, upper = stats.wilson_interval(observed, n)
        ratio = stats.indirect_standardised_ratio(observed, expected)
        rows.append({"decile": d, "n": n, "observed": observed, "expected": expected,
                     "mean_predicted": expected / n if n else float("nan"),
                     "observed_rate": observed / n if n else float("nan"),
                     "observed_rate_lower": float(lower), "observed_rate_upper": float(upper),
                     "min_predicted": float(p[mask].min()) if n else float("nan"),
                     "max_predicted": float(p[mask].max()) if n else float("nan"),
                     "observed_expected": float(ratio[0])})
    return rows


def model_card(synthetic: bool, data_description: str | None = None) -> dict:
    data = data_description or (
        "SYNTHETIC: simulated people, with admissions drawn from a known logistic model. "
        "The figures describe the simulation, not real patients."
        if synthetic else "Person-level extract imported into the explorer (see the records' provenance).")
    return {"intended_use": INTENDED_USE, "not_for": NOT_FOR, "data": data, "synthetic": bool(synthetic),
            "limits": list(LIMITS)}


def report_dict(model: RiskModel, validation: pd.DataFrame, *, definition: RiskDefinition = DEFAULT_DEFINITION,
                synthetic: bool = False, comparison: Mapping | None = None, outcome: str = OUTCOME,
                data_description: str | None = None, risk_scores: np.ndarray | None = None,
                oracle: Oracle | None = None) -> dict:
    """Evaluate `model` on held-out people (`validation`: PEOPLE columns, imd_decile and the outcome;
    imd_quintile and core20 are derived from the decile when absent). JSON-ready dict.

    `oracle`: the true probabilities of these people, or a function computing them from the held-out
    frame (with an age_band column added), when they are known (synthetic data); the report then
    has oracle_auc, the AUC of the truth on the same people. `synthetic` only says, on the card,
    that the data are simulated.

    Keys: auc, oracle_auc (when `oracle` is given), brier, calibration_slope, calibration_intercept,
    recalibration, prevalence, threshold (the probability cut of `definition` on these people),
    risk_definition, flag_rate, false_negative_rate, deciles, groups (list; per group
    observed_expected with CI, flag_rate, false_negative_rate, n, flagged), flagged_groups,
    odds_ratios, intercept, age_curve, model, comparison, card."""
    if len(validation) == 0:
        raise RiskModelError("no held-out people to evaluate the model on")
    y = validation[outcome].to_numpy(dtype=bool)
    p = model.predict(validation) if risk_scores is None else np.asarray(risk_scores, dtype=float)
    scores32 = p.astype(np.float32)  # as stored in risk_scores: flags match the stored table
    ties = validation["person_id"].to_numpy() if "person_id" in validation else None
    flags = flag_high_risk(scores32, definition, tie_break=ties)
    report: dict[str, object] = {
        "auc": float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else float("nan"),
    }
    if oracle is not None:
        if callable(oracle):
            bands = np.asarray(AGE_BANDS, dtype=object)[age_band_codes(validation["age"].to_numpy())]
            oracle = oracle(validation.assign(age_band=bands))
        report["oracle_auc"] = float(roc_auc_score(y, np.asarray(oracle, dtype=float)))
    report["brier"] = float(np.mean((p - y) ** 2))
    report["prevalence"] = float(y.mean())
    report["mean_predicted"] = float(p.mean())
    report.update(calibration(y, p))
    overall = _oe_row(np.ones(len(y), dtype=bool), y, p, flags)
    report["threshold"] = risk_threshold(scores32, definition)
    report["risk_definition"] = {**definition.as_dict(), "description": definition.describe()}
    report["flag_rate"] = overall["flag_rate"]
    report["false_negative_rate"] = overall["false_negative_rate"]
    report["positive_predictive_value"] = float(y[flags].mean()) if flags.any() else float("nan")
    report["observed_expected"] = overall["observed_expected"]
    report["oe_tolerance"] = list(OE_TOLERANCE)
    report["deciles"] = _deciles(y, p)
    groups = []
    for dimension, (values, order) in _group_labels(validation).items():
        for group, label in order:
            groups.append({"dimension": dimension, "group": str(group), "label": label,
                           **_oe_row(values == group, y, p, flags)})
    report["groups"] = groups
    report["flagged_groups"] = [f"{DIMENSION_LABELS[g['dimension']]}: {g['label']}" for g in groups if g["flagged"]]
    report["odds_ratios"] = model.odds_ratios().to_dict(orient="records")
    report["intercept"] = model.intercept
    report["age_curve"] = model.age_curve().to_dict(orient="records")
    report["model"] = {"type": "logistic_regression", "age_encoding": model.age, "features": model.features,
                       "penalty": ("none" if not np.isfinite(model.estimator.C) else f"L2, C={model.estimator.C:g}"),
                       "solver": model.estimator.solver, "training_rows": model.training.get("rows"),
                       "training_events": model.training.get("events"), "validation_rows": int(len(y)),
                       "validation_events": int(y.sum()), "training_data_sha256": model.training_data_sha256,
                       "created_at": model.created_at, "library_versions": model.library_versions}
    report["comparison"] = dict(comparison) if comparison else None
    report["card"] = model_card(synthetic, data_description)
    return json_safe(report)


def gbm_features(frame: pd.DataFrame) -> np.ndarray:
    """Raw predictors for the gradient-boosting comparison: age, male, imd_decile, ethnic group
    (categorical), ltc_count (uncapped), frailty (categorical), admissions_prev_12m (uncapped)."""
    return np.column_stack([
        _numeric(frame, "age", 0, 130),
        _codes(frame, "sex", SEXES),
        _numeric(frame, "imd_decile", 1, 10),
        _codes(frame, "ethnic_group", ETHNIC_CODES),
        _numeric(frame, "ltc_count", 0),
        _codes(frame, "frailty", FRAILTY),
        _numeric(frame, "admissions_prev_12m", 0),
    ]).astype(np.float32)


def compare_with_gbm(model: RiskModel, frame: pd.DataFrame, validation: np.ndarray, *, outcome: str = OUTCOME,
                     max_train_rows: int = 1_000_000, seed: int = DEFAULT_SEED, max_iter: int = 300,
                     logistic_risk: np.ndarray | None = None) -> dict:
    """Fit a HistGradientBoostingClassifier on (up to max_train_rows of) the training people and compare
    it with the logistic model on the held-out people. ``offered`` is True only if it has both a higher
    AUC and a lower Brier score."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    train_idx = np.flatnonzero(~validation)
    if len(train_idx) > max_train_rows:
        train_idx = np.sort(np.random.default_rng(seed).choice(train_idx, max_train_rows, replace=False))
    valid = frame[validation]
    y_valid = valid[outcome].to_numpy(dtype=bool)
    started = time.perf_counter()
    gbm = HistGradientBoostingClassifier(max_iter=max_iter, learning_rate=0.1, max_leaf_nodes=31,
                                         categorical_features=[1, 3, 5], early_stopping=True,
                                         validation_fraction=0.1, n_iter_no_change=10, random_state=seed)
    train = frame.iloc[train_idx]
    gbm.fit(gbm_features(train), train[outcome].to_numpy(dtype=bool))
    p_gbm = gbm.predict_proba(gbm_features(valid))[:, 1]
    seconds = time.perf_counter() - started
    p_lr = model.predict(valid) if logistic_risk is None else logistic_risk
    lr = {"auc": float(roc_auc_score(y_valid, p_lr)), "brier": float(np.mean((p_lr - y_valid) ** 2))}
    hgb = {"auc": float(roc_auc_score(y_valid, p_gbm)), "brier": float(np.mean((p_gbm - y_valid) ** 2)),
           "train_rows": int(len(train_idx)), "iterations": int(gbm.n_iter_), "seconds": round(seconds, 1)}
    offered = hgb["auc"] > lr["auc"] and hgb["brier"] < lr["brier"]
    return {"logistic": lr, "gbm": hgb, "auc_difference": hgb["auc"] - lr["auc"],
            "brier_difference": hgb["brier"] - lr["brier"], "offered": offered,
            "note": ("gradient boosting beats the logistic model on held-out AUC and Brier score; it is not saved "
                     "(no secure serialisation installed), so the logistic model stays the one in use"
                     if offered else "gradient boosting does not beat the logistic model on held-out AUC and "
                     "Brier score, so only the transparent logistic model is offered")}


@dataclass
class TrainingResult:
    """A fitted model, its evaluation report and which rows of the training frame were held out."""

    model: RiskModel
    report: dict
    validation: np.ndarray  # True for held-out rows of the training frame


def train_with_report(frame: pd.DataFrame, *, age: str = "bands", C: float | None = None,  # noqa: N803
                      seed: int = DEFAULT_SEED, validation_share: float = DEFAULT_VALIDATION_SHARE,
                      definition: RiskDefinition = DEFAULT_DEFINITION, synthetic: bool = False,
                      compare_gbm: bool = True, gbm_max_train_rows: int = 1_000_000,
                      provenance: Mapping | None = None, data_description: str | None = None,
                      oracle: Oracle | None = None) -> TrainingResult:
    """Fit, evaluate on the held-out people and keep the report in model.metrics.

    `oracle`: the true probabilities of the people of `frame` (aligned by position) or a function
    computing them (see report_dict), when known; the report then has oracle_auc."""
    model, validation = fit_risk_model(frame, age=age, C=C, seed=seed, validation_share=validation_share,
                                       provenance={"synthetic": bool(synthetic), **dict(provenance or {})})
    valid = frame[validation]
    p_valid = model.predict(valid)
    comparison = (compare_with_gbm(model, frame, validation, max_train_rows=gbm_max_train_rows, seed=seed,
                                   logistic_risk=p_valid) if compare_gbm else None)
    report = report_dict(model, valid, definition=definition, synthetic=synthetic, comparison=comparison,
                         data_description=data_description, risk_scores=p_valid,
                         oracle=oracle if oracle is None or callable(oracle) else np.asarray(oracle)[validation])
    model.metrics = report
    return TrainingResult(model=model, report=report, validation=validation)

