"""Every model type of the catalog trains, stores only the ML.* functions it declares, and a
function it does not declare is refused naming those it does."""

from __future__ import annotations

import re

import pytest

from ml import Engine, MLError
from ml.model_types import catalog

PENGUINS = (
    "SELECT species, island, bill_length_mm, flipper_length_mm, body_mass_g FROM raw.penguins "
    "WHERE body_mass_g IS NOT NULL"
)
SERIES = (
    "SELECT DATE '2020-01-01' + INTERVAL (i) DAY AS day, 10 + sin(i / 3.0) + i / 50.0 AS sales "
    "FROM range(60) AS t(i)"
)
# One small, valid CREATE MODEL per model type: a new type of the catalog needs one here.
RECIPES = {
    "LINEAR_REG": ("input_label_cols = ['body_mass_g']", PENGUINS),
    "LOGISTIC_REG": ("input_label_cols = ['species']", PENGUINS),
    "KMEANS": ("num_clusters = 3", PENGUINS),
    "BOOSTED_TREE_REGRESSOR": ("input_label_cols = ['body_mass_g'], max_iterations = 3", PENGUINS),
    "BOOSTED_TREE_CLASSIFIER": ("input_label_cols = ['species'], max_iterations = 3", PENGUINS),
    "RANDOM_FOREST_REGRESSOR": ("input_label_cols = ['body_mass_g'], num_parallel_tree = 5", PENGUINS),
    "RANDOM_FOREST_CLASSIFIER": ("input_label_cols = ['species'], num_parallel_tree = 5", PENGUINS),
    "DNN_REGRESSOR": ("input_label_cols = ['body_mass_g'], hidden_units = [4], max_iterations = 2", PENGUINS),
    "DNN_CLASSIFIER": ("input_label_cols = ['species'], hidden_units = [4], max_iterations = 2", PENGUINS),
    "PCA": ("num_principal_components = 2", PENGUINS),
    "ARIMA_PLUS": ("time_series_timestamp_col = 'day', time_series_data_col = 'sales', horizon = 5", SERIES),
}
# Template functions that answer a STRUCT variant of a declared function, and the `_udf` variants.
VARIANT = re.compile(r"_udf$|^weights_standardized$|^global_explain_class_level$")


def stored_functions(engine: Engine, model: str) -> set[str]:
    rows = engine.con.execute(
        "SELECT DISTINCT function FROM _ml.model_functions WHERE model = ?", [model]
    ).fetchall()
    return {function for (function,) in rows}


def train(engine: Engine, model_type: str) -> str:
    options, query = RECIPES[model_type]
    model = model_type.lower()
    engine.execute(f"CREATE MODEL demo.{model} OPTIONS (model_type = '{model_type}', {options}) AS {query}")
    return model


def test_every_catalog_type_has_a_recipe() -> None:
    assert set(RECIPES) == set(catalog.MODEL_TYPES)


@pytest.mark.parametrize("model_type", sorted(RECIPES))
def test_each_type_stores_only_the_functions_it_declares(engine: Engine, model_type: str) -> None:
    model = train(engine, model_type)
    declared = catalog.MODEL_TYPES[model_type].functions
    stored = {f for f in stored_functions(engine, model) if not VARIANT.search(f)}
    assert stored and stored <= declared, stored - declared
    assert {"predict", "forecast"} & stored, "every type answers ML.PREDICT or ML.FORECAST"


def test_a_function_the_type_does_not_answer_is_refused_naming_those_it_does(engine: Engine) -> None:
    train(engine, "DNN_CLASSIFIER")
    with pytest.raises(MLError) as refused:
        engine.execute("SELECT * FROM ML.WEIGHTS(MODEL demo.dnn_classifier)")
    message = str(refused.value)
    assert message.startswith(
        "ML.WEIGHTS is not supported for model demo.dnn_classifier (model_type DNN_CLASSIFIER supports"
    )
    assert "ML.PREDICT" in message and "ML.CONFUSION_MATRIX" in message


def test_a_declared_function_the_model_lacks_says_so(engine: Engine) -> None:
    train(engine, "LOGISTIC_REG")  # three species: no ROC curve, which needs two classes
    with pytest.raises(MLError, match=r"ML\.ROC_CURVE is not supported without input data"):
        engine.execute("SELECT * FROM ML.ROC_CURVE(MODEL demo.logistic_reg)")
