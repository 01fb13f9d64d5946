"""The model-type catalog: the one table of the model types the local engine trains, and the
options check every CREATE MODEL goes through. Everything else asks this table about a model type
instead of naming one; a new type is a module of its own added to FAMILIES (see
docs/adding-a-model-type.md).

The catalog also knows what BigQuery ML accepts beyond that (BIGQUERY_ONLY_TYPES,
BIGQUERY_ONLY_OPTIONS), so dbt accepts those on the BigQuery target and the engine names them as
BigQuery-only instead of as typos.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from ml.errors import MLError
from ml.model_types import (
    arima_plus,
    boosted_tree,
    dnn,
    kmeans,
    linear_reg,
    logistic_reg,
    pca,
    random_forest,
)
from ml.model_types.model_type import ModelType
from ml.model_types.option import check_spec, enum
from ml.sql.hparams import is_spec

# One module per model family, each listing its MODEL_TYPES.
FAMILIES: tuple[ModuleType, ...] = (
    linear_reg,
    logistic_reg,
    kmeans,
    boosted_tree,
    random_forest,
    dnn,
    pca,
    arima_plus,
)
MODEL_TYPES: dict[str, ModelType] = {t.name: t for family in FAMILIES for t in family.MODEL_TYPES}

# BigQuery ML model types the local engine does not train (yet): name -> whether it has a label.
BIGQUERY_ONLY_TYPES: dict[str, bool] = {
    "DNN_LINEAR_COMBINED_CLASSIFIER": True,
    "DNN_LINEAR_COMBINED_REGRESSOR": True,
    "AUTOML_CLASSIFIER": True,
    "AUTOML_REGRESSOR": True,
    "MATRIX_FACTORIZATION": False,
    "AUTOENCODER": False,
    "ARIMA_PLUS_XREG": False,
    "CONTRIBUTION_ANALYSIS": False,
    "TRANSFORM_ONLY": False,
    "TENSORFLOW": False,
    "TENSORFLOW_LITE": False,
    "ONNX": False,
    "XGBOOST": False,
}
# CREATE MODEL options of BigQuery ML that no local model type takes (those types' options, and
# a few BigQuery-side ones such as kms_key_name).
BIGQUERY_ONLY_OPTIONS: frozenset[str] = frozenset(
    {
        "kms_key_name",
        "instance_weight_col",
        "approx_global_feature_contrib",
        "budget_hours",
        "optimization_objective",
        "feedback_type",
        "num_factors",
        "user_col",
        "item_col",
        "rating_col",
        "wals_alpha",
        "hierarchical_time_series_cols",
        "contribution_metric",
        "dimension_id_cols",
        "is_test_col",
        "min_apriori_support",
        "top_k_insights_by_apriori_support",
        "pruning_method",
        "model_path",
        "endpoint",
        "remote_service_type",
    }
)
MODEL_TYPE_OPTION = enum(None, *MODEL_TYPES, *BIGQUERY_ONLY_TYPES)


def model_type(name: str) -> ModelType:
    """The model type called `name` (any case), or an error naming what is known."""
    upper = MODEL_TYPE_OPTION.check("model_type", name)
    if upper in BIGQUERY_ONLY_TYPES:
        raise MLError(
            f"model_type {upper} runs on the BigQuery target only: the local engine does not train it "
            f"(it trains {', '.join(MODEL_TYPES)})"
        )
    return MODEL_TYPES[upper]


def validate_options(raw: dict[str, Any]) -> dict[str, Any]:
    """Check names, types and ranges, fill BigQuery's defaults, and apply the model type's rules
    that tie options together."""
    if "model_type" not in raw:
        raise MLError("Missing required option: model_type")
    kind = model_type(raw["model_type"])
    for name in raw:
        if name not in kind.options:
            raise MLError(unknown_option_message(name, kind.name))
    options = {
        name: (check_spec(c, name, raw[name]) if is_spec(raw[name]) else c.check(name, raw[name]))
        if name in raw
        else c.default
        for name, c in kind.options.items()
    }
    options["model_type"] = kind.name
    kind.check(options, raw)
    return options


# What an option a model type does not take is told; dbt says the same (the generated contract).
UNKNOWN_OPTION = "Unknown option: {name} (model_type {model_type})"
BIGQUERY_ONLY_OPTION = (
    "Option {name} is not supported by the local engine (model_type {model_type}); "
    "it runs on the BigQuery target only"
)


def unknown_option_message(name: str, model_type_name: str) -> str:
    message = BIGQUERY_ONLY_OPTION if name in BIGQUERY_ONLY_OPTIONS else UNKNOWN_OPTION
    return message.format(name=name, model_type=model_type_name)


def metrics_for(name: str) -> tuple[str, ...]:
    """The ML.EVALUATE columns over an input of a model type (none for types the engine lacks)."""
    kind = MODEL_TYPES.get(name.upper())
    return kind.task.metrics if kind else ()
