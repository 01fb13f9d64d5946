"""ML.DECODE_IMAGE and ML.RESIZE_IMAGE through the Engine: the reference pages' statements that
run without a model, decoding against Pillow's own pixels, bilinear resizing against hand-computed
values and a per-pixel transcription of TensorFlow's kernel, the INT64 form, NULLs, bad input."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image

from ml import Engine
from ml.engine import image_functions
from ml.errors import MLError
from ml.sql.scalar_functions import rename_scalar_functions

FLOAT_IMAGE = "STRUCT(_field_1 BIGINT[], _field_2 DOUBLE[])"
INT_IMAGE = "STRUCT(_field_1 BIGINT[], _field_2 BIGINT[])"


def image_bytes(pixels: np.ndarray, fmt: str, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode).save(buffer, fmt)
    return buffer.getvalue()


def random_pixels(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def load_images(engine: Engine, table: str, blobs: list[bytes | None]) -> None:
    """`table(uri, data BYTES)`, as an object table's `uri` and `data` pseudocolumn read."""
    engine.con.execute(f"CREATE TABLE {table} (uri VARCHAR, data BLOB)")
    engine.con.executemany(
        f"INSERT INTO {table} VALUES (?, ?)", [[f"gs://bucket/{n}.png", b] for n, b in enumerate(blobs)]
    )


def images(engine: Engine, sql: str, column: str = "image") -> list[dict | None]:
    return engine.execute(sql).column(column).to_pylist()


def one_image(engine: Engine, sql: str) -> tuple[list[int], list[float]]:
    [image] = images(engine, sql)
    return image["_field_1"], image["_field_2"]


def struct_literal(pixels: np.ndarray) -> str:
    """A BigQuery `STRUCT([H, W, C], [values])` of a (H, W, C) array."""
    values = ", ".join(repr(v) for v in pixels.reshape(-1).tolist())
    return f"STRUCT({list(pixels.shape)}, [{values}])"


def tf_resize_bilinear(image: np.ndarray, out_height: int, out_width: int) -> np.ndarray:
    """A per-pixel transcription of TensorFlow's ResizeBilinear kernel with half_pixel_centers
    (what tf.image.resize(method='bilinear', antialias=False) runs; resize_bilinear_op.cc:
    compute_interpolation_weights with HalfPixelScaler, then lerp along x, then along y)."""

    def weights(out_size: int, in_size: int) -> list[tuple[int, int, float]]:
        scale = in_size / out_size
        found = []
        for i in range(out_size):
            centre = (i + 0.5) * scale - 0.5
            found.append(
                (max(math.floor(centre), 0), min(math.ceil(centre), in_size - 1), centre - math.floor(centre))
            )
        return found

    in_height, in_width, channels = image.shape
    out = np.empty((out_height, out_width, channels))
    for y, (top, bottom, y_lerp) in enumerate(weights(out_height, in_height)):
        for x, (left, right, x_lerp) in enumerate(weights(out_width, in_width)):
            for c in range(channels):
                top_value = image[top, left, c] + (image[top, right, c] - image[top, left, c]) * x_lerp
                bottom_value = (
                    image[bottom, left, c] + (image[bottom, right, c] - image[bottom, left, c]) * x_lerp
                )
                out[y, x, c] = top_value + (bottom_value - top_value) * y_lerp
    return out


# The reference pages' statements, with ML.PREDICT's input query run on its own (no model needed).


def test_resize_page_example_1_resizes_decoded_pngs_to_240_by_240(engine: Engine) -> None:
    engine.con.execute("CREATE SCHEMA mydataset")
    load_images(engine, "mydataset.images", [image_bytes(random_pixels((30, 50, 3)), "PNG")] * 3)
    result = engine.execute(
        "SELECT ML.RESIZE_IMAGE(ML.DECODE_IMAGE(data), 240, 240, FALSE) AS image, uri FROM `mydataset.images`"
    )
    assert result.column_names == ["image", "uri"]
    for image in result.column("image").to_pylist():
        assert image["_field_1"] == [240, 240, 3]
        assert len(image["_field_2"]) == 240 * 240 * 3


def test_resize_page_example_2_keeps_the_aspect_ratio(engine: Engine) -> None:
    # "the function returns an image with dimensions of (10, 100) for an input image with dimensions
    # of (20, 200)"
    load_images(engine, "images", [image_bytes(random_pixels((20, 200, 3)), "PNG")])
    dims, data = one_image(
        engine, "SELECT ML.RESIZE_IMAGE(ML.DECODE_IMAGE(data), 10, 120, TRUE) AS image, uri FROM images"
    )
    assert dims == [10, 100, 3]
    assert len(data) == 10 * 100 * 3


def test_decode_page_example_3_writes_decoded_images_to_a_table_then_resizes_them(engine: Engine) -> None:
    engine.con.execute("CREATE SCHEMA my_dataset")
    load_images(engine, "my_dataset.object_table", [image_bytes(random_pixels((6, 8, 3)), "JPEG")])
    engine.execute(
        "CREATE OR REPLACE TABLE `my_dataset.decoded_images` AS (SELECT ML.DECODE_IMAGE(data) "
        "AS decoded_image FROM `my_dataset.object_table`)"
    )
    assert engine.con.execute("DESCRIBE my_dataset.decoded_images").fetchall()[0][1] == FLOAT_IMAGE
    dims, _data = one_image(
        engine,
        "SELECT ML.RESIZE_IMAGE(decoded_image, 480, 480, FALSE) AS image FROM `my_dataset.decoded_images`",
    )
    assert dims == [480, 480, 3]


def test_the_pages_1x2_rgb_image_resized_to_its_own_size_is_unchanged(engine: Engine) -> None:
    dims, data = one_image(
        engine,
        "SELECT ML.RESIZE_IMAGE(STRUCT([1, 2, 3], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]), 1, 2, FALSE) AS image",
    )
    assert dims == [1, 2, 3]
    assert data == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], abs=1e-15)


# ML.DECODE_IMAGE


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP"])
@pytest.mark.parametrize(("mode", "shape"), [("L", (7, 5)), ("RGB", (7, 5, 3))])
def test_decode_gives_pillows_pixels_over_255(engine: Engine, fmt: str, mode: str, shape: tuple) -> None:
    blob = image_bytes(random_pixels(shape), fmt, mode)
    load_images(engine, "images", [blob])
    dims, data = one_image(engine, "SELECT ML.DECODE_IMAGE(data) AS image FROM images")
    # JPEG is lossy: compare with what Pillow itself decodes from the same bytes.
    expected = np.asarray(Image.open(io.BytesIO(blob))).reshape(7, 5, -1)
    assert dims == [7, 5, 1 if mode == "L" else 3]
    np.testing.assert_array_equal(np.array(data), expected.reshape(-1) / 255)


def test_decode_keeps_an_alpha_channel_and_expands_a_palette_to_rgb(engine: Engine) -> None:
    rgba = random_pixels((3, 4, 4))
    palette = Image.fromarray(random_pixels((3, 4, 3), seed=1), "RGB").convert("P")
    buffer = io.BytesIO()
    palette.save(buffer, "PNG")
    load_images(engine, "images", [image_bytes(rgba, "PNG", "RGBA"), buffer.getvalue()])
    decoded = images(engine, "SELECT ML.DECODE_IMAGE(data) AS image FROM images ORDER BY uri")
    assert decoded[0]["_field_1"] == [3, 4, 4]
    np.testing.assert_array_equal(decoded[0]["_field_2"], rgba.reshape(-1) / 255)
    assert decoded[1]["_field_1"] == [3, 4, 3]
    np.testing.assert_array_equal(
        decoded[1]["_field_2"], np.asarray(palette.convert("RGB")).reshape(-1) / 255
    )


def test_decode_scales_black_to_0_and_white_to_1(engine: Engine) -> None:
    # pixel / 255 as TensorFlow's convert_image_dtype: white is 1.0 (the page says [0, 1)).
    load_images(engine, "images", [image_bytes(np.array([[0, 255]], dtype=np.uint8), "PNG", "L")])
    assert one_image(engine, "SELECT ML.DECODE_IMAGE(data) AS image FROM images") == ([1, 2, 1], [0.0, 1.0])


def test_decoded_images_are_bigquerys_struct_with_its_anonymous_field_names(engine: Engine, describe) -> None:
    load_images(engine, "images", [image_bytes(random_pixels((2, 2, 3)), "PNG")])
    assert describe("SELECT ML.DECODE_IMAGE(data) AS image FROM images") == [("image", FLOAT_IMAGE)]
    [row] = engine.execute("SELECT ML.DECODE_IMAGE(data).`_field_1` AS dims FROM images").to_pylist()
    assert row == {"dims": [2, 2, 3]}


def test_decode_takes_up_to_10_mb(engine: Engine) -> None:
    png = image_bytes(random_pixels((2, 2, 3)), "PNG")
    # Pillow stops at the PNG's end: the padding only makes the value 10,000,000 bytes long.
    load_images(engine, "images", [png + bytes(10_000_000 - len(png))])
    assert one_image(engine, "SELECT ML.DECODE_IMAGE(data) AS image FROM images")[0] == [2, 2, 3]


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (bytes(10_000_001), r"ML\.DECODE_IMAGE: the data is 10,000,001 bytes; at most 10,000,000 \(10 MB\)"),
        (b"not an image", r"ML\.DECODE_IMAGE: the data is not a JPEG, PNG or BMP image"),
        (
            image_bytes(random_pixels((4, 4, 3)), "GIF"),
            r"ML\.DECODE_IMAGE: the data is not a JPEG, PNG or BMP",
        ),
        (
            image_bytes(random_pixels((40, 40, 3)), "PNG")[:200],
            r"ML\.DECODE_IMAGE: the image cannot be decoded",
        ),
    ],
    ids=["over-10-MB", "no-image", "gif", "truncated-png"],
)
def test_decode_refuses_bad_data_in_one_line(engine: Engine, blob: bytes, message: str) -> None:
    load_images(engine, "images", [blob])
    with pytest.raises(MLError, match=message) as error:
        engine.execute("SELECT ML.DECODE_IMAGE(data) AS image FROM images")
    assert "\n" not in str(error.value)


# ML.RESIZE_IMAGE: bilinear with half-pixel centres


def test_upscaling_1x2_to_1x4_by_hand(engine: Engine) -> None:
    # Output column x samples input x' = (x + 0.5) * 2/4 - 0.5: -0.25, 0.25, 0.75, 1.25. Outside
    # [0, 1] the edge pixel is taken, inside it is 0.75 a + 0.25 b and 0.25 a + 0.75 b.
    dims, data = one_image(
        engine, "SELECT ML.RESIZE_IMAGE(STRUCT([1, 2, 1], [0.2, 0.6]), 1, 4, FALSE) AS image"
    )
    assert dims == [1, 4, 1]
    assert data == pytest.approx([0.2, 0.3, 0.5, 0.6], abs=1e-12)


def test_upscaling_2x2_to_4x4_by_hand(engine: Engine) -> None:
    # The same weights (edge, 3:1, 1:3, edge) along both axes: the grid TensorFlow 2 gives.
    _dims, data = one_image(
        engine, "SELECT ML.RESIZE_IMAGE(STRUCT([2, 2, 1], [1.0, 2.0, 3.0, 4.0]), 4, 4, FALSE) AS image"
    )
    expected = [[1, 1.25, 1.75, 2], [1.5, 1.75, 2.25, 2.5], [2.5, 2.75, 3.25, 3.5], [3, 3.25, 3.75, 4]]
    assert data == pytest.approx(np.array(expected).reshape(-1), abs=1e-12)


def test_downscaling_by_hand(engine: Engine) -> None:
    # 1x3 -> 1x2: x' = (x + 0.5) * 1.5 - 0.5 = 0.25 and 1.75, so 0.75 p0 + 0.25 p1 and 0.25 p1 + 0.75 p2.
    # 1x4 -> 1x2: x' = 0.5 and 2.5, midway between neighbours (no antialiasing over all four).
    _dims, three = one_image(
        engine, "SELECT ML.RESIZE_IMAGE(STRUCT([1, 3, 1], [0.0, 0.4, 0.8]), 1, 2, FALSE) AS image"
    )
    _dims, four = one_image(
        engine, "SELECT ML.RESIZE_IMAGE(STRUCT([1, 4, 1], [0.0, 0.2, 0.4, 0.6]), 1, 2, FALSE) AS image"
    )
    assert three == pytest.approx([0.1, 0.7], abs=1e-12)
    assert four == pytest.approx([0.1, 0.5], abs=1e-12)


@pytest.mark.parametrize(("height", "width"), [(9, 13), (3, 2), (5, 7), (1, 1), (12, 4)])
def test_resize_matches_tensorflows_kernel_pixel_by_pixel(engine: Engine, height: int, width: int) -> None:
    image = random_pixels((5, 7, 2), seed=height * width)
    load_images(engine, "images", [image_bytes(image[..., 0], "PNG", "L")])
    grey = image[..., :1] / 255
    dims, data = one_image(
        engine,
        f"SELECT ML.RESIZE_IMAGE(ML.DECODE_IMAGE(data), {height}, {width}, FALSE) AS image FROM images",
    )
    assert dims == [height, width, 1]
    np.testing.assert_allclose(data, tf_resize_bilinear(grey, height, width).reshape(-1), atol=1e-12)
    # Channels are resized each on its own: a two-channel struct built in SQL.
    two = image / 255
    dims, data = one_image(
        engine, f"SELECT ML.RESIZE_IMAGE({struct_literal(two)}, {height}, {width}, FALSE) AS image"
    )
    assert dims == [height, width, 2]
    np.testing.assert_allclose(data, tf_resize_bilinear(two, height, width).reshape(-1), atol=1e-12)


@pytest.mark.parametrize(
    ("size", "target", "expected"),
    [
        ((20, 200), (10, 120), (10, 100)),
        ((3, 1), (10, 10), (10, 3)),
        ((4, 6), (100, 9), (6, 9)),
        ((1, 50), (5, 5), (1, 5)),
    ],
)
def test_preserve_aspect_ratio_gives_the_largest_size_within_the_target(
    engine: Engine, size: tuple[int, int], target: tuple[int, int], expected: tuple[int, int]
) -> None:
    image = random_pixels((*size, 1)) / 255
    dims, data = one_image(
        engine, f"SELECT ML.RESIZE_IMAGE({struct_literal(image)}, {target[0]}, {target[1]}, TRUE) AS image"
    )
    assert dims == [*expected, 1]
    np.testing.assert_allclose(data, tf_resize_bilinear(image, *expected).reshape(-1), atol=1e-12)


def test_int64_image_data_stays_int64_rounded_half_away_from_zero(engine: Engine, describe) -> None:
    # 1x2 -> 1x4 of [10, 20]: 10, 12.5, 17.5, 20 (test_upscaling_1x2_to_1x4_by_hand's weights).
    query = "SELECT ML.RESIZE_IMAGE(STRUCT([1, 2, 1], [10, 20]), 1, 4, FALSE) AS image"
    assert describe(query) == [("image", INT_IMAGE)]
    assert one_image(engine, query) == ([1, 4, 1], [10, 13, 18, 20])


def test_int64_images_from_a_table_resize_like_their_float_form(engine: Engine) -> None:
    pixels = random_pixels((4, 5, 3))
    engine.con.execute(
        f"CREATE TABLE raw.int_images AS SELECT {{'_field_1': {list(pixels.shape)}::BIGINT[], "
        f"'_field_2': {pixels.reshape(-1).tolist()}::BIGINT[]}} AS image"
    )
    _dims, data = one_image(engine, "SELECT ML.RESIZE_IMAGE(image, 7, 3, FALSE) AS image FROM raw.int_images")
    expected = tf_resize_bilinear(pixels.astype(float), 7, 3).reshape(-1)
    assert data == np.trunc(expected + 0.5).astype(int).tolist()


# NULLs and bad input


def test_null_in_gives_null_out(engine: Engine) -> None:
    png = image_bytes(random_pixels((2, 3, 3)), "PNG")
    load_images(engine, "images", [png, None])
    decoded = images(engine, "SELECT ML.DECODE_IMAGE(data) AS image FROM images ORDER BY uri")
    assert decoded[0]["_field_1"] == [2, 3, 3]
    assert decoded[1] is None
    resized = images(
        engine, "SELECT ML.RESIZE_IMAGE(ML.DECODE_IMAGE(data), 4, 4, TRUE) AS image FROM images ORDER BY uri"
    )
    assert resized[0]["_field_1"] == [3, 4, 3]
    assert resized[1] is None
    for query in [
        "SELECT ML.DECODE_IMAGE(NULL) AS image",
        "SELECT ML.RESIZE_IMAGE(NULL, 2, 2, FALSE) AS image",
        "SELECT ML.RESIZE_IMAGE(STRUCT([1, 1, 1], [0.5]), NULL, 2, FALSE) AS image",
        "SELECT ML.RESIZE_IMAGE(STRUCT([1, 1, 1], [0.5]), 2, 2, NULL) AS image",
    ]:
        assert images(engine, query) == [None], query


@pytest.mark.parametrize(
    ("image", "target", "message"),
    [
        (
            "STRUCT([2, 2], [0.1, 0.2, 0.3, 0.4])",
            "2, 2",
            r"dimensions must be 3 positive values .*got \[2, 2\]",
        ),
        (
            "STRUCT([1, 0, 1], ARRAY<FLOAT64>[])",
            "2, 2",
            r"dimensions must be 3 positive values .*got \[1, 0, 1\]",
        ),
        ("STRUCT([1, 2, 3], [0.1, 0.2])", "2, 2", r"data has 2 values; dimensions \[1, 2, 3\] need 6"),
        ("STRUCT([1, 2, 1], [0.1, NULL])", "2, 2", r"dimensions and data must not contain NULL"),
        (
            "STRUCT([1, 2, 1], [0.1, 0.2])",
            "0, 2",
            r"target_height and target_width must be at least 1, got 0 and 2",
        ),
        (
            "STRUCT([1, 2, 1], [10, 20])",
            "2, -1",
            r"target_height and target_width must be at least 1, got 2 and -1",
        ),
    ],
    ids=["two-dims", "zero-width", "wrong-length", "null-value", "zero-height", "negative-width-int64"],
)
def test_resize_refuses_bad_images_in_one_line(engine: Engine, image: str, target: str, message: str) -> None:
    with pytest.raises(MLError, match=rf"ML\.RESIZE_IMAGE: .*{message}") as error:
        engine.execute(f"SELECT ML.RESIZE_IMAGE({image}, {target}, FALSE) AS image")
    assert "\n" not in str(error.value)


def test_resize_refuses_data_neither_int64_nor_float64_when_binding(engine: Engine) -> None:
    with pytest.raises(MLError, match=r"__ml_resize_image_int64_or_float64\(\) does not support") as error:
        engine.execute("SELECT ML.RESIZE_IMAGE(STRUCT([1, 2, 1], ['a', 'b']), 2, 2, FALSE) AS image")
    assert "\n" not in str(error.value)


# The renaming and the registration


def test_only_bigquery_mls_own_names_are_renamed() -> None:
    assert rename_scalar_functions("SELECT ml . decode_image (data), ML.RESIZE_IMAGE(x, 1, 1, TRUE)") == (
        "SELECT __ml_decode_image (data), __ml_resize_image(x, 1, 1, TRUE)"
    )
    for kept in [
        "SELECT `ML`.DECODE_IMAGE(data)",  # a quoted name: a dataset or column named ML
        "SELECT ML.`DECODE_IMAGE`(data)",
        "SELECT project.ml.decode_image(data)",  # a persistent UDF in a dataset named ml
        "SELECT ML.DECODE_IMAGE AS x FROM t",  # no call
        "SELECT 'ML.DECODE_IMAGE(data)'",
        "SELECT ML.CONVERT_COLOR_SPACE(x, 'YIQ')",  # not (yet) a local function
    ]:
        assert rename_scalar_functions(kept) == kept


def test_the_functions_are_registered_once_per_connection_and_on_cursors(engine: Engine) -> None:
    Engine(engine.con)
    image_functions.register(engine.con)
    cursor = engine.con.cursor()
    # The TEMP macros are per connection: a cursor needs its own (the dbt plugin does the same).
    image_functions.register(cursor)
    [[image]] = cursor.execute("SELECT __ml_resize_image({'a': [1, 1, 1], 'b': [7]}, 1, 2, FALSE)").fetchall()
    assert image == {"_field_1": [1, 2, 1], "_field_2": [7, 7]}
