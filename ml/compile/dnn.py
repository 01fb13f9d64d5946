"""Deep neural networks as SQL: a small fully connected network is matrix arithmetic, so
each layer is one nested SELECT of unrolled weighted sums; the first layer reads each categorical
feature's weights by category index. That pure-SQL form runs on any DuckDB connection. With a
token, the network runs in the forward UDF (ml/model_types/dnn.py) instead, several times faster; either way
prediction stays inside DuckDB queries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ml.compile.layers import FeatureLayer
from ml.literals import float_literal, sql_literal
from ml.preprocessing.automatic import Preprocessor, categorical_case

if TYPE_CHECKING:
    from ml.estimators.dnn import DNN  # torch: imported only where a network trains or runs

Layer = list[tuple[str, str]]
FORWARD_UDF = "__ml_dnn_forward"

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
    with `udf_token`, the forward UDF (ml/model_types/dnn.py) of the network stored under it instead."""
    layers: list[Layer] = [input_layer(pre, features)]
    if udf_token is not None:
        inputs = ", ".join(f"CAST({name} AS DOUBLE)" for name, _ in layers[0])
        forward = f"{FORWARD_UDF}({sql_literal(udf_token)}, [{inputs}])"
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
