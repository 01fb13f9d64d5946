"""The Vertex AI deployment of the model server, checked request by request before sending."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from google.cloud import aiplatform_v1

from spark import gcp_args
from spark.gcp_args import google_credentials_found
from training import serve, vertex_deploy
from training.vertex_deploy import (
    CREATED_ENDPOINT,
    UPLOADED_MODEL,
    VertexDeployConfig,
    bigquery_endpoint_url,
    create_endpoint_request,
    deploy_request,
    planned_requests,
    upload_request,
)

IMAGE = "europe-west4-docker.pkg.dev/analytics-ml-prod/ml/digits-cnn:1.4"
MODEL = "projects/analytics-ml-prod/locations/europe-west4/models/42"
ENDPOINT = "projects/analytics-ml-prod/locations/europe-west4/endpoints/1234"
CONFIG = VertexDeployConfig(
    project="analytics-ml-prod",
    region="europe-west4",
    artifact_uri="gs://ml-out/cnn/run-7/model",
    image_uri=IMAGE,
    endpoint="1234",
    machine_type="n1-standard-4",
    min_replicas=1,
    max_replicas=3,
    display_name="digits-cnn-run-7",
)
VALID = [
    "--project",
    "analytics-ml-prod",
    "--region",
    "europe-west4",
    "--artifact-uri",
    "gs://ml-out/cnn/model",
    "--image-uri",
    IMAGE,
]


def test_upload_request_field_by_field() -> None:
    request = upload_request(CONFIG)
    assert request.parent == "projects/analytics-ml-prod/locations/europe-west4"
    model = request.model
    assert model.display_name == "digits-cnn-run-7"
    assert model.artifact_uri == "gs://ml-out/cnn/run-7/model"
    assert dict(model.labels) == {"app": "analytics-ml", "model": "cnn"}
    container = model.container_spec
    assert container.image_uri == IMAGE
    assert container.predict_route == "/predict"
    assert container.health_route == "/health"
    assert [port.container_port for port in container.ports] == [8080]
    # The image's ENTRYPOINT starts the server: overriding it here would bypass the Dockerfile.
    assert list(container.command) == [] and list(container.args) == []


def test_routes_and_port_are_the_ones_the_server_and_image_use() -> None:
    defaults = serve.create_app.__defaults__
    assert defaults == (vertex_deploy.HEALTH_ROUTE, vertex_deploy.PREDICT_ROUTE)
    dockerfile = (Path(serve.__file__).parent / "Dockerfile").read_text()
    assert f"AIP_HTTP_PORT={vertex_deploy.HTTP_PORT}" in dockerfile
    assert f"EXPOSE {vertex_deploy.HTTP_PORT}" in dockerfile


def test_deploy_request_field_by_field() -> None:
    request = deploy_request(CONFIG, MODEL, ENDPOINT)
    assert request.endpoint == ENDPOINT
    deployed = request.deployed_model
    assert deployed.model == MODEL
    assert deployed.display_name == "digits-cnn-run-7"
    resources = deployed.dedicated_resources
    assert resources.machine_spec.machine_type == "n1-standard-4"
    assert resources.machine_spec.accelerator_count == 0
    assert (resources.min_replica_count, resources.max_replica_count) == (1, 3)
    assert dict(request.traffic_split) == {"0": 100}


def test_create_endpoint_request() -> None:
    request = create_endpoint_request(CONFIG)
    assert request.parent == "projects/analytics-ml-prod/locations/europe-west4"
    assert request.endpoint.display_name == "digits-cnn-run-7"
    assert request.endpoint_id == ""  # Vertex AI chooses it


def test_plan_deploys_to_the_given_endpoint_without_creating_one() -> None:
    plan = planned_requests(CONFIG)
    assert list(plan) == ["uploads", "uploadModel", "deployModel"]
    deploy = aiplatform_v1.DeployModelRequest.from_json(json.dumps(plan["deployModel"]))
    assert deploy.endpoint == ENDPOINT
    assert deploy.deployed_model.model == UPLOADED_MODEL


def test_bigquery_endpoint_url() -> None:
    assert bigquery_endpoint_url(ENDPOINT, "europe-west4") == (
        "https://europe-west4-aiplatform.googleapis.com/v1/"
        "projects/analytics-ml-prod/locations/europe-west4/endpoints/1234"
    )


def test_dry_run_prints_the_requests_and_sends_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    refuse_clients(monkeypatch)
    args = [*VALID, "--machine-type", "n1-standard-8", "--min-replicas", "2", "--max-replicas", "4"]
    assert vertex_deploy.main([*args, "--dry-run"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert list(plan) == ["uploads", "uploadModel", "createEndpoint", "deployModel"]
    assert plan["uploads"] == []  # no --model-dir: the artifact folder is already there
    upload = aiplatform_v1.UploadModelRequest.from_json(json.dumps(plan["uploadModel"]))
    assert upload.model.artifact_uri == "gs://ml-out/cnn/model"
    assert upload.model.container_spec.image_uri == IMAGE
    create = aiplatform_v1.CreateEndpointRequest.from_json(json.dumps(plan["createEndpoint"]))
    assert create.parent == "projects/analytics-ml-prod/locations/europe-west4"
    deploy = aiplatform_v1.DeployModelRequest.from_json(json.dumps(plan["deployModel"]))
    assert deploy.endpoint == CREATED_ENDPOINT
    resources = deploy.deployed_model.dedicated_resources
    assert resources.machine_spec.machine_type == "n1-standard-8"
    assert (resources.min_replica_count, resources.max_replica_count) == (2, 4)


@pytest.mark.parametrize(
    ("bad", "flag"),
    [
        (["--project", "AnalyticsML"], "--project"),
        (["--region", "mars"], "--region"),
        (["--artifact-uri", "/local/model"], "--artifact-uri"),
        (["--artifact-uri", "s3://bucket/model"], "--artifact-uri"),
        (["--image-uri", "not an image"], "--image-uri"),
        (["--endpoint", "Not_An_Id"], "--endpoint"),
        (["--machine-type", "big"], "--machine-type"),
        (["--min-replicas", "0"], "--min-replicas"),
        (["--max-replicas", "0"], "--max-replicas"),
        (["--min-replicas", "3", "--max-replicas", "2"], "--min-replicas"),
        (["--display-name", ""], "--display-name"),
    ],
)
def test_bad_arguments_are_refused_naming_the_flag(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], bad: list[str], flag: str
) -> None:
    refuse_clients(monkeypatch)
    with pytest.raises(SystemExit) as exited:
        vertex_deploy.main([*VALID, *bad, "--dry-run"])
    assert exited.value.code == 2
    (error,) = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert flag in error


def test_without_credentials_nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    refuse_clients(monkeypatch)
    monkeypatch.setattr(gcp_args, "google_credentials_found", lambda: False)
    with pytest.raises(SystemExit) as exited:
        vertex_deploy.main(VALID)
    assert exited.value.code == 2


def refuse_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_client(*args: object, **kwargs: object) -> None:
        raise AssertionError("a Vertex AI client was created")

    monkeypatch.setattr(aiplatform_v1, "ModelServiceClient", no_client)
    monkeypatch.setattr(aiplatform_v1, "EndpointServiceClient", no_client)


LIVE = {
    name: os.environ.get(name, "")
    for name in (
        "ANALYTICS_ML_GCP_PROJECT",
        "ANALYTICS_ML_GCP_REGION",
        "ANALYTICS_ML_SERVING_IMAGE",
        "ANALYTICS_ML_GCS_MODEL_URI",
    )
}


@pytest.mark.gcp
@pytest.mark.skipif(
    not all(LIVE.values()) or not google_credentials_found(),
    reason=f"needs Google credentials and {', '.join(LIVE)} to deploy for real",
)
def test_live_deployment_serves_the_model() -> None:
    """Deploys for real on a new endpoint, checks Vertex AI holds it as built, then removes it all."""
    project, region, image, model_uri = LIVE.values()
    config = VertexDeployConfig(
        project=project,
        region=region,
        artifact_uri=model_uri,
        image_uri=image,
        display_name="digits-cnn-smoke",
    )
    options = {"api_endpoint": config.api_endpoint}
    endpoints = aiplatform_v1.EndpointServiceClient(client_options=options)
    models = aiplatform_v1.ModelServiceClient(client_options=options)
    deployment = vertex_deploy.deploy(config)
    try:
        endpoint = endpoints.get_endpoint(name=deployment.endpoint)
        assert dict(endpoint.traffic_split) == {deployment.deployed_model_id: 100}
        (deployed,) = endpoint.deployed_models
        assert deployed.dedicated_resources.machine_spec.machine_type == "n1-standard-2"
        model = models.get_model(name=deployment.model)
        assert model.container_spec == upload_request(config).model.container_spec
        assert model.artifact_uri == config.artifact_uri
    finally:
        endpoints.undeploy_model(
            endpoint=deployment.endpoint, deployed_model_id=deployment.deployed_model_id
        ).result(timeout=vertex_deploy.OPERATION_TIMEOUT_S)
        endpoints.delete_endpoint(name=deployment.endpoint).result()
        models.delete_model(name=deployment.model).result()


def test_with_a_model_dir_the_exported_files_are_copied_first(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    refuse_clients(monkeypatch)
    for name in vertex_deploy.ARTIFACT_FILES:
        (tmp_path / name).write_text("{}")
    assert vertex_deploy.main([*VALID, "--model-dir", str(tmp_path), "--dry-run"]) == 0
    uploads = json.loads(capsys.readouterr().out)["uploads"]
    assert uploads == [
        {"from": str(tmp_path / name), "to": f"gs://ml-out/cnn/model/{name}"}
        for name in ("model.pt", "model.onnx", "labels.json", "preprocessing.json", "metrics.json")
    ]


def test_a_model_dir_without_an_export_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    refuse_clients(monkeypatch)
    with pytest.raises(SystemExit) as exited:
        vertex_deploy.main([*VALID, "--model-dir", str(tmp_path), "--dry-run"])
    assert exited.value.code == 2
    assert f"--model-dir {tmp_path} holds no exported model" in capsys.readouterr().err
