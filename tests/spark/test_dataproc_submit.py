"""The Dataproc Serverless batches of the titanic jobs, checked field by field before anything is sent."""

from __future__ import annotations

import json
import os
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from google.cloud import dataproc_v1

from spark import gcp_args, submit
from spark.gcp_args import google_credentials_found
from spark.submit import SubmitConfig, build_requests

NOW = datetime(2026, 11, 27, 9, 30, 5, tzinfo=UTC)
CONFIG = SubmitConfig(
    project="analytics-ml-prod",
    region="europe-west4",
    staging_uri="gs://ml-staging/titanic",
    service_account="spark-jobs@analytics-ml-prod.iam.gserviceaccount.com",
    properties={"spark.executor.instances": "2"},
    ttl_minutes=30,
)
VALID = [
    "--project",
    "analytics-ml-prod",
    "--region",
    "europe-west4",
    "--staging_uri",
    "gs://ml-staging/titanic",
]


def test_preprocessing_batch_field_by_field() -> None:
    request = build_requests(CONFIG, now=NOW)[0]
    assert request.parent == "projects/analytics-ml-prod/locations/europe-west4"
    assert request.batch_id == "titanic-preprocess-20261127-093005"
    assert len(request.request_id) == 32
    batch = request.batch
    assert batch.pyspark_batch.main_python_file_uri == "gs://ml-staging/titanic/code/preprocess.py"
    assert list(batch.pyspark_batch.python_file_uris) == ["gs://ml-staging/titanic/code/spark_jobs.zip"]
    assert list(batch.pyspark_batch.args) == [
        "--raw_data_path",
        "gs://ml-staging/titanic/data/titanic_raw.parquet",
        "--processed_data_path",
        "gs://ml-staging/titanic/data/titanic_processed",
        "--registry",
        "none",
    ]
    assert batch.runtime_config.version == "2.3"
    assert dict(batch.runtime_config.properties) == {"spark.executor.instances": "2"}
    execution = batch.environment_config.execution_config
    assert execution.service_account == "spark-jobs@analytics-ml-prod.iam.gserviceaccount.com"
    assert execution.staging_bucket == "ml-staging"
    assert execution.ttl.total_seconds() == 30 * 60
    assert execution.subnetwork_uri == ""
    assert dict(batch.labels) == {"app": "analytics-ml", "pipeline": "titanic", "job": "preprocess"}


def test_training_batch_reads_what_preprocessing_writes() -> None:
    preprocessing, training = build_requests(CONFIG, now=NOW)
    assert training.batch_id == "titanic-train-20261127-093005"
    assert training.batch.pyspark_batch.main_python_file_uri == "gs://ml-staging/titanic/code/train.py"
    args = list(training.batch.pyspark_batch.args)
    assert args == [
        "--processed_data_path",
        "gs://ml-staging/titanic/data/titanic_processed",
        "--model_path",
        "gs://ml-staging/titanic/models/titanic_lr",
        "--seed",
        "42",
        "--registry",
        "none",
    ]
    written = list(preprocessing.batch.pyspark_batch.args)
    assert written[written.index("--processed_data_path") + 1] == args[1]
    assert training.request_id != preprocessing.request_id


def test_the_job_arguments_are_accepted_by_the_jobs_themselves() -> None:
    from spark import preprocess, train

    preprocessing, training = build_requests(CONFIG, now=NOW)
    assert preprocess.parse_args(list(preprocessing.batch.pyspark_batch.args)).registry == "none"
    assert train.parse_args(list(training.batch.pyspark_batch.args)).model_path.startswith("gs://")


def test_a_given_raw_data_uri_is_used_and_not_uploaded(tmp_path: Path) -> None:
    config = SubmitConfig(
        project="analytics-ml-prod",
        region="us-central1",
        staging_uri="gs://b/t",
        raw_data_uri="gs://data-lake/titanic.parquet",
    )
    (preprocessing,) = build_requests(config, jobs=["preprocess"], now=NOW)
    assert list(preprocessing.batch.pyspark_batch.args)[1] == "gs://data-lake/titanic.parquet"
    uploads = [uri for _, uri in submit.planned_uploads(config, ["preprocess"], tmp_path)]
    assert uploads == ["gs://b/t/code/preprocess.py", "gs://b/t/code/spark_jobs.zip"]


def test_jobs_zip_holds_the_package_the_jobs_import(tmp_path: Path) -> None:
    names = zipfile.ZipFile(submit.build_jobs_zip(tmp_path / "jobs.zip")).namelist()
    assert {
        "spark/__init__.py",
        "spark/preprocess.py",
        "spark/train.py",
        "spark/registry.py",
        "spark/gcp_args.py",
    } <= set(names)


def test_dry_run_prints_the_requests_and_sends_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    refuse_clients(monkeypatch)
    assert submit.main([*VALID, "--dry-run", "--property", "spark.executor.instances=4"]) == 0
    printed = json.loads(capsys.readouterr().out)
    requests = [dataproc_v1.CreateBatchRequest.from_json(json.dumps(r)) for r in printed["requests"]]
    assert [r.batch_id.split("-")[1] for r in requests] == ["preprocess", "train"]
    assert requests[1].batch.runtime_config.properties["spark.executor.instances"] == "4"
    assert [u["to"] for u in printed["uploads"]][-1] == "gs://ml-staging/titanic/data/titanic_raw.parquet"


@pytest.mark.parametrize(
    "bad",
    [
        ["--project", "Analytics_ML"],
        ["--project", "ab"],
        ["--region", "europe west4"],
        ["--staging_uri", "s3://ml-staging/titanic"],
        ["--staging_uri", "gs://"],
        ["--service_account", "someone@gmail.com"],
        ["--batch_prefix", "Titanic_Jobs"],
        ["--runtime_version", "latest"],
        ["--ttl_minutes", "0"],
        ["--property", "executor.instances=2"],
        ["--job", "evaluate"],
    ],
)
def test_bad_arguments_are_refused_before_any_client_exists(
    monkeypatch: pytest.MonkeyPatch, bad: list[str]
) -> None:
    refuse_clients(monkeypatch)
    args = dict(zip(VALID[::2], VALID[1::2], strict=True)) | dict(zip(bad[::2], bad[1::2], strict=True))
    with pytest.raises(SystemExit) as exited:
        submit.main([item for pair in args.items() for item in pair])
    assert exited.value.code == 2


def test_without_credentials_nothing_is_built_or_sent(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    refuse_clients(monkeypatch)
    monkeypatch.setattr(gcp_args, "google_credentials_found", lambda: False)
    with pytest.raises(SystemExit, match="no Google credentials"):
        submit.main([*VALID, "--build_dir", str(tmp_path)])
    assert list(tmp_path.iterdir()) == []


def refuse_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make creating a Dataproc or Storage client fail the test: nothing may be sent."""
    from google.cloud import storage

    def no_client(*args: object, **kwargs: object) -> None:
        raise AssertionError("a Google Cloud client was created")

    monkeypatch.setattr(dataproc_v1, "BatchControllerClient", no_client)
    monkeypatch.setattr(storage, "Client", no_client)


LIVE = {
    name: os.environ.get(name, "")
    for name in ("ANALYTICS_ML_GCP_PROJECT", "ANALYTICS_ML_GCP_REGION", "ANALYTICS_ML_GCS_STAGING")
}


@pytest.mark.gcp
@pytest.mark.skipif(
    not all(LIVE.values()) or not google_credentials_found(),
    reason=f"needs Google credentials and {', '.join(LIVE)} to submit real batches",
)
def test_live_batches_succeed_on_dataproc_serverless() -> None:
    project, region, staging = LIVE.values()
    assert submit.main(["--project", project, "--region", region, "--staging_uri", staging]) == 0
