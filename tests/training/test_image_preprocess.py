import base64
import io

import numpy as np
import pytest
import torch
from PIL import Image

from training.data import CIFAR_PREPROCESSING, DIGITS_PREPROCESSING
from training.preprocess import InvalidInstance, Preprocessing, encode_png

DIGIT = np.arange(64, dtype=np.uint8).reshape(8, 8, 1) * 4


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_png_b64_dict_and_pixel_arrays_decode_to_the_same_pixels() -> None:
    encoded = b64(encode_png(DIGIT))
    for instance in (encoded, {"b64": encoded}, DIGIT[..., 0].tolist(), DIGIT.tolist()):
        np.testing.assert_array_equal(DIGITS_PREPROCESSING.decode(instance), DIGIT)


def test_colour_png_round_trips() -> None:
    image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    np.testing.assert_array_equal(CIFAR_PREPROCESSING.decode(b64(encode_png(image))), image)


def test_other_image_formats_are_converted_to_the_models_mode() -> None:
    buffer = io.BytesIO()
    Image.fromarray(np.repeat(DIGIT, 3, axis=2)).save(buffer, format="BMP")  # RGB BMP, grey content
    np.testing.assert_array_equal(DIGITS_PREPROCESSING.decode(b64(buffer.getvalue())), DIGIT)


@pytest.mark.parametrize(
    ("instance", "message"),
    [
        ("not base64!", "not a readable base64 image"),
        (b64(b"GIF89a but not really"), "not a readable base64 image"),
        (b64(encode_png(np.zeros((9, 8), dtype=np.uint8))), "8×9, the model takes 8×8"),
        ([[0] * 8] * 7, "shape"),
        ([[0] * 8] * 7 + [[0] * 7], "ragged"),
        ([[256] * 8] * 8, "0..255"),
        ([[0.5] * 8] * 8, "integers"),
        (42, "got int"),
        ({"b64": "x", "extra": 1}, "exactly one field, the image; it has 'b64', 'extra'"),
    ],
)
def test_invalid_instances_are_refused_with_a_reason(instance: object, message: str) -> None:
    with pytest.raises(InvalidInstance, match=message):
        DIGITS_PREPROCESSING.decode(instance)


def test_normalize_maps_0_255_to_minus_1_plus_1() -> None:
    out = DIGITS_PREPROCESSING.normalize(torch.tensor([0, 255], dtype=torch.uint8).view(2, 1, 1, 1))
    assert out.flatten().tolist() == [-1.0, 1.0]


def test_batch_is_nchw_float() -> None:
    batch = CIFAR_PREPROCESSING.batch([np.zeros((32, 32, 3), dtype=np.uint8)] * 2)
    assert batch.shape == (2, 3, 32, 32) and batch.dtype == torch.float32


def test_preprocessing_round_trips_through_json(tmp_path) -> None:
    CIFAR_PREPROCESSING.save(tmp_path)
    assert Preprocessing.load(tmp_path) == CIFAR_PREPROCESSING
