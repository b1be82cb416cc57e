"""Evaluation and model card of the emergency-admission risk model (explorer.domain.risk).

:func:`report_dict` evaluates a fitted model on held-out people: ROC AUC (and, on synthetic data,
the AUC of the TRUE probabilities of explorer.synth.truth on the same people - the best any model
could do), Brier score, calibration slope and intercept, observed/expected admissions by risk
decile and by IMD quintile, Core20, ethnic group, sex and age band, with the flag rate and
false-negative rate at the chosen high-risk threshold, and odds ratios with 95% CIs.

Calibration (Van Calster et al., J Clin Epidemiol 2016; Steyerberg, Clinical Prediction Models):
``calibration_slope`` is b in logit P(admitted) = a + b logit(p) fitted on held-out people;
``calibration_intercept`` is a with b fixed at 1 (logit(p) as offset: "calibration in the large",
0 when the average risk is right); ``recalibration`` holds both coefficients of the two-parameter fit.
A group whose observed/expected ratio lies outside OE_TOLERANCE (0.9-1.1) is ``flagged``.

:func:`compare_with_gbm` fits a HistGradientBoostingClassifier on the raw predictors and reports
whether it beats the logistic model on held-out AUC *and* Brier score; only then would it be worth
offering. It is never saved (no pickle; skops is not a dependency).

Rendering (:func:`render_report`): json, md and self-contained html (plotly.js inlined, no CDN);
:func:`calibration_figure` and :func:`groups_figure` are pure functions of the report dict.
:func:`train_region` / :func:`region_report` are what `explorer model train|report` call.
"""

from __future__ import annotations

import hashlib
import html
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from sklearn.metrics import roc_auc_score

from explorer.domain import risk, stats
from explorer.domain.risk import DEFAULT_DEFINITION, OUTCOME, RiskDefinition, RiskModel, RiskModelError
from explorer.records.schema import AGE_BANDS, ETHNIC_GROUPS, ETHNIC_LABELS, FRAILTY, SEXES

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


# ============================================================================ evaluation


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


def calibration(y: Any, p: Any) -> dict[str, float]:
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


def _group_labels(frame: pd.DataFrame) -> dict[str, tuple[np.ndarray, list[tuple[Any, str]]]]:
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
        "age_band": (np.asarray(AGE_BANDS, dtype=object)[risk.age_band_codes(frame["age"].to_numpy())],
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
        "SYNTHETIC: people simulated by explorer.synth, with admissions drawn from a known logistic model "
        "(explorer.synth.truth). The figures describe the simulation, not real patients."
        if synthetic else "Person-level extract imported into the explorer (see the records' provenance).")
    return {"intended_use": INTENDED_USE, "not_for": NOT_FOR, "data": data, "synthetic": bool(synthetic),
            "limits": list(LIMITS)}


def report_dict(model: RiskModel, validation: pd.DataFrame, *, definition: RiskDefinition = DEFAULT_DEFINITION,
                synthetic: bool = False, comparison: Mapping | None = None, outcome: str = OUTCOME,
                data_description: str | None = None, risk_scores: np.ndarray | None = None) -> dict:
    """Evaluate `model` on held-out people (`validation`: PEOPLE columns, imd_decile and the outcome;
    imd_quintile and core20 are derived from the decile when absent). JSON-ready dict.

    Keys: auc, oracle_auc (synthetic data only), brier, calibration_slope, calibration_intercept,
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
    flags = risk.flag_high_risk(scores32, definition, tie_break=ties)
    report: dict[str, Any] = {
        "auc": float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else float("nan"),
    }
    if synthetic:
        from explorer.synth import truth

        bands = np.asarray(AGE_BANDS, dtype=object)[risk.age_band_codes(validation["age"].to_numpy())]
        oracle = truth.true_probability(validation.assign(age_band=bands), validation["imd_decile"])
        report["oracle_auc"] = float(roc_auc_score(y, oracle))
    report["brier"] = float(np.mean((p - y) ** 2))
    report["prevalence"] = float(y.mean())
    report["mean_predicted"] = float(p.mean())
    report.update(calibration(y, p))
    overall = _oe_row(np.ones(len(y), dtype=bool), y, p, flags)
    report["threshold"] = risk.risk_threshold(scores32, definition)
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
    return risk.json_safe(report)


# ============================================================================ gradient boosting


def gbm_features(frame: pd.DataFrame) -> np.ndarray:
    """Raw predictors for the gradient-boosting comparison: age, male, imd_decile, ethnic group
    (categorical), ltc_count (uncapped), frailty (categorical), admissions_prev_12m (uncapped)."""
    return np.column_stack([
        risk._numeric(frame, "age", 0, 130),
        risk._codes(frame, "sex", SEXES),
        risk._numeric(frame, "imd_decile", 1, 10),
        risk._codes(frame, "ethnic_group", ETHNIC_GROUPS),
        risk._numeric(frame, "ltc_count", 0),
        risk._codes(frame, "frailty", FRAILTY),
        risk._numeric(frame, "admissions_prev_12m", 0),
    ]).astype(np.float32)


def compare_with_gbm(model: RiskModel, frame: pd.DataFrame, validation: np.ndarray, *, outcome: str = OUTCOME,
                     max_train_rows: int = 1_000_000, seed: int = risk.DEFAULT_SEED, max_iter: int = 300,
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


# ============================================================================ training


@dataclass
class TrainingResult:
    model: RiskModel
    report: dict
    validation: np.ndarray  # True for held-out rows of the training frame


def train_with_report(frame: pd.DataFrame, *, age: str = "bands", C: float | None = None,  # noqa: N803
                      seed: int = risk.DEFAULT_SEED, validation_share: float = risk.DEFAULT_VALIDATION_SHARE,
                      definition: RiskDefinition = DEFAULT_DEFINITION, synthetic: bool = False,
                      compare_gbm: bool = True, gbm_max_train_rows: int = 1_000_000,
                      provenance: Mapping | None = None, data_description: str | None = None) -> TrainingResult:
    """Fit, evaluate on the held-out people and keep the report in model.metrics."""
    model, validation = risk.fit_risk_model(frame, age=age, C=C, seed=seed, validation_share=validation_share,
                                            provenance={"synthetic": bool(synthetic), **dict(provenance or {})})
    valid = frame[validation]
    p_valid = model.predict(valid)
    comparison = (compare_with_gbm(model, frame, validation, max_train_rows=gbm_max_train_rows, seed=seed,
                                   logistic_risk=p_valid) if compare_gbm else None)
    report = report_dict(model, valid, definition=definition, synthetic=synthetic, comparison=comparison,
                         data_description=data_description, risk_scores=p_valid)
    model.metrics = report
    return TrainingResult(model, report, validation)


def _files_sha256(paths: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


MAX_TRAINING_PEOPLE = 10_000_000  # London (8.8M) is used whole; England (57M) is sampled to about 10M


def train_region(settings: Any, region: str, *, age: str = "bands", seed: int = risk.DEFAULT_SEED,
                 definition: RiskDefinition = DEFAULT_DEFINITION, compare_gbm: bool = True,
                 max_people: int = MAX_TRAINING_PEOPLE) -> dict:
    """`explorer model train`: read the region's people, train, write the model JSON and risk_scores.

    People are read part file by part file (the store's table_glob). When the region has more than
    `max_people`, a seeded sample by person (person_uniform with seed + 1, independent of the
    train/validation split) is used for training and evaluation, so England fits in memory; everyone
    is scored, part by part."""
    import pyarrow.parquet as pq

    from explorer.bundle.store import load_bundle
    from explorer.records.imports import is_real_table
    from explorer.records.store import read_manifest, records_dir, table_glob

    started = time.perf_counter()
    directory = records_dir(settings, region)
    parts = sorted(Path(table_glob(directory, "people")).parent.glob("part-*.parquet"))
    if is_real_table(directory, "people"):
        synthetic = False
    else:
        synthetic = bool(read_manifest(directory).get("synthetic", False))
    lsoas = load_bundle(settings, region).lsoas[["lsoa_code", "imd_decile", "imd_quintile", "core20"]]
    total = sum(pq.ParquetFile(p).metadata.num_rows for p in parts)
    share = min(1.0, max_people / total) if total else 1.0

    def read(path: Path, columns: Sequence[str]) -> pd.DataFrame:
        return pq.read_table(path, columns=list(columns)).to_pandas()

    samples = []
    for path in parts:
        chunk = read(path, PEOPLE_COLUMNS)
        if share < 1:
            chunk = chunk[risk.person_uniform(chunk["person_id"], seed + 1) < share]
        samples.append(chunk)
    people = pd.concat(samples, ignore_index=True) if samples else pd.DataFrame(columns=list(PEOPLE_COLUMNS))
    del samples
    frame = risk.join_deprivation(people, lsoas)
    del people
    provenance = {"region": region, "people_rows": int(total), "training_sample_share": share,
                  "people_parquet_sha256": _files_sha256(parts)}
    result = train_with_report(frame, age=age, seed=seed, definition=definition, synthetic=synthetic,
                               compare_gbm=compare_gbm, provenance=provenance)
    model = result.model
    del frame
    trained_at = time.perf_counter()
    lookup = lsoas.set_index("lsoa_code")["imd_decile"]
    score_columns = [c for c in PEOPLE_COLUMNS if c != OUTCOME]
    scored = risk.write_risk_scores(
        directory, risk.score_people(model, (read(p, score_columns) for p in parts), lookup),
        metadata={"training_data_sha256": model.training_data_sha256, "created_at": model.created_at,
                  "model_file": str(risk.model_path(settings, region))})
    path = risk.save_model(model, risk.model_path(settings, region))
    done = time.perf_counter()
    return {"model_path": str(path), "risk_scores": str(directory / risk.RISK_TABLE), "scored": scored,
            "training_rows": model.training["rows"], "validation_rows": model.training["validation_rows"],
            "train_seconds": round(trained_at - started, 1), "score_seconds": round(done - trained_at, 1),
            "report": result.report, "synthetic": synthetic}


def region_report(settings: Any, region: str) -> dict:
    """The report stored with the region's model (`explorer model report`)."""
    model = risk.load_model(risk.model_path(settings, region))
    if not model.metrics.get("groups"):
        raise RiskModelError(f"the model at {risk.model_path(settings, region)} holds no evaluation report; "
                             "retrain with `explorer model train`")
    return model.metrics


def headline(report: Mapping) -> str:
    """A few lines for the terminal."""
    lines = []
    if report.get("card", {}).get("synthetic"):
        lines.append("SYNTHETIC DATA: trained and evaluated on simulated people")
    auc = f"AUC {report['auc']:.3f}"
    if report.get("oracle_auc") is not None:
        auc += f" (true model on the same people: {report['oracle_auc']:.3f})"
    lines.append(f"{auc}; Brier {report['brier']:.4f}; calibration slope {report['calibration_slope']:.3f}, "
                 f"intercept {report['calibration_intercept']:+.3f}")
    lines.append(f"high risk = {report['risk_definition']['description']}: risk >= {report['threshold']:.3f}, "
                 f"{report['flag_rate']:.1%} flagged, false-negative rate {report['false_negative_rate']:.1%}")
    worst = max(report["groups"], key=lambda g: abs(np.log(g["observed_expected"] or 1.0)))
    furthest = f"{DIMENSION_LABELS[worst['dimension']]} {worst['label']} {worst['observed_expected']:.3f}"
    lines.append(f"groups outside O/E {OE_TOLERANCE[0]}-{OE_TOLERANCE[1]}: "
                 + (", ".join(report["flagged_groups"]) or "none") + f" (furthest: {furthest})")
    comparison = report.get("comparison")
    if comparison:
        lines.append(f"gradient boosting: AUC {comparison['gbm']['auc']:.3f}, Brier {comparison['gbm']['brier']:.4f}"
                     f" -> {'offered' if comparison['offered'] else 'not offered'}")
    return "\n".join(lines)


# ============================================================================ figures and rendering


def calibration_figure(report: Mapping) -> go.Figure:
    """Observed against predicted admission rate by risk decile (Wilson 95% CIs), with the diagonal."""
    deciles = report["deciles"]
    x = [d["mean_predicted"] for d in deciles]
    y = [d["observed_rate"] for d in deciles]
    top = max([*x, *[d["observed_rate_upper"] for d in deciles], 0.01]) * 1.05
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, top], y=[0, top], mode="lines", name="Perfect calibration",
                             line={"color": "#4c6272", "dash": "dash", "width": 1}, hoverinfo="skip"))
    fig.add_trace(go.Scatter(
        x=x, y=y, mode="markers+lines", name="Risk decile", marker={"color": "#005eb8", "size": 8},
        line={"color": "#005eb8", "width": 1},
        error_y={"type": "data", "symmetric": False, "array": [d["observed_rate_upper"] - d["observed_rate"]
                                                                for d in deciles],
                 "arrayminus": [d["observed_rate"] - d["observed_rate_lower"] for d in deciles]},
        text=[f"decile {d['decile']}: {d['n']:,} people, {d['observed']:,} admitted, {d['expected']:,.0f} expected"
              for d in deciles], hovertemplate="%{text}<br>predicted %{x:.1%}, observed %{y:.1%}<extra></extra>"))
    slope, intercept = report.get("calibration_slope"), report.get("calibration_intercept")
    subtitle = (f"calibration slope {slope:.2f}, intercept {intercept:+.2f}" if slope is not None
                and intercept is not None else "")
    fig.update_layout(
        title={"text": f"Observed vs predicted emergency admission by risk decile<br><sub>{subtitle}</sub>"},
        xaxis={"title": "Predicted (mean risk in decile)", "tickformat": ".0%", "range": [0, top]},
        yaxis={"title": "Observed admission rate", "tickformat": ".0%", "range": [0, top]},
        plot_bgcolor="white", legend={"orientation": "h", "y": -0.2}, margin={"l": 60, "r": 20, "t": 70, "b": 60})
    fig.update_xaxes(gridcolor="#d8dde0")
    fig.update_yaxes(gridcolor="#d8dde0")
    return fig


def groups_figure(report: Mapping) -> go.Figure:
    """Observed/expected ratio per group with 95% CIs and the 0.9-1.1 tolerance band."""
    groups = report["groups"]
    labels = [f"{DIMENSION_LABELS[g['dimension']]}: {g['label']}" for g in groups]
    colours = ["#e69f00" if g["flagged"] else "#005eb8" for g in groups]
    fig = go.Figure(go.Scatter(
        x=[g["observed_expected"] for g in groups], y=labels, mode="markers", marker={"color": colours, "size": 8},
        error_x={"type": "data", "symmetric": False,
                 "array": [(g["observed_expected_upper"] or 0) - (g["observed_expected"] or 0) for g in groups],
                 "arrayminus": [(g["observed_expected"] or 0) - (g["observed_expected_lower"] or 0) for g in groups]},
        hovertemplate="%{y}: O/E %{x:.3f}<extra></extra>", name="O/E"))
    lo, hi = report.get("oe_tolerance", OE_TOLERANCE)
    fig.add_vrect(x0=lo, x1=hi, fillcolor="#d8dde0", opacity=0.4, line_width=0)
    fig.add_vline(x=1, line={"color": "#4c6272", "dash": "dash", "width": 1})
    fig.update_layout(title={"text": "Observed / expected admissions by group (held-out people)"},
                      xaxis={"title": "Observed / expected"}, yaxis={"autorange": "reversed"},
                      plot_bgcolor="white", height=max(400, 22 * len(groups) + 120), showlegend=False,
                      margin={"l": 230, "r": 20, "t": 60, "b": 50})
    return fig


def _fmt(value: Any, kind: str = "num") -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    if kind == "pct":
        return f"{value:.1%}"
    if kind == "int":
        return f"{value:,}"
    if kind == "ratio":
        return f"{value:.3f}"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _ci(row: Mapping, lower: str = "ci_lower", upper: str = "ci_upper") -> str:
    return f"{_fmt(row[lower], 'ratio')}-{_fmt(row[upper], 'ratio')}"


def _tables(report: Mapping) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of every table of the report, shared by markdown and html."""
    summary = [["ROC AUC (held-out)", _fmt(report["auc"], "ratio")]]
    if report.get("oracle_auc") is not None:
        summary.append(["ROC AUC of the true model on the same people (synthetic only)",
                        _fmt(report["oracle_auc"], "ratio")])
    summary += [
        ["Brier score", f"{report['brier']:.4f}"],
        ["Admission rate (observed / mean predicted)", f"{report['prevalence']:.2%} / {report['mean_predicted']:.2%}"],
        ["Calibration slope", _fmt(report["calibration_slope"], "ratio")],
        ["Calibration intercept (slope fixed at 1)", f"{report['calibration_intercept']:+.3f}"],
        ["High risk", report["risk_definition"]["description"]],
        ["Threshold (predicted risk)", _fmt(report["threshold"], "ratio")],
        ["Flag rate", _fmt(report["flag_rate"], "pct")],
        ["False-negative rate (admitted but not flagged)", _fmt(report["false_negative_rate"], "pct")],
        ["Positive predictive value (flagged who were admitted)", _fmt(report["positive_predictive_value"], "pct")],
        ["Groups outside O/E 0.9-1.1", ", ".join(report["flagged_groups"]) or "none"],
    ]
    model = report.get("model") or {}
    summary += [["Training / held-out people", f"{_fmt(model.get('training_rows'), 'int')} / "
                                               f"{_fmt(model.get('validation_rows'), 'int')}"],
                ["Model", f"logistic regression, age as {model.get('age_encoding')}, penalty {model.get('penalty')}"],
                ["Training data sha256", str(model.get("training_data_sha256", ""))[:16] + "..."],
                ["Created", str(model.get("created_at", ""))]]
    tables = [("Performance on held-out people", ["Measure", "Value"], summary)]
    tables.append(("Odds ratios (95% CI)", ["Feature", "Odds ratio", "95% CI"], [
        [o["label"], _fmt(o["odds_ratio"], "ratio"), _ci(o)] for o in report["odds_ratios"]]))
    if (report.get("model") or {}).get("age_encoding") == "spline":
        tables.append(("Age (odds ratio against age 55)", ["Age", "Odds ratio", "95% CI"], [
            [str(a["age"]), _fmt(a["odds_ratio"], "ratio"), _ci(a)] for a in report["age_curve"]]))
    header = ["Decile", "People", "Observed", "Expected", "Predicted", "Observed rate", "O/E"]
    tables.append(("Calibration by risk decile", header, [
        [str(d["decile"]), _fmt(d["n"], "int"), _fmt(d["observed"], "int"), f"{d['expected']:,.1f}",
         _fmt(d["mean_predicted"], "pct"), _fmt(d["observed_rate"], "pct"), _fmt(d["observed_expected"], "ratio")]
        for d in report["deciles"]]))
    header = ["Group", "People", "Observed", "Expected", "O/E (95% CI)", "Flag rate", "False-negative rate",
              "Outside 0.9-1.1"]
    tables.append(("Calibration and flagging by group", header, [
        [f"{DIMENSION_LABELS[g['dimension']]}: {g['label']}", _fmt(g["n"], "int"), _fmt(g["observed"], "int"),
         f"{g['expected']:,.1f}",
         f"{_fmt(g['observed_expected'], 'ratio')} ({_ci(g, 'observed_expected_lower', 'observed_expected_upper')})",
         _fmt(g["flag_rate"], "pct"), _fmt(g["false_negative_rate"], "pct"), "FLAG" if g["flagged"] else ""]
        for g in report["groups"]]))
    comparison = report.get("comparison")
    if comparison:
        tables.append(("Logistic regression vs gradient boosting (held-out)", ["Model", "AUC", "Brier"], [
            ["Logistic regression (in use)", _fmt(comparison["logistic"]["auc"], "ratio"),
             f"{comparison['logistic']['brier']:.4f}"],
            [f"HistGradientBoosting ({comparison['gbm']['train_rows']:,} training rows)",
             _fmt(comparison["gbm"]["auc"], "ratio"), f"{comparison['gbm']['brier']:.4f}"]]))
    return tables


def render_markdown(report: Mapping) -> str:
    card = report["card"]
    out = ["# Emergency admission risk model: model card", ""]
    if card.get("synthetic"):
        out += ["> **SYNTHETIC DATA.** Trained and evaluated on simulated people; not real patients.", ""]
    out += ["## Intended use", "", card["intended_use"], "", f"**Not for:** {card['not_for']}", "",
            "## Data", "", card["data"], "", "## Limits", "", *[f"- {limit}" for limit in card["limits"]], ""]
    for title, header, rows in _tables(report):
        out += [f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
        out.append("")
    if report.get("comparison"):
        out += [report["comparison"]["note"].capitalize() + ".", ""]
    return "\n".join(out)


def render_html(report: Mapping, figures: bool = True) -> str:
    """A self-contained page: plotly.js is inlined once (no CDN), or static tables only."""
    esc = html.escape
    card = report["card"]
    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
             "<title>Emergency admission risk model: model card</title><style>",
             "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#212b32;"
             "max-width:1100px;margin:2em auto;padding:0 1em}table{border-collapse:collapse;margin:1em 0}"
             "th,td{border:1px solid #d8dde0;padding:4px 8px;text-align:left}th{background:#f0f4f5}"
             ".synthetic{background:#fff3cd;border:2px solid #e69f00;padding:0.6em 1em;font-weight:bold}"
             ".flag{color:#b35c00;font-weight:bold}</style></head><body>",
             "<h1>Emergency admission risk model: model card</h1>"]
    if card.get("synthetic"):
        parts.append("<p class='synthetic'>SYNTHETIC DATA: trained and evaluated on simulated people; "
                     "not real patients.</p>")
    parts += [f"<h2>Intended use</h2><p>{esc(card['intended_use'])}</p>",
              f"<p><strong>Not for:</strong> {esc(card['not_for'])}</p>",
              f"<h2>Data</h2><p>{esc(card['data'])}</p><h2>Limits</h2><ul>",
              *[f"<li>{esc(limit)}</li>" for limit in card["limits"]], "</ul>"]
    if figures:
        parts.append(calibration_figure(report).to_html(full_html=False, include_plotlyjs=True))
        parts.append(groups_figure(report).to_html(full_html=False, include_plotlyjs=False))
    for title, header, rows in _tables(report):
        parts.append(f"<h2>{esc(title)}</h2><table><thead><tr>"
                     + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr></thead><tbody>")
        for row in rows:
            parts.append("<tr>" + "".join(f"<td class='flag'>{esc(c)}</td>" if c == "FLAG" else f"<td>{esc(c)}</td>"
                                          for c in row) + "</tr>")
        parts.append("</tbody></table>")
    if report.get("comparison"):
        parts.append(f"<p>{esc(report['comparison']['note'].capitalize())}.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def render_report(report: Mapping, fmt: str = "json") -> str:
    if fmt == "json":
        return json.dumps(risk.json_safe(report), indent=2, allow_nan=False)
    if fmt == "md":
        return render_markdown(report)
    if fmt == "html":
        return render_html(report)
    raise RiskModelError(f"report format must be json, md or html, got {fmt!r}")
