"""`training.train --registry`: rank 0 records the CNN as an external version of the model registry."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from cnn_helpers import run_training
from registry_helpers import ml_cli


def test_a_registered_run_is_a_version_the_registry_lists(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    out = tmp_path / "model"
    run_training(out, "--dataset", "digits", "--epochs", "1", "--registry", str(database))

    with duckdb.connect(str(database), read_only=True) as con:
        ((model, version, status, options, metrics, triggered_by),) = con.execute(
            "SELECT model, version, status, options, eval_metrics, triggered_by "
            "FROM ml_registry.model_versions"
        ).fetchall()
    assert (model, version, status, triggered_by) == (
        "side_jobs.cnn_digits",
        1,
        "external",
        "job:training.train",
    )
    options, metrics = json.loads(options), json.loads(metrics)
    assert options["artifact_uri"] == str(out.resolve()) and options["epochs"] == 1
    assert set(metrics) == {"test_accuracy", "images_per_second", "world_size"}
    assert metrics["world_size"] == 1 and 0.0 < metrics["test_accuracy"] <= 1.0
    assert metrics["images_per_second"] > 0

    listed = ml_cli(database, "versions", "side_jobs.cnn_digits")
    assert listed.returncode == 0, listed.stderr
    assert "1 versions" in listed.stdout and str(out.resolve()) in listed.stdout
    assert "test_accuracy" in listed.stdout
