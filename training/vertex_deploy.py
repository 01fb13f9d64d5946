"""The Vertex AI deployment of the CNN's model server: upload the model, deploy it to an endpoint.

    python -m training.vertex_deploy --project P --region R --artifact-uri gs://BUCKET/cnn/model \\
        --image-uri REGION-docker.pkg.dev/P/REPO/digits-cnn:TAG [--model-dir build/models/digits] \\
        [--endpoint E] [--dry-run]

The model is the folder ``python -m training.train --out`` wrote (model.pt, labels.json,
preprocessing.json, model.onnx) served by the image built from ``training/Dockerfile``: Vertex AI
copies the folder, hands it to the server in ``AIP_STORAGE_URI`` and sends traffic to the port and
routes written here, which are ``training.serve``'s defaults. Without ``--endpoint`` a new endpoint
is created. With ``--model-dir`` the exported files are first copied to ``--artifact-uri``. The
endpoint's URL is what a BigQuery remote model takes as ``ENDPOINT``, its resource name what
``remote_functions`` takes as ``VERTEX_ENDPOINT``, and ``<artifact-uri>/model.onnx`` what an imported
ONNX model takes as ``MODEL_PATH`` (the dbt project's vars digits_vertex_endpoint, digits_onnx_uri).
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from google.cloud import aiplatform_v1

from spark import gcp_args
from training.export import LABELS_FILE, METRICS_FILE, MODEL_FILE, ONNX_FILE, is_exported
from training.preprocess import PREPROCESSING_FILE
from training.vertex_job import _IMAGE, _MACHINE_TYPE, _at_least, _pattern

LABELS = {"app": "analytics-ml", "model": "cnn"}
# What the serving container reads from AIP_STORAGE_URI, and model.onnx for BigQuery's ONNX import.
ARTIFACT_FILES = (MODEL_FILE, ONNX_FILE, LABELS_FILE, PREPROCESSING_FILE, METRICS_FILE)
# What training/Dockerfile and training/serve.py use when Vertex AI sets nothing else.
HTTP_PORT = 8080
PREDICT_ROUTE = "/predict"
HEALTH_ROUTE = "/health"
# Deploying starts machines and pulls the image: often longer than api_core's 15-minute default wait.
OPERATION_TIMEOUT_S = 3600
# Names Vertex AI gives only once the model is uploaded (the endpoint created): a dry run shows them so.
UPLOADED_MODEL = "{uploaded model}"
CREATED_ENDPOINT = "{created endpoint}"
# Endpoint IDs: Vertex AI's own are numbers; chosen ones are lowercase letters, digits and hyphens.
_ENDPOINT_ID = re.compile(r"[0-9]+|[a-z]([a-z0-9-]{0,61}[a-z0-9])?")


@dataclass(frozen=True)
class VertexDeployConfig:
    """One model deployed on one endpoint. ``validate()`` refuses what Vertex AI would."""

    project: str
    region: str
    artifact_uri: str
    image_uri: str
    endpoint: str | None = None
    machine_type: str = "n1-standard-2"
    min_replicas: int = 1
    max_replicas: int = 1
    display_name: str = "digits-cnn"
    model_dir: Path | None = None
    labels: Mapping[str, str] = field(default_factory=lambda: dict(LABELS))

    @property
    def location(self) -> str:
        return f"projects/{self.project}/locations/{self.region}"

    @property
    def api_endpoint(self) -> str:
        return f"{self.region}-aiplatform.googleapis.com"

    def validate(self) -> None:
        problems = list(self._problems())
        if problems:
            raise ValueError("; ".join(problems))

    def _problems(self) -> Iterator[str]:
        if self.min_replicas > self.max_replicas:
            yield f"--min-replicas {self.min_replicas} is above --max-replicas {self.max_replicas}"
        if not 0 < len(self.display_name) <= 128:
            yield "--display-name must have 1 to 128 characters"
        if self.model_dir is not None and not is_exported(self.model_dir):
            yield f"--model-dir {self.model_dir} holds no exported model (run python -m training.train)"


@dataclass(frozen=True)
class Deployment:
    """What Vertex AI answered: the uploaded model, the endpoint, the model's id on the endpoint."""

    model: str
    endpoint: str
    deployed_model_id: str


def endpoint_name(config: VertexDeployConfig, endpoint_id: str) -> str:
    return f"{config.location}/endpoints/{endpoint_id}"


def bigquery_endpoint_url(endpoint: str, region: str) -> str:
    """The ``ENDPOINT`` of ``CREATE MODEL … REMOTE WITH CONNECTION`` for a Vertex AI endpoint."""
    return f"https://{region}-aiplatform.googleapis.com/v1/{endpoint}"


def upload_request(config: VertexDeployConfig) -> aiplatform_v1.UploadModelRequest:
    """The model, validated first: a deployment that cannot go through is never started."""
    config.validate()
    container = aiplatform_v1.ModelContainerSpec(
        image_uri=config.image_uri,
        predict_route=PREDICT_ROUTE,
        health_route=HEALTH_ROUTE,
        ports=[aiplatform_v1.Port(container_port=HTTP_PORT)],
    )
    model = aiplatform_v1.Model(
        display_name=config.display_name,
        artifact_uri=config.artifact_uri,
        container_spec=container,
        labels=dict(config.labels),
    )
    return aiplatform_v1.UploadModelRequest(parent=config.location, model=model)


def create_endpoint_request(config: VertexDeployConfig) -> aiplatform_v1.CreateEndpointRequest:
    endpoint = aiplatform_v1.Endpoint(display_name=config.display_name, labels=dict(config.labels))
    return aiplatform_v1.CreateEndpointRequest(parent=config.location, endpoint=endpoint)


def deploy_request(config: VertexDeployConfig, model: str, endpoint: str) -> aiplatform_v1.DeployModelRequest:
    resources = aiplatform_v1.DedicatedResources(
        machine_spec=aiplatform_v1.MachineSpec(machine_type=config.machine_type),
        min_replica_count=config.min_replicas,
        max_replica_count=config.max_replicas,
    )
    deployed = aiplatform_v1.DeployedModel(
        model=model, display_name=config.display_name, dedicated_resources=resources
    )
    # "0" is the model this request deploys: all traffic moves to it, none stays on older ones.
    return aiplatform_v1.DeployModelRequest(
        endpoint=endpoint, deployed_model=deployed, traffic_split={"0": 100}
    )


def planned_uploads(config: VertexDeployConfig) -> list[tuple[Path, str]]:
    """The exported files copied to the artifact folder before the model is uploaded (none
    without --model-dir: the folder is already there)."""
    if config.model_dir is None:
        return []
    folder = config.artifact_uri.rstrip("/")
    return [
        (config.model_dir / name, f"{folder}/{name}")
        for name in ARTIFACT_FILES
        if (config.model_dir / name).is_file()
    ]


def copy_artifacts(config: VertexDeployConfig, uploads: Sequence[tuple[Path, str]]) -> None:
    from google.cloud import storage

    client = storage.Client(project=config.project)
    for local, uri in uploads:
        bucket, _, blob = uri.removeprefix("gs://").partition("/")
        client.bucket(bucket).blob(blob).upload_from_filename(str(local))


def planned_requests(config: VertexDeployConfig) -> dict[str, object]:
    """The requests a deployment sends, in order, as JSON objects (``--dry-run``)."""
    plan: dict[str, object] = {
        "uploads": [{"from": str(local), "to": uri} for local, uri in planned_uploads(config)],
        "uploadModel": _as_json(upload_request(config)),
    }
    endpoint = endpoint_name(config, config.endpoint) if config.endpoint else CREATED_ENDPOINT
    if not config.endpoint:
        plan["createEndpoint"] = _as_json(create_endpoint_request(config))
    plan["deployModel"] = _as_json(deploy_request(config, UPLOADED_MODEL, endpoint))
    return plan


def _as_json(request: object) -> object:
    # Only the fields set: the empty ones would bury what is sent.
    return json.loads(type(request).to_json(request, always_print_fields_with_no_presence=False))


def deploy(config: VertexDeployConfig) -> Deployment:
    """Copy the artifacts, upload, create the endpoint if needed, deploy; each step waits for
    Vertex AI to finish."""
    copy_artifacts(config, planned_uploads(config))
    options = {"api_endpoint": config.api_endpoint}
    models = aiplatform_v1.ModelServiceClient(client_options=options)
    endpoints = aiplatform_v1.EndpointServiceClient(client_options=options)
    uploaded = models.upload_model(request=upload_request(config)).result(timeout=OPERATION_TIMEOUT_S)
    if config.endpoint:
        endpoint = endpoint_name(config, config.endpoint)
    else:
        created = endpoints.create_endpoint(request=create_endpoint_request(config))
        endpoint = created.result(timeout=OPERATION_TIMEOUT_S).name
    operation = endpoints.deploy_model(request=deploy_request(config, uploaded.model, endpoint))
    deployed = operation.result(timeout=OPERATION_TIMEOUT_S).deployed_model
    return Deployment(model=uploaded.model, endpoint=endpoint, deployed_model_id=deployed.id)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--project", type=gcp_args.project_id, required=True)
    parser.add_argument("--region", type=gcp_args.region, required=True)
    parser.add_argument(
        "--artifact-uri",
        type=gcp_args.gcs_uri,
        required=True,
        help="gs:// folder of the exported model (model.pt, labels.json, preprocessing.json, model.onnx)",
    )
    parser.add_argument(
        "--image-uri",
        type=_pattern(_IMAGE, "container image"),
        required=True,
        help="the model server image built from training/Dockerfile",
    )
    parser.add_argument(
        "--endpoint",
        type=_pattern(_ENDPOINT_ID, "endpoint ID"),
        help="ID of the endpoint to deploy to (default: create one)",
    )
    parser.add_argument(
        "--machine-type", type=_pattern(_MACHINE_TYPE, "machine type"), default="n1-standard-2"
    )
    parser.add_argument("--min-replicas", type=_at_least(1), default=1)
    parser.add_argument("--max-replicas", type=_at_least(1), default=1)
    parser.add_argument("--display-name", default="digits-cnn", help="of the model and a created endpoint")
    parser.add_argument("--model-dir", type=Path, help="copy this exported model to --artifact-uri first")
    parser.add_argument("--dry-run", action="store_true", help="print the requests; send nothing")
    return parser


def config_from_args(args: argparse.Namespace) -> VertexDeployConfig:
    return gcp_args.config_from_args(VertexDeployConfig, args)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    config = config_from_args(args)
    try:
        config.validate()
    except ValueError as exc:
        parser.error(str(exc))
    if args.dry_run:
        print(json.dumps(planned_requests(config), indent=2))
        return 0
    gcp_args.require_credentials(parser)
    deployment = deploy(config)
    print(f"model {deployment.model} deployed as {deployment.deployed_model_id}")
    print(f"VERTEX_ENDPOINT={deployment.endpoint}")
    print(f"ENDPOINT={bigquery_endpoint_url(deployment.endpoint, config.region)}")
    print(f"MODEL_PATH={config.artifact_uri.rstrip('/')}/{ONNX_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
