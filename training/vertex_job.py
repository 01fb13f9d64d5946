"""The Vertex AI CustomJob that runs the CNN's data-parallel training, and the launcher it runs.

    python -m training.vertex_job --project P --region R --image_uri IMAGE \\
        --output_uri gs://BUCKET/cnn --dataset digits --workers 1 [--dry-run]

Worker pools, in the order Vertex AI gives them roles: 0 the chief (one replica), 1 the other
workers (same machine), 2 the optional Reduction Server (Google's image, CPU machines). Every
training replica runs ``python -m training.vertex_job launch …``, which reads the cluster that
Vertex AI describes in ``CLUSTER_SPEC`` and replaces itself with
``torchrun --nnodes N --nproc_per_node G --rdzv_endpoint <chief> … -m training.train …``: the
rendezvous address is only known once the job runs, so it cannot be written into the job itself.
Checkpoints and the exported model go to the job's output folder through Cloud Storage FUSE
(``/gcs/…``), where every rank can resume from them after a restart. The Reduction Server only
serves NCCL all-reduces: the training image must carry Google's reduction-server NCCL plugin.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from google.cloud import aiplatform_v1
from google.protobuf import duration_pb2, json_format

from spark import gcp_args

REDUCTION_SERVER_IMAGE = "us-docker.pkg.dev/vertex-ai-restricted/training/reductionserver:latest"
LABELS = {"app": "analytics-ml", "model": "cnn"}
_IMAGE = re.compile(r"[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+(:[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})?")
_MACHINE_TYPE = re.compile(r"[a-z][a-z0-9]*-[a-z0-9-]+")
_ACCELERATORS = frozenset(t.name for t in aiplatform_v1.AcceleratorType) - {"ACCELERATOR_TYPE_UNSPECIFIED"}


@dataclass(frozen=True)
class VertexTrainingConfig:
    """One data-parallel training job. ``validate()`` refuses what Vertex AI or the training would."""

    project: str
    region: str
    image_uri: str
    output_uri: str
    dataset: str = "digits"
    data_uri: str | None = None
    epochs: int = 40
    batch_size: int = 64
    seed: int = 0
    machine_type: str = "n1-standard-8"
    accelerator_type: str | None = None
    accelerator_count: int = 0
    workers: int = 0
    reduction_servers: int = 0
    reduction_server_machine_type: str = "n1-highcpu-16"
    boot_disk_size_gb: int = 100
    max_restarts: int = 3
    timeout_hours: float = 24.0
    display_name: str = "cnn-ddp"
    service_account: str | None = None
    labels: Mapping[str, str] = field(default_factory=lambda: dict(LABELS))

    @property
    def nodes(self) -> int:
        return 1 + self.workers

    @property
    def nproc_per_node(self) -> int:
        """One process per GPU; one (gloo) process on a CPU machine."""
        return self.accelerator_count or 1

    @property
    def world_size(self) -> int:
        return self.nodes * self.nproc_per_node

    def validate(self) -> None:
        problems = list(self._problems())
        if problems:
            raise ValueError("; ".join(problems))

    def _problems(self) -> Iterator[str]:
        if (self.accelerator_type is None) != (self.accelerator_count == 0):
            yield "--accelerator_type and --accelerator_count go together"
        if self.accelerator_type is not None and self.accelerator_type not in _ACCELERATORS:
            yield f"unknown accelerator {self.accelerator_type!r}"
        if self.reduction_servers and (self.accelerator_count == 0 or self.workers == 0):
            # Reduction Server is an NCCL all-reduce between GPU nodes: it has nothing to do otherwise.
            yield "a Reduction Server needs GPU workers on at least two nodes (--accelerator_*, --workers)"
        if self.batch_size % self.world_size:
            yield f"--batch_size {self.batch_size} does not split over {self.world_size} processes"
        if self.dataset == "cifar10" and self.data_uri is None:
            yield "--dataset cifar10 needs --data_uri (the gs:// folder of its binary batches)"
        if not 0 < len(self.display_name) <= 128:
            yield "--display_name must have 1 to 128 characters"
        if self.timeout_hours <= 0:
            yield "--timeout_hours must be positive"


def gcs_fuse_path(uri: str) -> str:
    """gs://bucket/path → /gcs/bucket/path, where Vertex AI mounts Cloud Storage in every replica."""
    return "/gcs/" + uri.removeprefix("gs://")


def train_args(config: VertexTrainingConfig) -> list[str]:
    """The arguments of ``training.train`` in every replica."""
    args = [
        "--dataset",
        config.dataset,
        "--out",
        gcs_fuse_path(f"{config.output_uri}/model"),
        "--epochs",
        str(config.epochs),
        "--batch-size",
        str(config.batch_size),
        "--seed",
        str(config.seed),
        "--no-progress",
    ]
    if config.data_uri:
        args += ["--data-dir", gcs_fuse_path(config.data_uri)]
    return args


def launch_command(config: VertexTrainingConfig) -> list[str]:
    return [
        "python",
        "-m",
        "training.vertex_job",
        "launch",
        "--nproc_per_node",
        str(config.nproc_per_node),
        "--max_restarts",
        str(config.max_restarts),
        "--rdzv_id",
        config.display_name,
        "--",
        *train_args(config),
    ]


def training_pool(config: VertexTrainingConfig, replicas: int) -> aiplatform_v1.WorkerPoolSpec:
    machine = aiplatform_v1.MachineSpec(machine_type=config.machine_type)
    if config.accelerator_type:
        machine.accelerator_type = aiplatform_v1.AcceleratorType[config.accelerator_type]
        machine.accelerator_count = config.accelerator_count
    return aiplatform_v1.WorkerPoolSpec(
        machine_spec=machine,
        replica_count=replicas,
        disk_spec=aiplatform_v1.DiskSpec(boot_disk_type="pd-ssd", boot_disk_size_gb=config.boot_disk_size_gb),
        container_spec=aiplatform_v1.ContainerSpec(
            image_uri=config.image_uri, command=launch_command(config)
        ),
    )


def reduction_server_pool(config: VertexTrainingConfig) -> aiplatform_v1.WorkerPoolSpec:
    return aiplatform_v1.WorkerPoolSpec(
        machine_spec=aiplatform_v1.MachineSpec(machine_type=config.reduction_server_machine_type),
        replica_count=config.reduction_servers,
        container_spec=aiplatform_v1.ContainerSpec(image_uri=REDUCTION_SERVER_IMAGE),
    )


def build_custom_job(config: VertexTrainingConfig) -> aiplatform_v1.CustomJob:
    """The CustomJob, validated first: a job that cannot run is never built."""
    config.validate()
    pools = [training_pool(config, 1)]
    if config.workers or config.reduction_servers:
        # Pool positions carry the roles, so the Reduction Server must sit at index 2.
        pools.append(training_pool(config, config.workers))
    if config.reduction_servers:
        pools.append(reduction_server_pool(config))
    spec = aiplatform_v1.CustomJobSpec(
        worker_pool_specs=pools,
        base_output_directory=aiplatform_v1.GcsDestination(output_uri_prefix=config.output_uri),
        scheduling=aiplatform_v1.Scheduling(
            timeout=duration_pb2.Duration(seconds=int(config.timeout_hours * 3600)),
            # torchrun restarts processes inside a node; a lost node restarts the whole job, which
            # then resumes from the last checkpoint in the output folder.
            restart_job_on_worker_restart=True,
        ),
    )
    if config.service_account:
        spec.service_account = config.service_account
    return aiplatform_v1.CustomJob(
        display_name=config.display_name, job_spec=spec, labels=dict(config.labels)
    )


def submit(config: VertexTrainingConfig, job: aiplatform_v1.CustomJob) -> aiplatform_v1.CustomJob:
    client = aiplatform_v1.JobServiceClient(
        client_options={"api_endpoint": f"{config.region}-aiplatform.googleapis.com"}
    )
    parent = f"projects/{config.project}/locations/{config.region}"
    return client.create_custom_job(parent=parent, custom_job=job)


def torchrun_command(
    cluster_spec: Mapping[str, Any] | None,
    nproc_per_node: int,
    max_restarts: int,
    rdzv_id: str,
    training_args: Sequence[str],
) -> list[str]:
    """What a training replica runs, given Vertex AI's ``CLUSTER_SPEC`` (None when run by hand).

    All replicas of pools 0 and 1 are training nodes; they meet at the chief's address with the
    c10d rendezvous, which also lets torchrun restart the workers after one dies.
    """
    elastic = ["--nproc_per_node", str(nproc_per_node), "--max-restarts", str(max_restarts)]
    if cluster_spec is None:
        return ["torchrun", "--standalone", *elastic, "-m", "training.train", *training_args]
    cluster = cluster_spec["cluster"]
    nodes = len(cluster["workerpool0"]) + len(cluster.get("workerpool1", []))
    return [
        "torchrun",
        "--nnodes",
        str(nodes),
        *elastic,
        "--rdzv_backend",
        "c10d",
        "--rdzv_endpoint",
        cluster["workerpool0"][0],
        "--rdzv_id",
        rdzv_id,
        "-m",
        "training.train",
        *training_args,
    ]


def launch(argv: Sequence[str]) -> NoReturn:
    parser = argparse.ArgumentParser(
        prog="python -m training.vertex_job launch",
        description="run torchrun for this replica (inside the Vertex AI job)",
    )
    parser.add_argument("--nproc_per_node", type=int, required=True)
    parser.add_argument("--max_restarts", type=int, required=True)
    parser.add_argument("--rdzv_id", required=True)
    parser.add_argument("training_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    training = args.training_args[1:] if args.training_args[:1] == ["--"] else args.training_args
    spec = json.loads(os.environ["CLUSTER_SPEC"]) if "CLUSTER_SPEC" in os.environ else None
    command = torchrun_command(spec, args.nproc_per_node, args.max_restarts, args.rdzv_id, training)
    print(" ".join(command), file=sys.stderr, flush=True)
    # Sharing torchrun's rendezvous store with the process group makes restarted workers read the
    # dead workers' addresses and hang (pytorch/pytorch#135712): restarts are why torchrun is here.
    os.environ.setdefault("TORCH_DISABLE_SHARE_RDZV_TCP_STORE", "1")
    os.execvp(command[0], command)


def _pattern(pattern: re.Pattern[str], what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise argparse.ArgumentTypeError(f"{value!r} is not a valid {what}")
        return value

    return check


def _at_least(minimum: int) -> Callable[[str], int]:
    def check(value: str) -> int:
        number = int(value)
        if number < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below {minimum}")
        return number

    return check


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--project", type=gcp_args.project_id, required=True)
    parser.add_argument("--region", type=gcp_args.region, required=True)
    parser.add_argument(
        "--image_uri",
        type=_pattern(_IMAGE, "container image"),
        required=True,
        help="training image holding this repository (python -m training.train works in it)",
    )
    parser.add_argument(
        "--output_uri",
        type=gcp_args.gcs_uri,
        required=True,
        help="job output folder: checkpoints and the exported model go to <output_uri>/model",
    )
    parser.add_argument("--dataset", choices=["digits", "cifar10"], default="digits")
    parser.add_argument(
        "--data_uri", type=gcp_args.gcs_uri, help="cifar10: gs:// folder of the binary batches"
    )
    parser.add_argument("--epochs", type=_at_least(1), default=40)
    parser.add_argument("--batch_size", type=_at_least(1), default=64, help="global batch over all processes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--machine_type", type=_pattern(_MACHINE_TYPE, "machine type"), default="n1-standard-8"
    )
    parser.add_argument("--accelerator_type", help=f"one of {', '.join(sorted(_ACCELERATORS))}")
    parser.add_argument("--accelerator_count", type=_at_least(0), default=0, help="GPUs per node")
    parser.add_argument("--workers", type=_at_least(0), default=0, help="training nodes besides the chief")
    parser.add_argument("--reduction_servers", type=_at_least(0), default=0, help="Reduction Server replicas")
    parser.add_argument(
        "--reduction_server_machine_type",
        type=_pattern(_MACHINE_TYPE, "machine type"),
        default="n1-highcpu-16",
    )
    parser.add_argument("--boot_disk_size_gb", type=_at_least(10), default=100)
    parser.add_argument("--max_restarts", type=_at_least(0), default=3, help="torchrun restarts per node")
    parser.add_argument("--timeout_hours", type=float, default=24.0)
    parser.add_argument("--display_name", default="cnn-ddp")
    parser.add_argument("--service_account", type=gcp_args.service_account)
    parser.add_argument("--dry-run", action="store_true", help="print the CustomJob; send nothing")
    return parser


def config_from_args(args: argparse.Namespace) -> VertexTrainingConfig:
    return gcp_args.config_from_args(VertexTrainingConfig, args)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["launch"]:
        launch(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    config = config_from_args(args)
    try:
        job = build_custom_job(config)
    except ValueError as exc:
        parser.error(str(exc))
    if args.dry_run:
        print(json.dumps(json_format.MessageToDict(aiplatform_v1.CustomJob.pb(job)), indent=2))
        return 0
    gcp_args.require_credentials(parser)
    created = submit(config, job)
    print(f"created {created.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
