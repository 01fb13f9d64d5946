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
    onnx,
    pca,
    random_forest,
    remote,
    xgboost_import,
)
from ml.model_types.model_type import ModelType
from ml.model_types.option import check_spec, enum
from ml.sql.hparams import is_spec
from ml.sql.statements import CreateModel

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
    onnx,
    xgboost_import,
    remote,
)
MODEL_TYPES: dict[str, ModelType] = {t.name: t for family in FAMILIES for t in family.MODEL_TYPES}
# What the local engine calls a remote model (REMOTE WITH CONNECTION), which BigQuery types none.
REMOTE_MODEL_TYPE = remote.MODEL_TYPE

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
        "remote_service_type",
    }
)
MODEL_TYPE_OPTION = enum(None, *MODEL_TYPES, *BIGQUERY_ONLY_TYPES)


def statement_options(statement: CreateModel) -> dict[str, Any]:
    """The options a CREATE MODEL statement is checked with: a remote model's (REMOTE WITH
    CONNECTION) name no model_type in BigQuery, so the local one is filled in."""
    if statement.connection is not None and "model_type" not in statement.options:
        return {"model_type": REMOTE_MODEL_TYPE, **statement.options}
    return statement.options


def check_query(statement: CreateModel, name: str) -> None:
    """A trained model type needs AS (the training query); an imported or remote one takes none.
    REMOTE WITH CONNECTION is a remote model's; INPUT and OUTPUT are its and those of the imported
    types that take them."""
    built = MODEL_TYPES[name].build is not None
    if statement.query is None and not built:
        raise MLError("Syntax error: CREATE MODEL requires AS followed by the training query")
    if statement.query is not None and built:
        raise MLError(f"model_type {name} imports a model: CREATE MODEL takes no AS query for it")
    if statement.connection is not None and name != REMOTE_MODEL_TYPE:
        raise MLError(f"model_type {name} is not a remote model: it takes no REMOTE WITH CONNECTION")
    if (statement.input_fields or statement.output_fields) and not MODEL_TYPES[name].takes_input_output:
        imported = " and ".join(
            t.name for t in MODEL_TYPES.values() if t.takes_input_output and t.name != REMOTE_MODEL_TYPE
        )
        raise MLError(
            f"INPUT and OUTPUT are clauses of remote models (REMOTE WITH CONNECTION) and of model_type "
            f"{imported}: model_type {name} takes neither"
        )


def model_type(name: str) -> ModelType:
    """The model type called `name` (any case), or an error naming what is known."""
    upper = MODEL_TYPE_OPTION.check("model_type", name)
    if upper in BIGQUERY_ONLY_TYPES:
        raise MLError(
            f"model_type {upper} runs on the BigQuery target only: the local engine neither trains nor "
            f"imports it (it has {', '.join(MODEL_TYPES)})"
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
