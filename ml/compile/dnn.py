"""dnn_classifier / dnn_regressor as SQL: a small fully connected network is matrix arithmetic, so
each layer is one nested SELECT of unrolled weighted sums; the first layer reads each categorical
feature's weights by category index. That pure-SQL form runs on any DuckDB connection (dbt's).
The `_udf` variants run the same network in the forward UDF (ml/udf.py), several times faster;
either way prediction stays inside DuckDB queries.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import numpy as np

from ml import udf
from ml.compile import evaluation as evaluation_sql
from ml.compile import glm, info
from ml.compile.layers import FeatureLayer, Scoring
from ml.compile.literals import float_literal, sql_literal
from ml.models.dnn import DNN, DNNClassifier, DNNRegressor
from ml.preprocessing import Preprocessor, categorical_case
from ml.sql.options import CLASS_WEIGHT_PARAMS, DNN_PARAMS

if TYPE_CHECKING:
    from ml.training import Fitted, Trainer

Layer = list[tuple[str, str]]
FORWARD_UDF = "__ml_dnn_forward_{}"

# torch.nn.SELU's constants.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def activation_sql(name: str, z: str) -> list[str]:
    """The activation of one unit's pre-activation `z` (a column name): CRELU gives two values."""
    if name == "CRELU":
        return [f"greatest({z}, 0e0)", f"greatest(-{z}, 0e0)"]
    elu = f"CASE WHEN {z} > 0 THEN {z} ELSE exp({z}) - 1 END"
    return [
        {
            "RELU": f"greatest({z}, 0e0)",
            "RELU6": f"least(greatest({z}, 0e0), 6e0)",
            "ELU": elu,
            "SELU": f"{float_literal(SELU_SCALE)} * CASE WHEN {z} > 0 THEN {z} "
            f"ELSE {float_literal(SELU_ALPHA)} * (exp({z}) - 1) END",
            "SIGMOID": f"1 / (1 + exp(-{z}))",
            "TANH": f"tanh({z})",
        }[name]
    ]


def _weighted_sum(weights: np.ndarray, bias: float, inputs: list[str]) -> str:
    terms = [f"{float_literal(w)} * {x}" for w, x in zip(weights, inputs, strict=True)]
    return "(" + " + ".join([float_literal(bias), *terms]) + ")"


def input_layer(pre: Preprocessor, features: FeatureLayer) -> Layer:
    """Each numeric feature standardized (`__ml_x<j>`) and each categorical feature as the 1-based
    index of its category in `encoded` (`__ml_k<f>`, 0 when unseen), computed once per row: every
    first-layer unit reads them, so one CASE per feature instead of one per unit and feature."""
    numeric = [(f"__ml_x{j}", pre.numeric_sql(f, features.refs[f.name])) for j, f in enumerate(pre.numeric)]
    categorical = [
        (
            f"__ml_k{k}",
            f"CAST({categorical_case(f, features.refs[f.name], range(1, len(f.encoded) + 1))} AS INTEGER)",
        )
        for k, f in enumerate(pre.categorical)
    ]
    return numeric + categorical


def _first_layer_unit(pre: Preprocessor, weights: np.ndarray, bias: float) -> str:
    """A first-layer unit: numeric terms, then each categorical block as a lookup by category."""
    numeric = [f"__ml_x{j}" for j in range(len(pre.numeric))]
    terms = [f"{float_literal(w)} * {x}" for w, x in zip(weights, numeric, strict=False)]
    offset = len(numeric)
    for k, feature in enumerate(pre.categorical):
        block = weights[offset : offset + len(feature.encoded)]
        terms.append(f"[0e0, {', '.join(float_literal(w) for w in block)}][__ml_k{k} + 1]")
        offset += len(feature.encoded)
    return "(" + " + ".join([float_literal(bias), *terms]) + ")"


def network_layers(
    pre: Preprocessor, features: FeatureLayer, model: DNN, udf_token: str | None = None
) -> tuple[list[Layer], list[str]]:
    """The hidden layers as SQL column layers, and the output units' expressions over the last;
    with `udf_token`, the forward UDF (ml/udf.py) of the network stored under it instead."""
    layers: list[Layer] = [input_layer(pre, features)]
    if udf_token is not None:
        inputs = ", ".join(name for name, _ in layers[0])
        forward = f"{FORWARD_UDF.format(len(layers[0]))}({sql_literal(udf_token)}, {inputs})"
        outputs = [f"__ml_net[{o + 1}]" for o in range(len(model.layers_[-1][1]))]
        return [*layers, [("__ml_net", forward)]], outputs
    inputs: list[str] | None = None
    for i, (weight, bias) in enumerate(model.layers_[:-1]):
        if inputs is None:
            sums = [_first_layer_unit(pre, weight[u], float(bias[u])) for u in range(len(bias))]
        else:
            sums = [_weighted_sum(weight[u], bias[u], inputs) for u in range(len(bias))]
        layers.append([(f"__ml_h{i}_{u}", s) for u, s in enumerate(sums)])
        activated = [activation_sql(model.activation_fn, f"__ml_h{i}_{u}") for u in range(len(bias))]
        # CRELU concatenates [relu(z) for every unit] then [relu(-z) for every unit], as torch.cat.
        values = [unit[part] for part in range(len(activated[0])) for unit in activated]
        layers.append([(f"__ml_a{i}_{j}", v) for j, v in enumerate(values)])
        inputs = [f"__ml_a{i}_{j}" for j in range(len(values))]
    weight, bias = model.layers_[-1]
    outputs = [_weighted_sum(weight[o], bias[o], inputs) for o in range(len(bias))]
    return layers, outputs


def _state(trainer: Trainer, pre: Preprocessor, model: DNN, token: str) -> dict[str, Any]:
    return {
        "features": [vars(f) for f in pre.features],
        "hidden_units": model.hidden_units_,
        "layers": [(w.tolist(), b.tolist()) for w, b in model.layers_],
        "activation_fn": model.activation_fn,
        # The forward UDF's inputs: the numeric features, then one category index per categorical.
        "numeric_inputs": len(pre.numeric),
        "category_blocks": [len(f.encoded) for f in pre.categorical],
        "token": token,
        "transform": trainer.transform.items if trainer.transform else None,
    }


def fit_dnn(trainer: Trainer) -> Fitted:
    """Train with PyTorch; store the network as SQL templates and as `_udf` variants that run it
    in the forward UDF (what the Engine prefers: it predicts several times faster)."""
    from ml.training import Fitted, _label_text

    classifier = trainer.model_type == "DNN_CLASSIFIER"
    if classifier:
        classes, label_sql = trainer.class_labels("dnn_classifier")
    else:
        label_sql = trainer.numeric_label()
    pre = Preprocessor(trainer.features, standardize=True)
    train, evaluation_rows = trainer._datasets(pre, label_sql)
    params = trainer._estimator_params({**DNN_PARAMS, **(CLASS_WEIGHT_PARAMS if classifier else {})})
    features = trainer._feature_layer()
    if classifier:
        names = [_label_text(v) for v in classes.values]
        model = DNNClassifier(**params).fit(train, evaluation_rows, names)
    else:
        model = DNNRegressor(**params).fit(train, evaluation_rows)
    token = uuid.uuid4().hex
    state = _state(trainer, pre, model, token)
    udf.load(token, state)

    def scoring_with(udf_token: str | None) -> Scoring:
        layers, outputs = network_layers(pre, features, model, udf_token)
        if classifier:
            return glm.probability_scoring(features, layers, classes, outputs)
        return Scoring(features, layers, [(f"predicted_{trainer.label}", outputs[0])])

    def evaluation(scoring: Scoring) -> dict[str, str]:
        if classifier:
            return glm.classifier_templates(scoring, classes)
        predicted = f"predicted_{trainer.label}"
        return {"evaluate": evaluation_sql.regression_metrics(scoring.scored_sql(), trainer.label, predicted)}

    scoring = scoring_with(None)
    fixed = {"feature_info": info.feature_info(pre), "training_info": info.training_info(model.history_)}
    if classifier:
        state["classes"] = names
    fast = scoring_with(token)
    return Fitted(scoring, evaluation(scoring), fixed, state, udf.variants(fast, evaluation(fast)))
