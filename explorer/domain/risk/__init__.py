"""Who is at risk of an emergency admission in the next 12 months, and who of them has no plan.

A transparent logistic regression (a scikit-learn Pipeline: :class:`RiskEncoder` then an
unpenalised ``LogisticRegression``) on the person-level PEOPLE layout of
the records schema, joined to the IMD 2025 decile of the person's LSOA:

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
``truth.design_matrix``, so fitted odds ratios can be checked against the truth.
"Not assessed" frailty shares the reference with "fit": in the demo everyone under 65 is not
assessed, so a separate level would duplicate the age bands; a person of 65+ without an eFI score
is treated as fit (a limit stated on the model card).

Fitting is unpenalised by default (``C=None``; sklearn's ``C=inf``) with the 'newton-cholesky'
solver, so odds ratios are maximum-likelihood estimates and 95% CIs come from the inverse Fisher
information (X'WX)^-1, computed in float64. The design is a dense float32 matrix of about 20
columns (80 bytes a person), so 1 million people fit in a few seconds.

The fitted model is a JSON document (:func:`model_to_json`), never a pickle: reading rebuilds the
estimator from the coefficients (:func:`model_from_json`), so a model from an untrusted place can't
run code, and one with unexpected fields, another format version or another encoding is refused
with a message.

From risk to outreach: :class:`RiskDefinition` says what "high risk" means, :func:`flag_high_risk`
applies it over the whole population of a region, :func:`score_people` scores people chunk by
chunk into (person_id, risk) frames (each batch by :func:`score_frame`, which the aggregation
engines also call, through a picklable :class:`Scorer` built from the model JSON) and
:func:`outreach_by_area` counts high-risk people with and without a plan per area. :func:`report_dict` evaluates a model on held-out people for the model
card; :func:`render_card` and :func:`headline` turn the report into text.

Pure: no files, no Dash, no figures, no database. Reading and writing model files and the
risk_scores table is in :mod:`explorer.services.models`, the card's figures are in the figures
layer (``model_card``) and simulated people beside the synthetic generators (``simulated``); the
true probabilities for the oracle AUC are passed in by the caller.

Modules: ``_encoding`` (features, split), ``_model`` (fitting, :class:`RiskModel`), ``_serialise``
(JSON), ``_definition``, ``_outreach``, ``_card`` (evaluation, GBM comparison), ``_render`` (text).

Submodules are imported when a name is first used (PEP 562): RiskDefinition, which the metrics
engine needs, is light, while fitting and evaluation import scikit-learn (with scipy.stats, about
two seconds), which a query such as `explorer summary` never needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from explorer.domain.risk._definition import DEFAULT_DEFINITION, RiskDefinition
from explorer.domain.risk._errors import RiskModelError
from explorer.lazy import lazy_exports

#: public name -> the submodule that defines it
_EXPORTS = {
    "DIMENSION_LABELS": "_card",
    "GROUP_DIMENSIONS": "_card",
    "OE_TOLERANCE": "_card",
    "PEOPLE_COLUMNS": "_card",
    "Oracle": "_card",
    "TrainingResult": "_card",
    "calibration": "_card",
    "compare_with_gbm": "_card",
    "gbm_features": "_card",
    "model_card": "_card",
    "report_dict": "_card",
    "train_with_report": "_card",
    "AGE_ENCODINGS": "_encoding",
    "DEFAULT_SEED": "_encoding",
    "DEFAULT_VALIDATION_SHARE": "_encoding",
    "MODEL_COLUMNS": "_encoding",
    "OUTCOME": "_encoding",
    "RiskEncoder": "_encoding",
    "age_band_codes": "_encoding",
    "encode": "_encoding",
    "encoding_spec": "_encoding",
    "feature_names": "_encoding",
    "join_deprivation": "_encoding",
    "person_uniform": "_encoding",
    "split_by_person": "_encoding",
    "DesignFit": "_model",
    "RiskModel": "_model",
    "build_pipeline": "_model",
    "fit_on_design": "_model",
    "fit_risk_model": "_model",
    "Scorer": "_outreach",
    "combine_outreach": "_outreach",
    "flag_high_risk": "_outreach",
    "outreach_by_area": "_outreach",
    "risk_threshold": "_outreach",
    "score_frame": "_outreach",
    "score_people": "_outreach",
    "headline": "_render",
    "render_card": "_render",
    "render_html": "_render",
    "render_markdown": "_render",
    "FORMAT": "_serialise",
    "FORMAT_VERSION": "_serialise",
    "MAX_MODEL_FILE_BYTES": "_serialise",
    "json_safe": "_serialise",
    "model_from_dict": "_serialise",
    "model_from_json": "_serialise",
    "model_to_dict": "_serialise",
    "model_to_json": "_serialise",
}

if TYPE_CHECKING:  # the names for type checkers and readers; at run time they load on first use
    from explorer.domain.risk._card import (
        DIMENSION_LABELS,
        GROUP_DIMENSIONS,
        OE_TOLERANCE,
        PEOPLE_COLUMNS,
        Oracle,
        TrainingResult,
        calibration,
        compare_with_gbm,
        gbm_features,
        model_card,
        report_dict,
        train_with_report,
    )
    from explorer.domain.risk._encoding import (
        AGE_ENCODINGS,
        DEFAULT_SEED,
        DEFAULT_VALIDATION_SHARE,
        MODEL_COLUMNS,
        OUTCOME,
        RiskEncoder,
        age_band_codes,
        encode,
        encoding_spec,
        feature_names,
        join_deprivation,
        person_uniform,
        split_by_person,
    )
    from explorer.domain.risk._model import (
        DesignFit,
        RiskModel,
        build_pipeline,
        fit_on_design,
        fit_risk_model,
    )
    from explorer.domain.risk._outreach import (
        Scorer,
        combine_outreach,
        flag_high_risk,
        outreach_by_area,
        risk_threshold,
        score_frame,
        score_people,
    )
    from explorer.domain.risk._render import (
        headline,
        render_card,
        render_html,
        render_markdown,
    )
    from explorer.domain.risk._serialise import (
        FORMAT,
        FORMAT_VERSION,
        MAX_MODEL_FILE_BYTES,
        json_safe,
        model_from_dict,
        model_from_json,
        model_to_dict,
        model_to_json,
    )


__getattr__ = lazy_exports(__name__, _EXPORTS)


__all__ = [
    "AGE_ENCODINGS", "DEFAULT_DEFINITION", "DEFAULT_SEED", "DEFAULT_VALIDATION_SHARE", "DIMENSION_LABELS", "FORMAT",
    "FORMAT_VERSION", "GROUP_DIMENSIONS", "MAX_MODEL_FILE_BYTES", "MODEL_COLUMNS", "OE_TOLERANCE", "OUTCOME",
    "PEOPLE_COLUMNS",
    "DesignFit", "Oracle", "RiskDefinition", "RiskEncoder", "RiskModel", "RiskModelError", "Scorer",
    "TrainingResult",
    "age_band_codes", "build_pipeline", "calibration", "combine_outreach", "compare_with_gbm", "encode",
    "encoding_spec", "feature_names", "fit_on_design", "fit_risk_model", "flag_high_risk", "gbm_features",
    "headline", "join_deprivation", "json_safe", "model_card", "model_from_dict", "model_from_json",
    "model_to_dict", "model_to_json", "outreach_by_area", "person_uniform", "render_card", "render_html",
    "render_markdown", "report_dict", "risk_threshold", "score_frame", "score_people",
    "split_by_person", "train_with_report",
]
