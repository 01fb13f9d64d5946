"""Tree ensembles as SQL: every XGBoost tree becomes a nested CASE over the encoded features, the
trees of a class are summed onto the base margin, and the link function gives the prediction.

Features are encoded in SQL by `encoded_features`, the same expressions the training data was
fetched with, so training and prediction cannot disagree: numerics CAST to FLOAT (XGBoost compares
in float32; NULL stays NULL and takes the tree's default direction), categoricals label-encoded
(sorted vocabulary 1..n, NULL and unseen values 0).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ml.compile.evaluation import Classes
from ml.compile.glm import probability_scoring
from ml.compile.layers import FeatureLayer, Scoring
from ml.literals import float_literal, sql_literal
from ml.preprocessing.automatic import CategoricalFeature, Feature, categorical_case

if TYPE_CHECKING:
    import xgboost as xgb  # imported where a booster is read, not with the templates


def label_codes(feature: CategoricalFeature) -> list[float]:
    """The code of each encoded category: 1..n for the sorted vocabulary, 0 for NULL."""
    codes, code = [], 0
    for category in feature.encoded:
        if category is None:
            codes.append(0.0)
        else:
            code += 1
            codes.append(float(code))
    return codes


def encoded_features(features: list[Feature], refs: dict[str, str]) -> list[str]:
    """One DOUBLE expression per feature, in model order: the (float32) matrix XGBoost sees."""
    columns = []
    for feature in features:
        ref = refs[feature.name]
        if isinstance(feature, CategoricalFeature):
            columns.append(categorical_case(feature, ref, label_codes(feature)))
        else:
            # Rounded to float32 as XGBoost sees it, held as DOUBLE so that comparisons with the
            # (float32-exact) DOUBLE thresholds need no cast per node.
            columns.append(f"CAST(CAST({ref} AS FLOAT) AS DOUBLE)")
    return columns


@dataclass
class Tree:
    """One XGBoost tree in array form (XGBoost's JSON model), leaf values already weighted."""

    left: list[int]
    right: list[int]
    feature: list[int]
    threshold: list[float]
    default_left: list[bool]
    cls: int

    def sql(self, columns: list[str], node: int = 0) -> str:
        """Nested CASE; `x < threshold` goes left, NULL goes the default way."""
        if self.left[node] == -1:
            return float_literal(self.threshold[node])
        x, t = columns[self.feature[node]], float_literal(self.threshold[node])
        left, right = self.sql(columns, self.left[node]), self.sql(columns, self.right[node])
        if self.default_left[node]:
            return f"CASE WHEN {x} >= {t} THEN {right} ELSE {left} END"
        return f"CASE WHEN {x} < {t} THEN {left} ELSE {right} END"


@dataclass
class Ensemble:
    """The trees of a booster and the base margin of each output (class)."""

    trees: list[Tree]
    base_margin: list[float]

    @classmethod
    def from_booster(cls, booster: xgb.Booster, sample: np.ndarray) -> Ensemble:
        """Read the trees from the booster's JSON; the base margin is what XGBoost's own margin on
        `sample` (one encoded row) adds to the leaves, so no version-specific intercept parsing."""
        import xgboost as xgb

        gbm = json.loads(booster.save_raw("json"))["learner"]["gradient_booster"]
        model = gbm["gbtree"]["model"] if gbm["name"] == "dart" else gbm["model"]
        weights = gbm.get("weight_drop") or [1.0] * len(model["trees"])
        trees = [
            _tree(raw, int(info), float(w))
            for raw, info, w in zip(model["trees"], model["tree_info"], weights, strict=True)
        ]
        outputs = max((t.cls for t in trees), default=0) + 1
        dmatrix = xgb.DMatrix(sample[:1], missing=np.nan)
        margin = np.atleast_1d(booster.predict(dmatrix, output_margin=True)[0]).astype(np.float64)
        leaves = booster.predict(dmatrix, pred_leaf=True).reshape(-1)
        summed = np.zeros(outputs)
        for tree, leaf in zip(trees, leaves, strict=True):
            summed[tree.cls] += tree.threshold[int(leaf)]
        return cls(trees, (margin[:outputs] - summed).tolist())

    def margins(self, columns: list[str]) -> list[str]:
        """Per output: base margin plus the sum of its trees, as SQL over the encoded columns."""
        return [
            " + ".join([float_literal(base)] + [f"({t.sql(columns)})" for t in self.trees if t.cls == c])
            for c, base in enumerate(self.base_margin)
        ]


def _tree(raw: dict, cls: int, weight: float) -> Tree:
    left = [int(v) for v in raw["left_children"]]
    # Leaves keep their value in split_conditions; float32 values are exact as doubles.
    values = [float(np.float32(v)) for v in raw["split_conditions"]]
    values = [v * weight if left[i] == -1 else v for i, v in enumerate(values)]
    return Tree(
        left,
        [int(v) for v in raw["right_children"]],
        [int(v) for v in raw["split_indices"]],
        values,
        [bool(v) for v in raw["default_left"]],
        cls,
    )


ENCODED = "__ml_x{}"
MARGIN = "__ml_m{}"
MARGIN_UDF = "__ml_tree_margin"


def _layers(
    features: list[Feature], layer: FeatureLayer, ensemble: Ensemble, udf_token: str | None
) -> tuple[list[list[tuple[str, str]]], list[str]]:
    """Encoded features, then the margins: SQL trees, or the margin UDF (ml/model_types/trees.py) of the
    booster stored under `udf_token` (single-output models only)."""
    encoded = [(ENCODED.format(j), sql) for j, sql in enumerate(encoded_features(features, layer.refs))]
    names = [name for name, _ in encoded]
    if udf_token is None:
        margins = ensemble.margins(names)
    else:
        margins = [f"{MARGIN_UDF}({sql_literal(udf_token)}, [{', '.join(names)}])"]
    return [encoded, [(MARGIN.format(c), m) for c, m in enumerate(margins)]], [
        MARGIN.format(c) for c in range(len(margins))
    ]


def regression_scoring(
    features: list[Feature], layer: FeatureLayer, label: str, ensemble: Ensemble, udf_token: str | None = None
) -> Scoring:
    """ML.PREDICT of a tree regressor: predicted_<label> is the margin itself."""
    layers, margins = _layers(features, layer, ensemble, udf_token)
    return Scoring(layer, layers, [(f"predicted_{label}", margins[0])])


def classifier_scoring(
    features: list[Feature],
    layer: FeatureLayer,
    classes: Classes,
    ensemble: Ensemble,
    udf_token: str | None = None,
) -> Scoring:
    """ML.PREDICT of a tree classifier: sigmoid (binary) or softmax of the margins."""
    layers, margins = _layers(features, layer, ensemble, udf_token)
    return probability_scoring(layer, layers, classes, margins)
