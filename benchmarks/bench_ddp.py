"""Training throughput of the CNN: 2-process DDP (torchrun, gloo) against one process, same machine.

    .venv/bin/python benchmarks/bench_ddp.py [--epochs 5] [--append benchmarks/RESULTS.md]

Each configuration runs ``training.train`` as users run it (a subprocess; torchrun for DDP) with the
same global batch and seed. Throughput is train.py's own per-epoch figure (training images / epoch
seconds, start-up and export excluded), the median over the epochs after the first; wall is the
whole command. The baseline is one process with torch's default thread count, what
``python -m training.train`` does; one process pinned to one thread is shown too, because on a
shared two-core machine intra-op threads that wait on each other are the main cost.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import torch
from side_job_report import emit, machine

REPO_ROOT = Path(__file__).resolve().parents[1]
TORCHRUN = str(Path(sys.executable).with_name("torchrun"))
CIFAR_SHAPED_IMAGES = 4096


@dataclass(frozen=True)
class Setup:
    name: str
    launcher: tuple[str, ...]
    threads: int | None  # OMP_NUM_THREADS; None = torch's default


SETUPS = (
    Setup(f"1 process, torch default threads ({torch.get_num_threads()})", (sys.executable,), None),
    Setup("1 process, 1 thread", (sys.executable,), 1),
    Setup("2 processes, DDP (torchrun, gloo), 1 thread each",
          (TORCHRUN, "--standalone", "--nproc_per_node", "2"), 1),
)


@dataclass(frozen=True)
class Measured:
    images_per_second: float
    wall_s: float


def write_cifar_shaped(folder: Path, train_images: int) -> None:
    """Random 32×32×3 images in CIFAR-10's binary batch format (label byte + 3,072 pixel bytes)."""
    rng = np.random.default_rng(0)
    for name, count in (("data_batch_1.bin", train_images), ("test_batch.bin", 256)):
        records = rng.integers(0, 256, (count, 1 + 3 * 32 * 32), dtype=np.uint8)
        records[:, 0] %= 10
        records.tofile(folder / name)


def measure(setup: Setup, dataset_args: list[str], epochs: int, out: Path) -> Measured:
    env = dict(os.environ)
    env.pop("OMP_NUM_THREADS", None)
    if setup.threads is not None:
        env["OMP_NUM_THREADS"] = str(setup.threads)
    command = [*setup.launcher, "-m", "training.train", *dataset_args, "--out", str(out),
               "--epochs", str(epochs), "--no-resume", "--no-progress"]
    started = time.perf_counter()
    subprocess.run(command, cwd=REPO_ROOT, env=env, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - started
    per_epoch = json.loads((out / "metrics.json").read_text())["images_per_second"]
    return Measured(statistics.median(per_epoch[1:]), wall)


def table(dataset: str, results: dict[str, Measured]) -> list[str]:
    baseline = next(iter(results.values())).images_per_second
    lines = [f"**{dataset}**", "", "| setup | images/s | × baseline | wall (s) |", "|---|---:|---:|---:|"]
    lines += [f"| {name} | {m.images_per_second:,.0f} | {m.images_per_second / baseline:.2f}× "
              f"| {m.wall_s:.1f} |" for name, m in results.items()]
    return [*lines, ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--append", type=Path, help="append the section to this markdown file")
    args = parser.parse_args(argv)
    lines = [f"## Distributed CNN training: 2-process DDP vs 1 process on CPU ({date.today()})", "",
             f"`benchmarks/bench_ddp.py --epochs {args.epochs}`; {machine()}; torch {torch.__version__}, "
             "global batch 64, images/s = median epoch after the first. No GPU was lent to this run.", ""]
    with tempfile.TemporaryDirectory() as tmp:
        cifar = Path(tmp) / "cifar"
        cifar.mkdir()
        write_cifar_shaped(cifar, CIFAR_SHAPED_IMAGES)
        datasets = {
            "digits (1,437 training images, 8×8 grey, small LeNet)": ["--dataset", "digits"],
            f"CIFAR-shaped ({CIFAR_SHAPED_IMAGES:,} random 32×32×3 images, the book's LeNet)":
                ["--dataset", "cifar10", "--data-dir", str(cifar)],
        }
        for dataset, dataset_args in datasets.items():
            results = {s.name: measure(s, dataset_args, args.epochs, Path(tmp) / f"run{i}")
                       for i, s in enumerate(SETUPS)}
            lines += table(dataset, results)
            print("\n".join(table(dataset, results)), flush=True)
    emit(lines, args.append)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
