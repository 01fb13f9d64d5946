"""Run the titanic Spark jobs on Dataproc Serverless: one batch per job, preprocessing then training.

    python -m spark.submit --project P --region R --staging_uri gs://BUCKET/titanic [--dry-run]

Stages the job files (each job's main file plus a zip of the ``spark`` package it imports) and the
titanic data exported from the local warehouse under ``--staging_uri``, then creates the preprocessing
batch, waits for it, and creates the training batch on its output. ``--dry-run`` prints the uploads
and the CreateBatchRequests instead and sends nothing. A malformed argument stops the command line
before a client is created.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from google.cloud import dataproc_v1
from google.protobuf import duration_pb2, json_format

from spark import gcp_args
from spark.registry import NO_REGISTRY

PACKAGE_DIR = Path(__file__).resolve().parent
JOBS = ("preprocess", "train")
JOBS_ZIP = "spark_jobs.zip"
RAW_DATA = "titanic_raw.parquet"
# The Spark 3.5 LTS runtime, supported until 2027-11 (2.2 left support in 2026-09).
DEFAULT_RUNTIME_VERSION = "2.3"
LABELS = {"app": "analytics-ml", "pipeline": "titanic"}
_BATCH_PREFIX = r"[a-z][a-z0-9-]{0,40}"


@dataclass(frozen=True)
class SubmitConfig:
    """Where the batches run and where their files live."""

    project: str
    region: str
    staging_uri: str
    raw_data_uri: str | None = None
    runtime_version: str = DEFAULT_RUNTIME_VERSION
    service_account: str | None = None
    subnetwork_uri: str | None = None
    ttl_minutes: int = 60
    batch_prefix: str = "titanic"
    seed: int = 42
    properties: dict[str, str] = field(default_factory=dict)

    @property
    def parent(self) -> str:
        return f"projects/{self.project}/locations/{self.region}"

    def uri(self, *parts: str) -> str:
        return "/".join([self.staging_uri, *parts])

    @property
    def raw_data(self) -> str:
        return self.raw_data_uri or self.uri("data", RAW_DATA)

    @property
    def processed_data(self) -> str:
        return self.uri("data", "titanic_processed")

    @property
    def model(self) -> str:
        return self.uri("models", "titanic_lr")


def job_args(job: str, config: SubmitConfig) -> list[str]:
    # No warehouse on Dataproc: the metrics go to the driver log (see spark/registry.py).
    if job == "preprocess":
        paths = ["--raw_data_path", config.raw_data, "--processed_data_path", config.processed_data]
    else:
        paths = ["--processed_data_path", config.processed_data, "--model_path", config.model,
                 "--seed", str(config.seed)]
    return [*paths, "--registry", NO_REGISTRY]


def build_batch(job: str, config: SubmitConfig) -> dataproc_v1.Batch:
    execution = dataproc_v1.ExecutionConfig(
        ttl=duration_pb2.Duration(seconds=config.ttl_minutes * 60),
        staging_bucket=config.staging_uri.removeprefix("gs://").split("/")[0],
    )
    if config.service_account:
        execution.service_account = config.service_account
    if config.subnetwork_uri:
        execution.subnetwork_uri = config.subnetwork_uri
    return dataproc_v1.Batch(
        pyspark_batch=dataproc_v1.PySparkBatch(
            main_python_file_uri=config.uri("code", f"{job}.py"),
            python_file_uris=[config.uri("code", JOBS_ZIP)],
            args=job_args(job, config),
        ),
        runtime_config=dataproc_v1.RuntimeConfig(version=config.runtime_version,
                                                 properties=config.properties),
        environment_config=dataproc_v1.EnvironmentConfig(execution_config=execution),
        labels={**LABELS, "job": job},
    )


def batch_id(job: str, config: SubmitConfig, now: datetime) -> str:
    return f"{config.batch_prefix}-{job}-{now:%Y%m%d-%H%M%S}"


def build_requests(config: SubmitConfig, jobs: Sequence[str] = JOBS,
                   now: datetime | None = None) -> list[dataproc_v1.CreateBatchRequest]:
    """One CreateBatchRequest per job, in the order they must run."""
    now = now or datetime.now(UTC)
    requests = []
    for job in jobs:
        name = batch_id(job, config, now)
        requests.append(dataproc_v1.CreateBatchRequest(
            parent=config.parent, batch=build_batch(job, config), batch_id=name,
            # Derived from the batch id: a retried call is recognised by the service, not run twice.
            request_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{config.parent}/batches/{name}").hex,
        ))
    return requests


def build_jobs_zip(dest: Path) -> Path:
    """The ``spark`` package as a zip for ``--py-files`` / ``python_file_uris``: what the jobs import."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as archive:
        for module in sorted(PACKAGE_DIR.glob("*.py")):
            archive.write(module, f"spark/{module.name}")
    return dest


def planned_uploads(config: SubmitConfig, jobs: Sequence[str], build_dir: Path) -> list[tuple[Path, str]]:
    """(local file, gs:// URI) pairs the batches need."""
    uploads = [(PACKAGE_DIR / f"{job}.py", config.uri("code", f"{job}.py")) for job in jobs]
    uploads.append((build_dir / JOBS_ZIP, config.uri("code", JOBS_ZIP)))
    if "preprocess" in jobs and config.raw_data_uri is None:
        uploads.append((build_dir / RAW_DATA, config.raw_data))
    return uploads


def stage(config: SubmitConfig, uploads: Sequence[tuple[Path, str]], build_dir: Path) -> None:
    """Build the files the batches need (jobs zip, exported data) and copy them to Cloud Storage."""
    from google.cloud import storage

    from spark.export import export_titanic

    build_jobs_zip(build_dir / JOBS_ZIP)
    if any(local == build_dir / RAW_DATA for local, _ in uploads):
        export_titanic(build_dir / RAW_DATA)
    client = storage.Client(project=config.project)
    for local, uri in uploads:
        bucket, _, blob = uri.removeprefix("gs://").partition("/")
        client.bucket(bucket).blob(blob).upload_from_filename(str(local))
        print(f"uploaded {local} -> {uri}", file=sys.stderr)


def run_batches(config: SubmitConfig, requests: Sequence[dataproc_v1.CreateBatchRequest],
                timeout_s: float) -> list[dataproc_v1.Batch]:
    """Create the batches one after the other; each must succeed before the next (it reads its output)."""
    client = dataproc_v1.BatchControllerClient(
        client_options={"api_endpoint": f"{config.region}-dataproc.googleapis.com:443"}
    )
    finished = []
    for request in requests:
        print(f"creating batch {request.parent}/batches/{request.batch_id}", file=sys.stderr)
        batch = client.create_batch(request=request).result(timeout=timeout_s)
        if batch.state != dataproc_v1.Batch.State.SUCCEEDED:
            raise RuntimeError(f"batch {batch.name} ended {batch.state.name}: {batch.state_message}")
        finished.append(batch)
    return finished


def as_json(requests: Sequence[dataproc_v1.CreateBatchRequest], uploads: Sequence[tuple[Path, str]]) -> str:
    described: dict[str, Any] = {
        "uploads": [{"from": str(local), "to": uri} for local, uri in uploads],
        "requests": [json_format.MessageToDict(dataproc_v1.CreateBatchRequest.pb(r)) for r in requests],
    }
    return json.dumps(described, indent=2)


def _property(value: str) -> tuple[str, str]:
    key, sep, setting = value.partition("=")
    if not sep or not key.startswith("spark."):
        raise argparse.ArgumentTypeError(f"{value!r} is not spark.KEY=VALUE")
    return key, setting


def _batch_prefix(value: str) -> str:
    if not re.fullmatch(_BATCH_PREFIX, value):
        raise argparse.ArgumentTypeError(f"{value!r}: lowercase letters, digits, hyphens; a letter first")
    return value


def _runtime_version(value: str) -> str:
    if not re.fullmatch(r"\d+\.\d+", value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a runtime version like {DEFAULT_RUNTIME_VERSION}")
    return value


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive integer")
    return number


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--project", type=gcp_args.project_id, required=True)
    parser.add_argument("--region", type=gcp_args.region, required=True)
    parser.add_argument("--staging_uri", type=gcp_args.gcs_uri, required=True,
                        help="gs:// folder for code, data and the model")
    parser.add_argument("--job", choices=[*JOBS, "all"], default="all")
    parser.add_argument("--raw_data_uri", type=gcp_args.gcs_uri,
                        help="titanic parquet in GCS; default: export the local warehouse and upload it")
    parser.add_argument("--runtime_version", type=_runtime_version, default=DEFAULT_RUNTIME_VERSION,
                        help="Dataproc Serverless runtime (major.minor)")
    parser.add_argument("--service_account", type=gcp_args.service_account)
    parser.add_argument("--subnetwork_uri")
    parser.add_argument("--ttl_minutes", type=_positive, default=60,
                        help="Dataproc cancels a batch running longer")
    parser.add_argument("--batch_prefix", type=_batch_prefix, default="titanic")
    parser.add_argument("--seed", type=int, default=42, help="train/test split seed of the training job")
    parser.add_argument("--property", type=_property, action="append", default=[], dest="properties",
                        help="spark.KEY=VALUE runtime property (repeatable)")
    parser.add_argument("--build_dir", type=Path, default=Path("build/spark"),
                        help="where the staged files are built")
    parser.add_argument("--timeout_minutes", type=_positive, default=60,
                        help="how long to wait for each batch")
    parser.add_argument("--dry-run", action="store_true", help="print the uploads and requests; send nothing")
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> SubmitConfig:
    return SubmitConfig(
        project=args.project, region=args.region, staging_uri=args.staging_uri,
        raw_data_uri=args.raw_data_uri,
        runtime_version=args.runtime_version, service_account=args.service_account,
        subnetwork_uri=args.subnetwork_uri, ttl_minutes=args.ttl_minutes, batch_prefix=args.batch_prefix,
        seed=args.seed, properties=dict(args.properties),
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.dry_run and not gcp_args.google_credentials_found():
        raise SystemExit("no Google credentials: run `gcloud auth application-default login` or set "
                         "GOOGLE_APPLICATION_CREDENTIALS (or pass --dry-run)")
    config = config_from_args(args)
    jobs = JOBS if args.job == "all" else (args.job,)
    requests = build_requests(config, jobs)
    uploads = planned_uploads(config, jobs, args.build_dir)
    if args.dry_run:
        print(as_json(requests, uploads))
        return 0
    stage(config, uploads, args.build_dir)
    for batch in run_batches(config, requests, args.timeout_minutes * 60):
        print(f"{batch.name}: {batch.state.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
