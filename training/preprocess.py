"""Input preprocessing shared by training, the model server and in-process inference.

Everything a model sees starts as 8-bit pixels (H×W×C). Training, serving (PNG or pixel-array
instances) and the tests go through this one module, so the tensors a model gets for an image are
the same bit for bit wherever it runs.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

PREPROCESSING_FILE = "preprocessing.json"


class InvalidInstance(ValueError):
    """An instance that is not an image this model takes (the caller's fault: HTTP 400)."""


@dataclass(frozen=True)
class Preprocessing:
    """How 8-bit pixels become a model input: scale to [0, 1], then (x − mean) / std per channel."""

    mode: str  # PIL mode of the input: "L" (grey) or "RGB"
    height: int
    width: int
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @property
    def channels(self) -> int:
        return len(self.mean)

    def normalize(self, pixels: torch.Tensor) -> torch.Tensor:
        """uint8 N×C×H×W → float32 N×C×H×W, on the tensor's device."""
        mean = torch.tensor(self.mean, device=pixels.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, device=pixels.device).view(1, -1, 1, 1)
        return (pixels.float() / 255.0 - mean) / std

    def batch(self, images: list[np.ndarray]) -> torch.Tensor:
        """Stack H×W×C uint8 arrays into one normalized N×C×H×W batch."""
        stacked = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)
        return self.normalize(stacked)

    def decode(self, instance: Any) -> np.ndarray:
        """One prediction instance → H×W×C uint8.

        Accepted: base64 image bytes (PNG or any format PIL reads), as a string or as Vertex's
        ``{"b64": "..."}``; or a pixel array (H×W for grey, H×W×C) of integers in 0..255. Any of
        these may also come as the one field of an object, ``{"image": ...}``: a BigQuery remote
        model sends each row so, keyed by its INPUT clause's field names.
        """
        if is_remote_model_row(instance):
            instance = _only_field(instance)
        if isinstance(instance, dict) and set(instance) == {"b64"}:
            instance = instance["b64"]
        if isinstance(instance, str):
            return self._decode_image(instance)
        if isinstance(instance, list):
            return self._decode_pixels(instance)
        raise InvalidInstance(
            f"instance must be base64 image bytes or a pixel array, got {type(instance).__name__}"
        )

    def _decode_image(self, encoded: str) -> np.ndarray:
        try:
            raw = base64.b64decode(encoded, validate=True)
            with Image.open(io.BytesIO(raw)) as image:
                image.load()
                if image.size != (self.width, self.height):
                    raise InvalidInstance(
                        f"image is {image.size[0]}×{image.size[1]}, "
                        f"the model takes {self.width}×{self.height}"
                    )
                array = np.asarray(image.convert(self.mode), dtype=np.uint8)
        except (binascii.Error, UnidentifiedImageError, OSError, ValueError) as exc:
            if isinstance(exc, InvalidInstance):
                raise
            raise InvalidInstance(f"not a readable base64 image: {exc}") from None
        return array.reshape(self.height, self.width, self.channels)

    def _decode_pixels(self, pixels: list) -> np.ndarray:
        try:
            array = np.asarray(pixels)
        except ValueError:
            raise InvalidInstance("pixel array is ragged") from None
        expected = {(self.height, self.width, self.channels)}
        if self.channels == 1:
            expected.add((self.height, self.width))
        if array.shape not in expected:
            raise InvalidInstance(
                f"pixel array has shape {list(array.shape)}, expected {list(sorted(expected)[-1])}"
            )
        if array.dtype.kind not in "iu" or array.min() < 0 or array.max() > 255:
            raise InvalidInstance("pixels must be integers in 0..255")
        return array.astype(np.uint8).reshape(self.height, self.width, self.channels)

    def save(self, directory: Path) -> None:
        (directory / PREPROCESSING_FILE).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, directory: Path) -> Preprocessing:
        spec = json.loads((directory / PREPROCESSING_FILE).read_text())
        return cls(spec["mode"], spec["height"], spec["width"], tuple(spec["mean"]), tuple(spec["std"]))


def _only_field(instance: dict[str, Any]) -> Any:
    # The network takes one image, so a remote model's INPUT clause names one field; more (or none)
    # is a mistake in that clause, and naming the fields points at it.
    if len(instance) != 1:
        fields = ", ".join(repr(name) for name in instance) or "none"
        raise InvalidInstance(f"an object instance must have exactly one field, the image; it has {fields}")
    (value,) = instance.values()
    return value


def is_remote_model_row(instance: Any) -> bool:
    """Whether an instance is a BigQuery remote model's row, an object keyed by INPUT field names
    (Vertex's own ``{"b64": ...}`` is not one)."""
    return isinstance(instance, dict) and set(instance) != {"b64"}


def encode_png(pixels: np.ndarray) -> bytes:
    """H×W (grey) or H×W×3 uint8 → PNG bytes."""
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()
