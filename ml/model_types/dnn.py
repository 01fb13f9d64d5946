"""dnn_classifier / dnn_regressor: a fully connected network trained with PyTorch on the
standardized, one-hot design matrix (ml/estimators/dnn.py), compiled to SQL (ml/compile/dnn.py)
and, as `_udf` variants, run by the forward UDF below, which callers with the UDFs prefer (it
predicts several times faster). torch is imported where a network trains or runs.
"""

from __future__ import annotations

import uuid
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from ml.compile import glm, info
from ml.compile.dnn import FORWARD_UDF, network_layers
from ml.compile.layers import Scoring, udf_variants
from ml.errors import MLError
from ml.extras import require
from ml.model_types.arrow import list_array, rows_matrix
from ml.model_types.model_type import CLASSIFICATION, REGRESSION, Fitted, ModelType, ScalarUDF
from ml.model_types.option import BOOL_FALSE, BOOL_TRUE, Constraint, enum
from ml.model_types.options import (
    CLASS_WEIGHT_OPTIONS,
    COMMON_OPTIONS,
    SUPERVISED_COLUMN_OPTIONS,
    SUPERVISED_OPTIONS,
    check_class_weights,
    check_no_warm_start,
    check_supervised,
)
from ml.model_types.training_data import TrainingData, label_text
from ml.preprocessing.automatic import Preprocessor

if TYPE_CHECKING:
    from ml.estimators.dnn import DNN, StoredNetwork

# FTRL has no PyTorch optimizer: it trains with Adagrad, the per-coordinate rate FTRL-Proximal
# reduces to without its own l1/l2 terms.
NETWORK_OPTIONS: dict[str, Constraint] = {
    "hidden_units": Constraint("int_list", None, low=1, high=100_000),
    "activation_fn": enum("RELU", "RELU", "RELU6", "CRELU", "ELU", "SELU", "SIGMOID", "TANH"),
    "dropout": Constraint("float", 0.0, low=0.0, high=1.0),
    "batch_size": Constraint("int", None, low=1, high=8192),
    "optimizer": enum("ADAGRAD", "ADAGRAD", "ADAM", "FTRL", "RMSPROP", "SGD"),
    "learn_rate": Constraint("float", 0.001, low=0.0, open_low=True),
    "l1_reg": Constraint("float", 0.0, low=0.0),
    "l2_reg": Constraint("float", 0.0, low=0.0),
    "max_iterations": Constraint("int", 20, low=1, high=100_000),
    "early_stop": BOOL_TRUE,
    "min_rel_progress": Constraint("float", 0.01, low=0.0, high=1.0),
    "warm_start": BOOL_FALSE,
}

# Accepted for compatibility; they configure BigQuery's TensorFlow runtime and explanations.
ENGINE_OPTIONS: dict[str, Constraint] = {
    "enable_global_explain": BOOL_FALSE,
    "integrated_gradients_num_steps": Constraint("int", 50, low=1, high=1000),
    "tf_version": enum("2.8.0", "1.15", "2.8.0"),
}

REGRESSOR_FUNCTIONS = frozenset({"predict", "evaluate", "training_info", "feature_info", "trial_info"})


def check(options: dict[str, Any], raw: dict[str, Any]) -> None:
    check_supervised(options, raw)
    if options["hidden_units"] is not None and not options["hidden_units"]:
        raise MLError("Invalid value for option hidden_units: it needs at least one hidden layer")
    if options["dropout"] >= 1.0:
        raise MLError(f"Invalid value for option dropout: {options['dropout']} is out of range [0, 1)")
    check_class_weights(options)
    check_no_warm_start(options)


def _state(data: TrainingData, pre: Preprocessor, model: DNN, token: str) -> dict[str, Any]:
    return {
        "features": [vars(f) for f in pre.features],
        "hidden_units": model.hidden_units_,
        "layers": [(w.tolist(), b.tolist()) for w, b in model.layers_],
        "activation_fn": model.activation_fn,
        # The forward UDF's inputs: the numeric features, then one category index per categorical.
        "numeric_inputs": len(pre.numeric),
        "category_blocks": [len(f.encoded) for f in pre.categorical],
        "token": token,
        "transform": data.transform_items,
    }


def fit(data: TrainingData, classifier: bool) -> Fitted:
    """Train with PyTorch; store the network as SQL templates and as `_udf` variants that run it
    in the forward UDF."""
    require("torch", "torch", f"Training a {data.model_type} model")
    from ml.estimators.dnn import DNNClassifier, DNNRegressor

    classes, label_sql = (
        data.class_labels(data.model_type.lower()) if classifier else (None, data.numeric_label())
    )
    pre = Preprocessor(data.features, standardize=True)
    train, evaluation_rows = data.datasets(pre, label_sql)
    features = data.feature_layer()
    if classifier:
        names = [label_text(v) for v in classes.values]
        model = DNNClassifier.from_options(data.options).fit(train, evaluation_rows, names)
    else:
        model = DNNRegressor.from_options(data.options).fit(train, evaluation_rows)
    token = uuid.uuid4().hex
    state = _state(data, pre, model, token)

    def scoring_with(udf_token: str | None) -> Scoring:
        layers, outputs = network_layers(pre, features, model, udf_token)
        if classifier:
            return glm.probability_scoring(features, layers, classes, outputs)
        return Scoring(features, layers, [(f"predicted_{data.label}", outputs[0])])

    def evaluation(scoring: Scoring) -> dict[str, str]:
        return glm.evaluation_templates(scoring, classes, data.label)

    scoring = scoring_with(None)
    fixed = {"feature_info": info.feature_info(pre), "training_info": info.training_info(model.history_)}
    if classifier:
        state["classes"] = names
    fast = scoring_with(token)
    return Fitted(scoring, evaluation(scoring), fixed, state, udf_variants(fast, evaluation(fast)))


def load_network(state: dict[str, Any]) -> StoredNetwork:
    """The inference network a stored DNN's `state` holds (float64)."""
    require("torch", "torch", "Scoring a DNN model in its UDF (var ml_local_udfs: false scores it in SQL)")
    from ml.estimators.dnn import StoredNetwork, stored_network

    network = stored_network(state["layers"], state["activation_fn"])
    return StoredNetwork(network, state["numeric_inputs"], state["category_blocks"])


def _forward(network: StoredNetwork, inputs: pa.Array) -> pa.Array:
    """The network's outputs (regression value or logits) per row, from its first-layer inputs
    (standardized numerics, then each categorical feature's 1-based category index, 0 unseen):
    one matrix product per layer and vector instead of ~1,000 scalar SQL expressions."""
    return list_array(network.outputs(rows_matrix(inputs, np.float64)))


def _model_type(name: str, classifier: bool) -> ModelType:
    weights = CLASS_WEIGHT_OPTIONS if classifier else {}
    return ModelType(
        name,
        CLASSIFICATION if classifier else REGRESSION,
        {**COMMON_OPTIONS, **SUPERVISED_OPTIONS, **NETWORK_OPTIONS, **weights, **ENGINE_OPTIONS},
        partial(fit, classifier=classifier),
        REGRESSOR_FUNCTIONS | ({"confusion_matrix", "roc_curve"} if classifier else set()),
        check,
        column_options=SUPERVISED_COLUMN_OPTIONS,
        udfs=(ScalarUDF(FORWARD_UDF, _forward, "DOUBLE[]"),),
        load_scorer=load_network,
    )


MODEL_TYPES = (_model_type("DNN_REGRESSOR", classifier=False), _model_type("DNN_CLASSIFIER", classifier=True))
