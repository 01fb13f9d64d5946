"""Bad input: each gets one clear error naming the problem, and a failed replace keeps the old model."""

from __future__ import annotations

import pytest

from ml import Engine, MLError

PENGUINS = (
    "SELECT species, island, bill_length_mm, body_mass_g FROM raw.penguins WHERE body_mass_g IS NOT NULL"
)


def create(
    engine: Engine, options: str, query: str = PENGUINS, name: str = "demo.m", transform: str = ""
) -> None:
    engine.execute(f"CREATE MODEL {name} {transform} OPTIONS ({options}) AS {query}")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            "model_type = 'linear_reg', input_label_cols = ['body_mass_g'], learning_speed = 2",
            "Unknown option: learning_speed",
        ),
        ("input_label_cols = ['body_mass_g']", "Missing required option: model_type"),
        ("model_type = 'random_forest_of_doom'", "Invalid value for option model_type"),
        (
            "model_type = 'linear_reg', input_label_cols = ['body_mass_g'], l2_reg = 'lots'",
            "Invalid value for option l2_reg: expected FLOAT64",
        ),
        (
            "model_type = 'linear_reg', input_label_cols = ['body_mass_g'], l1_reg = -1",
            "l1_reg: -1 is out of range",
        ),
        (
            "model_type = 'linear_reg', input_label_cols = ['body_mass_g'], max_iterations = 2.5",
            "max_iterations: expected INT64",
        ),
        (
            "model_type = 'linear_reg', input_label_cols = ['body_mass_g'], early_stop = 'yes'",
            "early_stop: expected BOOL",
        ),
        (
            "model_type = 'linear_reg', input_label_cols = ['body_mass_g'], learn_rate = 0.3",
            "learn_rate can only be set when learn_rate_strategy is 'CONSTANT'",
        ),
        (
            "model_type = 'linear_reg', input_label_cols = ['body_mass_g'], "
            "optimize_strategy = 'NORMAL_EQUATION', l1_reg = 1.0",
            "l1_reg is not supported when optimize_strategy is NORMAL_EQUATION",
        ),
        (
            "model_type = 'linear_reg', input_label_cols = ['body_mass_g'], data_split_method = 'CUSTOM'",
            "data_split_col must be set when data_split_method is CUSTOM",
        ),
        ("model_type = 'linear_reg', input_label_cols = ['weight']", "Label column weight not found"),
        ("model_type = 'kmeans', num_clusters = 1", "num_clusters: 1 is out of range [2, 100]"),
        ("model_type = 'kmeans', num_clusters = 101", "num_clusters: 101 is out of range [2, 100]"),
        (
            "model_type = 'logistic_reg', input_label_cols = ['species'], auto_class_weights = TRUE, "
            "class_weights = [('Adelie', 1.0)]",
            "auto_class_weights and class_weights cannot both be set",
        ),
    ],
)
def test_bad_options(engine: Engine, options: str, message: str) -> None:
    with pytest.raises(MLError, match=message.replace("(", r"\(").replace("[", r"\[")):
        create(engine, options)


@pytest.mark.parametrize(
    "label_sql", ["CAST(NULL AS DOUBLE)", "CAST('NaN' AS DOUBLE)", "CAST('-inf' AS DOUBLE)"]
)
def test_linear_reg_rejects_non_finite_labels(engine: Engine, label_sql: str) -> None:
    query = (
        f"SELECT bill_length_mm, CASE WHEN penguin_id = 7 THEN {label_sql} ELSE body_mass_g END AS mass "
        f"FROM raw.penguins WHERE body_mass_g IS NOT NULL OR penguin_id = 7"
    )
    with pytest.raises(MLError, match="Label column mass has 1 NULL, NaN, infinite or out-of-range values"):
        create(engine, "model_type = 'linear_reg', input_label_cols = ['mass']", query)


def test_logistic_reg_needs_two_classes(engine: Engine) -> None:
    query = "SELECT bill_length_mm, species FROM raw.penguins WHERE species = 'Adelie'"
    with pytest.raises(MLError, match=r"at least 2 unique labels.*had 1 unique label"):
        create(engine, "model_type = 'logistic_reg', input_label_cols = ['species']", query)


def test_transform_rejects_aggregates_and_unaliased_expressions(engine: Engine) -> None:
    options = "model_type = 'linear_reg', input_label_cols = ['body_mass_g']"
    with pytest.raises(MLError, match="Aggregate function SUM is not allowed in the TRANSFORM clause"):
        create(engine, options, transform="TRANSFORM (SUM(bill_length_mm) AS total, body_mass_g)")
    with pytest.raises(MLError, match="TRANSFORM expressions must be aliased"):
        create(engine, options, transform="TRANSFORM (bill_length_mm * 2, body_mass_g)")
    with pytest.raises(MLError, match="Analytic functions other than ML"):
        create(
            engine, options, transform="TRANSFORM (RANK() OVER (ORDER BY bill_length_mm) AS r, body_mass_g)"
        )


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELEC 1", "Syntax error"),
        ("CREATE MODEL demo.m AS SELECT 1", "CREATE MODEL requires OPTIONS"),
        ("CREATE MODEL demo.m OPTIONS (model_type = 'linear_reg'", "unbalanced parentheses"),
        (
            "CREATE MODEL demo.m OPTIONS (model_type 'linear_reg') AS SELECT 1 AS label",
            "Syntax error in OPTIONS",
        ),
        ("SELECT * FROM ML.PREDICT(MODEL demo.missing, (SELECT 1 AS x))", "Not found: Model demo.missing"),
        ("SELECT * FROM ML.EVALUATE(MODEL demo.missing)", "Not found: Model demo.missing"),
        ("DROP MODEL demo.missing", "Not found: Model demo.missing"),
        ("SELECT * FROM ML.EXPLAIN_FORECAST(MODEL demo.m)", "ML.EXPLAIN_FORECAST is not supported"),
        ("CREATE MODEL a.b.c.d OPTIONS (model_type = 'kmeans') AS SELECT 1 AS x", "Invalid model name"),
    ],
)
def test_errors_name_the_problem(engine: Engine, sql: str, message: str) -> None:
    with pytest.raises(MLError, match=message) as caught:
        engine.execute(sql)
    assert "\n" not in str(caught.value)


def test_create_model_twice_and_if_not_exists(engine: Engine) -> None:
    options = "model_type = 'linear_reg', input_label_cols = ['body_mass_g']"
    create(engine, options)
    with pytest.raises(MLError, match=r"Already Exists: Model demo\.m"):
        create(engine, options)
    status = engine.execute(f"CREATE MODEL IF NOT EXISTS demo.m OPTIONS ({options}) AS {PENGUINS}")
    assert status["status"].to_pylist() == ["skipped: already exists"]
    engine.execute("CREATE TABLE demo.t AS SELECT 1 AS x")
    with pytest.raises(MLError, match=r"Already Exists: demo\.t is a table or view"):
        create(engine, options, name="demo.t")


def test_failed_create_or_replace_keeps_the_existing_model(engine: Engine) -> None:
    create(engine, "model_type = 'linear_reg', input_label_cols = ['body_mass_g']")
    before = engine.execute("SELECT * FROM ML.WEIGHTS(MODEL demo.m)")
    with pytest.raises(MLError, match="Label column nothing not found"):
        engine.execute(
            f"CREATE OR REPLACE MODEL demo.m OPTIONS (model_type = 'linear_reg', "
            f"input_label_cols = ['nothing']) AS {PENGUINS}"
        )
    with pytest.raises(MLError, match="Logistic regression requires at least 2 unique labels"):
        engine.execute(
            "CREATE OR REPLACE MODEL demo.m OPTIONS (model_type = 'logistic_reg', "
            "input_label_cols = ['species']) AS SELECT * FROM raw.penguins WHERE species = 'Gentoo'"
        )
    assert engine.execute("SELECT * FROM ML.WEIGHTS(MODEL demo.m)").equals(before)
    assert engine.execute("SELECT model_type FROM demo.m")["model_type"].to_pylist() == ["LINEAR_REG"]


def test_drop_model(engine: Engine) -> None:
    create(engine, "model_type = 'linear_reg', input_label_cols = ['body_mass_g']")
    assert engine.execute("DROP MODEL demo.m")["status"].to_pylist() == ["dropped"]
    with pytest.raises(MLError, match=r"Not found: Model demo\.m"):
        engine.execute("SELECT * FROM ML.TRAINING_INFO(MODEL demo.m)")
    assert engine.execute("DROP MODEL IF EXISTS demo.m")["status"].to_pylist() == ["skipped: not found"]
    assert engine.con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'm'"
    ).fetchall() == [(0,)]
