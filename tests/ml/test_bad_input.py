"""Bad input never ruins a model or reaches the user as a traceback: each statement below goes
through `python -m ml sql` against a warehouse holding good models, and must fail with one line
naming what is wrong, while every model still predicts byte for byte as before."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

import ml.cli
from ml import Engine

ROOT = Path(__file__).resolve().parents[2]
DATA = (
    "CREATE SCHEMA raw; CREATE TABLE raw.t AS SELECT i AS x, (i % 7) * 1.5 AS z, "
    "CASE WHEN i % 3 = 0 THEN 'a' WHEN i % 3 = 1 THEN 'b' ELSE 'c' END AS kind, "
    "CASE WHEN i % 2 = 0 THEN 'even' ELSE 'odd' END AS parity, "
    "2.5 * i + (i % 7) + CASE WHEN i % 3 = 0 THEN 10 ELSE 0 END AS y FROM range(120) AS r(i)"
)
FEATURES = "SELECT x, z, kind, parity, y FROM raw.t"
# A good model of each kind the cases below try to replace.
GOOD = {
    "lin": "model_type = 'linear_reg', input_label_cols = ['y']",
    "logit": "model_type = 'logistic_reg', input_label_cols = ['parity']",
    "km": "model_type = 'kmeans', num_clusters = 3",
    "dnn": "model_type = 'dnn_regressor', input_label_cols = ['y'], hidden_units = [4], max_iterations = 2",
    "tree": "model_type = 'boosted_tree_regressor', input_label_cols = ['y'], max_iterations = 3",
    "pca": "model_type = 'pca', num_principal_components = 1",
}
INFINITE_ROW = (
    "SELECT CASE WHEN x = 7 THEN CAST('+inf' AS DOUBLE) ELSE x END AS x, z, kind, parity, y FROM raw.t"
)


def replace(model: str, query: str, options: str | None = None, transform: str = "") -> str:
    return f"CREATE OR REPLACE MODEL demo.{model} {transform} OPTIONS ({options or GOOD[model]}) AS {query}"


CASES = {
    # One +Infinity in one training row: NaN weights (or an XGBoost backtrace) before.
    **{f"{m}_infinite_feature": (m, replace(m, INFINITE_ROW), "Feature column x: 1 row has a NaN, infinite")
       for m in ("lin", "logit", "km", "dnn", "tree")},
    "lin_feature_scaled_by_1e306": (
        "lin",
        replace("lin", "SELECT x * 1e306 AS x, z, kind, parity, y FROM raw.t"),
        "Feature column x: 119 rows have a NaN, infinite or out-of-range value",
    ),
    "lin_infinite_beside_another_feature": (
        "lin",
        replace("lin", "SELECT x, CASE WHEN x = 3 THEN CAST('-inf' AS DOUBLE) ELSE z END AS z, y FROM raw.t"),
        "Feature column z: 1 row has a NaN, infinite",
    ),
    "lin_diverging_gradient_descent": (
        "lin",
        replace(
            "lin",
            FEATURES,
            GOOD["lin"] + ", optimize_strategy = 'batch_gradient_descent', learn_rate_strategy = 'constant', "
            "learn_rate = 1e6, early_stop = FALSE, max_iterations = 100",
        ),
        "Training the linear_reg model produced NaN or infinite values (state.coef[0])",
    ),
    "lin_eval_fraction_leaves_no_training_rows": (
        "lin",
        replace(
            "lin", FEATURES, GOOD["lin"] + ", data_split_method = 'random', data_split_eval_fraction = 1.0"
        ),
        "Invalid value for option data_split_eval_fraction: 1.0 of 120 rows leaves no row to train on",
    ),
    "dnn_network_too_large_for_memory": (
        "dnn",
        replace(
            "dnn",
            FEATURES,
            "model_type = 'dnn_regressor', input_label_cols = ['y'], hidden_units = [100000, 100000]",
        ),
        "Invalid value for option hidden_units: [100000, 100000] makes a network of",
    ),
    "km_more_clusters_than_distinct_points": (
        "km",
        replace("km", "SELECT x % 2 AS x FROM raw.t", "model_type = 'kmeans', num_clusters = 4"),
        "Invalid value for option num_clusters: 4 clusters, but the training data has only 2 distinct points",
    ),
    "km_all_null_feature": (
        "km",
        replace("km", "SELECT x, CAST(NULL AS DOUBLE) AS empty FROM raw.t"),
        "Feature column empty is NULL on every training row: kmeans cannot use it",
    ),
    "pca_constant_columns": (
        "pca",
        replace("pca", "SELECT 1 AS a, 2.5 AS b FROM raw.t"),
        "Every feature column is constant over the training rows",
    ),
    "weights_with_a_non_boolean_standardize": (
        "lin",
        "SELECT * FROM ML.WEIGHTS(MODEL demo.lin, STRUCT('x' AS standardize))",
        "Invalid value for setting standardize of ML.WEIGHTS: expected BOOL, got 'x'",
    ),
    "transform_dropping_the_label": (
        "lin",
        replace("lin", FEATURES, transform="TRANSFORM (ML.STANDARD_SCALER(x) OVER () AS x, z)"),
        "TRANSFORM must select the column y as it is",
    ),
    "unterminated_string": (
        "lin", "SELECT * FROM raw.t WHERE kind = 'a", "unterminated string starting at line 1, column 34"
    ),
    "scaler_of_a_string": (
        "lin",
        replace("lin", FEATURES, transform="TRANSFORM (ML.STANDARD_SCALER(kind) OVER () AS k, y)"),
        "ML.STANDARD_SCALER needs a numeric argument, but kind is VARCHAR in the training data",
    ),
    "predict_with_a_wrong_feature_type": (
        "lin",
        "SELECT * FROM ML.PREDICT(MODEL demo.lin, "
        "(SELECT 'ten' AS x, 1.5 AS z, 'a' AS kind, 'odd' AS parity))",
        "ML.PREDICT input column x has type VARCHAR; model demo.lin was trained on it as a number",
    ),
    "predict_without_the_model_keyword": (
        "lin",
        "SELECT * FROM ML.PREDICT(demo.lin, TABLE raw.t)",
        "Syntax error: ML.PREDICT expects MODEL <name> as its first argument",
    ),
    "option_that_is_not_a_constant": (
        "lin",
        replace("lin", FEATURES, GOOD["lin"] + ", l2_reg = 1 + 1"),
        "Invalid value for option l2_reg: 1 + 1 is not a constant",
    ),
    "model_name_in_double_quotes": (
        "lin",
        f'CREATE OR REPLACE MODEL demo."lin" OPTIONS ({GOOD["lin"]}) AS {FEATURES}',
        '"lin" is a string, not a name',
    ),
    "script_whose_second_statement_fails": (
        "lin",
        "CREATE TABLE raw.applied AS SELECT 1 AS one; " + replace("lin", INFINITE_ROW),
        "Statement 2 of 2 failed (statement 1 was applied): Feature column x: 1 row has a NaN",
    ),
}
LEAKS = ("Traceback", "avg(VARCHAR)", "COALESCE", "Binder Error", "sqlglot", "LinAlgError", "XGBoostError")


def predictions(database: Path) -> dict[str, str]:
    """Every good model's ML.PREDICT over the data, as canonical JSON text."""
    with duckdb.connect(str(database)) as con:
        engine = Engine(con)
        rows = {
            model: engine.execute(f"SELECT * FROM ML.PREDICT(MODEL demo.{model}, TABLE raw.t)").to_pylist()
            for model in GOOD
        }
    return {model: json.dumps(table, sort_keys=True, default=str) for model, table in rows.items()}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    database = tmp_path_factory.mktemp("bad_input") / "good.duckdb"
    with duckdb.connect(str(database)) as con:
        engine = Engine(con)
        engine.execute(DATA)
        for model in GOOD:
            engine.execute(replace(model, FEATURES))
    return database


@pytest.fixture
def warehouse(trained: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(trained, copy)
    return copy


def ml_sql(database: Path, sql: str, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ml", *flags, "sql", "--database", str(database), sql],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_clear_line_and_every_model_stays(warehouse: Path, case: str) -> None:
    model, sql, expected = CASES[case]
    before = predictions(warehouse)
    result = ml_sql(warehouse, sql)
    assert result.returncode == 1, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert expected in lines[0]
    assert not [leak for leak in LEAKS if leak in lines[0]], lines[0]
    assert predictions(warehouse) == before, f"model demo.{model} changed"


def test_a_failed_script_keeps_what_its_earlier_statements_did(warehouse: Path) -> None:
    _, sql, _ = CASES["script_whose_second_statement_fails"]
    assert ml_sql(warehouse, sql).returncode == 1
    with duckdb.connect(str(warehouse)) as con:
        assert con.execute("SELECT one FROM raw.applied").fetchall() == [(1,)]


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(_con: object) -> None:
        raise RuntimeError("the engine broke\nwith a second line")

    monkeypatch.setattr(ml.cli, "Engine", broken)
    database = str(tmp_path / "w.duckdb")
    assert ml.cli.main(["sql", "--database", database, "SELECT 1"]) == 1
    assert capsys.readouterr().err == "Error: RuntimeError: the engine broke\n"
    with pytest.raises(RuntimeError, match="the engine broke"):
        ml.cli.main(["--debug", "sql", "--database", database, "SELECT 1"])
