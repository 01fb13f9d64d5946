"""linear_reg: least squares on the automatic preprocessing's features (normal equation or batch
gradient descent), predicted in plain SQL."""

from __future__ import annotations

from typing import Any

from ml.compile import glm as glm_sql
from ml.compile.evaluation import regression_metrics
from ml.errors import MLError
from ml.estimators.linear import LinearRegression
from ml.model_types import glm
from ml.model_types.model_type import REGRESSION, Fitted, ModelType
from ml.model_types.options import SUPERVISED_COLUMN_OPTIONS, check_no_warm_start, check_supervised
from ml.model_types.training_data import TrainingData


def check(options: dict[str, Any], raw: dict[str, Any]) -> None:
    glm.check_learn_rates(options, raw)
    if options["optimize_strategy"] == "NORMAL_EQUATION" and options["l1_reg"]:
        raise MLError("l1_reg is not supported when optimize_strategy is NORMAL_EQUATION")
    check_supervised(options, raw)
    check_no_warm_start(options)


def fit(data: TrainingData) -> Fitted:
    label_sql = data.numeric_label()
    pre = glm.preprocessor(data)
    train, evaluation = data.datasets(pre, label_sql)
    model = LinearRegression.from_options(data.options).fit(train, evaluation)
    scoring = glm_sql.regression_scoring(pre, data.feature_layer(), data.label, model.coef_, model.intercept_)
    return Fitted(
        scoring,
        {"evaluate": regression_metrics(scoring.scored_sql(), data.label, f"predicted_{data.label}")},
        glm.fixed_templates(pre, model, None),
        glm.state(data, pre, model),
        glm.explanation(pre, scoring, None, model),
        explained_features=[f.name for f in pre.features],
    )


MODEL_TYPES = (
    ModelType(
        "LINEAR_REG",
        REGRESSION,
        {**glm.GLM_OPTIONS, **glm.GLM_ENGINE_OPTIONS},
        fit,
        glm.GLM_FUNCTIONS,
        check,
        column_options=SUPERVISED_COLUMN_OPTIONS,
        expands_timestamps=True,
    ),
)
