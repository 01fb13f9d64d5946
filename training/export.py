"""The exported artifact: TorchScript network + labels + input preprocessing, and loading it back.

A model directory holds ``model.pt`` (TorchScript, so the server needs no Python model code, as
Vertex AI's PyTorch containers expect), ``labels.json``, ``preprocessing.json`` and ``metrics.json``;
and ``model.onnx``, the same network for BigQuery ML to import (``MODEL_TYPE = 'ONNX'``): input
``input``, float32 N×H×W×C in 0..1 (what ``ML.DECODE_IMAGE`` yields), output ``output``, float32
N×classes probabilities in label order (see ``OnnxServingGraph``).
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

from training.preprocess import InvalidInstance, Preprocessing, is_remote_model_row

MODEL_FILE = "model.pt"
ONNX_FILE = "model.onnx"
LABELS_FILE = "labels.json"
METRICS_FILE = "metrics.json"
# BigQuery ML runs imported graphs in ONNX Runtime 1.12, which reads opsets up to 17; torch's
# torch.export-based exporter starts at 18, so the graph is traced by the TorchScript exporter.
ONNX_OPSET = 17


@contextmanager
def _torchscript_allowed() -> Iterator[None]:
    # torch 2.13 marks torch.jit deprecated in favour of torch.export, but TorchScript is still
    # what the deployed serving stack loads; the warning is known and would only be noise.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=r".*torch\.jit.*")
        # The TorchScript-based ONNX exporter is deprecated the same way (and warns twice).
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=r".*legacy TorchScript")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx\..*")
        yield


class OnnxServingGraph(nn.Module):
    """The network with its serving input and output inside: N×H×W×C floats in 0..1 → probabilities.

    BigQuery ML runs an imported ONNX graph on exactly what ``ML.DECODE_IMAGE`` gives (pixel/255,
    channels last) and returns its outputs as they are, so the layout change, the normalisation
    and the softmax belong in the graph, as in Google's tutorial "Make predictions with PyTorch
    models in ONNX format". The normalisation is ``Preprocessing.normalize`` after its /255.
    """

    def __init__(self, network: nn.Module, preprocessing: Preprocessing) -> None:
        super().__init__()
        self.network = network
        per_channel = (1, -1, 1, 1)  # broadcast over N×C×H×W
        self.register_buffer("mean", torch.tensor(preprocessing.mean).view(per_channel))
        self.register_buffer("std", torch.tensor(preprocessing.std).view(per_channel))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        scaled = images.permute(0, 3, 1, 2)
        return torch.softmax(self.network((scaled - self.mean) / self.std), dim=1)


def export_onnx(model: nn.Module, preprocessing: Preprocessing, path: Path) -> None:
    """Write ``OnnxServingGraph`` of an eval-mode CPU network to ``path``, batch size left dynamic."""
    graph = OnnxServingGraph(model, preprocessing).eval()
    example = torch.zeros(1, preprocessing.height, preprocessing.width, preprocessing.channels)
    with _torchscript_allowed(), torch.no_grad():
        torch.onnx.export(
            graph,
            (example,),
            str(path),
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )


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
    export_onnx(cpu_model, preprocessing, out_dir / ONNX_FILE)
    (out_dir / LABELS_FILE).write_text(json.dumps(list(labels)) + "\n")
    preprocessing.save(out_dir)
    (out_dir / METRICS_FILE).write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")


def is_exported(model_dir: Path) -> bool:
    # model.onnx counts: a folder exported before it existed is retrained (ensure_model) rather than
    # serving two of the CNN's three SQL paths only.
    files = (MODEL_FILE, ONNX_FILE, LABELS_FILE, "preprocessing.json")
    return all((model_dir / name).is_file() for name in files)


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
        """Vertex-style instances → one ``{"label", "probabilities": {label: p}}`` per instance. A
        BigQuery remote model's row (``{field: image}``) gets ``{"label", "scores": [p, ...]}``
        instead: the probabilities in label order, which its OUTPUT clause can type
        (``OUTPUT(label STRING, scores ARRAY<FLOAT64>)``) where it cannot type a mapping. Each
        caller gets only the form it reads: the answer is most of the response's bytes.

        Raises ``InvalidInstance`` (naming the instance) before any inference if one is bad.
        """
        images = [self._decode(index, instance) for index, instance in enumerate(instances)]
        rows = [is_remote_model_row(instance) for instance in instances]
        return [self._prediction(p, row) for p, row in zip(self.probabilities(images), rows, strict=True)]

    def _prediction(self, probabilities: np.ndarray, remote_model_row: bool) -> dict[str, Any]:
        scores = [round(float(p), 6) for p in probabilities]
        label = self.labels[int(np.argmax(probabilities))]
        if remote_model_row:
            return {"label": label, "scores": scores}
        return {"label": label, "probabilities": dict(zip(self.labels, scores, strict=True))}

    def _decode(self, index: int, instance: Any) -> np.ndarray:
        try:
            return self.preprocessing.decode(instance)
        except InvalidInstance as exc:
            raise InvalidInstance(f"instance {index}: {exc}") from None
