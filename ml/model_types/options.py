"""Option groups several model types share (BigQuery's CREATE MODEL reference repeats them on each
type's page), and the rules that come with them. A model type's module composes its OPTIONS from
these and its own."""

from __future__ import annotations

from typing import Any

from ml.errors import MLError
from ml.model_types.option import BOOL_FALSE, BOOL_TRUE, Constraint, enum

# Every model type; the registry ones matter on the BigQuery target only. model_type's own values
# are the catalog's (ml/model_types/catalog.py).
COMMON_OPTIONS: dict[str, Constraint] = {
    "model_type": Constraint("string"),
    "model_registry": enum(None, "VERTEX_AI"),
    "vertex_ai_model_id": Constraint("string"),
    "vertex_ai_model_version_aliases": Constraint("string_list"),
}

# Every type with a label: the label, the data split and hyperparameter tuning (ml/engine/tuning.py).
SUPERVISED_OPTIONS: dict[str, Constraint] = {
    "input_label_cols": Constraint("string_list", ["label"]),
    "data_split_method": enum("AUTO_SPLIT", "AUTO_SPLIT", "RANDOM", "CUSTOM", "SEQ", "NO_SPLIT"),
    "data_split_eval_fraction": Constraint("float", 0.2, low=0.0, high=1.0, open_low=True),
    "data_split_col": Constraint("string"),
    "num_trials": Constraint("int", None, low=1, high=100),
    "max_parallel_trials": Constraint("int", 1, low=1, high=50),
    "hparam_tuning_algorithm": enum("VIZIER_DEFAULT", "VIZIER_DEFAULT", "RANDOM_SEARCH", "GRID_SEARCH"),
    "hparam_tuning_objectives": Constraint("string_list"),
    "data_split_test_fraction": Constraint("float", None, low=0.0, high=1.0),
}
# SUPERVISED_OPTIONS naming a column of the training query that is not a feature.
SUPERVISED_COLUMN_OPTIONS = ("data_split_col",)

# Iterative training with BigQuery's early stop.
ITERATION_OPTIONS: dict[str, Constraint] = {
    "max_iterations": Constraint("int", 20, low=1, high=100_000),
    "early_stop": BOOL_TRUE,
    "min_rel_progress": Constraint("float", 0.01, low=0.0, high=1.0),
}

# Classifiers' class weights.
CLASS_WEIGHT_OPTIONS: dict[str, Constraint] = {
    "auto_class_weights": BOOL_FALSE,
    "class_weights": Constraint("class_weights"),
}


def check_supervised(options: dict[str, Any], raw: dict[str, Any]) -> None:
    """The label and data split rules every supervised model type shares."""
    if len(options["input_label_cols"]) != 1:
        raise MLError("Invalid value for option input_label_cols: exactly one label column is supported")
    method = options["data_split_method"]
    if method in ("CUSTOM", "SEQ") and not options["data_split_col"]:
        raise MLError(f"data_split_col must be set when data_split_method is {method}")
    if "data_split_eval_fraction" in raw and method not in ("RANDOM", "SEQ"):
        raise MLError("data_split_eval_fraction can only be set when data_split_method is RANDOM or SEQ")
    if "data_split_col" in raw and method not in ("CUSTOM", "SEQ"):
        raise MLError("data_split_col can only be set when data_split_method is CUSTOM or SEQ")


def check_class_weights(options: dict[str, Any]) -> None:
    if options.get("auto_class_weights") and options.get("class_weights"):
        raise MLError("Options auto_class_weights and class_weights cannot both be set")


def check_no_warm_start(options: dict[str, Any]) -> None:
    if options["warm_start"]:
        raise MLError("warm_start is not supported by the local engine")
