"""The digits CNN from SQL three ways, on the held-out digits of the `digits` seed: the remote
function (function + model server over HTTP), a remote model over the same model server, and the
exported model.onnx imported into the engine. The same network is behind each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from ml import Engine
from remote_functions.duckdb_plugin import RemoteFunctionClient
from remote_functions.local_services import LocalServices
from training.export import ONNX_FILE

DIGITS_SEED = Path(__file__).resolve().parents[2] / "seeds" / "digits.csv"
HELD_OUT = "(SELECT * FROM digits.images WHERE split = 'test')"


@pytest.fixture(scope="module")
def services(digits_model: Path) -> Iterator[LocalServices]:
    local = LocalServices(digits_model)
    local.start()
    yield local
    local.stop()


@pytest.fixture(scope="module")
def engine() -> Engine:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA digits")
    con.execute(f"CREATE TABLE digits.images AS SELECT * FROM read_csv('{DIGITS_SEED}')")
    return Engine(con)


def by_remote_function(engine: Engine, services: LocalServices) -> dict[int, int]:
    rows = engine.con.execute(
        f"SELECT digit_id, image_png_base64 FROM {HELD_OUT} AS held_out ORDER BY digit_id"
    ).fetchall()
    client = RemoteFunctionClient(services.function_url, services.token, "three-ways-test")
    replies = client.call([[image] for _, image in rows], None, max_batching_rows=50)
    return {digit_id: int(label) for (digit_id, _), label in zip(rows, replies, strict=True)}


def by_remote_model(engine: Engine, services: LocalServices) -> dict[int, int]:
    engine.execute(
        "CREATE OR REPLACE MODEL digits.cnn_remote INPUT (image STRING) "
        "OUTPUT (label STRING, scores ARRAY<FLOAT64>) REMOTE WITH CONNECTION DEFAULT "
        f"OPTIONS (ENDPOINT = '{services.model_url}')"
    )
    rows = engine.execute(
        "SELECT digit_id, label FROM ML.PREDICT(MODEL digits.cnn_remote, "
        f"(SELECT digit_id, image_png_base64 AS image FROM {HELD_OUT}))"
    ).to_pylist()
    return {row["digit_id"]: int(row["label"]) for row in rows}


def by_onnx(engine: Engine, model_dir: Path) -> dict[int, int]:
    engine.execute(
        f"CREATE OR REPLACE MODEL digits.cnn_onnx OPTIONS (MODEL_TYPE = 'ONNX', "
        f"MODEL_PATH = '{model_dir / ONNX_FILE}')"
    )
    rows = engine.execute(
        "SELECT digit_id, output FROM ML.PREDICT(MODEL digits.cnn_onnx, (SELECT digit_id, "
        "ML.RESIZE_IMAGE(ML.DECODE_IMAGE(FROM_BASE64(image_png_base64)), 8, 8, FALSE) AS input "
        f"FROM {HELD_OUT}))"
    ).to_pylist()
    return {row["digit_id"]: max(range(10), key=row["output"].__getitem__) for row in rows}


def test_three_paths_give_the_same_label_on_every_held_out_digit(engine, services, digits_model) -> None:
    truth = dict(engine.con.execute(f"SELECT digit_id, label FROM {HELD_OUT} AS held_out").fetchall())
    paths = {
        "remote function": by_remote_function(engine, services),
        "remote model": by_remote_model(engine, services),
        "onnx": by_onnx(engine, digits_model),
    }
    for name, labels in paths.items():
        assert labels.keys() == truth.keys(), name
        accuracy = sum(labels[d] == truth[d] for d in truth) / len(truth)
        assert accuracy >= 0.95, f"{name}: held-out accuracy {accuracy:.3f}"
    disagreements = [d for d in truth if len({labels[d] for labels in paths.values()}) > 1]
    assert disagreements == []
    assert len(truth) >= 300
