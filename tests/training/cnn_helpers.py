"""Helpers of the CNN training tests: running the training CLI, writing CIFAR-10 binary batches."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_training(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "training.train", "--out", str(out), "--no-progress", *extra]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=True)


def write_cifar_batch(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """The CIFAR-10 binary format: per record a label byte, then the R, G and B planes (32×32 each)."""
    planes = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
    np.concatenate([labels[:, None].astype(np.uint8), planes], axis=1).tofile(path)


def random_cifar(rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, count)
