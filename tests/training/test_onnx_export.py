"""The exported model.onnx, run in onnxruntime as BigQuery ML runs an imported ONNX model: fed what
ML.DECODE_IMAGE yields (float32 pixel/255, N×H×W×C), it answers what the TorchScript model does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime
import pytest

from training.data import load_digits_data
from training.export import ONNX_FILE, ExportedModel

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def session(digits_model: Path) -> onnxruntime.InferenceSession:
    return onnxruntime.InferenceSession(str(digits_model / ONNX_FILE), providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def held_out() -> tuple[np.ndarray, np.ndarray]:
    """The held-out digits as N×H×W×C uint8 pixels, and their labels."""
    data = load_digits_data()
    return data.test_x.permute(0, 2, 3, 1).numpy(), data.test_y.numpy()


def as_decoded_images(pixels: np.ndarray) -> np.ndarray:
    """What BigQuery's ML.DECODE_IMAGE gives for these pixels: float32 in 0..1."""
    return (pixels / 255.0).astype(np.float32)


def run(session: onnxruntime.InferenceSession, pixels: np.ndarray) -> np.ndarray:
    (probabilities,) = session.run(["output"], {"input": as_decoded_images(pixels)})
    return probabilities


def test_onnx_and_torchscript_agree_on_every_held_out_image(session, held_out, digits_model: Path) -> None:
    pixels, _ = held_out
    onnx_probabilities = run(session, pixels)
    torch_probabilities = ExportedModel(digits_model).probabilities(list(pixels))
    assert onnx_probabilities.shape == torch_probabilities.shape == (len(pixels), 10)
    assert float(np.max(np.abs(onnx_probabilities - torch_probabilities))) <= TOLERANCE
    assert np.array_equal(onnx_probabilities.argmax(axis=1), torch_probabilities.argmax(axis=1))


def test_held_out_accuracy_is_at_least_95_percent(session, held_out) -> None:
    pixels, labels = held_out
    assert float(np.mean(run(session, pixels).argmax(axis=1) == labels)) >= 0.95


def test_input_and_output_are_what_bigquery_ml_binds(session) -> None:
    (graph_input,) = session.get_inputs()
    (graph_output,) = session.get_outputs()
    assert (graph_input.name, graph_input.type) == ("input", "tensor(float)")
    assert (graph_output.name, graph_output.type) == ("output", "tensor(float)")
    # onnxruntime gives a symbolic dimension as its name (a str), a fixed one as an int.
    assert isinstance(graph_input.shape[0], str) and graph_input.shape[1:] == [8, 8, 1]
    assert isinstance(graph_output.shape[0], str) and graph_output.shape[1:] == [10]


@pytest.mark.parametrize("count", [1, 7, None], ids=["one-image", "seven-images", "all-images"])
def test_any_batch_size_gives_each_image_its_own_answer(session, held_out, count: int | None) -> None:
    pixels = held_out[0]
    batch = run(session, pixels[:count])
    assert batch.shape == (len(pixels[:count]), 10) and batch.dtype == np.float32
    assert float(np.max(np.abs(batch - run(session, pixels)[: len(batch)]))) <= TOLERANCE
    np.testing.assert_allclose(batch.sum(axis=1), 1.0, atol=TOLERANCE)
