"""Linear and logistic regression as SQL: the linear predictor is plain arithmetic over raw columns,
with the standardization folded into the weights (w / stddev, intercept minus w * mean / stddev)."""

from __future__ import annotations

import numpy as np

from ml.compile import evaluation
from ml.compile.evaluation import Classes
from ml.compile.layers import FeatureLayer, Scoring
from ml.compile.placeholders import THRESHOLD
from ml.literals import float_literal
from ml.names import quote_ident
from ml.preprocessing.automatic import Preprocessor, categorical_case


def linear_sql(pre: Preprocessor, refs: dict[str, str], coef: np.ndarray, intercept: float) -> str:
    """intercept + coef . processed(features), written over the raw feature columns."""
    constant, terms, j = float(intercept), [], 0
    for feature in pre.numeric:
        weight = float(coef[j]) / feature.stddev
        constant -= weight * feature.mean
        terms.append(
            f"{float_literal(weight)} * COALESCE({refs[feature.name]}, {float_literal(feature.mean)})"
        )
        j += 1
    for feature in pre.categorical:
        width = len(feature.encoded)
        terms.append(categorical_case(feature, refs[feature.name], coef[j : j + width]))
        j += width
    return "(" + " + ".join([float_literal(constant), *terms]) + ")"


def regression_scoring(
    pre: Preprocessor, features: FeatureLayer, label: str, coef: np.ndarray, intercept: float
) -> Scoring:
    """ML.PREDICT of a linear regression: predicted_<label>."""
    return Scoring(features, [], [(f"predicted_{label}", linear_sql(pre, features.refs, coef, intercept))])


def classifier_scoring(
    pre: Preprocessor,
    features: FeatureLayer,
    classes: Classes,
    coef: np.ndarray,
    intercept: np.ndarray | float,
) -> Scoring:
    """ML.PREDICT of a logistic regression: predicted_<label> and predicted_<label>_probs."""
    if len(classes.values) == 2:
        margins = [linear_sql(pre, features.refs, coef, float(intercept))]
    else:
        margins = [
            linear_sql(pre, features.refs, coef[:, c], float(intercept[c]))
            for c in range(len(classes.values))
        ]
    return probability_scoring(features, [], classes, margins)


def probability_scoring(
    features: FeatureLayer, layers: list[list[tuple[str, str]]], classes: Classes, margins: list[str]
) -> Scoring:
    """A classifier's outputs from its margins (SQL over `layers`' columns): the positive class's
    logit when binary, one score per class (softmax) otherwise. Probabilities land in internal
    columns `__ml_p<k>`, which the evaluation templates read."""
    k = len(classes.values)
    layers = list(layers)
    if k == 2:
        layers += [[("__ml_p1", f"1 / (1 + exp(-{margins[0]}))")], [("__ml_p0", "1 - __ml_p1")]]
        predicted = f"CASE WHEN __ml_p1 > {THRESHOLD} THEN {classes.literal(1)} ELSE {classes.literal(0)} END"
    else:
        scores = [(f"__ml_z{c}", margin) for c, margin in enumerate(margins)]
        top = f"greatest({', '.join(name for name, _ in scores)})"
        exps = [(f"__ml_e{c}", f"exp(__ml_z{c} - {top})") for c in range(k)]
        total = " + ".join(name for name, _ in exps)
        layers += [scores, exps, [(f"__ml_p{c}", f"__ml_e{c} / ({total})") for c in range(k)]]
        best = f"greatest({', '.join(f'__ml_p{c}' for c in range(k))})"
        predicted = (
            f"CASE {best} " + " ".join(f"WHEN __ml_p{c} THEN {classes.literal(c)}" for c in range(k)) + " END"
        )
    probs = "[" + ", ".join(f"{{'label': {classes.literal(c)}, 'prob': __ml_p{c}}}" for c in range(k)) + "]"
    label = classes.label
    return Scoring(features, layers, [(f"predicted_{label}", predicted), (f"predicted_{label}_probs", probs)])


def evaluation_templates(scoring: Scoring, classes: Classes | None, label: str) -> dict[str, str]:
    """The templates that score an input and compare with its label: a classifier's
    (classifier_templates) or a regressor's ML.EVALUATE."""
    if classes is not None:
        return classifier_templates(scoring, classes)
    return {"evaluate": evaluation.regression_metrics(scoring.scored_sql(), label, f"predicted_{label}")}


def classifier_templates(scoring: Scoring, classes: Classes) -> dict[str, str]:
    """evaluate, confusion_matrix and (binary only) roc_curve over an input."""
    scored = scoring.scored_sql()
    k = len(classes.values)
    predicted = quote_ident(f"predicted_{classes.label}")
    probs = [f"__ml_p{c}" for c in range(k)]
    threshold = THRESHOLD if k == 2 else None
    templates = {
        "evaluate": evaluation.classification_metrics(scored, classes, predicted, probs, threshold),
        "confusion_matrix": evaluation.confusion_matrix(scored, classes, predicted, probs),
    }
    if k == 2:
        templates["roc_curve"] = evaluation.roc_curve(scored, classes, "__ml_p1")
    return templates
