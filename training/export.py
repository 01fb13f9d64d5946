"""The exported artifact: TorchScript network + labels + input preprocessing, and loading it back.

A model directory holds ``model.pt`` (TorchScript, so the server needs no Python model code, as
Vertex AI's PyTorch containers expect), ``labels.json``, ``preprocessing.json`` and ``metrics.json``.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from training.preprocess import InvalidInstance, Preprocessing

MODEL_FILE = "model.pt"
LABELS_FILE = "labels.json"
METRICS_FILE = "metrics.json"


@contextmanager
def _torchscript_allowed() -> Iterator[None]:
    # torch 2.13 marks torch.jit deprecated in favour of torch.export, but TorchScript is still
    # what the deployed serving stack loads; the warning is known and would only be noise.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=r".*torch\.jit.*")
        yield


def export_model(
    model: nn.Module,
    labels: Sequence[str],
    preprocessing: Preprocessing,
    out_dir: Path,
    metrics: dict[str, Any],
) -> None:
    """Write the artifact of a trained network (on any device) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cpu_model = model.to("cpu", memory_format=torch.contiguous_format).eval()
    example = torch.zeros(1, preprocessing.channels, preprocessing.height, preprocessing.width)
    with _torchscript_allowed(), torch.no_grad():
        scripted = torch.jit.trace(cpu_model, example)
        torch.jit.save(scripted, str(out_dir / MODEL_FILE))
    (out_dir / LABELS_FILE).write_text(json.dumps(list(labels)) + "\n")
    preprocessing.save(out_dir)
    (out_dir / METRICS_FILE).write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")


def is_exported(model_dir: Path) -> bool:
    return all((model_dir / name).is_file() for name in (MODEL_FILE, LABELS_FILE, "preprocessing.json"))


class ExportedModel:
    """An exported artifact loaded for inference (what the server and in-process callers use)."""

    def __init__(self, model_dir: Path) -> None:
        with _torchscript_allowed():
            self.module = torch.jit.load(str(model_dir / MODEL_FILE), map_location="cpu").eval()
        self.labels: list[str] = json.loads((model_dir / LABELS_FILE).read_text())
        self.preprocessing = Preprocessing.load(model_dir)

    def probabilities(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """H×W×C uint8 images → N×classes softmax probabilities, in one forward pass."""
        if not images:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        with torch.inference_mode():
            logits = self.module(self.preprocessing.batch(list(images)))
        return torch.softmax(logits, dim=1).numpy()

    def predict(self, instances: Sequence[Any]) -> list[dict[str, Any]]:
        """Vertex-style instances → one ``{"label", "probabilities": {label: p}}`` per instance.

        Raises ``InvalidInstance`` (naming the instance) before any inference if one is bad.
        """
        images = [self._decode(index, instance) for index, instance in enumerate(instances)]
        return [
            {
                "label": self.labels[int(np.argmax(row))],
                "probabilities": dict(zip(self.labels, (round(float(p), 6) for p in row), strict=True)),
            }
            for row in self.probabilities(images)
        ]

    def _decode(self, index: int, instance: Any) -> np.ndarray:
        try:
            return self.preprocessing.decode(instance)
        except InvalidInstance as exc:
            raise InvalidInstance(f"instance {index}: {exc}") from None
