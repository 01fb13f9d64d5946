"""Optimize strategies, regularisation, class weights and k-means options against numpy oracles."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression as SkLogistic

from ml import Engine

PENGUINS = (
    "SELECT bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g FROM raw.penguins "
    "WHERE body_mass_g IS NOT NULL ORDER BY penguin_id"
)
NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm"]
TITANIC = "SELECT Survived, Pclass, Age, Fare FROM raw.titanic ORDER BY PassengerId"


def standardized(engine: Engine, query: str, columns: list[str]) -> np.ndarray:
    """The engine's preprocessing by hand: NULL -> mean, then (x - mean) / sample stddev."""
    raw = engine.con.execute(query).df()[columns].to_numpy(float)
    mean, std = np.nanmean(raw, axis=0), np.nanstd(raw, axis=0, ddof=1)
    return (np.where(np.isnan(raw), mean, raw) - mean) / std


def train(engine: Engine, name: str, options: str, query: str) -> None:
    engine.execute(f"CREATE MODEL demo.{name} OPTIONS ({options}, data_split_method = 'NO_SPLIT') AS {query}")


def weights(engine: Engine, name: str) -> dict[str, float]:
    rows = engine.execute(f"SELECT * FROM ML.WEIGHTS(MODEL demo.{name}, STRUCT(TRUE AS standardize))")
    return {r["processed_input"]: r["weight"] for r in rows.to_pylist()}


@pytest.mark.parametrize(
    "schedule", ["learn_rate_strategy = 'LINE_SEARCH'", "learn_rate_strategy = 'CONSTANT', learn_rate = 0.2"]
)
def test_gradient_descent_reaches_the_least_squares_fit(engine: Engine, schedule: str) -> None:
    train(
        engine,
        "gd",
        f"model_type = 'linear_reg', input_label_cols = ['body_mass_g'], "
        f"optimize_strategy = 'BATCH_GRADIENT_DESCENT', {schedule}, max_iterations = 3000, "
        f"min_rel_progress = 1e-14",
        PENGUINS,
    )
    X = np.column_stack([np.ones(342), standardized(engine, PENGUINS, NUMERIC)])
    y = engine.con.execute(PENGUINS).df()["body_mass_g"].to_numpy(float)
    expected, *_ = np.linalg.lstsq(X, y, rcond=None)
    got = weights(engine, "gd")
    np.testing.assert_allclose([got["__INTERCEPT__"], *(got[c] for c in NUMERIC)], expected, rtol=1e-4)
    info = engine.execute("SELECT iteration, learning_rate FROM ML.TRAINING_INFO(MODEL demo.gd)").to_pylist()
    assert info[0]["iteration"] == 0 and len(info) > 10
    if "CONSTANT" in schedule:
        assert {r["learning_rate"] for r in info} == {0.2}


def test_l2_normal_equation_is_ridge_with_a_free_intercept(engine: Engine) -> None:
    train(
        engine,
        "ridge",
        "model_type = 'linear_reg', input_label_cols = ['body_mass_g'], l2_reg = 50.0, "
        "optimize_strategy = 'NORMAL_EQUATION'",
        PENGUINS,
    )
    X = np.column_stack([np.ones(342), standardized(engine, PENGUINS, NUMERIC)])
    y = engine.con.execute(PENGUINS).df()["body_mass_g"].to_numpy(float)
    penalty = np.diag([0.0, 50.0, 50.0, 50.0])
    expected = np.linalg.solve(X.T @ X + penalty, X.T @ y)
    got = weights(engine, "ridge")
    np.testing.assert_allclose([got["__INTERCEPT__"], *(got[c] for c in NUMERIC)], expected, rtol=1e-9)


def test_strong_l1_zeroes_every_weight_and_early_stop_ends_training(engine: Engine) -> None:
    train(
        engine,
        "lasso",
        "model_type = 'linear_reg', input_label_cols = ['body_mass_g'], l1_reg = 1e9, max_iterations = 200",
        PENGUINS,
    )
    got = weights(engine, "lasso")
    assert [got[c] for c in NUMERIC] == [0.0, 0.0, 0.0]
    iterations = engine.execute("SELECT count(*) AS n FROM ML.TRAINING_INFO(MODEL demo.lasso)")["n"][
        0
    ].as_py()
    assert iterations < 200  # the loss stops improving by min_rel_progress long before


@pytest.mark.parametrize(
    "weighting", ["auto_class_weights = TRUE", "class_weights = [('0', 0.3), ('1', 2.5)]"]
)
def test_class_weights_match_a_weighted_maximum_likelihood_fit(engine: Engine, weighting: str) -> None:
    train(
        engine,
        "weighted",
        f"model_type = 'logistic_reg', input_label_cols = ['Survived'], {weighting}, "
        f"max_iterations = 5000, min_rel_progress = 1e-13",
        TITANIC,
    )
    X = standardized(engine, TITANIC, ["Pclass", "Age", "Fare"])
    y = engine.con.execute(TITANIC).df()["Survived"].to_numpy()
    class_weight = "balanced" if "auto" in weighting else {0: 0.3, 1: 2.5}
    oracle = SkLogistic(C=np.inf, class_weight=class_weight, tol=1e-12, max_iter=10_000).fit(X, y)
    rows = engine.execute(
        f"SELECT predicted_Survived_probs AS p FROM ML.PREDICT(MODEL demo.weighted, ({TITANIC}))"
    )
    positive = [row[1]["prob"] for row in rows["p"].to_pylist()]
    np.testing.assert_allclose(positive, oracle.predict_proba(X)[:, 1], atol=1e-5)


def test_kmeans_cosine_distances_and_seeded_inits(engine: Engine) -> None:
    query = (
        f"SELECT {', '.join(NUMERIC)} FROM raw.penguins WHERE bill_length_mm IS NOT NULL ORDER BY penguin_id"
    )
    for name, init in (("cos", "KMEANS++"), ("again", "KMEANS++"), ("rand", "RANDOM")):
        engine.execute(
            f"CREATE MODEL demo.{name} OPTIONS (model_type = 'kmeans', num_clusters = 3, "
            f"kmeans_init_method = '{init}', distance_type = 'COSINE', standardize_features = FALSE) "
            f"AS {query}"
        )
    centroids = {}
    for row in engine.execute("SELECT * FROM ML.CENTROIDS(MODEL demo.cos)").to_pylist():
        centroids.setdefault(row["centroid_id"], {})[row["feature"]] = row["numerical_value"]
    C = np.array([[centroids[k][f] for f in NUMERIC] for k in sorted(centroids)])
    X = engine.con.execute(query).df().to_numpy(float)
    cosine = (X @ C.T) / np.linalg.norm(X, axis=1)[:, None] / np.linalg.norm(C, axis=1)[None, :]
    expected = np.sqrt(1 - cosine)
    rows = engine.execute(f"SELECT * FROM ML.PREDICT(MODEL demo.cos, ({query}))").to_pylist()
    got = np.array(
        [
            [d["DISTANCE"] for d in sorted(r["NEAREST_CENTROIDS_DISTANCE"], key=lambda d: d["CENTROID_ID"])]
            for r in rows
        ]
    )
    np.testing.assert_allclose(got, expected, atol=1e-9)
    assert [r["CENTROID_ID"] for r in rows] == list(expected.argmin(axis=1) + 1)
    same = [engine.execute(f"SELECT * FROM ML.CENTROIDS(MODEL demo.{n})") for n in ("cos", "again")]
    assert same[0].equals(same[1])
