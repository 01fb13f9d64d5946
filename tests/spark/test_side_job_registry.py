"""The registry-style table the side jobs write their metrics to."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from spark.registry import TABLE, DuckDBRunRegistry, RunRecord, open_registry, record_run


def test_a_run_is_one_row_per_metric_with_its_params(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    run = RunRecord(
        job="spark.train",
        artifact_uri="gs://b/models/lr",
        metrics={"auc": 0.86, "test_rows": 145},
        params={"seed": 42},
    )
    DuckDBRunRegistry(database).record(run)

    with duckdb.connect(str(database)) as con:
        rows = con.execute(
            f"select job, artifact_uri, metric, value, params->>'seed' from {TABLE} order by metric"
        ).fetchall()
    assert rows == [
        ("spark.train", "gs://b/models/lr", "auc", 0.86, "42"),
        ("spark.train", "gs://b/models/lr", "test_rows", 145.0, "42"),
    ]


def test_runs_accumulate_and_are_read_back_per_job(tmp_path: Path) -> None:
    registry = DuckDBRunRegistry(tmp_path / "warehouse.duckdb")
    first = RunRecord(job="spark.train", artifact_uri="m1", metrics={"auc": 0.8})
    second = RunRecord(job="spark.train", artifact_uri="m2", metrics={"auc": 0.9})
    registry.record(first)
    registry.record(second)
    registry.record(RunRecord(job="spark.preprocess", artifact_uri="p", metrics={"rows": 891}))
    assert registry.metrics("spark.train") == {first.run_id: {"auc": 0.8}, second.run_id: {"auc": 0.9}}


def test_a_run_is_never_half_recorded(tmp_path: Path) -> None:
    registry = DuckDBRunRegistry(tmp_path / "warehouse.duckdb")
    run = RunRecord(job="spark.train", artifact_uri="m", metrics={"auc": 0.8})
    registry.record(run)
    retried = RunRecord(
        job="spark.train", artifact_uri="m", metrics={"accuracy": 0.7, "auc": 0.8}, run_id=run.run_id
    )
    with pytest.raises(duckdb.ConstraintException):
        registry.record(retried)  # auc of this run id is already there: the whole insert is refused
    assert registry.metrics("spark.train") == {run.run_id: {"auc": 0.8}}


def test_none_turns_the_registry_off_and_the_metrics_still_reach_the_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert open_registry("none") is None
    record_run("none", RunRecord(job="spark.train", artifact_uri="m", metrics={"auc": 0.8}))
    assert '"auc": 0.8' in capsys.readouterr().out
    assert isinstance(open_registry(f"duckdb:{tmp_path}/w.duckdb"), DuckDBRunRegistry)
