"""BigQuery ML's image scalar functions on DuckDB: ML.DECODE_IMAGE and ML.RESIZE_IMAGE.

An image is BigQuery's `STRUCT<ARRAY<INT64>, ARRAY<FLOAT64>>` (or `ARRAY<INT64>` data, 0..255):
`[height, width, channels]`, then the pixel values row-major, height x width x channels. DuckDB
has no anonymous struct fields, so the engine's structs name them as BigQuery shows anonymous
fields: `STRUCT(_field_1 BIGINT[], _field_2 DOUBLE[])`. RESIZE_IMAGE reads its argument's fields
by position, so a struct a query builds (`STRUCT([1, 2, 3], [0.1, ...])`) works too.

- `__ml_decode_image(data BLOB)`: JPEG, PNG or BMP bytes (Pillow decodes them) keeping the image's
  channels (grey 1, grey + alpha 2, RGB 3, RGBA 4; palette and CMYK images become RGB), values
  pixel / 255, as TensorFlow's convert_image_dtype scales uint8 (the reference page says [0, 1),
  but a white pixel is 1.0). BigQuery's downscaling of a struct over 60 MB is not done.
- `__ml_resize_image(image, target_height, target_width, preserve_aspect_ratio)`: bilinear as
  TensorFlow 2's tf.image.resize(method='bilinear', antialias=False) (half-pixel centres), in
  float64 where TensorFlow computes in float32; INT64 data comes back INT64, rounded half away
  from zero as BigQuery's CAST rounds.

DuckDB's Python UDFs take one signature per name and cannot dispatch on their argument's type, so
`__ml_resize_image` is a TEMP macro: it takes the struct's fields by position and the typed
overloads of `__ml_resize_image_int64_or_float64` pick the UDF of the data's form
(`__ml_resize_image_int64` or `__ml_resize_image_float64`), at bind time. TEMP macros
live on one connection (a cursor is another one): `register` is called on each. The UDFs are
Arrow UDFs: one Python call per DuckDB vector, numpy per image. A NULL argument gives NULL (DuckDB
passes the UDFs only rows without one).
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable

import duckdb
import numpy as np
import pyarrow as pa
from PIL import Image

from ml.errors import MLError
from ml.sql.scalar_functions import SCALAR_FUNCTIONS

DECODE = SCALAR_FUNCTIONS["DECODE_IMAGE"]
RESIZE = SCALAR_FUNCTIONS["RESIZE_IMAGE"]
# Named for DuckDB's error when the data is neither: "Macro ..._int64_or_float64() does not support".
RESIZE_FORM = f"{RESIZE}_int64_or_float64"
RESIZE_FLOAT64 = f"{RESIZE}_float64"
RESIZE_INT64 = f"{RESIZE}_int64"

MAX_DATA_BYTES = 10_000_000
FORMATS = ("JPEG", "PNG", "BMP")
# Pillow modes kept as they are (channels in this order), and the ones converted first.
_KEPT_MODES = {"L", "LA", "RGB", "RGBA"}
_CONVERTED_MODES = {"1": "L", "P": "RGB", "CMYK": "RGB", "YCbCr": "RGB"}

_FIELDS = ["_field_1", "_field_2"]
_FLOAT_IMAGE_SQL = 'STRUCT("_field_1" BIGINT[], "_field_2" DOUBLE[])'
_INT_IMAGE_SQL = 'STRUCT("_field_1" BIGINT[], "_field_2" BIGINT[])'
_RESIZE_ARGS = "target_height, target_width, preserve_aspect_ratio"

# The overloads choose the data's form at bind time; a bare NULL image has neither type, hence
# "NULL". DuckDB checks a macro's functions exist when it is created: the form macro comes first.
_MACROS = {
    RESIZE_FORM: f"CREATE TEMP MACRO {RESIZE_FORM}"
    f"(dims, data BIGINT[], {_RESIZE_ARGS}) AS {RESIZE_INT64}(dims, data, {_RESIZE_ARGS}), "
    f"(dims, data DOUBLE[], {_RESIZE_ARGS}) AS {RESIZE_FLOAT64}(dims, data, {_RESIZE_ARGS}), "
    f'(dims, data "NULL", {_RESIZE_ARGS}) AS NULL',
    RESIZE: f"CREATE TEMP MACRO {RESIZE}(image, {_RESIZE_ARGS}) AS "
    f"{RESIZE_FORM}(struct_extract_at(image, 1), struct_extract_at(image, 2), {_RESIZE_ARGS})",
}


def decode_images(data: pa.ChunkedArray) -> pa.Array:
    """ML.DECODE_IMAGE of a vector of image bytes."""
    pixels = [_decode(blob) for blob in data.to_pylist()]
    return _image_array([p.shape for p in pixels], [p.reshape(-1) / 255.0 for p in pixels], pa.float64())


def _decode(blob: bytes) -> np.ndarray:
    """One image's pixels, (height, width, channels) uint8."""
    if len(blob) > MAX_DATA_BYTES:
        raise MLError(
            f"ML.DECODE_IMAGE: the data is {len(blob):,} bytes; at most {MAX_DATA_BYTES:,} (10 MB) "
            "are allowed"
        )
    try:
        with Image.open(io.BytesIO(blob), formats=FORMATS) as image:
            image.load()
            mode = _CONVERTED_MODES.get(image.mode, image.mode)
            if mode not in _KEPT_MODES:
                raise MLError(f"ML.DECODE_IMAGE: images of Pillow mode {image.mode} are not supported")
            pixels = np.asarray(image.convert(mode) if mode != image.mode else image)
    except Image.UnidentifiedImageError:
        raise MLError("ML.DECODE_IMAGE: the data is not a JPEG, PNG or BMP image") from None
    except (OSError, SyntaxError, Image.DecompressionBombError) as exc:
        # Pillow reports a truncated or corrupt file as OSError (SyntaxError from some decoders).
        raise MLError(f"ML.DECODE_IMAGE: the image cannot be decoded: {exc}") from None
    return pixels.reshape(pixels.shape[0], pixels.shape[1], -1)


def _resizer(integer: bool) -> Callable[..., pa.Array]:
    """ML.RESIZE_IMAGE of a vector, for FLOAT64 (`integer` False) or INT64 image data."""

    def resize(
        dims: pa.ChunkedArray,
        data: pa.ChunkedArray,
        heights: pa.ChunkedArray,
        widths: pa.ChunkedArray,
        keep_ratio: pa.ChunkedArray,
    ) -> pa.Array:
        shapes, values = [], []
        rows = zip(
            _rows(dims),
            _rows(data),
            heights.to_pylist(),
            widths.to_pylist(),
            keep_ratio.to_pylist(),
            strict=True,
        )
        for shape, image, height, width, keep in rows:
            resized = resize_image(_image(shape, image), height, width, keep)
            shapes.append(resized.shape)
            values.append(_round_half_away(resized.reshape(-1)) if integer else resized.reshape(-1))
        return _image_array(shapes, values, pa.int64() if integer else pa.float64())

    return resize


def _rows(lists: pa.ChunkedArray) -> list[np.ndarray | None]:
    """Each list of the vector as a numpy array, None where it holds a NULL."""
    array = lists.combine_chunks()
    offsets = array.offsets.to_numpy()
    values = array.values.to_numpy(zero_copy_only=False)
    nulls = array.values.is_null().to_numpy(zero_copy_only=False)
    return [
        None if nulls[start:end].any() else values[start:end] for start, end in itertools.pairwise(offsets)
    ]


def _image(shape: np.ndarray | None, data: np.ndarray | None) -> np.ndarray:
    """An image struct's fields as a (height, width, channels) float64 array, checked."""
    if shape is None or data is None:
        raise MLError("ML.RESIZE_IMAGE: the image's dimensions and data must not contain NULL")
    if len(shape) != 3 or (shape < 1).any():
        raise MLError(
            "ML.RESIZE_IMAGE: the image's dimensions must be 3 positive values [height, width, channels], "
            f"got {shape.tolist()}"
        )
    if len(data) != np.prod(shape):
        raise MLError(
            f"ML.RESIZE_IMAGE: the image's data has {len(data)} values; dimensions {shape.tolist()} need "
            f"{int(np.prod(shape))}"
        )
    return data.astype(np.float64, copy=False).reshape(shape)


def resize_image(image: np.ndarray, height: int, width: int, preserve_aspect_ratio: bool) -> np.ndarray:
    """A (height, width, channels) image resized bilinearly to (height, width), or to the largest
    size within it with the image's aspect ratio."""
    if height < 1 or width < 1:
        raise MLError(
            f"ML.RESIZE_IMAGE: target_height and target_width must be at least 1, got {height} and {width}"
        )
    if preserve_aspect_ratio:
        height, width = fitted_size(image.shape[0], image.shape[1], height, width)
    top, bottom, y_lerp = _half_pixel_weights(image.shape[0], height)
    left, right, x_lerp = _half_pixel_weights(image.shape[1], width)
    # Bilinear is separable: along the height, then along the width.
    rows = image[top] + (image[bottom] - image[top]) * y_lerp[:, None, None]
    return rows[:, left] + (rows[:, right] - rows[:, left]) * x_lerp[None, :, None]


def fitted_size(height: int, width: int, max_height: int, max_width: int) -> tuple[int, int]:
    """The largest (height, width) within (max_height, max_width) with the ratio of (height,
    width), computed as tf.image.resize does (float32, rounding half to even), at least 1 each."""
    scale = min(np.float32(max_height) / np.float32(height), np.float32(max_width) / np.float32(width))
    return (
        max(1, int(np.round(np.float32(height) * scale))),
        max(1, int(np.round(np.float32(width) * scale))),
    )


def _half_pixel_weights(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each output row (or column): the two input rows it lies between and its weight on the
    second, with TensorFlow's half-pixel centres (its HalfPixelScaler, clamped at the edges)."""
    centres = (np.arange(out_size) + 0.5) * (in_size / out_size) - 0.5
    floor = np.floor(centres)
    lower = np.maximum(floor, 0).astype(np.int64)
    upper = np.minimum(np.ceil(centres), in_size - 1).astype(np.int64)
    return lower, upper, centres - floor


def _round_half_away(values: np.ndarray) -> np.ndarray:
    return np.trunc(values + np.copysign(0.5, values)).astype(np.int64)


def _image_array(
    shapes: list[tuple[int, ...]], values: list[np.ndarray], value_type: pa.DataType
) -> pa.Array:
    """The image structs of a vector from each image's shape and flat values."""
    dims = pa.ListArray.from_arrays(
        pa.array(np.arange(0, 3 * len(shapes) + 1, 3, dtype=np.int32)),
        pa.array(np.asarray(shapes, dtype=np.int64).reshape(-1), pa.int64()),
    )
    # 64-bit offsets: a vector of large images can hold more than 2**31 values.
    offsets = np.concatenate([[0], np.cumsum([len(v) for v in values])]).astype(np.int64)
    flat = np.concatenate(values) if values else np.array([])
    data = pa.LargeListArray.from_arrays(pa.array(offsets), pa.array(flat, value_type))
    return pa.StructArray.from_arrays([dims, data], names=_FIELDS)


def register(con: duckdb.DuckDBPyConnection) -> None:
    """Register the image functions on `con` (once each): the UDFs, then the TEMP macros over them."""
    wanted = [DECODE, RESIZE_FLOAT64, RESIZE_INT64, *_MACROS]
    registered = {
        row[0]
        for row in con.execute(
            f"SELECT function_name FROM duckdb_functions() WHERE function_name IN "
            f"({', '.join('?' for _ in wanted)})",
            wanted,
        ).fetchall()
    }
    if DECODE not in registered:
        con.create_function(DECODE, decode_images, ["BLOB"], _FLOAT_IMAGE_SQL, type="arrow")
    resize_args = ["BIGINT[]", "DOUBLE[]", "BIGINT", "BIGINT", "BOOLEAN"]
    if RESIZE_FLOAT64 not in registered:
        con.create_function(RESIZE_FLOAT64, _resizer(False), resize_args, _FLOAT_IMAGE_SQL, type="arrow")
    if RESIZE_INT64 not in registered:
        int_args = [resize_args[0], "BIGINT[]", *resize_args[2:]]
        con.create_function(RESIZE_INT64, _resizer(True), int_args, _INT_IMAGE_SQL, type="arrow")
    for name, ddl in _MACROS.items():
        if name not in registered:
            con.execute(ddl)
