"""logistic_reg: binary (sigmoid) or multinomial (softmax) cross-entropy by batch gradient
descent, with class weights; predicted in plain SQL."""

from __future__ import annotations

from typing import Any

from ml.compile import glm as glm_sql
from ml.errors import MLError
from ml.estimators.logistic import LogisticRegression
from ml.model_types import glm
from ml.model_types.model_type import CLASSIFICATION, Fitted, ModelType
from ml.model_types.options import (
    CLASS_WEIGHT_OPTIONS,
    SUPERVISED_COLUMN_OPTIONS,
    check_class_weights,
    check_no_warm_start,
    check_supervised,
)
from ml.model_types.training_data import TrainingData, label_text


def check(options: dict[str, Any], raw: dict[str, Any]) -> None:
    glm.check_learn_rates(options, raw)
    if options["optimize_strategy"] == "NORMAL_EQUATION":
        raise MLError("optimize_strategy NORMAL_EQUATION is only supported for linear_reg models")
    check_class_weights(options)
    check_supervised(options, raw)
    check_no_warm_start(options)


def fit(data: TrainingData) -> Fitted:
    classes, index = data.class_labels("Logistic regression")
    pre = glm.preprocessor(data)
    train, evaluation = data.datasets(pre, index)
    names = [label_text(v) for v in classes.values]
    model = LogisticRegression.from_options(data.options).fit(train, evaluation, names)
    scoring = glm_sql.classifier_scoring(pre, data.feature_layer(), classes, model.coef_, model.intercept_)
    multiclass = names if len(names) > 2 else None
    return Fitted(
        scoring,
        glm_sql.classifier_templates(scoring, classes),
        glm.fixed_templates(pre, model, multiclass),
        {**glm.state(data, pre, model), "classes": names},
        glm.explanation(pre, scoring, classes, model),
        explained_features=[f.name for f in pre.features],
    )


MODEL_TYPES = (
    ModelType(
        "LOGISTIC_REG",
        CLASSIFICATION,
        {**glm.GLM_OPTIONS, **CLASS_WEIGHT_OPTIONS, **glm.GLM_ENGINE_OPTIONS},
        fit,
        glm.GLM_FUNCTIONS | {"confusion_matrix", "roc_curve"},
        check,
        column_options=SUPERVISED_COLUMN_OPTIONS,
        expands_timestamps=True,
    ),
)
