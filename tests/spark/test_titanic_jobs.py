"""The titanic jobs, run end to end through spark-submit on local[2] as ``python -m spark.run_local`` does."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from pyspark.ml import PipelineModel
from pyspark.ml.evaluation import BinaryClassificationEvaluator
from pyspark.sql import SparkSession

from spark import preprocess, train
from spark.run_local import LocalPaths, run_local

pytestmark = [
    pytest.mark.slow,
    # pyspark 4.3 warns about any pandas >= 3 when it converts; these tests convert nothing through pandas.
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]


@pytest.fixture(scope="module")
def job_run(tmp_path_factory: pytest.TempPathFactory, titanic_csv: Path) -> tuple[LocalPaths, Path]:
    build = tmp_path_factory.mktemp("spark")
    registry = build / "warehouse.duckdb"
    paths = run_local(
        build,
        master="local[2]",
        registry=str(registry),
        seed=train.DEFAULT_SEED,
        database=build / "no_warehouse_yet.duckdb",
        seed_csv=titanic_csv,
    )
    return paths, registry


def only_version(registry: Path) -> dict:
    """The one version the training registered in the model registry (status external)."""
    with duckdb.connect(str(registry), read_only=True) as con:
        ((status, options, metrics),) = con.execute(
            "SELECT status, options, eval_metrics FROM ml_registry.model_versions WHERE model = ?",
            [train.REGISTRY_MODEL],
        ).fetchall()
    return {"status": status, "options": json.loads(options), "metrics": json.loads(metrics)}


def test_preprocessing_reproduces_the_books_processed_parquet(
    job_run: tuple[LocalPaths, Path], book_processed: Path
) -> None:
    ours = pd.read_parquet(job_run[0].processed_data)
    book = pd.read_parquet(book_processed)
    pd.testing.assert_frame_equal(ours, book, check_exact=False, rtol=1e-6)


def test_preprocessing_writes_every_passenger_with_twelve_features(job_run: tuple[LocalPaths, Path]) -> None:
    processed = pd.read_parquet(job_run[0].processed_data)
    assert (len(processed), len(processed.columns) - 1) == (891, 12)


def test_training_auc_on_the_held_out_fifth_is_at_least_0_83(
    job_run: tuple[LocalPaths, Path],
) -> None:
    version = only_version(job_run[1])
    assert version["status"] == "external"
    assert version["options"]["artifact_uri"] == str(job_run[0].model)
    metrics = version["metrics"]
    assert metrics["auc"] >= 0.83
    assert metrics["train_rows"] + metrics["test_rows"] == 891
    assert 0.15 < metrics["test_rows"] / 891 < 0.25


def test_saved_model_loads_and_predicts_with_the_recorded_auc(
    spark: SparkSession, job_run: tuple[LocalPaths, Path]
) -> None:
    paths, registry = job_run
    model = PipelineModel.load(str(paths.model))
    passengers = spark.read.parquet(str(paths.processed_data))
    _, held_out = passengers.randomSplit([0.8, 0.2], seed=train.DEFAULT_SEED)
    scored = model.transform(held_out)
    predictions = {row.prediction for row in scored.select("prediction").collect()}
    assert predictions == {0.0, 1.0}
    auc = BinaryClassificationEvaluator(labelCol=preprocess.LABEL).evaluate(scored)
    assert auc == pytest.approx(only_version(registry)["metrics"]["auc"], abs=1e-9)


@pytest.mark.parametrize("path", ["s3://bucket/titanic", "https://example.com/x.parquet", "gs://"])
def test_jobs_refuse_paths_spark_cannot_be_given_here(path: str) -> None:
    with pytest.raises(SystemExit):
        train.parse_args(["--processed_data_path", path, "--model_path", "build/model"])
