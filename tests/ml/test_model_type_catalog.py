"""Every model type of the catalog trains, stores only the ML.* functions it declares, and a
function it does not declare is refused naming those it does."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
import xgboost as xgb

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
# Imported and remote model types, made by a whole statement with no training query (the
# endpoint is not called until ML.PREDICT).
BUILT = {
    "ONNX": "CREATE MODEL demo.onnx OPTIONS (model_type = 'ONNX', model_path = '{onnx_file}')",
    "XGBOOST": "CREATE MODEL demo.xgboost INPUT (x FLOAT64, z FLOAT64) OUTPUT (y FLOAT64) "
    "OPTIONS (model_type = 'XGBOOST', model_path = '{xgboost_file}')",
    "REMOTE_MODEL": "CREATE MODEL demo.remote_model INPUT (x FLOAT64) OUTPUT (y FLOAT64) "
    "REMOTE WITH CONNECTION DEFAULT OPTIONS (endpoint = 'http://127.0.0.1:9/predict')",
}
# Template functions that answer a STRUCT variant of a declared function, and the `_udf` variants.
VARIANT = re.compile(r"_udf$|^weights_standardized$|^global_explain_class_level$")


def stored_functions(engine: Engine, model: str) -> set[str]:
    rows = engine.con.execute(
        "SELECT DISTINCT function FROM _ml.model_functions WHERE model = ?", [model]
    ).fetchall()
    return {function for (function,) in rows}


@pytest.fixture(scope="module")
def onnx_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("onnx") / "linear.onnx"
    with pytest.warns(DeprecationWarning):  # the TorchScript-based exporter: BigQuery's opset 17
        torch.onnx.export(torch.nn.Linear(2, 1), (torch.zeros(1, 2),), str(path), dynamo=False)
    return path


@pytest.fixture(scope="module")
def xgboost_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("xgboost") / "model.json"
    rows = np.arange(20.0).reshape(10, 2)
    xgb.train({"max_depth": 2}, xgb.DMatrix(rows, label=rows[:, 0]), num_boost_round=2).save_model(str(path))
    return path


@pytest.fixture(scope="module")
def model_files(onnx_file: Path, xgboost_file: Path) -> dict[str, Path]:
    """The files the BUILT statements import, by their placeholders' names."""
    return {"onnx_file": onnx_file, "xgboost_file": xgboost_file}


def train(engine: Engine, model_type: str, model_files: dict[str, Path] | None = None) -> str:
    model = model_type.lower()
    if model_type in BUILT:
        engine.execute(BUILT[model_type].format(**(model_files or {})))
        return model
    options, query = RECIPES[model_type]
    engine.execute(f"CREATE MODEL demo.{model} OPTIONS (model_type = '{model_type}', {options}) AS {query}")
    return model


def test_every_catalog_type_has_a_recipe() -> None:
    assert set(RECIPES) | set(BUILT) == set(catalog.MODEL_TYPES)


@pytest.mark.parametrize("model_type", sorted([*RECIPES, *BUILT]))
def test_each_type_stores_only_the_functions_it_declares(
    engine: Engine, model_type: str, model_files
) -> None:
    model = train(engine, model_type, model_files)
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
