"""Training data as 8-bit pixels: scikit-learn's digits and CIFAR-10's binary batch files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from training.preprocess import Preprocessing

# The book's transform, Normalize((0.5, ...), (0.5, ...)): pixels land in [-1, 1].
DIGITS_PREPROCESSING = Preprocessing(mode="L", height=8, width=8, mean=(0.5,), std=(0.5,))
CIFAR_PREPROCESSING = Preprocessing(mode="RGB", height=32, width=32, mean=(0.5,) * 3, std=(0.5,) * 3)
CIFAR_LABELS = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR_RECORD_BYTES = 1 + 3 * 32 * 32
DIGITS_TEST_FRACTION = 0.2
DIGITS_SPLIT_SEED = 0


@dataclass
class ImageData:
    """Train and test images as uint8 N×C×H×W tensors, int64 labels, and how to feed them to a model."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    labels: tuple[str, ...]
    preprocessing: Preprocessing


def digits_pixels() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 digits as 8-bit grey images (N×8×8×1): pixel = round(value × 255 / 16)."""
    digits = load_digits()
    pixels = np.rint(digits.images * 255.0 / 16.0).astype(np.uint8)
    return pixels[..., np.newaxis], digits.target.astype(np.int64)


def digits_split(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the held-out split (stratified, fixed seed): (train, test)."""
    indices = np.arange(len(labels))
    return train_test_split(
        indices, test_size=DIGITS_TEST_FRACTION, random_state=DIGITS_SPLIT_SEED, stratify=labels
    )


def load_digits_data() -> ImageData:
    pixels, labels = digits_pixels()
    train, test = digits_split(labels)
    return _image_data(
        pixels[train],
        labels[train],
        pixels[test],
        labels[test],
        tuple(str(d) for d in range(10)),
        DIGITS_PREPROCESSING,
    )


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 binary batch file → (N×32×32×3 uint8, N labels).

    Each record is one label byte then 3,072 pixel bytes: the red plane, the green plane, the
    blue plane, each 32×32 in row-major order.
    """
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % CIFAR_RECORD_BYTES:
        raise ValueError(
            f"{path}: {raw.size} bytes is not a whole number of {CIFAR_RECORD_BYTES}-byte records"
        )
    records = raw.reshape(-1, CIFAR_RECORD_BYTES)
    planes = records[:, 1:].reshape(-1, 3, 32, 32)
    return planes.transpose(0, 2, 3, 1).copy(), records[:, 0].astype(np.int64)


def load_cifar10(root: Path) -> ImageData:
    """Read ``data_batch_*.bin`` and ``test_batch.bin`` (and ``batches.meta.txt`` for label names).

    ``root`` is the folder holding them or the folder above ``cifar-10-batches-bin``, as the
    archive from the CIFAR-10 site unpacks.
    """
    folder = root / "cifar-10-batches-bin" if (root / "cifar-10-batches-bin").is_dir() else root
    train_files = sorted(folder.glob("data_batch_*.bin"))
    test_file = folder / "test_batch.bin"
    if not train_files or not test_file.is_file():
        raise FileNotFoundError(
            f"{folder}: expected data_batch_*.bin and test_batch.bin (the CIFAR-10 binary version)"
        )
    train = [read_cifar_batch(path) for path in train_files]
    test_x, test_y = read_cifar_batch(test_file)
    meta = folder / "batches.meta.txt"
    labels = CIFAR_LABELS
    if meta.is_file():
        labels = tuple(line.strip() for line in meta.read_text().splitlines() if line.strip())
    return _image_data(
        np.concatenate([x for x, _ in train]),
        np.concatenate([y for _, y in train]),
        test_x,
        test_y,
        labels,
        CIFAR_PREPROCESSING,
    )


def load_dataset(name: str, data_dir: Path | None = None) -> ImageData:
    if name == "digits":
        return load_digits_data()
    if name == "cifar10":
        if data_dir is None:
            raise ValueError("--data-dir is required for cifar10 (the folder with the binary batch files)")
        return load_cifar10(data_dir)
    raise ValueError(f"unknown dataset {name!r}: expected 'digits' or 'cifar10'")


def _image_data(
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
    labels: tuple[str, ...],
    preprocessing: Preprocessing,
) -> ImageData:
    def nchw(pixels: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(pixels.transpose(0, 3, 1, 2)))

    return ImageData(
        nchw(train_x),
        torch.from_numpy(train_y),
        nchw(test_x),
        torch.from_numpy(test_y),
        labels,
        preprocessing,
    )
