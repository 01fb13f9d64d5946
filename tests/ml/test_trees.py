"""Boosted trees and random forests: the engine's model equals XGBoost trained directly with the
same parameters on the same (hand-encoded) data, and prediction runs as SQL inside DuckDB."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from ml import Engine
from ml.errors import MLError

PENGUINS = (
    "SELECT species, island, bill_length_mm, flipper_length_mm, sex, body_mass_g "
    "FROM raw.penguins ORDER BY penguin_id"
)
TITANIC = "SELECT Survived, Pclass, Sex, Age, Fare, Embarked FROM raw.titanic ORDER BY PassengerId"


def encode(frame: pd.DataFrame, label: str) -> np.ndarray:
    """BigQuery's tree preprocessing by hand, features in query order: numerics as float32 (NULL ->
    NaN, XGBoost's missing), strings label-encoded over the sorted vocabulary from 1, NULL -> 0."""
    columns = []
    for name in frame.columns.drop(label):
        values = frame[name]
        if not pd.api.types.is_numeric_dtype(values):
            vocabulary = sorted(str(v) for v in values.dropna().unique())
            codes = {v: i + 1 for i, v in enumerate(vocabulary)}
            columns.append(values.map(lambda v, codes=codes: 0 if pd.isna(v) else codes[str(v)]).to_numpy())
        else:
            columns.append(values.astype(float).to_numpy())
    return np.column_stack(columns).astype(np.float32)


def frame_of(engine: Engine, query: str) -> pd.DataFrame:
    return engine.con.execute(engine.translate(query)).df()


def test_boosted_tree_regressor_equals_xgboost(engine: Engine) -> None:
    query = PENGUINS.replace("FROM raw.penguins", "FROM raw.penguins WHERE body_mass_g IS NOT NULL")
    engine.execute(
        "CREATE MODEL demo.bt OPTIONS (model_type = 'boosted_tree_regressor', "
        "input_label_cols = ['body_mass_g'], data_split_method = 'NO_SPLIT', early_stop = FALSE, "
        f"max_iterations = 15, max_tree_depth = 4, learn_rate = 0.2, l2_reg = 0.5, l1_reg = 0.1, "
        f"subsample = 0.9, colsample_bytree = 0.8, min_split_loss = 1.0) AS {query}"
    )
    frame = frame_of(engine, query)
    X = encode(frame, "body_mass_g")
    direct = xgb.XGBRegressor(
        n_estimators=15,
        max_depth=4,
        learning_rate=0.2,
        reg_lambda=0.5,
        reg_alpha=0.1,
        subsample=0.9,
        colsample_bytree=0.8,
        gamma=1.0,
        tree_method="hist",
        random_state=0,
    ).fit(X, frame["body_mass_g"].to_numpy())
    predicted = engine.execute(f"SELECT predicted_body_mass_g FROM ML.PREDICT(MODEL demo.bt, ({query}))")
    np.testing.assert_allclose(predicted["predicted_body_mass_g"].to_numpy(), direct.predict(X), rtol=1e-6)


def test_binary_classifier_equals_xgboost_and_evaluates(engine: Engine) -> None:
    engine.execute(
        "CREATE MODEL demo.survival OPTIONS (model_type = 'boosted_tree_classifier', "
        "input_label_cols = ['Survived'], data_split_method = 'NO_SPLIT', early_stop = FALSE, "
        f"max_iterations = 10) AS {TITANIC}"
    )
    frame = frame_of(engine, TITANIC)
    X = encode(frame, "Survived")
    direct = xgb.XGBClassifier(
        n_estimators=10, max_depth=6, learning_rate=0.3, tree_method="hist", random_state=0
    ).fit(X, frame["Survived"].to_numpy())
    expected = direct.predict_proba(X)[:, 1]
    rows = engine.execute(
        "SELECT predicted_Survived, predicted_Survived_probs FROM ML.PREDICT(MODEL demo.survival, "
        f"({TITANIC}))"
    ).to_pylist()
    positive = np.array([r["predicted_Survived_probs"][1]["prob"] for r in rows])
    assert [p["label"] for p in rows[0]["predicted_Survived_probs"]] == [0, 1]
    np.testing.assert_allclose(positive, expected, rtol=1e-5, atol=1e-7)
    assert [r["predicted_Survived"] for r in rows] == (expected > 0.5).astype(int).tolist()

    metrics = engine.execute("SELECT * FROM ML.EVALUATE(MODEL demo.survival)").to_pylist()[0]
    assert metrics["accuracy"] == pytest.approx(np.mean((expected > 0.5) == frame["Survived"]), abs=1e-12)
    matrix = engine.execute("SELECT * FROM ML.CONFUSION_MATRIX(MODEL demo.survival)").column_names
    assert matrix == ["expected_label", "_0", "_1"]
    assert engine.execute("SELECT count(*) AS n FROM ML.ROC_CURVE(MODEL demo.survival)")["n"][0].as_py() > 10


def test_multiclass_classifier_equals_xgboost(engine: Engine) -> None:
    engine.execute(
        "CREATE MODEL demo.species OPTIONS (model_type = 'boosted_tree_classifier', "
        "input_label_cols = ['species'], data_split_method = 'NO_SPLIT', early_stop = FALSE, "
        f"max_iterations = 5, max_tree_depth = 3) AS {PENGUINS}"
    )
    frame = frame_of(engine, PENGUINS)
    X = encode(frame, "species")
    classes = sorted(frame["species"].unique())
    y = frame["species"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    direct = xgb.XGBClassifier(
        n_estimators=5, max_depth=3, learning_rate=0.3, tree_method="hist", random_state=0
    ).fit(X, y)
    rows = engine.execute(
        f"SELECT predicted_species_probs AS p FROM ML.PREDICT(MODEL demo.species, ({PENGUINS}))"
    ).to_pylist()
    got = np.array([[s["prob"] for s in r["p"]] for r in rows])
    assert [s["label"] for s in rows[0]["p"]] == classes
    np.testing.assert_allclose(got, direct.predict_proba(X), rtol=1e-5, atol=1e-7)


def test_random_forest_regressor_equals_xgboost_random_forest(engine: Engine) -> None:
    query = "SELECT Fare, Pclass, Age, Sex, Embarked FROM raw.titanic ORDER BY PassengerId"
    engine.execute(
        "CREATE MODEL demo.fare OPTIONS (model_type = 'random_forest_regressor', input_label_cols "
        "= ['Fare'], "
        f"data_split_method = 'NO_SPLIT', num_parallel_tree = 30, max_tree_depth = 5) AS {query}"
    )
    frame = frame_of(engine, query)
    X = encode(frame, "Fare")
    # XGBoost's random forest: one round of 30 parallel trees, learning rate 1, BigQuery's defaults
    # subsample 0.8, colsample_bynode 0.8 and l2_reg 1 (XGBRFRegressor's own default is 1e-5).
    direct = xgb.XGBRFRegressor(
        n_estimators=30,
        max_depth=5,
        subsample=0.8,
        colsample_bynode=0.8,
        reg_lambda=1.0,
        tree_method="hist",
        random_state=0,
    ).fit(X, frame["Fare"].to_numpy())
    predicted = engine.execute(f"SELECT predicted_Fare FROM ML.PREDICT(MODEL demo.fare, ({query}))")
    np.testing.assert_allclose(predicted["predicted_Fare"].to_numpy(), direct.predict(X), rtol=1e-5)


def test_random_forest_classifier_with_class_weights(engine: Engine) -> None:
    engine.execute(
        "CREATE MODEL demo.rf OPTIONS (model_type = 'random_forest_classifier', input_label_cols = "
        "['Survived'], "
        f"num_parallel_tree = 10, auto_class_weights = TRUE) AS {TITANIC}"
    )
    metrics = engine.execute("SELECT * FROM ML.EVALUATE(MODEL demo.rf)").to_pylist()[0]
    assert 0.7 < metrics["roc_auc"] <= 1.0
    rows = engine.execute("SELECT * FROM ML.TRAINING_INFO(MODEL demo.rf)").to_pylist()
    assert len(rows) == 1 and rows[0]["eval_loss"] is not None


def test_unseen_and_null_categories_take_code_zero(engine: Engine) -> None:
    engine.execute(
        "CREATE MODEL demo.codes OPTIONS (model_type = 'boosted_tree_regressor', input_label_cols = ['y'], "
        "data_split_method = 'NO_SPLIT', max_iterations = 3, min_tree_child_weight = 0) AS "
        "SELECT CASE WHEN x % 3 = 0 THEN NULL WHEN x % 3 = 1 THEN 'b' ELSE 'c' END AS kind, "
        "CASE WHEN x % 3 = 0 THEN 10.0 ELSE 0.0 END AS y FROM range(60) AS t(x)"
    )
    rows = engine.execute(
        "SELECT kind, predicted_y FROM ML.PREDICT(MODEL demo.codes, "
        "(SELECT * FROM (VALUES (NULL), ('zzz'), ('b')) AS v(kind)))"
    ).to_pylist()
    by_kind = {r["kind"]: r["predicted_y"] for r in rows}
    assert by_kind[None] == pytest.approx(by_kind["zzz"]) and by_kind[None] > by_kind["b"] + 1


def test_early_stop_ends_training_when_progress_stalls(engine: Engine) -> None:
    engine.execute(
        "CREATE MODEL demo.stop OPTIONS (model_type = 'boosted_tree_regressor', input_label_cols = ['y'], "
        "data_split_method = 'NO_SPLIT', max_iterations = 50, min_rel_progress = 0.2) AS "
        "SELECT x, 2.0 * x AS y FROM range(100) AS t(x)"
    )
    info = engine.execute("SELECT * FROM ML.TRAINING_INFO(MODEL demo.stop)").to_pylist()
    assert 1 < len(info) < 50
    losses = [r["loss"] for r in info]
    assert (losses[-2] - losses[-1]) / losses[-2] < 0.2


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("max_tree_depth = 0", "max_tree_depth"),
        ("booster_type = 'linear'", "booster_type"),
        ("subsample = 0", "subsample"),
        ("learn_rate = 'fast'", "learn_rate"),
        ("tree_method = 'gpu'", "tree_method"),
        ("category_encoding_method = 'ONE_HOT_ENCODING'", "category_encoding_method"),
        ("auto_class_weights = TRUE", "auto_class_weights"),
        ("num_parallel_tree = 0", "num_parallel_tree"),
        ("colsample_bynode = 1.5", "colsample_bynode"),
    ],
)
def test_bad_options_name_the_option(engine: Engine, options: str, message: str) -> None:
    with pytest.raises(MLError, match=message):
        engine.execute(
            "CREATE MODEL demo.bad OPTIONS (model_type = 'boosted_tree_regressor', input_label_cols = "
            "['y'], "
            f"{options}) AS SELECT 1.0 AS x, 2.0 AS y"
        )


def test_random_forest_rejects_boosting_options(engine: Engine) -> None:
    with pytest.raises(MLError, match="learn_rate"):
        engine.execute(
            "CREATE MODEL demo.bad OPTIONS (model_type = 'random_forest_regressor', input_label_cols = "
            "['y'], "
            "learn_rate = 0.1) AS SELECT 1.0 AS x, 2.0 AS y"
        )
    with pytest.raises(MLError, match="class_weights"):
        engine.execute(
            "CREATE MODEL demo.bad OPTIONS (model_type = 'random_forest_classifier', input_label_cols "
            "= ['y'], "
            "auto_class_weights = TRUE, class_weights = [('a', 1.0), ('b', 2.0)]) AS SELECT 1.0 AS x, "
            "'a' AS y"
        )


def test_stored_sql_template_predicts_like_the_engine_without_any_udf(engine: Engine) -> None:
    """The `predict` template is pure SQL (what dbt runs on a bare connection); the Engine runs the
    `predict_udf` variant (booster in a vectorised UDF). Both equal XGBoost to float32 precision."""
    engine.execute(
        "CREATE MODEL demo.survival OPTIONS (model_type = 'boosted_tree_classifier', "
        f"input_label_cols = ['Survived'], max_iterations = 8) AS {TITANIC}"
    )
    template = engine.con.execute(
        "SELECT sql_template FROM _ml.model_functions WHERE function = 'predict' AND has_input"
    ).fetchall()[0][0]
    assert "__ml_tree_margin" not in template and "__ml_tree_shap" not in template
    bare = template.replace("__ML_INPUT__", "(SELECT * FROM raw.titanic ORDER BY PassengerId)").replace(
        "__ML_THRESHOLD__", "0.5e0"
    )
    sql_rows = engine.con.execute(f"SELECT predicted_Survived_probs[2].prob FROM ({bare})").fetchall()
    engine_rows = engine.execute(
        "SELECT predicted_Survived_probs[1].prob AS p FROM ML.PREDICT(MODEL demo.survival, "
        "(SELECT * FROM raw.titanic ORDER BY PassengerId))"
    )["p"].to_pylist()
    np.testing.assert_allclose([r[0] for r in sql_rows], engine_rows, rtol=1e-5, atol=1e-6)
    evaluate = engine.con.execute(
        "SELECT sql_template FROM _ml.model_functions WHERE function = 'evaluate' AND has_input"
    ).fetchall()[0][0]
    assert "__ml_tree_margin" not in evaluate
    bare_metrics = engine.con.execute(
        evaluate.replace("__ML_INPUT__", "raw.titanic").replace("__ML_THRESHOLD__", "0.5e0")
    ).fetchall()[0]
    query = "SELECT * FROM ML.EVALUATE(MODEL demo.survival, TABLE raw.titanic)"
    assert "__ml_tree_margin" in engine.translate(query)  # the Engine runs the UDF variant
    engine_metrics = engine.execute(query)
    assert list(engine_metrics.to_pylist()[0].values()) == pytest.approx(list(bare_metrics), rel=1e-5)
