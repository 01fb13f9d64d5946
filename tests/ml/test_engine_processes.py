"""Models persist in the DuckDB file across processes; the CLI runs scripts and fails cleanly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ml import Engine

ROOT = Path(__file__).resolve().parents[2]
TRAIN = (
    "CREATE OR REPLACE MODEL demo.mass OPTIONS (model_type = 'linear_reg', input_label_cols = ['mass']) AS "
    "SELECT x, CASE WHEN x % 3 = 0 THEN 'a' ELSE 'b' END AS kind, 2.5 * x + 1 + CASE WHEN x % 3 = 0 THEN 10 "
    "ELSE 0 END AS mass FROM range(200) AS t(x)"
)
QUERY = "SELECT predicted_mass FROM ML.PREDICT(MODEL demo.mass, (SELECT 1000 AS x, 'a' AS kind))"


def ml_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ml", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_a_new_process_predicts_with_a_model_trained_by_another(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    trained = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import duckdb; from ml import Engine; con = duckdb.connect({str(database)!r}); "
            f"Engine(con).execute({TRAIN!r}); con.close()",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert trained.returncode == 0, trained.stderr
    with duckdb.connect(str(database)) as con:
        predicted = Engine(con).execute(QUERY)["predicted_mass"].to_pylist()
        functions = con.execute("SELECT function, has_input FROM _ml.model_functions ORDER BY ALL").fetchall()
    assert predicted[0] == pytest.approx(2.5 * 1000 + 11, rel=1e-12)
    assert (
        ("predict", True) in functions
        and ("evaluate", False) in functions
        and ("evaluate", True) in functions
    )


def test_cli_runs_a_script_and_prints_the_last_result(tmp_path: Path) -> None:
    database = str(tmp_path / "cli.duckdb")
    created = ml_cli("sql", "--database", database, TRAIN)
    assert created.returncode == 0, created.stderr
    assert "CREATE MODEL" in created.stdout and "replaced" in created.stdout
    as_json = ml_cli("sql", "--database", database, "--format", "json", "-", stdin=f"{QUERY};")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)[0]["predicted_mass"] == pytest.approx(2511.0, rel=1e-12)
    as_csv = ml_cli(
        "sql",
        "--database",
        database,
        "--format",
        "csv",
        "SELECT 1 AS one; SELECT processed_input, weight FROM ML.WEIGHTS(MODEL demo.mass) "
        "WHERE processed_input = 'x'",
    )
    header, row = as_csv.stdout.splitlines()
    assert header == "processed_input,weight"
    assert row.split(",")[0] == "x" and float(row.split(",")[1]) == pytest.approx(2.5, rel=1e-12)


def test_cli_failure_is_one_error_line_and_a_non_zero_exit(tmp_path: Path) -> None:
    result = ml_cli(
        "sql", "--database", str(tmp_path / "empty.duckdb"), "SELECT * FROM ML.EVALUATE(MODEL demo.nothing)"
    )
    assert result.returncode != 0
    assert result.stderr.strip() == "Error: Not found: Model demo.nothing"
    assert result.stdout == ""
