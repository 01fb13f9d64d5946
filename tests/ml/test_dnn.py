"""dnn_classifier / dnn_regressor: trained with PyTorch, predicted by DuckDB SQL that must equal
the torch forward pass of the stored network."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest
import torch

from ml import Engine
from ml.errors import MLError
from ml.estimators.dnn import ACTIVATIONS

ROOT = Path(__file__).resolve().parents[2]
FEATURES = "bill_length_mm, bill_depth_mm, flipper_length_mm, island"
PENGUINS = f"SELECT {FEATURES}, body_mass_g, species FROM raw.penguins ORDER BY penguin_id"
CLASSIFIER = (
    "CREATE OR REPLACE MODEL raw.dnn OPTIONS (model_type = 'dnn_classifier', input_label_cols = ['species'], "
    "hidden_units = [8, 4], optimizer = 'adam', learn_rate = 0.05, max_iterations = 15, "
    "data_split_method = 'NO_SPLIT') AS SELECT {features}, species FROM raw.penguins"
)


def _design(con: duckdb.DuckDBPyConnection, model: str, query: str) -> np.ndarray:
    """The processed features of `query`'s rows, rebuilt from the stored state in numpy."""
    state = json.loads(con.execute(f"SELECT state FROM _ml.models WHERE model = '{model}'").fetchall()[0][0])
    frame = con.execute(query).df()
    columns = []
    for feature in state["features"]:
        values = frame[feature["name"]]
        if "mean" in feature:
            filled = values.astype(float).fillna(feature["mean"]).to_numpy()
            columns.append((filled - feature["mean"]) / feature["stddev"])
        else:
            columns += [(values == c).to_numpy(dtype=float) for c in feature["categories"]]
    numeric = [c for f, c in zip(state["features"], columns, strict=False) if "mean" in f]
    return np.column_stack(numeric + columns[len(numeric) :]), state


def _torch_outputs(state: dict, X: np.ndarray, activation: str) -> np.ndarray:
    """The stored network as a float32 torch module, as training ran it."""
    modules: list[torch.nn.Module] = []
    for i, (weight, bias) in enumerate(state["layers"]):
        linear = torch.nn.Linear(len(weight[0]), len(weight))
        linear.weight.data = torch.tensor(weight, dtype=torch.float32)
        linear.bias.data = torch.tensor(bias, dtype=torch.float32)
        modules.append(linear)
        if i < len(state["layers"]) - 1:
            modules.append(ACTIVATIONS[activation]())
    with torch.no_grad():
        return torch.nn.Sequential(*modules)(torch.tensor(X, dtype=torch.float32)).double().numpy()


def test_classifier_predictions_in_duckdb_equal_the_torch_forward_pass(engine: Engine) -> None:
    engine.execute(CLASSIFIER.format(features=FEATURES))
    losses = engine.execute("SELECT loss FROM ML.TRAINING_INFO(MODEL raw.dnn) ORDER BY iteration")
    losses = losses["loss"].to_pylist()
    assert len(losses) >= 5 and losses[-1] < 0.5 * losses[0]
    predicted = engine.execute(f"SELECT * FROM ML.PREDICT(MODEL raw.dnn, ({PENGUINS}))")
    X, state = _design(engine.con, "dnn", PENGUINS)
    logits = _torch_outputs(state, X, "RELU")
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    probs = np.array([[p["prob"] for p in row] for row in predicted["predicted_species_probs"].to_pylist()])
    np.testing.assert_allclose(probs, expected, atol=1e-5)
    labels = [p["label"] for p in predicted["predicted_species_probs"][0].as_py()]
    assert labels == ["Adelie", "Chinstrap", "Gentoo"]
    assert predicted["predicted_species"].to_pylist() == [labels[k] for k in expected.argmax(axis=1)]
    metrics = engine.execute("SELECT * FROM ML.EVALUATE(MODEL raw.dnn)")
    assert metrics.column_names == ["precision", "recall", "accuracy", "f1_score", "log_loss", "roc_auc"]
    assert metrics["accuracy"][0].as_py() > 0.9


@pytest.mark.parametrize("activation", sorted(set(ACTIVATIONS) - {"CRELU"}))
def test_every_activation_compiles_to_the_same_function(engine: Engine, activation: str) -> None:
    engine.execute(
        f"CREATE MODEL raw.reg OPTIONS (model_type = 'dnn_regressor', input_label_cols = ['body_mass_g'], "
        f"hidden_units = [6, 3], activation_fn = '{activation}', max_iterations = 2, learn_rate = 0.1) "
        f"AS SELECT {FEATURES}, body_mass_g FROM raw.penguins WHERE body_mass_g IS NOT NULL"
    )
    predicted = engine.execute(f"SELECT predicted_body_mass_g FROM ML.PREDICT(MODEL raw.reg, ({PENGUINS}))")
    X, state = _design(engine.con, "reg", PENGUINS)
    np.testing.assert_allclose(
        predicted["predicted_body_mass_g"].to_numpy(), _torch_outputs(state, X, activation)[:, 0], atol=1e-5
    )


def test_crelu_doubles_each_hidden_layer(engine: Engine) -> None:
    engine.execute(
        "CREATE MODEL raw.reg OPTIONS (model_type = 'dnn_regressor', input_label_cols = ['body_mass_g'], "
        "hidden_units = [5, 3], activation_fn = 'CRELU', max_iterations = 2) "
        f"AS SELECT {FEATURES}, body_mass_g FROM raw.penguins WHERE body_mass_g IS NOT NULL"
    )
    X, state = _design(engine.con, "reg", PENGUINS)
    assert [len(w[0]) for w, _ in state["layers"]] == [X.shape[1], 10, 6]
    predicted = engine.execute(f"SELECT predicted_body_mass_g FROM ML.PREDICT(MODEL raw.reg, ({PENGUINS}))")
    np.testing.assert_allclose(
        predicted["predicted_body_mass_g"].to_numpy(), _torch_outputs(state, X, "CRELU")[:, 0], atol=1e-5
    )


def test_regressor_learns_and_evaluates_on_the_eval_split(engine: Engine) -> None:
    engine.execute(
        "CREATE MODEL raw.reg OPTIONS (model_type = 'dnn_regressor', input_label_cols = ['body_mass_g'], "
        "hidden_units = [16], optimizer = 'adam', learn_rate = 0.05, batch_size = 32, max_iterations = 25, "
        "data_split_method = 'RANDOM', data_split_eval_fraction = 0.25, l2_reg = 0.001) "
        f"AS SELECT {FEATURES}, sex, body_mass_g / 1000 AS body_mass_g FROM raw.penguins "
        "WHERE body_mass_g IS NOT NULL"
    )
    info = engine.execute("SELECT * FROM ML.TRAINING_INFO(MODEL raw.reg) ORDER BY iteration")
    assert info.column_names == [
        "training_run",
        "iteration",
        "loss",
        "eval_loss",
        "learning_rate",
        "duration_ms",
    ]
    assert info["loss"][-1].as_py() < info["loss"][0].as_py() and info["eval_loss"][-1].as_py() is not None
    metrics = engine.execute("SELECT * FROM ML.EVALUATE(MODEL raw.reg)")
    assert metrics["r2_score"][0].as_py() > 0.7
    assert metrics["mean_squared_error"][0].as_py() == pytest.approx(info["eval_loss"][-1].as_py(), rel=0.05)


def test_binary_classifier_has_threshold_and_roc_curve(engine: Engine, describe) -> None:
    engine.execute(
        "CREATE MODEL raw.bin OPTIONS (model_type = 'dnn_classifier', input_label_cols = ['Survived'], "
        "hidden_units = [8], optimizer = 'adam', learn_rate = 0.02, max_iterations = 10, "
        "auto_class_weights = TRUE) AS SELECT Pclass, Sex, Age, Fare, Survived FROM raw.titanic"
    )
    query = "SELECT Pclass, Sex, Age, Fare, Survived FROM raw.titanic"
    columns = describe(f"SELECT * FROM ML.PREDICT(MODEL raw.bin, ({query}))")
    assert columns[:2] == [
        ("predicted_Survived", "BIGINT"),
        ("predicted_Survived_probs", 'STRUCT("label" BIGINT, prob DOUBLE)[]'),
    ]
    strict = engine.execute(
        f"SELECT count(*) FILTER (predicted_Survived = 1) AS n FROM ML.PREDICT(MODEL raw.bin, ({query}), "
        "STRUCT(0.9 AS threshold))"
    )["n"][0].as_py()
    loose = engine.execute(
        f"SELECT count(*) FILTER (predicted_Survived = 1) AS n FROM ML.PREDICT(MODEL raw.bin, ({query}))"
    )["n"][0].as_py()
    assert strict < loose
    assert engine.execute("SELECT count(*) AS n FROM ML.ROC_CURVE(MODEL raw.bin)")["n"][0].as_py() > 10
    assert engine.execute("SELECT roc_auc FROM ML.EVALUATE(MODEL raw.bin)")["roc_auc"][0].as_py() > 0.75


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("hidden_units = []", "hidden_units"),
        ("hidden_units = [4, 0]", "hidden_units"),
        ("activation_fn = 'gelu'", "activation_fn"),
        ("optimizer = 'lbfgs'", "optimizer"),
        ("dropout = 1.0", "dropout"),
        ("batch_size = 0", "batch_size"),
        ("learn_rate = 0", "learn_rate"),
        ("num_clusters = 3", "num_clusters"),
    ],
)
def test_bad_options_name_the_option(engine: Engine, options: str, message: str) -> None:
    with pytest.raises(MLError, match=message):
        engine.execute(
            f"CREATE MODEL raw.bad OPTIONS (model_type = 'dnn_classifier', input_label_cols = ['species'], "
            f"{options}) AS SELECT {FEATURES}, species FROM raw.penguins"
        )


def test_a_new_process_predicts_with_the_stored_network(tmp_path: Path, penguins) -> None:
    database = str(tmp_path / "dnn.duckdb")
    with duckdb.connect(database) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.penguins AS SELECT * FROM penguins")
        Engine(con).execute(CLASSIFIER.format(features=FEATURES))
        here = Engine(con).execute(
            f"SELECT predicted_species_probs FROM ML.PREDICT(MODEL raw.dnn, ({PENGUINS}))"
        )
    script = (
        "import duckdb, json; from ml import Engine; con = duckdb.connect({!r}); "
        "t = Engine(con).execute({!r}); print(json.dumps(t.to_pylist()))"
    ).format(database, f"SELECT predicted_species_probs FROM ML.PREDICT(MODEL raw.dnn, ({PENGUINS}))")
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == here.to_pylist()


def test_transform_and_bigquery_default_hidden_units(engine: Engine) -> None:
    engine.execute(
        "CREATE MODEL raw.dnn TRANSFORM (bill_length_mm / 10 AS bill_cm, island, species) "
        "OPTIONS (model_type = 'dnn_classifier', input_label_cols = ['species'], max_iterations = 2) "
        "AS SELECT * FROM raw.penguins"
    )
    state = json.loads(engine.con.execute("SELECT state FROM _ml.models").fetchall()[0][0])
    # min(128, rows / (10 (inputs + outputs))): 344 / (10 (1 + 3 islands + 3 classes)) = 4.
    assert state["hidden_units"] == [4]
    predicted = engine.execute("SELECT * FROM ML.PREDICT(MODEL raw.dnn, (SELECT * FROM raw.penguins))")
    assert predicted.column_names[:2] == ["predicted_species", "predicted_species_probs"]
    assert predicted.num_rows == 344 and "bill_cm" not in predicted.column_names


def test_class_weights_must_cover_every_label(engine: Engine) -> None:
    with pytest.raises(MLError, match="class_weights"):
        engine.execute(
            "CREATE MODEL raw.dnn OPTIONS (model_type = 'dnn_classifier', input_label_cols = ['species'], "
            "class_weights = [('Adelie', 1.0)]) AS SELECT bill_length_mm, species FROM raw.penguins"
        )


@pytest.mark.parametrize("activation", ["RELU", "CRELU", "TANH"])
def test_stored_sql_network_predicts_like_the_engines_forward_udf(engine: Engine, activation: str) -> None:
    """The `predict` template is pure SQL (what dbt runs on its own connection); the Engine runs the
    `predict_udf` variant, the stored network in a vectorised torch UDF. They agree to float64."""
    engine.execute(
        CLASSIFIER.format(features=FEATURES).replace("[8, 4]", f"[8, 4], activation_fn = '{activation}'")
    )
    query = f"SELECT * FROM ML.PREDICT(MODEL raw.dnn, ({PENGUINS}))"
    assert "__ml_dnn_forward(" in engine.translate(query)
    template = engine.con.execute(
        "SELECT sql_template FROM _ml.model_functions WHERE function = 'predict' AND has_input"
    ).fetchall()[0][0]
    assert "__ml_dnn_forward(" not in template
    bare = engine.con.execute(f"SELECT * FROM ({template.replace('__ML_INPUT__', f'({PENGUINS})')})")
    sql_rows = bare.fetchall()
    udf_rows = engine.execute(query).to_pylist()
    assert [row[0] for row in sql_rows] == [row["predicted_species"] for row in udf_rows]
    np.testing.assert_allclose(
        [[p["prob"] for p in row[1]] for row in sql_rows],
        [[p["prob"] for p in row["predicted_species_probs"]] for row in udf_rows],
        rtol=1e-9,
        atol=1e-12,
    )
    evaluate = "SELECT * FROM ML.EVALUATE(MODEL raw.dnn, TABLE raw.penguins)"
    assert "__ml_dnn_forward(" in engine.translate(evaluate)
    evaluate_template = engine.con.execute(
        "SELECT sql_template FROM _ml.model_functions WHERE function = 'evaluate' AND has_input"
    ).fetchall()[0][0]
    bare_metrics = engine.con.execute(evaluate_template.replace("__ML_INPUT__", "raw.penguins")).fetchall()
    np.testing.assert_allclose(bare_metrics[0], list(engine.execute(evaluate).to_pylist()[0].values()))
