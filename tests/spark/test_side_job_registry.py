"""The side jobs' models in the project's model registry: external versions beside BigQuery ML ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from registry_helpers import ml_cli

from ml.errors import MLError
from ml.registry import EXTERNAL, Registry, parse_model
from ml.registry.faults import KILL_AT_ENV
from ml.registry.local import LocalBackend
from spark.registry import RunRecord, record_run, registry_database

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL = "side_jobs.titanic_lr"
DDL = (
    "CREATE OR REPLACE MODEL side_jobs.titanic_lr OPTIONS (model_type = 'linear_reg', "
    "input_label_cols = ['y']) AS SELECT x, 2.5 * x + 1 AS y FROM range(50) AS t(x)"
)


def spark_run(artifact: str = "gs://b/models/lr", auc: float = 0.86) -> RunRecord:
    return RunRecord(
        job="spark.train",
        artifact_uri=artifact,
        model=MODEL,
        metrics={"auc": auc, "test_rows": 145},
        params={"seed": 42, "model_type": "logistic_reg"},
    )


def versions(database: Path) -> list[tuple]:
    with duckdb.connect(str(database)) as con:
        return con.execute(
            "SELECT version, status, ddl, options, eval_metrics, triggered_by "
            "FROM ml_registry.model_versions ORDER BY version"
        ).fetchall()


def test_a_run_is_the_next_external_version_with_its_artifact_and_metrics(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    assert record_run(str(database), spark_run()) == 1
    assert record_run(f"duckdb:{database}", spark_run("gs://b/models/lr2", 0.9)) == 2

    (first, second) = versions(database)
    assert first[:3] == (1, EXTERNAL, None) and second[:2] == (2, EXTERNAL)
    assert json.loads(first[3]) == {
        "artifact_uri": "gs://b/models/lr",
        "job": "spark.train",
        "model_type": "logistic_reg",
        "seed": 42,
    }
    assert json.loads(second[4]) == {"auc": 0.9, "test_rows": 145}
    assert first[5] == "job:spark.train"
    with duckdb.connect(str(database)) as con:  # no engine model was made for it, no alias moved
        assert con.execute("SELECT count(*) FROM ml_registry.model_aliases").fetchone() == (0,)
        assert not con.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = '_ml_side_jobs'"
        ).fetchall()

    listed = ml_cli(database, "versions", MODEL)
    assert listed.returncode == 0, listed.stderr
    assert "2 versions" in listed.stdout and "serves none" in listed.stdout
    assert "gs://b/models/lr2" in listed.stdout and "external" in listed.stdout


def test_external_versions_stand_beside_warehouse_ones_and_are_never_served(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(database)) as con:
        registry = Registry(LocalBackend(con), "test")
        registry.train(DDL)
    record_run(str(database), spark_run())
    with duckdb.connect(str(database)) as con:
        registry = Registry(LocalBackend(con), "test")
        model = parse_model(MODEL)
        assert [row["status"] for row in registry.versions(model)] == ["ready", EXTERNAL]
        assert registry.resolve(model) == 1  # the newest trained in the warehouse
        assert registry.backend.serving(model) == 1
        assert registry.problems(model) == []
        with pytest.raises(MLError, match=r"trained outside the warehouse .*gs://b/models/lr.*promoted"):
            registry.promote(model, "side_jobs.any_holdout", "r2_score", challenger=2)
        with pytest.raises(MLError, match=r"trained outside the warehouse .*be champion"):
            registry.set_alias(model, "champion", 2)
        assert registry.set_alias(model, "spark", 2) is None  # a custom alias may name it
        assert registry.resolve(model, alias="spark") == 2
        assert registry.aliases(model) == {"challenger": 1, "spark": 2}
        # The next warehouse training numbers past the external version.
        assert registry.train(DDL).version == 3

    refused = ml_cli(
        database, "promote", MODEL, "--holdout", "side_jobs.h", "--metric", "r2_score", "--challenger", "2"
    )
    assert refused.returncode != 0 and "trained outside the warehouse" in refused.stderr


def test_a_model_with_only_external_versions_resolves_only_when_pinned(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    record_run(str(database), spark_run())
    with duckdb.connect(str(database)) as con:
        registry = Registry(LocalBackend(con), "test")
        model = parse_model(MODEL)
        with pytest.raises(MLError, match="only externally trained versions"):
            registry.resolve(model)
        assert registry.resolve(model, version=1) == 1
        assert registry.problems(model) == []


def test_a_crash_while_recording_leaves_no_version(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    record_run(str(database), spark_run())
    script = (
        "from spark.registry import RunRecord, record_run; "
        f"record_run({str(database)!r}, RunRecord('spark.train', 'm', {{'auc': 0.8}}, model={MODEL!r}))"
    )
    killed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, KILL_AT_ENV: "record:before-commit"},
    )
    assert killed.returncode == -9
    assert [row[0] for row in versions(database)] == [1]


def test_none_and_model_less_runs_only_reach_the_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert registry_database("none") is None
    assert registry_database(f"duckdb:{tmp_path}/w.duckdb") == tmp_path / "w.duckdb"
    assert record_run("none", spark_run()) is None
    assert '"auc": 0.86' in capsys.readouterr().out
    preprocess = RunRecord(job="spark.preprocess", artifact_uri="p", metrics={"rows": 891})
    assert record_run(str(tmp_path / "w.duckdb"), preprocess) is None
    assert '"rows": 891' in capsys.readouterr().out
    assert not (tmp_path / "w.duckdb").exists()
