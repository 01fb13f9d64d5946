"""What BigQuery's two generalized linear model types share: their optimisation options, the rules
tying them together, and the storage of a fitted GLM (its inspection relations, its state, its
exact explanation). Each type's own module adds the rest."""

from __future__ import annotations

from typing import Any

import numpy as np

from ml.compile import explain as explain_sql
from ml.compile import info
from ml.compile.evaluation import Classes
from ml.compile.layers import Scoring
from ml.errors import MLError
from ml.model_types.option import BOOL_FALSE, BOOL_TRUE, Constraint, enum
from ml.model_types.options import COMMON_OPTIONS, ITERATION_OPTIONS, SUPERVISED_OPTIONS
from ml.model_types.training_data import TrainingData
from ml.preprocessing.automatic import Preprocessor

GLM_OPTIONS: dict[str, Constraint] = {
    **COMMON_OPTIONS,
    **SUPERVISED_OPTIONS,
    **ITERATION_OPTIONS,
    "optimize_strategy": enum("AUTO_STRATEGY", "AUTO_STRATEGY", "BATCH_GRADIENT_DESCENT", "NORMAL_EQUATION"),
    "l1_reg": Constraint("float", 0.0, low=0.0),
    "l2_reg": Constraint("float", 0.0, low=0.0),
    "learn_rate_strategy": enum("LINE_SEARCH", "LINE_SEARCH", "CONSTANT"),
    "learn_rate": Constraint("float", None, low=0.0, open_low=True),
    "ls_init_learn_rate": Constraint("float", None, low=0.0, open_low=True),
    "fit_intercept": BOOL_TRUE,
    "warm_start": BOOL_FALSE,
}

# Accepted for compatibility: calculate_p_values feeds BigQuery-only ML.ADVANCED_WEIGHTS.
GLM_ENGINE_OPTIONS: dict[str, Constraint] = {
    "category_encoding_method": enum("ONE_HOT_ENCODING", "ONE_HOT_ENCODING", "DUMMY_ENCODING"),
    "calculate_p_values": BOOL_FALSE,
    "enable_global_explain": BOOL_FALSE,
}

# The ML.* functions both answer (a classifier adds its own).
GLM_FUNCTIONS = frozenset(
    {
        "predict",
        "evaluate",
        "training_info",
        "feature_info",
        "weights",
        "explain_predict",
        "global_explain",
        "trial_info",
    }
)


def check_learn_rates(options: dict[str, Any], raw: dict[str, Any]) -> None:
    constant = options["learn_rate_strategy"] == "CONSTANT"
    if "learn_rate" in raw and not constant:
        raise MLError("Option learn_rate can only be set when learn_rate_strategy is 'CONSTANT'")
    if "ls_init_learn_rate" in raw and constant:
        raise MLError("Option ls_init_learn_rate can only be set when learn_rate_strategy is 'LINE_SEARCH'")


def preprocessor(data: TrainingData) -> Preprocessor:
    """The automatic preprocessing of a GLM: standardized numerics, one-hot (or dummy) categories."""
    dummy = data.options["category_encoding_method"] == "DUMMY_ENCODING"
    return Preprocessor(data.features, standardize=True, dummy_encoding=dummy)


def fixed_templates(pre: Preprocessor, model: Any, class_labels: list[str] | None) -> dict[str, str]:
    """ML.TRAINING_INFO, ML.FEATURE_INFO and ML.WEIGHTS (both scales) of a fitted GLM."""
    return {
        "training_info": info.training_info(model.history_),
        "feature_info": info.feature_info(pre),
        "weights": info.weights(pre, model.coef_, model.intercept_, False, class_labels),
        "weights_standardized": info.weights(pre, model.coef_, model.intercept_, True, class_labels),
    }


def explanation(pre: Preprocessor, scoring: Scoring, classes: Classes | None, model: Any) -> dict[str, str]:
    """ML.EXPLAIN_PREDICT: exact linear attributions."""
    return {"explain_predict": explain_sql.glm_explain(pre, scoring, classes, model.coef_, model.intercept_)}


def state(data: TrainingData, pre: Preprocessor, model: Any) -> dict[str, Any]:
    return {
        "features": [vars(f) for f in pre.features],
        "coef": np.asarray(model.coef_).tolist(),
        "intercept": np.asarray(model.intercept_).tolist(),
        "strategy": model.strategy_,
        "transform": data.transform_items,
        "transform_statistics": data.transform.statistics if data.transform else None,
    }
