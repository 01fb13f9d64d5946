"""Helpers of the registry tests: the `python -m ml` CLI as a subprocess, the registry on a file,
and the two trainings whose holdout scores are known (see conftest.py)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from ml.registry import Registry, parse_model
from ml.registry.local import LocalBackend

ROOT = Path(__file__).resolve().parents[2]
MODEL = parse_model("demo.m")
TRAIN_GOOD = (
    "CREATE OR REPLACE MODEL demo.m OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) AS "
    "SELECT x, y FROM raw.points"
)
TRAIN_WORSE = TRAIN_GOOD + " WHERE MOD(x, 7) = 0"
PREDICT_ONE = "SELECT predicted_y FROM ML.PREDICT(MODEL {model}, (SELECT 100 AS x))"


def ml_cli(database: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    command, *rest = args
    return subprocess.run(
        [sys.executable, "-m", "ml", command, "--database", str(database), *rest],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env=env,
    )


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


@contextmanager
def registry_on(database: Path) -> Iterator[Registry]:
    with duckdb.connect(str(database)) as con:
        yield Registry(LocalBackend(con), "test")


def predict(database: Path, model: str) -> float:
    with registry_on(database) as registry:
        return registry.backend.ml_rows(PREDICT_ONE.format(model=model))[0]["predicted_y"]


def registry_state(database: Path) -> dict[str, Any]:
    """Everything a registry change may touch: its three tables and the engine's models."""
    with duckdb.connect(str(database)) as con:
        tables = [
            "ml_registry.model_versions",
            "ml_registry.model_aliases",
            "ml_registry.promotion_decisions",
        ]
        state = {table: con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall() for table in tables}
        state["models"] = con.execute("SELECT dataset, model, ddl FROM _ml.models ORDER BY ALL").fetchall()
    return state


def make_database(folder: Path) -> Path:
    """`raw.points` to train on, `raw.holdout` to promote on, `raw.unlabelled` without the label."""
    path = folder / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.points AS SELECT x, 2.5 * x + 1 + x % 7 AS y FROM range(400) AS t(x)")
        con.execute(
            "CREATE TABLE raw.holdout AS SELECT x + 0.5 AS x, 2.5 * (x + 0.5) + 1 + x % 7 AS y "
            "FROM range(0, 400, 3) AS t(x)"
        )
        con.execute("CREATE TABLE raw.unlabelled AS SELECT x FROM raw.holdout")
    return path


def train(database: Path, *ddls: str) -> None:
    """Train versions in-process, where the CLI is not what a test is about."""
    with registry_on(database) as registry:
        for ddl in ddls:
            registry.train(ddl)
