"""CREATE MODEL options: the declared constraints table per model type, and value parsing.

Estimators (ml/models) declare their constructor parameters from these same constraints and check
them again in `fit`; this module adds the options the engine itself consumes (label, data split,
Vertex AI registry) and the rules that tie two options together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp

from ml.errors import MLError
from ml.sql.hparams import check_spec, is_spec, spec_from_call


@dataclass(frozen=True)
class Constraint:
    """What one option accepts. `kind` is one of string, enum, bool, float, int, string_list,
    class_weights; `low`/`high` bound numbers (inclusive unless `open_low`)."""

    kind: str
    default: Any = None
    choices: tuple[str, ...] = ()
    low: float = -math.inf
    high: float = math.inf
    open_low: bool = False

    def check(self, name: str, value: Any) -> Any:
        """Return `value` normalised (enums upper-cased, ints as floats where floats are wanted)."""
        if value is None:
            return None
        checker = getattr(self, f"_check_{self.kind}")
        return checker(name, value)

    def _check_string(self, name: str, value: Any) -> str:
        if not isinstance(value, str):
            raise MLError(f"Invalid value for option {name}: expected STRING, got {_sql_repr(value)}")
        return value

    def _check_enum(self, name: str, value: Any) -> str:
        upper = self._check_string(name, value).upper()
        if upper not in self.choices:
            allowed = ", ".join(self.choices)
            raise MLError(f"Invalid value for option {name}: '{value}'. Supported values: {allowed}")
        return upper

    def _check_bool(self, name: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise MLError(f"Invalid value for option {name}: expected BOOL, got {_sql_repr(value)}")
        return value

    def _check_float(self, name: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise MLError(f"Invalid value for option {name}: expected FLOAT64, got {_sql_repr(value)}")
        self._check_range(name, value)
        return float(value)

    def _check_int(self, name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise MLError(f"Invalid value for option {name}: expected INT64, got {_sql_repr(value)}")
        self._check_range(name, value)
        return value

    def _check_range(self, name: str, value: float) -> None:
        too_low = value <= self.low if self.open_low else value < self.low
        if too_low or value > self.high or math.isnan(value):
            low = "(" if self.open_low else "["
            raise MLError(
                f"Invalid value for option {name}: {value} is out of range {low}{self.low}, {self.high}]"
            )

    def _check_string_list(self, name: str, value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise MLError(f"Invalid value for option {name}: expected ARRAY<STRING>, got {_sql_repr(value)}")
        return value

    def _check_int_list(self, name: str, value: Any) -> list[int]:
        ints = isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        if not ints:
            raise MLError(f"Invalid value for option {name}: expected ARRAY<INT64>, got {_sql_repr(value)}")
        for v in value:
            self._check_range(name, v)
        return value

    def _check_column_list(self, name: str, value: Any) -> list[str]:
        """A column name or an array of them (time_series_id_col takes both)."""
        if isinstance(value, str):
            return [value]
        return self._check_string_list(name, value)

    def _check_order(self, name: str, value: Any) -> tuple[int, int, int]:
        """An ARIMA order STRUCT(p, d, q) of non-negative integers."""
        ok = isinstance(value, tuple | list) and len(value) == 3
        if not ok or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value):
            raise MLError(f"Invalid value for option {name}: expected STRUCT(p, d, q) of non-negative INT64")
        return tuple(value)

    def _check_class_weights(self, name: str, value: Any) -> dict[str, float]:
        if isinstance(value, dict):  # already checked once (options, then the estimator's fit)
            value = list(value.items())
        pairs_ok = isinstance(value, list) and all(
            isinstance(p, tuple)
            and len(p) == 2
            and isinstance(p[0], str)
            and isinstance(p[1], int | float)
            and not isinstance(p[1], bool)
            for p in value
        )
        if not pairs_ok:
            raise MLError(f"Invalid value for option {name}: expected ARRAY<STRUCT<STRING, FLOAT64>>")
        weights = {label: float(weight) for label, weight in value}
        if any(w < 0 or not math.isfinite(w) for w in weights.values()):
            raise MLError(f"Invalid value for option {name}: weights must be finite and non-negative")
        return weights


def _enum(default: str, *choices: str) -> Constraint:
    return Constraint("enum", default, choices)


_BOOL_FALSE = Constraint("bool", False)
_BOOL_TRUE = Constraint("bool", True)

# Options every model type accepts; the registry ones matter on the BigQuery target only.
COMMON_OPTIONS: dict[str, Constraint] = {
    "model_type": _enum(
        None,
        "LINEAR_REG",
        "LOGISTIC_REG",
        "KMEANS",
        "BOOSTED_TREE_REGRESSOR",
        "BOOSTED_TREE_CLASSIFIER",
        "RANDOM_FOREST_REGRESSOR",
        "RANDOM_FOREST_CLASSIFIER",
        "DNN_CLASSIFIER",
        "DNN_REGRESSOR",
        "PCA",
        "ARIMA_PLUS",
    ),
    "model_registry": _enum(None, "VERTEX_AI"),
    "vertex_ai_model_id": Constraint("string"),
    "vertex_ai_model_version_aliases": Constraint("string_list"),
}

SUPERVISED_OPTIONS: dict[str, Constraint] = {
    "input_label_cols": Constraint("string_list", ["label"]),
    "data_split_method": _enum("AUTO_SPLIT", "AUTO_SPLIT", "RANDOM", "CUSTOM", "SEQ", "NO_SPLIT"),
    "data_split_eval_fraction": Constraint("float", 0.2, low=0.0, high=1.0, open_low=True),
    "data_split_col": Constraint("string"),
    # Hyperparameter tuning (ml/tuning.py), for every supervised type.
    "num_trials": Constraint("int", None, low=1, high=100),
    "max_parallel_trials": Constraint("int", 1, low=1, high=50),
    "hparam_tuning_algorithm": _enum("VIZIER_DEFAULT", "VIZIER_DEFAULT", "RANDOM_SEARCH", "GRID_SEARCH"),
    "hparam_tuning_objectives": Constraint("string_list"),
    "data_split_test_fraction": Constraint("float", None, low=0.0, high=1.0),
}

ITERATION_PARAMS: dict[str, Constraint] = {
    "max_iterations": Constraint("int", 20, low=1, high=100_000),
    "early_stop": _BOOL_TRUE,
    "min_rel_progress": Constraint("float", 0.01, low=0.0, high=1.0),
}

GLM_PARAMS: dict[str, Constraint] = {
    **ITERATION_PARAMS,
    "optimize_strategy": _enum("AUTO_STRATEGY", "AUTO_STRATEGY", "BATCH_GRADIENT_DESCENT", "NORMAL_EQUATION"),
    "l1_reg": Constraint("float", 0.0, low=0.0),
    "l2_reg": Constraint("float", 0.0, low=0.0),
    "learn_rate_strategy": _enum("LINE_SEARCH", "LINE_SEARCH", "CONSTANT"),
    "learn_rate": Constraint("float", None, low=0.0, open_low=True),
    "ls_init_learn_rate": Constraint("float", None, low=0.0, open_low=True),
    "fit_intercept": _BOOL_TRUE,
    "warm_start": _BOOL_FALSE,
}

# Accepted for compatibility: they feed BigQuery-only functions (ML.ADVANCED_WEIGHTS, ML.GLOBAL_EXPLAIN).
GLM_ENGINE_OPTIONS: dict[str, Constraint] = {
    "category_encoding_method": _enum("ONE_HOT_ENCODING", "ONE_HOT_ENCODING", "DUMMY_ENCODING"),
    "calculate_p_values": _BOOL_FALSE,
    "enable_global_explain": _BOOL_FALSE,
}

LOGISTIC_PARAMS: dict[str, Constraint] = {
    **GLM_PARAMS,
    "auto_class_weights": _BOOL_FALSE,
    "class_weights": Constraint("class_weights"),
}

KMEANS_PARAMS: dict[str, Constraint] = {
    **ITERATION_PARAMS,
    "num_clusters": Constraint("int", None, low=2, high=100),
    "kmeans_init_method": _enum("RANDOM", "RANDOM", "KMEANS++", "CUSTOM"),
    "distance_type": _enum("EUCLIDEAN", "EUCLIDEAN", "COSINE"),
    "warm_start": _BOOL_FALSE,
}

KMEANS_ENGINE_OPTIONS: dict[str, Constraint] = {
    "kmeans_init_col": Constraint("string"),
    "standardize_features": _BOOL_TRUE,
}

# XGBoost-backed tree ensembles (ml/models/boosted_tree.py); BigQuery's names and defaults.
_TREE_SHARED: dict[str, Constraint] = {
    "tree_method": _enum("AUTO", "AUTO", "EXACT", "APPROX", "HIST"),
    "min_tree_child_weight": Constraint("int", 1, low=0),
    "colsample_bytree": Constraint("float", 1.0, low=0.0, high=1.0, open_low=True),
    "colsample_bylevel": Constraint("float", 1.0, low=0.0, high=1.0, open_low=True),
    "min_split_loss": Constraint("float", 0.0, low=0.0),
    "max_tree_depth": Constraint("int", 6, low=1, high=20),
    "l1_reg": Constraint("float", 0.0, low=0.0),
    "l2_reg": Constraint("float", 1.0, low=0.0),
    "early_stop": _BOOL_TRUE,
    "min_rel_progress": Constraint("float", 0.01, low=0.0, high=1.0),
}

BOOSTED_TREE_PARAMS: dict[str, Constraint] = {
    **_TREE_SHARED,
    "booster_type": _enum("GBTREE", "GBTREE", "DART"),
    "dart_normalize_type": _enum("TREE", "TREE", "FOREST"),
    "num_parallel_tree": Constraint("int", 1, low=1),
    "colsample_bynode": Constraint("float", 1.0, low=0.0, high=1.0, open_low=True),
    "subsample": Constraint("float", 1.0, low=0.0, high=1.0, open_low=True),
    "learn_rate": Constraint("float", 0.3, low=0.0, open_low=True),
    "max_iterations": Constraint("int", 20, low=1, high=10_000),
}

RANDOM_FOREST_PARAMS: dict[str, Constraint] = {
    **_TREE_SHARED,
    "num_parallel_tree": Constraint("int", 100, low=2),
    "colsample_bynode": Constraint("float", 0.8, low=0.0, high=1.0, open_low=True),
    "subsample": Constraint("float", 0.8, low=0.0, high=1.0, open_low=True),
}

CLASS_WEIGHT_PARAMS: dict[str, Constraint] = {
    "auto_class_weights": _BOOL_FALSE,
    "class_weights": Constraint("class_weights"),
}

# Consumed by the engine around the estimator. Trees encode categoricals as labels (sorted
# vocabulary, NULL/unseen -> 0); BigQuery's other encodings are not implemented locally.
TREE_ENGINE_OPTIONS: dict[str, Constraint] = {
    "category_encoding_method": _enum("LABEL_ENCODING", "LABEL_ENCODING"),
    "enable_global_explain": _BOOL_FALSE,
    "xgboost_version": _enum("1.1", "0.9", "1.1"),
}

TREE_TYPES: dict[str, dict[str, Constraint]] = {
    "BOOSTED_TREE_REGRESSOR": BOOSTED_TREE_PARAMS,
    "BOOSTED_TREE_CLASSIFIER": {**BOOSTED_TREE_PARAMS, **CLASS_WEIGHT_PARAMS},
    "RANDOM_FOREST_REGRESSOR": RANDOM_FOREST_PARAMS,
    "RANDOM_FOREST_CLASSIFIER": {**RANDOM_FOREST_PARAMS, **CLASS_WEIGHT_PARAMS},
}

# dnn_classifier / dnn_regressor (ml/models/dnn.py). FTRL has no PyTorch optimizer: it trains with
# Adagrad, the per-coordinate rate FTRL-Proximal reduces to without its own l1/l2 terms.
DNN_PARAMS: dict[str, Constraint] = {
    "hidden_units": Constraint("int_list", None, low=1, high=100_000),
    "activation_fn": _enum("RELU", "RELU", "RELU6", "CRELU", "ELU", "SELU", "SIGMOID", "TANH"),
    "dropout": Constraint("float", 0.0, low=0.0, high=1.0),
    "batch_size": Constraint("int", None, low=1, high=8192),
    "optimizer": _enum("ADAGRAD", "ADAGRAD", "ADAM", "FTRL", "RMSPROP", "SGD"),
    "learn_rate": Constraint("float", 0.001, low=0.0, open_low=True),
    "l1_reg": Constraint("float", 0.0, low=0.0),
    "l2_reg": Constraint("float", 0.0, low=0.0),
    "max_iterations": Constraint("int", 20, low=1, high=100_000),
    "early_stop": _BOOL_TRUE,
    "min_rel_progress": Constraint("float", 0.01, low=0.0, high=1.0),
    "warm_start": _BOOL_FALSE,
}

# Accepted for compatibility; they configure BigQuery's TensorFlow runtime and explanations.
DNN_ENGINE_OPTIONS: dict[str, Constraint] = {
    "enable_global_explain": _BOOL_FALSE,
    "integrated_gradients_num_steps": Constraint("int", 50, low=1, high=1000),
    "tf_version": _enum("2.8.0", "1.15", "2.8.0"),
}

PCA_PARAMS: dict[str, Constraint] = {
    "num_principal_components": Constraint("int", None, low=1, high=10_000),
    "pca_explained_variance_ratio": Constraint("float", None, low=0.0, high=1.0, open_low=True),
    "scale_features": _BOOL_TRUE,
    "pca_solver": _enum("AUTO", "FULL", "RANDOMIZED", "AUTO"),
}

# arima_plus (ml/models/arima.py). Seasonal decomposition is modelled; the other decomposition
# options (holidays, spikes and dips, step changes) are accepted and reported as not applied: see
# docs/engine-contract.md.
ARIMA_OPTIONS: dict[str, Constraint] = {
    "time_series_timestamp_col": Constraint("string"),
    "time_series_data_col": Constraint("string"),
    "time_series_id_col": Constraint("column_list"),
    "horizon": Constraint("int", 1000, low=1, high=10_000),
    "auto_arima": _BOOL_TRUE,
    "auto_arima_max_order": Constraint("int", 5, low=1, high=5),
    "auto_arima_min_order": Constraint("int", 0, low=0, high=5),
    "non_seasonal_order": Constraint("order"),
    "include_drift": _BOOL_FALSE,
    "data_frequency": _enum(
        "AUTO_FREQUENCY",
        "AUTO_FREQUENCY",
        "PER_MINUTE",
        "HOURLY",
        "DAILY",
        "WEEKLY",
        "MONTHLY",
        "QUARTERLY",
        "YEARLY",
    ),
    "holiday_region": Constraint("column_list"),
    "clean_spikes_and_dips": _BOOL_TRUE,
    "adjust_step_changes": _BOOL_TRUE,
    "decompose_time_series": _BOOL_TRUE,
    "seasonalities": Constraint("string_list", ["AUTO"]),
    "trend_smoothing_window_size": Constraint("int", None, low=1),
    "time_series_length_fraction": Constraint("float", None, low=0.0, high=1.0, open_low=True),
    "min_time_series_length": Constraint("int", None, low=4),
    "max_time_series_length": Constraint("int", None, low=4),
    "forecast_limit_lower_bound": Constraint("float", None),
    "forecast_limit_upper_bound": Constraint("float", None),
}

OPTION_TABLES: dict[str, dict[str, Constraint]] = {
    "LINEAR_REG": {**COMMON_OPTIONS, **SUPERVISED_OPTIONS, **GLM_PARAMS, **GLM_ENGINE_OPTIONS},
    "LOGISTIC_REG": {**COMMON_OPTIONS, **SUPERVISED_OPTIONS, **LOGISTIC_PARAMS, **GLM_ENGINE_OPTIONS},
    "KMEANS": {**COMMON_OPTIONS, **KMEANS_PARAMS, **KMEANS_ENGINE_OPTIONS},
    **{
        name: {**COMMON_OPTIONS, **SUPERVISED_OPTIONS, **params, **TREE_ENGINE_OPTIONS}
        for name, params in TREE_TYPES.items()
    },
    "DNN_REGRESSOR": {**COMMON_OPTIONS, **SUPERVISED_OPTIONS, **DNN_PARAMS, **DNN_ENGINE_OPTIONS},
    "DNN_CLASSIFIER": {
        **COMMON_OPTIONS,
        **SUPERVISED_OPTIONS,
        **DNN_PARAMS,
        **CLASS_WEIGHT_PARAMS,
        **DNN_ENGINE_OPTIONS,
    },
    "PCA": {**COMMON_OPTIONS, **PCA_PARAMS},
    "ARIMA_PLUS": {**COMMON_OPTIONS, **ARIMA_OPTIONS},
}


def parse_option_list(text: str) -> dict[str, Any]:
    """Parse the inside of `OPTIONS (...)` into {lower-case name: python value}."""
    try:
        select = sqlglot.parse_one(f"SELECT {text}", read="bigquery")
    except sqlglot.errors.ParseError as exc:
        raise MLError(f"Syntax error in OPTIONS: {str(exc).splitlines()[0]}") from exc
    options: dict[str, Any] = {}
    for item in select.expressions:
        if not isinstance(item, exp.EQ) or not isinstance(item.this, exp.Column):
            raise MLError(f"Syntax error in OPTIONS: expected name = value, got {item.sql('bigquery')}")
        name = item.this.name.lower()
        if name in options:
            raise MLError(f"Duplicate option: {name}")
        options[name] = literal_value(item.expression)
    return options


def literal_value(node: exp.Expression) -> Any:
    """A constant SQL expression (literal, array, tuple, struct) as a python value."""
    if isinstance(node, exp.Literal):
        return node.this if node.is_string else _number(node.this)
    if isinstance(node, exp.Boolean):
        return node.this
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Neg):
        inner = literal_value(node.this)
        if isinstance(inner, int | float) and not isinstance(inner, bool):
            return -inner
    if isinstance(node, exp.Array):
        return [literal_value(e) for e in node.expressions]
    if isinstance(node, exp.Tuple | exp.Struct):
        return tuple(
            literal_value(e.this if isinstance(e, exp.PropertyEQ | exp.Alias) else e)
            for e in node.expressions
        )
    if isinstance(node, exp.Paren):
        return literal_value(node.this)
    if isinstance(node, exp.Anonymous):
        spec = spec_from_call(node.name, [literal_value(e) for e in node.expressions])
        if spec is not None:
            return spec
    raise MLError(f"Invalid option value: {node.sql('bigquery')} is not a constant")


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


def _sql_repr(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, bool):
        return str(value).upper()
    return repr(value)


def validate_options(raw: dict[str, Any]) -> dict[str, Any]:
    """Check names, types and ranges, fill defaults, and apply the cross-option rules."""
    if "model_type" not in raw:
        raise MLError("Missing required option: model_type")
    model_type = COMMON_OPTIONS["model_type"].check("model_type", raw["model_type"])
    table = OPTION_TABLES[model_type]
    for name in raw:
        if name not in table:
            raise MLError(f"Unknown option: {name} (model_type {model_type})")
    options = {
        name: (check_spec(c, name, raw[name]) if is_spec(raw[name]) else c.check(name, raw[name]))
        if name in raw
        else c.default
        for name, c in table.items()
    }
    if model_type == "KMEANS":
        _check_kmeans(options)
    elif model_type in MORE_CHECKS:
        MORE_CHECKS[model_type](options, raw)
    elif model_type in TREE_TYPES:
        _check_supervised(options, raw)
        if model_type.endswith("CLASSIFIER") and options["auto_class_weights"] and options["class_weights"]:
            raise MLError("Options auto_class_weights and class_weights cannot both be set")
    else:
        _check_glm(model_type, options, raw)
    return options


def _check_glm(model_type: str, options: dict[str, Any], raw: dict[str, Any]) -> None:
    constant = options["learn_rate_strategy"] == "CONSTANT"
    if "learn_rate" in raw and not constant:
        raise MLError("Option learn_rate can only be set when learn_rate_strategy is 'CONSTANT'")
    if "ls_init_learn_rate" in raw and constant:
        raise MLError("Option ls_init_learn_rate can only be set when learn_rate_strategy is 'LINE_SEARCH'")
    if options["optimize_strategy"] == "NORMAL_EQUATION":
        if model_type != "LINEAR_REG":
            raise MLError("optimize_strategy NORMAL_EQUATION is only supported for linear_reg models")
        if options["l1_reg"]:
            raise MLError("l1_reg is not supported when optimize_strategy is NORMAL_EQUATION")
    if model_type == "LOGISTIC_REG" and options["auto_class_weights"] and options["class_weights"]:
        raise MLError("Options auto_class_weights and class_weights cannot both be set")
    _check_supervised(options, raw)
    if options["warm_start"]:
        raise MLError("warm_start is not supported by the local engine")


def _check_supervised(options: dict[str, Any], raw: dict[str, Any]) -> None:
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


def _check_kmeans(options: dict[str, Any]) -> None:
    custom = options["kmeans_init_method"] == "CUSTOM"
    if custom != bool(options["kmeans_init_col"]):
        raise MLError("kmeans_init_col must be set exactly when kmeans_init_method is 'CUSTOM'")
    if options["warm_start"]:
        raise MLError("warm_start is not supported by the local engine")


def _check_dnn(options: dict[str, Any], raw: dict[str, Any]) -> None:
    _check_supervised(options, raw)
    if options["hidden_units"] is not None and not options["hidden_units"]:
        raise MLError("Invalid value for option hidden_units: it needs at least one hidden layer")
    if options["dropout"] >= 1.0:
        raise MLError(f"Invalid value for option dropout: {options['dropout']} is out of range [0, 1)")
    if options.get("auto_class_weights") and options.get("class_weights"):
        raise MLError("Options auto_class_weights and class_weights cannot both be set")
    if options["warm_start"]:
        raise MLError("warm_start is not supported by the local engine")


def _check_pca(options: dict[str, Any], raw: dict[str, Any]) -> None:
    given = [n for n in ("num_principal_components", "pca_explained_variance_ratio") if n in raw]
    if len(given) != 1:
        raise MLError(
            "Exactly one of the options num_principal_components and pca_explained_variance_ratio "
            "must be set for a pca model"
        )
    ratio = options["pca_explained_variance_ratio"]
    if ratio is not None and ratio >= 1.0:
        raise MLError(
            f"Invalid value for option pca_explained_variance_ratio: {ratio} is out of range (0, 1)"
        )


def _check_arima(options: dict[str, Any], raw: dict[str, Any]) -> None:
    for name in ("time_series_timestamp_col", "time_series_data_col"):
        if not options[name]:
            raise MLError(f"Option {name} must be set for an arima_plus model")
    order = options["non_seasonal_order"]
    if options["auto_arima"] and order is not None:
        raise MLError("Option non_seasonal_order can only be set when auto_arima is FALSE")
    if not options["auto_arima"] and order is None:
        raise MLError("Option non_seasonal_order must be set when auto_arima is FALSE")
    if order is not None and (order[0] > 5 or order[1] > 2 or order[2] > 5):
        raise MLError(f"Invalid value for option non_seasonal_order: {order}; p and q go to 5, d to 2")
    if options["auto_arima_min_order"] > options["auto_arima_max_order"]:
        raise MLError("Option auto_arima_min_order must not exceed auto_arima_max_order")
    _check_seasonalities(options["seasonalities"])
    low, high = options["forecast_limit_lower_bound"], options["forecast_limit_upper_bound"]
    if low is not None and high is not None and low >= high:
        raise MLError("Option forecast_limit_lower_bound must be less than forecast_limit_upper_bound")


SEASONALITIES = ("DAILY", "WEEKLY", "MONTHLY", "QUARTERLY", "YEARLY")


def _check_seasonalities(seasonalities: list[str]) -> None:
    """['AUTO'], ['NO_SEASONALITY'], or a list of named periods."""
    names = [s.upper() for s in seasonalities]
    if names in (["AUTO"], ["NO_SEASONALITY"]):
        return
    unknown = [s for s in names if s not in SEASONALITIES]
    if not names or unknown:
        raise MLError(
            f"Invalid value for option seasonalities: {seasonalities}; either ['AUTO'], "
            f"['NO_SEASONALITY'] or a list of {', '.join(SEASONALITIES)}"
        )


MORE_CHECKS = {
    "DNN_CLASSIFIER": _check_dnn,
    "DNN_REGRESSOR": _check_dnn,
    "PCA": _check_pca,
    "ARIMA_PLUS": _check_arima,
}
