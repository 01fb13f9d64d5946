"""Data-parallel CNN training under torchrun on the CPU (gloo): same weights as one process, and
training that survives a killed worker.

The data is CIFAR-10's binary format written here, in whole global batches of 64 that split evenly
over two ranks. (On the 1,437 digits, DistributedSampler pads the last global batch with a repeated
image, so two ranks and one process differ in that last step, unless --drop-last.) The equivalence
is checked over 16 steps: summing the gradient in two halves rounds differently, and SGD on a small
CNN amplifies that difference about a hundredfold per epoch, so a longer run would compare rounding
noise, not the algorithm.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from training.model import build_model

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
GLOBAL_BATCH, SEED = 64, 7
ENV = {
    **os.environ,
    # One intra-op thread per process: on two shared cores more threads only wait on each other.
    "OMP_NUM_THREADS": "1",
    # torchrun's default of sharing its rendezvous store with the workers' process group lets a
    # restarted rank read the dead rank's gloo address and hang (pytorch/pytorch#135712).
    "TORCH_DISABLE_SHARE_RDZV_TCP_STORE": "1",
}


@dataclass(frozen=True)
class Run:
    """A data set (training images in whole global batches) and how many epochs to train on it."""

    train_images: int
    epochs: int


EQUIVALENCE = Run(train_images=8 * GLOBAL_BATCH, epochs=2)
# Long enough (a second or more per epoch) that a worker can be killed mid-run.
ELASTIC = Run(train_images=32 * GLOBAL_BATCH, epochs=4)


def write_cifar_batch(path: Path, count: int, rng: np.random.Generator) -> None:
    """``count`` records of label byte + 3,072 pixel bytes; brightness depends on the label."""
    labels = rng.integers(0, 10, count, dtype=np.uint8)
    pixels = rng.integers(0, 128, (count, 3 * 32 * 32), dtype=np.uint8) + labels[:, None] * 12
    np.concatenate([labels[:, None], pixels], axis=1).astype(np.uint8).tofile(path)


def cifar_dir(tmp_path_factory: pytest.TempPathFactory, train_images: int) -> Path:
    folder = tmp_path_factory.mktemp("cifar-10-batches-bin")
    rng = np.random.default_rng(0)
    write_cifar_batch(folder / "data_batch_1.bin", train_images, rng)
    write_cifar_batch(folder / "test_batch.bin", GLOBAL_BATCH, rng)
    return folder


def train_args(data_dir: Path, out: Path, epochs: int) -> list[str]:
    data = ["--dataset", "cifar10", "--data-dir", str(data_dir), "--out", str(out)]
    return [
        *data,
        "--epochs",
        str(epochs),
        "--batch-size",
        str(GLOBAL_BATCH),
        "--seed",
        str(SEED),
        "--no-progress",
    ]


def torchrun(*options: str) -> list[str]:
    return [str(Path(sys.executable).with_name("torchrun")), *options, "-m", "training.train"]


def run(command: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command, cwd=REPO_ROOT, env=env or ENV, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def two_processes(data_dir: Path, out: Path, epochs: int) -> Path:
    run([*torchrun("--standalone", "--nproc_per_node", "2"), *train_args(data_dir, out, epochs)])
    return out


def final_weights(out: Path, epochs: int) -> dict[str, torch.Tensor]:
    checkpoint = torch.load(out / "checkpoint.pt", weights_only=True)
    assert checkpoint["epochs_run"] == epochs
    return checkpoint["model"]


def assert_same_weights(ours: dict[str, torch.Tensor], theirs: dict[str, torch.Tensor]) -> None:
    assert ours.keys() == theirs.keys()
    for name in ours:
        torch.testing.assert_close(ours[name], theirs[name], rtol=1e-4, atol=1e-5, msg=name)


@pytest.fixture(scope="module")
def equivalence_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cifar_dir(tmp_path_factory, EQUIVALENCE.train_images)


@pytest.fixture(scope="module")
def two_process_run(equivalence_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return two_processes(equivalence_data, tmp_path_factory.mktemp("ddp"), EQUIVALENCE.epochs)


def test_two_processes_reach_the_weights_of_one_with_the_same_global_batch(
    equivalence_data: Path, two_process_run: Path, tmp_path: Path
) -> None:
    run([sys.executable, "-m", "training.train", *train_args(equivalence_data, tmp_path, EQUIVALENCE.epochs)])
    ddp = final_weights(two_process_run, EQUIVALENCE.epochs)
    assert_same_weights(ddp, final_weights(tmp_path, EQUIVALENCE.epochs))
    # Trained for real: the weights moved away from the seeded initialisation.
    torch.manual_seed(SEED)
    initial = build_model("cifar10")[0].state_dict()
    assert max(float((ddp[k] - initial[k]).abs().max()) for k in ddp) > 1e-2
    assert json.loads((two_process_run / "metrics.json").read_text())["world_size"] == 2


def test_drop_last_makes_an_uneven_data_set_train_alike_on_one_and_two_processes(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    # An odd number of images, 25 past the last whole global batch: without --drop-last the
    # sampler pads the second rank's share with a repeated image (weights then differ by ~5e-3).
    # Rounding differences grow with the data too: on some draws (e.g. 23 extra images) even
    # identical batches end ~4e-5 apart after 16 steps, so this one draw is pinned.
    data = cifar_dir(tmp_path_factory, EQUIVALENCE.train_images + 25)
    two_ranks, one = tmp_path / "two", tmp_path / "one"
    options = [*train_args(data, two_ranks, EQUIVALENCE.epochs), "--drop-last"]
    run([*torchrun("--standalone", "--nproc_per_node", "2"), *options])
    run([sys.executable, "-m", "training.train", *train_args(data, one, EQUIVALENCE.epochs), "--drop-last"])
    assert_same_weights(final_weights(two_ranks, EQUIVALENCE.epochs), final_weights(one, EQUIVALENCE.epochs))


def worker_ranks(agent_pid: int) -> dict[int, int]:
    """``{RANK: pid}`` of the worker processes below the torchrun agent."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name in field 2 may hold spaces; the fields after its ")" are fixed.
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    below, frontier = set(), {agent_pid}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - below
        below |= frontier
    ranks = {}
    for pid in below:
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        rank = next((e.split(b"=", 1)[1] for e in environ if e.startswith(b"RANK=")), None)
        if rank is not None:
            ranks[int(rank)] = pid
    return ranks


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_killed_worker_is_restarted_and_training_finishes_from_the_last_checkpoint(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    data = cifar_dir(tmp_path_factory, ELASTIC.train_images)
    uninterrupted = two_processes(data, tmp_path / "uninterrupted", ELASTIC.epochs)
    out = tmp_path / "elastic"
    elastic = ("--standalone", "--nproc_per_node", "2", "--max-restarts", "1", "--monitor-interval", "0.1")
    log = tmp_path / "torchrun.log"
    with log.open("w") as output:
        # A session of its own: if the test fails, the agent and its workers are stopped together.
        agent = subprocess.Popen(
            [*torchrun(*elastic), *train_args(data, out, ELASTIC.epochs)],
            cwd=REPO_ROOT,
            env=ENV,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for(lambda: (out / "checkpoint.pt").is_file(), 240, "the first checkpoint")
            os.kill(worker_ranks(agent.pid)[1], signal.SIGKILL)
            agent.wait(timeout=300)
        finally:
            if agent.poll() is None:
                os.killpg(agent.pid, signal.SIGKILL)
    stderr = log.read_text()
    assert agent.returncode == 0, stderr[-3000:]
    resumed = re.search(r"resuming from .* after epoch (\d+)", stderr)
    assert resumed, stderr[-3000:]
    assert 1 <= int(resumed.group(1)) < ELASTIC.epochs
    # Resuming is exact, so the interrupted run ends where the uninterrupted one did.
    assert_same_weights(final_weights(out, ELASTIC.epochs), final_weights(uninterrupted, ELASTIC.epochs))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_vertex_launcher_runs_the_same_training_from_cluster_spec(
    equivalence_data: Path, two_process_run: Path, tmp_path: Path
) -> None:
    """What each Vertex AI replica runs, on a one-node CLUSTER_SPEC pointing at this machine."""
    chief = f"127.0.0.1:{free_port()}"
    cluster = {"cluster": {"workerpool0": [chief]}, "task": {"type": "workerpool0", "index": 0}}
    env = {**ENV, "CLUSTER_SPEC": json.dumps(cluster), "PATH": f"{Path(sys.executable).parent}:{ENV['PATH']}"}
    launcher = [sys.executable, "-m", "training.vertex_job", "launch", "--nproc_per_node", "2"]
    options = ["--max_restarts", "0", "--rdzv_id", "test", "--"]
    result = run([*launcher, *options, *train_args(equivalence_data, tmp_path, EQUIVALENCE.epochs)], env)
    assert f"--rdzv_backend c10d --rdzv_endpoint {chief}" in result.stderr
    final = final_weights(tmp_path, EQUIVALENCE.epochs)
    assert_same_weights(final, final_weights(two_process_run, EQUIVALENCE.epochs))
