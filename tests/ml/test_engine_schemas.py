"""Every ML.* function's output columns, by name and DuckDB type, as BigQuery defines them."""

from __future__ import annotations

import pytest

from ml import Engine

PENGUINS = "SELECT species, island, bill_length_mm, sex, body_mass_g FROM raw.penguins"
INPUT = ["species", "island", "bill_length_mm", "sex", "body_mass_g"]
INPUT_TYPES = [
    (c, t) for c, t in zip(INPUT, ["VARCHAR", "VARCHAR", "DOUBLE", "VARCHAR", "DOUBLE"], strict=True)
]
REGRESSION_METRICS = [
    "mean_absolute_error",
    "mean_squared_error",
    "mean_squared_log_error",
    "median_absolute_error",
    "r2_score",
    "explained_variance",
]
CLASSIFICATION_METRICS = ["precision", "recall", "accuracy", "f1_score", "log_loss", "roc_auc"]
GLM_TRAINING_INFO = [
    ("training_run", "BIGINT"),
    ("iteration", "BIGINT"),
    ("loss", "DOUBLE"),
    ("eval_loss", "DOUBLE"),
    ("learning_rate", "DOUBLE"),
    ("duration_ms", "BIGINT"),
]
FEATURE_INFO = [
    ("input", "VARCHAR"),
    ("min", "DOUBLE"),
    ("max", "DOUBLE"),
    ("mean", "DOUBLE"),
    ("median", "DOUBLE"),
    ("stddev", "DOUBLE"),
    ("category_count", "BIGINT"),
    ("null_count", "BIGINT"),
    ("dimension", "BIGINT"),
]
WEIGHTS = [
    ("processed_input", "VARCHAR"),
    ("weight", "DOUBLE"),
    ("category_weights", "STRUCT(category VARCHAR, weight DOUBLE)[]"),
]


@pytest.fixture
def linear(engine: Engine) -> str:
    engine.execute(
        f"CREATE MODEL demo.mass OPTIONS (model_type = 'linear_reg', input_label_cols = ['body_mass_g']) "
        f"AS {PENGUINS} WHERE body_mass_g IS NOT NULL"
    )
    return "demo.mass"


@pytest.fixture
def binary(engine: Engine) -> str:
    engine.execute(
        "CREATE MODEL demo.survival OPTIONS (model_type = 'logistic_reg', input_label_cols = ['Survived']) "
        "AS SELECT Survived, Pclass, Sex, Age FROM raw.titanic"
    )
    return "demo.survival"


@pytest.fixture
def multiclass(engine: Engine) -> str:
    engine.execute(
        f"CREATE MODEL demo.species OPTIONS (model_type = 'logistic_reg', input_label_cols = ['species']) "
        f"AS {PENGUINS}"
    )
    return "demo.species"


@pytest.fixture
def clusters(engine: Engine) -> str:
    engine.execute(
        "CREATE MODEL demo.clusters OPTIONS (model_type = 'kmeans', num_clusters = 3) AS "
        "SELECT bill_length_mm, flipper_length_mm, island FROM raw.penguins"
    )
    return "demo.clusters"


def test_linear_reg_outputs(describe, linear: str) -> None:
    assert describe(f"SELECT * FROM ML.PREDICT(MODEL {linear}, ({PENGUINS}))") == [
        ("predicted_body_mass_g", "DOUBLE"),
        *INPUT_TYPES,
    ]
    metrics = [(m, "DOUBLE") for m in REGRESSION_METRICS]
    assert describe(f"SELECT * FROM ML.EVALUATE(MODEL {linear})") == metrics
    assert describe(f"SELECT * FROM ML.EVALUATE(MODEL {linear}, ({PENGUINS}))") == metrics
    assert describe(f"SELECT * FROM ML.TRAINING_INFO(MODEL {linear})") == GLM_TRAINING_INFO
    assert describe(f"SELECT * FROM ML.FEATURE_INFO(MODEL {linear})") == FEATURE_INFO
    assert describe(f"SELECT * FROM ML.WEIGHTS(MODEL {linear})") == WEIGHTS


def test_binary_logistic_outputs(describe, binary: str) -> None:
    titanic = "SELECT PassengerId, Survived, Pclass, Sex, Age FROM raw.titanic"
    assert describe(f"SELECT * FROM ML.PREDICT(MODEL {binary}, ({titanic}), STRUCT(0.3 AS threshold))") == [
        ("predicted_Survived", "BIGINT"),
        ("predicted_Survived_probs", 'STRUCT("label" BIGINT, prob DOUBLE)[]'),
        ("PassengerId", "BIGINT"),
        ("Survived", "BIGINT"),
        ("Pclass", "BIGINT"),
        ("Sex", "VARCHAR"),
        ("Age", "DOUBLE"),
    ]
    metrics = [(m, "DOUBLE") for m in CLASSIFICATION_METRICS]
    assert describe(f"SELECT * FROM ML.EVALUATE(MODEL {binary})") == metrics
    assert (
        describe(f"SELECT * FROM ML.EVALUATE(MODEL {binary}, TABLE raw.titanic, STRUCT(0.6 AS threshold))")
        == metrics
    )
    matrix = [("expected_label", "BIGINT"), ("_0", "BIGINT"), ("_1", "BIGINT")]
    assert describe(f"SELECT * FROM ML.CONFUSION_MATRIX(MODEL {binary})") == matrix
    assert describe(f"SELECT * FROM ML.CONFUSION_MATRIX(MODEL {binary}, TABLE raw.titanic)") == matrix
    roc = [
        ("threshold", "DOUBLE"),
        ("recall", "DOUBLE"),
        ("false_positive_rate", "DOUBLE"),
        ("true_positives", "BIGINT"),
        ("false_positives", "BIGINT"),
        ("true_negatives", "BIGINT"),
        ("false_negatives", "BIGINT"),
    ]
    assert describe(f"SELECT * FROM ML.ROC_CURVE(MODEL {binary})") == roc
    assert describe(f"SELECT * FROM ML.ROC_CURVE(MODEL {binary}, TABLE raw.titanic)") == roc
    assert describe(f"SELECT * FROM ML.TRAINING_INFO(MODEL {binary})") == GLM_TRAINING_INFO


def test_multiclass_logistic_outputs(describe, multiclass: str) -> None:
    assert describe(f"SELECT * FROM ML.PREDICT(MODEL {multiclass}, ({PENGUINS}))") == [
        ("predicted_species", "VARCHAR"),
        ("predicted_species_probs", 'STRUCT("label" VARCHAR, prob DOUBLE)[]'),
        *INPUT_TYPES,
    ]
    assert describe(f"SELECT * FROM ML.CONFUSION_MATRIX(MODEL {multiclass})") == [
        ("expected_label", "VARCHAR"),
        ("Adelie", "BIGINT"),
        ("Chinstrap", "BIGINT"),
        ("Gentoo", "BIGINT"),
    ]
    assert describe(f"SELECT * FROM ML.WEIGHTS(MODEL {multiclass})") == [
        WEIGHTS[0],
        ("class_label", "VARCHAR"),
        *WEIGHTS[1:],
    ]


def test_kmeans_outputs(describe, clusters: str) -> None:
    rows = "SELECT penguin_id, bill_length_mm, flipper_length_mm, island FROM raw.penguins"
    assert describe(f"SELECT * FROM ML.PREDICT(MODEL {clusters}, ({rows}))") == [
        ("CENTROID_ID", "BIGINT"),
        ("NEAREST_CENTROIDS_DISTANCE", 'STRUCT(CENTROID_ID BIGINT, "DISTANCE" DOUBLE)[]'),
        ("penguin_id", "BIGINT"),
        ("bill_length_mm", "DOUBLE"),
        ("flipper_length_mm", "DOUBLE"),
        ("island", "VARCHAR"),
    ]
    metrics = [("davies_bouldin_index", "DOUBLE"), ("mean_squared_distance", "DOUBLE")]
    assert describe(f"SELECT * FROM ML.EVALUATE(MODEL {clusters})") == metrics
    assert describe(f"SELECT * FROM ML.EVALUATE(MODEL {clusters}, ({rows}))") == metrics
    assert describe(f"SELECT * FROM ML.TRAINING_INFO(MODEL {clusters})") == [
        *GLM_TRAINING_INFO[:4],
        ("duration_ms", "BIGINT"),
        ("cluster_info", "STRUCT(centroid_id BIGINT, cluster_radius DOUBLE, cluster_size BIGINT)[]"),
    ]
    assert describe(f"SELECT * FROM ML.CENTROIDS(MODEL {clusters})") == [
        ("centroid_id", "BIGINT"),
        ("feature", "VARCHAR"),
        ("numerical_value", "DOUBLE"),
        ("categorical_value", 'STRUCT(category VARCHAR, "value" DOUBLE)[]'),
    ]
    assert describe(f"SELECT * FROM ML.FEATURE_INFO(MODEL {clusters})") == FEATURE_INFO


def test_one_row_out_per_row_in_and_inputs_pass_through(engine: Engine, multiclass: str) -> None:
    result = engine.execute(f"SELECT * FROM ML.PREDICT(MODEL {multiclass}, ({PENGUINS}))")
    source = engine.execute(PENGUINS)
    assert result.num_rows == source.num_rows
    assert result.select(INPUT).to_pylist() == source.to_pylist()
    for row in result.select(["predicted_species_probs"]).to_pylist():
        assert sum(p["prob"] for p in row["predicted_species_probs"]) == pytest.approx(1.0)
