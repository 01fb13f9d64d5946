"""The engine's fits against independent numpy / scikit-learn fits on the same design matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression as SkLogistic

from ml import Engine


def design(
    frame: pd.DataFrame, numeric: list[str], categorical: list[str], drop: dict[str, str] | None = None
):
    """BigQuery's automatic preprocessing written out by hand: standardized numerics (NULL -> mean),
    one indicator per category (NULL a category of its own, categories sorted, NULL last)."""
    columns, names = [], []
    for name in numeric:
        values = frame[name].astype(float)
        mean, std = values.mean(), values.std(ddof=1)
        columns.append(((values.fillna(mean) - mean) / std).to_numpy())
        names.append(name)
    for name in categorical:
        values = frame[name].astype(object).where(frame[name].notna(), None)
        categories = sorted(v for v in values.unique() if v is not None) + (
            [None] if values.isna().any() else []
        )
        for category in categories:
            if drop and drop.get(name) == category:
                continue
            indicator = values.isna() if category is None else values == category
            columns.append(indicator.to_numpy(dtype=float))
            names.append((name, category))
    return np.column_stack(columns), names


def test_normal_equation_equals_least_squares(engine: Engine) -> None:
    query = (
        "SELECT species, island, bill_length_mm, flipper_length_mm, sex, body_mass_g "
        "FROM raw.penguins WHERE body_mass_g IS NOT NULL ORDER BY penguin_id"
    )
    engine.execute(
        f"CREATE MODEL demo.mass OPTIONS (model_type = 'linear_reg', input_label_cols = ['body_mass_g'], "
        f"optimize_strategy = 'NORMAL_EQUATION', data_split_method = 'NO_SPLIT') AS {query}"
    )
    frame = engine.con.execute(query).df()
    X, names = design(frame, ["bill_length_mm", "flipper_length_mm"], ["species", "island", "sex"])
    Xa = np.column_stack([np.ones(len(X)), X])
    expected, *_ = np.linalg.lstsq(Xa, frame["body_mass_g"].to_numpy(float), rcond=None)

    predicted = engine.execute(f"SELECT predicted_body_mass_g FROM ML.PREDICT(MODEL demo.mass, ({query}))")
    np.testing.assert_allclose(
        predicted["predicted_body_mass_g"].to_numpy(), Xa @ expected, rtol=0, atol=1e-6
    )

    weights = engine.execute(
        "SELECT * FROM ML.WEIGHTS(MODEL demo.mass, STRUCT(TRUE AS standardize))"
    ).to_pylist()
    got = {}
    for row in weights:
        got[row["processed_input"]] = row["weight"]
        for cw in row["category_weights"]:
            got[(row["processed_input"], cw["category"])] = cw["weight"]
    np.testing.assert_allclose([got["__INTERCEPT__"]] + [got[n] for n in names], expected, rtol=0, atol=1e-6)


def test_logistic_regression_converges_to_the_unregularised_maximum_likelihood(engine: Engine) -> None:
    query = "SELECT Survived, Pclass, Sex, Age, SibSp, Parch, Fare FROM raw.titanic ORDER BY PassengerId"
    engine.execute(
        f"CREATE MODEL demo.survival OPTIONS (model_type = 'logistic_reg', input_label_cols = ['Survived'], "
        f"category_encoding_method = 'DUMMY_ENCODING', data_split_method = 'NO_SPLIT', "
        f"max_iterations = 5000, min_rel_progress = 1e-13) AS {query}"
    )
    frame = engine.con.execute(query).df()
    X, names = design(frame, ["Pclass", "Age", "SibSp", "Parch", "Fare"], ["Sex"], drop={"Sex": "male"})
    oracle = SkLogistic(C=np.inf, tol=1e-12, max_iter=10_000).fit(X, frame["Survived"])

    probs = engine.execute(f"SELECT predicted_Survived_probs FROM ML.PREDICT(MODEL demo.survival, ({query}))")
    positive = [
        next(p["prob"] for p in row if p["label"] == 1)
        for row in probs["predicted_Survived_probs"].to_pylist()
    ]
    np.testing.assert_allclose(positive, oracle.predict_proba(X)[:, 1], atol=1e-5)

    weights = engine.execute(
        "SELECT * FROM ML.WEIGHTS(MODEL demo.survival, STRUCT(TRUE AS standardize))"
    ).to_pylist()
    got = {r["processed_input"]: r["weight"] for r in weights}
    sex = {
        c["category"]: c["weight"]
        for r in weights
        if r["processed_input"] == "Sex"
        for c in r["category_weights"]
    }
    assert sex["male"] == 0.0  # DUMMY_ENCODING: the most frequent category carries no weight
    engine_coef = [got[n] if isinstance(n, str) else sex[n[1]] for n in names]
    np.testing.assert_allclose(engine_coef, oracle.coef_[0], atol=1e-4)
    np.testing.assert_allclose(got["__INTERCEPT__"], oracle.intercept_[0], atol=1e-4)


def test_multiclass_logistic_matches_multinomial_fit(engine: Engine) -> None:
    query = (
        "SELECT island, bill_length_mm, bill_depth_mm, flipper_length_mm FROM raw.penguins "
        "WHERE bill_length_mm IS NOT NULL ORDER BY penguin_id"
    )
    engine.execute(
        f"CREATE MODEL demo.island OPTIONS (model_type = 'logistic_reg', input_label_cols = ['island'], "
        f"data_split_method = 'NO_SPLIT', max_iterations = 5000, min_rel_progress = 1e-13) AS {query}"
    )
    frame = engine.con.execute(query).df()
    X, _ = design(frame, ["bill_length_mm", "bill_depth_mm", "flipper_length_mm"], [])
    oracle = SkLogistic(C=np.inf, tol=1e-12, max_iter=10_000).fit(X, frame["island"])

    rows = engine.execute(
        f"SELECT predicted_island, predicted_island_probs FROM ML.PREDICT(MODEL demo.island, ({query}))"
    ).to_pylist()
    probs = np.array([[p["prob"] for p in row["predicted_island_probs"]] for row in rows])
    assert [p["label"] for p in rows[0]["predicted_island_probs"]] == list(oracle.classes_)
    np.testing.assert_allclose(probs, oracle.predict_proba(X), atol=1e-4)
    assert [r["predicted_island"] for r in rows] == list(oracle.classes_[probs.argmax(axis=1)])


@pytest.mark.parametrize("standardize", [True, False])
def test_kmeans_custom_init_equals_lloyd(engine: Engine, standardize: bool) -> None:
    features = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    query = (
        f"SELECT {', '.join(features)}, penguin_id IN (0, 160, 300) AS seed FROM raw.penguins "
        f"WHERE body_mass_g IS NOT NULL ORDER BY penguin_id"
    )
    engine.execute(
        f"CREATE MODEL demo.clusters OPTIONS (model_type = 'kmeans', kmeans_init_method = 'CUSTOM', "
        f"kmeans_init_col = 'seed', standardize_features = {str(standardize).upper()}, early_stop = FALSE, "
        f"max_iterations = 100) AS {query}"
    )
    frame = engine.con.execute(query).df()
    raw = frame[features].to_numpy(float)
    mean, std = raw.mean(axis=0), raw.std(axis=0, ddof=1)
    X = (raw - mean) / std if standardize else raw
    centroids = X[frame["seed"].to_numpy()]
    for _ in range(100):
        labels = ((X[:, None, :] - centroids[None]) ** 2).sum(axis=2).argmin(axis=1)
        centroids = np.array([X[labels == k].mean(axis=0) for k in range(3)])

    assigned = engine.execute(f"SELECT CENTROID_ID FROM ML.PREDICT(MODEL demo.clusters, ({query}))")
    np.testing.assert_array_equal(assigned["CENTROID_ID"].to_numpy(), labels + 1)
    stored = engine.execute(
        "SELECT centroid_id, feature, numerical_value FROM ML.CENTROIDS(MODEL demo.clusters)"
    )
    got = {(r["centroid_id"], r["feature"]): r["numerical_value"] for r in stored.to_pylist()}
    original = centroids * std + mean if standardize else centroids
    for k in range(3):
        for j, name in enumerate(features):
            assert got[(k + 1, name)] == pytest.approx(original[k, j], rel=1e-9)
