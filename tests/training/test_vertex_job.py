"""The Vertex AI CustomJob of the CNN's data-parallel training, checked field by field before sending."""

from __future__ import annotations

import os

import pytest
from google.cloud import aiplatform_v1

from spark import gcp_args
from spark.gcp_args import google_credentials_found
from training import vertex_job
from training.train import parse_args as parse_train_args
from training.vertex_job import (
    REDUCTION_SERVER_IMAGE,
    VertexTrainingConfig,
    build_custom_job,
    torchrun_command,
)

IMAGE = "europe-west4-docker.pkg.dev/analytics-ml-prod/ml/cnn-train:1.4"
GPU_CLUSTER = VertexTrainingConfig(
    project="analytics-ml-prod",
    region="europe-west4",
    image_uri=IMAGE,
    output_uri="gs://ml-out/cnn/run-7",
    dataset="cifar10",
    data_uri="gs://ml-data/cifar-10-batches-bin",
    epochs=30,
    batch_size=256,
    seed=3,
    machine_type="n1-standard-16",
    accelerator_type="NVIDIA_TESLA_V100",
    accelerator_count=4,
    workers=3,
    reduction_servers=4,
    max_restarts=2,
    timeout_hours=6,
    display_name="cnn-ddp-run-7",
    service_account="trainer@analytics-ml-prod.iam.gserviceaccount.com",
)
VALID = [
    "--project",
    "analytics-ml-prod",
    "--region",
    "europe-west4",
    "--image_uri",
    IMAGE,
    "--output_uri",
    "gs://ml-out/cnn",
]


def test_chief_pool_field_by_field() -> None:
    chief = build_custom_job(GPU_CLUSTER).job_spec.worker_pool_specs[0]
    assert chief.replica_count == 1
    assert chief.machine_spec.machine_type == "n1-standard-16"
    assert chief.machine_spec.accelerator_type == aiplatform_v1.AcceleratorType.NVIDIA_TESLA_V100
    assert chief.machine_spec.accelerator_count == 4
    assert chief.disk_spec.boot_disk_type == "pd-ssd"
    assert chief.disk_spec.boot_disk_size_gb == 100
    assert chief.container_spec.image_uri == IMAGE
    assert list(chief.container_spec.command) == [
        "python",
        "-m",
        "training.vertex_job",
        "launch",
        "--nproc_per_node",
        "4",
        "--max_restarts",
        "2",
        "--rdzv_id",
        "cnn-ddp-run-7",
        "--",
        "--dataset",
        "cifar10",
        "--out",
        "/gcs/ml-out/cnn/run-7/model",
        "--epochs",
        "30",
        "--batch-size",
        "256",
        "--seed",
        "3",
        "--no-progress",
        "--data-dir",
        "/gcs/ml-data/cifar-10-batches-bin",
    ]


def test_training_arguments_are_ones_train_py_accepts() -> None:
    command = list(build_custom_job(GPU_CLUSTER).job_spec.worker_pool_specs[0].container_spec.command)
    args = parse_train_args(command[command.index("--") + 1 :])
    assert (args.dataset, args.epochs, args.batch_size, args.seed) == ("cifar10", 30, 256, 3)
    assert str(args.out) == "/gcs/ml-out/cnn/run-7/model"


def test_worker_pool_is_the_chief_machine_times_the_other_nodes() -> None:
    chief, workers, _ = build_custom_job(GPU_CLUSTER).job_spec.worker_pool_specs
    assert workers.replica_count == 3
    assert workers.machine_spec == chief.machine_spec
    assert workers.container_spec == chief.container_spec
    assert workers.disk_spec == chief.disk_spec


def test_reduction_server_pool_is_third_with_googles_image() -> None:
    reducers = build_custom_job(GPU_CLUSTER).job_spec.worker_pool_specs[2]
    assert reducers.replica_count == 4
    assert reducers.machine_spec.machine_type == "n1-highcpu-16"
    assert reducers.machine_spec.accelerator_count == 0
    assert reducers.container_spec.image_uri == REDUCTION_SERVER_IMAGE
    assert list(reducers.container_spec.command) == []


def test_job_level_fields() -> None:
    job = build_custom_job(GPU_CLUSTER)
    assert job.display_name == "cnn-ddp-run-7"
    assert dict(job.labels) == {"app": "analytics-ml", "model": "cnn"}
    assert job.job_spec.base_output_directory.output_uri_prefix == "gs://ml-out/cnn/run-7"
    assert job.job_spec.service_account == "trainer@analytics-ml-prod.iam.gserviceaccount.com"
    assert job.job_spec.scheduling.timeout.total_seconds() == 6 * 3600
    assert job.job_spec.scheduling.restart_job_on_worker_restart is True


def test_one_cpu_machine_is_a_single_pool_with_one_process() -> None:
    config = VertexTrainingConfig(
        project="analytics-ml-prod", region="us-central1", image_uri=IMAGE, output_uri="gs://ml-out/cnn"
    )
    (chief,) = build_custom_job(config).job_spec.worker_pool_specs
    assert chief.machine_spec.accelerator_type == aiplatform_v1.AcceleratorType.ACCELERATOR_TYPE_UNSPECIFIED
    command = list(chief.container_spec.command)
    assert command[command.index("--nproc_per_node") + 1] == "1"
    assert "--data-dir" not in command


def test_launcher_meets_at_the_chief_from_cluster_spec() -> None:
    cluster = {
        "cluster": {
            "workerpool0": ["cmle-training-workerpool0-ab12-0:2222"],
            "workerpool1": ["cmle-training-workerpool1-ab12-0:2222", "cmle-training-workerpool1-ab12-1:2222"],
            "workerpool2": ["cmle-training-workerpool2-ab12-0:2222"],
        },
        "task": {"type": "workerpool1", "index": 1},
    }
    command = torchrun_command(cluster, 4, 2, "job-1", ["--dataset", "digits"])
    assert command == [
        "torchrun",
        "--nnodes",
        "3",
        "--nproc_per_node",
        "4",
        "--max-restarts",
        "2",
        "--rdzv_backend",
        "c10d",
        "--rdzv_endpoint",
        "cmle-training-workerpool0-ab12-0:2222",
        "--rdzv_id",
        "job-1",
        "-m",
        "training.train",
        "--dataset",
        "digits",
    ]


def test_launcher_without_cluster_spec_is_a_standalone_torchrun() -> None:
    command = torchrun_command(None, 2, 1, "job-1", ["--dataset", "digits"])
    assert command[:2] == ["torchrun", "--standalone"]
    assert command[-4:] == ["-m", "training.train", "--dataset", "digits"]


def test_dry_run_prints_the_job_and_sends_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    refuse_client(monkeypatch)
    assert vertex_job.main([*VALID, "--workers", "1", "--dry-run"]) == 0
    job = aiplatform_v1.CustomJob.from_json(capsys.readouterr().out)
    assert [pool.replica_count for pool in job.job_spec.worker_pool_specs] == [1, 1]


@pytest.mark.parametrize(
    "bad",
    [
        ["--project", "AnalyticsML"],
        ["--region", "mars"],
        ["--image_uri", "not an image"],
        ["--output_uri", "/local/folder"],
        ["--epochs", "0"],
        ["--accelerator_type", "NVIDIA_TESLA_V100"],  # without a count
        ["--accelerator_count", "2"],  # without a type
        ["--accelerator_type", "NVIDIA_GTX_1080", "--accelerator_count", "1"],
        ["--reduction_servers", "2"],  # on CPU machines
        [
            "--reduction_servers",
            "2",
            "--accelerator_type",
            "NVIDIA_L4",
            "--accelerator_count",
            "1",
        ],  # one node
        ["--batch_size", "63", "--workers", "1"],  # 63 images over 2 processes
        ["--dataset", "cifar10"],  # without --data_uri
        ["--service_account", "me@example.com"],
        ["--timeout_hours", "0"],
    ],
)
def test_bad_arguments_are_refused_before_any_client_exists(
    monkeypatch: pytest.MonkeyPatch, bad: list[str]
) -> None:
    refuse_client(monkeypatch)
    with pytest.raises(SystemExit) as exited:
        vertex_job.main([*VALID, *bad])
    assert exited.value.code == 2


def test_without_credentials_nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    refuse_client(monkeypatch)
    monkeypatch.setattr(gcp_args, "google_credentials_found", lambda: False)
    with pytest.raises(SystemExit) as exited:
        vertex_job.main(VALID)
    assert exited.value.code == 2


def refuse_client(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_client(*args: object, **kwargs: object) -> None:
        raise AssertionError("a Vertex AI client was created")

    monkeypatch.setattr(aiplatform_v1, "JobServiceClient", no_client)


LIVE = {
    name: os.environ.get(name, "")
    for name in (
        "ANALYTICS_ML_GCP_PROJECT",
        "ANALYTICS_ML_GCP_REGION",
        "ANALYTICS_ML_GCS_STAGING",
        "ANALYTICS_ML_TRAINING_IMAGE",
    )
}


@pytest.mark.gcp
@pytest.mark.skipif(
    not all(LIVE.values()) or not google_credentials_found(),
    reason=f"needs Google credentials and {', '.join(LIVE)} to create a real job",
)
def test_live_job_is_accepted_by_vertex_ai() -> None:
    """Creates the job for real, checks Vertex AI holds it as built, then cancels it."""
    project, region, staging, image = LIVE.values()
    config = VertexTrainingConfig(
        project=project,
        region=region,
        image_uri=image,
        output_uri=f"{staging}/cnn-smoke",
        epochs=1,
        display_name="cnn-ddp-smoke",
    )
    job = build_custom_job(config)
    created = vertex_job.submit(config, job)
    client = aiplatform_v1.JobServiceClient(
        client_options={"api_endpoint": f"{region}-aiplatform.googleapis.com"}
    )
    try:
        fetched = client.get_custom_job(name=created.name)
        assert (
            fetched.job_spec.worker_pool_specs[0].container_spec
            == job.job_spec.worker_pool_specs[0].container_spec
        )
    finally:
        client.cancel_custom_job(name=created.name)
