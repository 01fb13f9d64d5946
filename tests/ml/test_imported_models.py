"""Imported ONNX models and remote models on the local engine: BigQuery's statements as written
(file paths and endpoints filled in), graphs exported by torch.onnx, endpoints on real sockets."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest
import torch
from torch import nn

from ml import Engine
from ml.errors import MLError

# https://docs.cloud.google.com/bigquery/docs/making-predictions-with-pytorch-models-in-onnx-format
ONNX_TUTORIAL_CREATE = """CREATE OR REPLACE MODEL `bqml_tutorial.imported_onnx_model`
 OPTIONS (MODEL_TYPE='ONNX',
  MODEL_PATH='BUCKET_PATH')"""
# https://docs.cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create-remote-model-https
REMOTE_REFERENCE_CREATE = """CREATE MODEL `project_id.mydataset.mymodel`
 INPUT(f1 INT64, f2 FLOAT64, f3 STRING, f4 ARRAY<INT64>)
 OUTPUT(out1 INT64, out2 INT64)
 REMOTE WITH CONNECTION `myproject.us.test_connection`
 OPTIONS(ENDPOINT = 'ENDPOINT_URL')"""


class ArgMax(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.argmax(x, dim=1)


def export(module: nn.Module, example: torch.Tensor, path: Path, outputs: list[str]) -> Path:
    """`module` as an ONNX file with a dynamic batch, as users export one for BigQuery."""
    axes = {"float_input": {0: "n"}, **{name: {0: "n"} for name in outputs}}
    with pytest.warns(DeprecationWarning):
        torch.onnx.export(
            module.eval(),
            (example,),
            str(path),
            input_names=["float_input"],
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    return path


class Classifier(nn.Module):
    """Google's tutorial layout: probabilities and the argmax class label as two outputs."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.linear = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        probabilities = torch.softmax(self.linear(x), dim=1)
        return probabilities, torch.argmax(probabilities, dim=1)


@pytest.fixture
def classifier_onnx(tmp_path: Path) -> tuple[Classifier, Path]:
    model = Classifier()
    return model, export(
        model, torch.zeros(1, 4), tmp_path / "classifier.onnx", ["probabilities", "class_label"]
    )


@pytest.fixture
def iris_like(engine: Engine) -> np.ndarray:
    rows = np.random.default_rng(0).normal(size=(50, 4))
    engine.con.execute("CREATE SCHEMA IF NOT EXISTS bqml_tutorial")
    engine.con.execute(
        "CREATE TABLE bqml_tutorial.flowers AS SELECT unnest(?) AS id, unnest(?) AS float_input",
        [list(range(len(rows))), rows.tolist()],
    )
    return rows


def import_tutorial_model(engine: Engine, path: Path) -> None:
    engine.execute(ONNX_TUTORIAL_CREATE.replace("BUCKET_PATH", str(path)))


def test_onnx_predictions_are_the_graphs_outputs_with_the_input_columns_after(
    engine, classifier_onnx, iris_like
) -> None:
    model, path = classifier_onnx
    import_tutorial_model(engine, path)
    result = engine.execute(
        "SELECT * FROM ML.PREDICT(MODEL `bqml_tutorial.imported_onnx_model`, "
        "(SELECT id, float_input FROM bqml_tutorial.flowers)) ORDER BY id"
    )
    assert result.column_names == ["probabilities", "class_label", "id", "float_input"]
    probabilities, class_label = result.schema.types[:2]
    assert probabilities.value_type == pa.float64() and class_label == pa.int64()
    with torch.no_grad():
        expected, labels = model(torch.tensor(iris_like, dtype=torch.float32))
    np.testing.assert_allclose(np.array(result["probabilities"].to_pylist()), expected.numpy(), atol=1e-6)
    assert result["class_label"].to_pylist() == labels.tolist()


def test_onnx_model_is_a_model_in_a_new_process_and_null_rows_stay_null(classifier_onnx, tmp_path) -> None:
    database = str(tmp_path / "w.duckdb")
    first = Engine(duckdb.connect(database))
    import_tutorial_model(first, classifier_onnx[1])
    first.con.close()
    classifier_onnx[1].unlink()  # the graph is stored with the model, not read from the path again
    second = Engine(duckdb.connect(database))
    rows = second.execute(
        "SELECT id, class_label FROM ML.PREDICT(MODEL bqml_tutorial.imported_onnx_model, "
        "(SELECT 0 AS id, CAST(NULL AS ARRAY<FLOAT64>) AS float_input "
        "UNION ALL SELECT 1, [1.0, 0.0, 0.0, 0.0])) ORDER BY id"
    )["class_label"].to_pylist()
    assert rows[0] is None and isinstance(rows[1], int)


def test_onnx_input_named_by_no_column_is_refused_naming_it(engine, classifier_onnx, iris_like) -> None:
    import_tutorial_model(engine, classifier_onnx[1])
    with pytest.raises(MLError, match="input has no column float_input, a feature of model bqml_tutorial"):
        engine.execute(
            "SELECT * FROM ML.PREDICT(MODEL bqml_tutorial.imported_onnx_model, "
            "(SELECT id, float_input AS features FROM bqml_tutorial.flowers))"
        )


def test_onnx_input_of_the_wrong_size_is_refused_naming_the_graph_input(
    engine, classifier_onnx, iris_like
) -> None:
    import_tutorial_model(engine, classifier_onnx[1])
    with pytest.raises(MLError, match=r"gives 3 values per row; the ONNX graph takes 4: float_input \(4\)"):
        engine.execute(
            "SELECT * FROM ML.PREDICT(MODEL bqml_tutorial.imported_onnx_model, "
            "(SELECT [1.0, 2.0, 3.0] AS float_input))"
        )


def test_a_bad_onnx_file_replaces_nothing(engine, classifier_onnx, iris_like, tmp_path) -> None:
    import_tutorial_model(engine, classifier_onnx[1])
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a protobuf at all")
    with pytest.raises(MLError, match="Invalid ONNX model file"):
        import_tutorial_model(engine, broken)
    kept = engine.execute(
        "SELECT class_label FROM ML.PREDICT(MODEL bqml_tutorial.imported_onnx_model, "
        "TABLE bqml_tutorial.flowers)"
    )
    assert kept.num_rows == 50


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("CREATE MODEL d.m OPTIONS (MODEL_TYPE='ONNX')", "Missing required option: model_path"),
        ("CREATE MODEL d.m OPTIONS (MODEL_TYPE='ONNX', MODEL_PATH='{dir}/none.onnx')", "no file or folder"),
        ("CREATE MODEL d.m OPTIONS (MODEL_TYPE='ONNX', MODEL_PATH='{dir}/*')", "exactly one .onnx file"),
        (
            "CREATE MODEL d.m OPTIONS (MODEL_TYPE='ONNX', MODEL_PATH='{dir}/classifier.onnx') AS SELECT 1",
            "takes no AS query",
        ),
        ("CREATE MODEL d.m OPTIONS (MODEL_TYPE='LINEAR_REG')", "requires AS followed by the training query"),
    ],
)
def test_onnx_statement_problems_are_one_line_each(engine, classifier_onnx, statement, message) -> None:
    folder = classifier_onnx[1].parent
    (folder / "second.onnx").write_bytes(classifier_onnx[1].read_bytes())
    with pytest.raises(MLError, match=message):
        engine.execute(statement.format(dir=folder))


class Endpoint:
    """A prediction endpoint on 127.0.0.1 whose answer a test scripts; it records every body."""

    def __init__(self, answer: Callable[[list], tuple[int, str]]) -> None:
        self.bodies: list[dict] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                endpoint.bodies.append(body)
                status, text = answer(body["instances"])
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1/predict"


@pytest.fixture
def endpoint() -> Iterator[Callable[..., Endpoint]]:
    started: list[Endpoint] = []

    def start(answer: Callable[[list], tuple[int, str]]) -> Endpoint:
        started.append(Endpoint(answer))
        return started[-1]

    yield start
    for e in started:
        e.server.shutdown()


def sums(instances: list) -> tuple[int, str]:
    return 200, json.dumps(
        {"predictions": [{"out1": i["f1"] + sum(i["f4"]), "out2": len(i["f3"])} for i in instances]}
    )


def create_reference_model(engine: Engine, url: str) -> None:
    engine.con.execute("CREATE SCHEMA IF NOT EXISTS mydataset")
    engine.execute(REMOTE_REFERENCE_CREATE.replace("ENDPOINT_URL", url).replace("project_id.", "memory."))


REMOTE_INPUT = (
    "(SELECT i AS f1, i / 4 AS f2, repeat('x', i) AS f3, [i, 1] AS f4, 'kept' AS note FROM range(300) r(i))"
)


def test_remote_model_sends_the_input_fields_in_batches_and_types_the_output(engine, endpoint) -> None:
    server = endpoint(sums)
    create_reference_model(engine, server.url)
    result = engine.execute(f"SELECT * FROM ML.PREDICT(MODEL mydataset.mymodel, {REMOTE_INPUT}) ORDER BY f1")
    assert result.column_names == ["out1", "out2", "remote_model_status", "f1", "f2", "f3", "f4", "note"]
    assert [str(t) for t in result.schema.types[:3]] == ["int64", "int64", "string"]
    assert result["out1"].to_pylist() == [i + i + 1 for i in range(300)]
    assert result["out2"].to_pylist() == list(range(300))
    assert set(result["remote_model_status"].to_pylist()) == {None}
    sent = [instance for body in server.bodies for instance in body["instances"]]
    assert sorted(sent, key=lambda i: i["f1"])[7] == {"f1": 7, "f2": 1.75, "f3": "xxxxxxx", "f4": [7, 1]}
    assert max(len(body["instances"]) for body in server.bodies) == 128


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (lambda instances: (500, "boom"), "{url} failed: .* HTTP 500: boom"),
        (lambda instances: (404, "no such route"), r"{url} failed \(HTTP 404\)"),
        (
            lambda instances: (200, "{not json"),
            r"{url} failed \(HTTP 502\): endpoint answered 200 without a JSON",
        ),
        (
            lambda instances: (200, json.dumps({"predictions": [{"out1": 1}] * len(instances)})),
            r"{url} answered no field out2 \(named by OUTPUT\); its predictions have out1",
        ),
    ],
)
def test_endpoint_failures_fail_the_query_naming_the_endpoint(engine, endpoint, answer, message) -> None:
    server = endpoint(answer)
    create_reference_model(engine, server.url)
    with pytest.raises(
        MLError, match="^Remote model endpoint " + message.replace("{url}", re.escape(server.url))
    ):
        engine.execute(f"SELECT * FROM ML.PREDICT(MODEL mydataset.mymodel, {REMOTE_INPUT})")


def test_single_output_endpoints_answer_bare_values(engine, endpoint) -> None:
    server = endpoint(lambda instances: (200, json.dumps({"predictions": [[0.5, 0.25] for _ in instances]})))
    engine.execute(
        f"CREATE MODEL memory.main.bert_sentiment INPUT (text STRING) OUTPUT(scores ARRAY<FLOAT64>) "
        f"REMOTE WITH CONNECTION DEFAULT OPTIONS(ENDPOINT = '{server.url}')"
    )
    rows = engine.execute(
        "SELECT * FROM ML.PREDICT (MODEL main.bert_sentiment, (SELECT 'great film' AS text))"
    )
    assert rows.to_pylist() == [{"scores": [0.5, 0.25], "remote_model_status": None, "text": "great film"}]


@pytest.mark.parametrize(
    ("clauses", "message"),
    [
        (
            "INPUT (a INT64) OUTPUT (b INT64) REMOTE WITH CONNECTION DEFAULT OPTIONS (ENDPOINT = 'https://example.com/x')",
            "neither a Vertex AI endpoint",
        ),
        (
            "OUTPUT (b INT64) REMOTE WITH CONNECTION DEFAULT OPTIONS (ENDPOINT = 'http://127.0.0.1:1/p')",
            "needs an INPUT clause",
        ),
        (
            "INPUT (a DATE) OUTPUT (b INT64) REMOTE WITH CONNECTION DEFAULT OPTIONS (ENDPOINT = 'http://127.0.0.1:1/p')",
            "INPUT field a has type DATE",
        ),
        (
            "INPUT (a INT64) OUTPUT (b INT64) OPTIONS (MODEL_TYPE = 'ONNX', MODEL_PATH = 'x.onnx')",
            "INPUT and OUTPUT are clauses of remote models",
        ),
    ],
)
def test_remote_statement_problems_are_one_line_each(engine, clauses, message) -> None:
    with pytest.raises(MLError, match=message):
        engine.execute(f"CREATE MODEL main.m {clauses}")


def test_a_vertex_endpoint_is_called_at_its_predict_method() -> None:
    from ml.model_types.remote import predict_url

    vertex = "https://us-central1-aiplatform.googleapis.com/v1/projects/myproject/locations/us-central1/endpoints/1234"
    assert predict_url(vertex) == vertex + ":predict"
    assert predict_url("http://127.0.0.1:8080/predict") == "http://127.0.0.1:8080/predict"


@pytest.mark.parametrize("model_type", ["TENSORFLOW", "TENSORFLOW_LITE"])
def test_tensorflow_imports_name_their_type_as_bigquery_only(engine, model_type) -> None:
    with pytest.raises(MLError, match=f"^model_type {model_type} runs on the BigQuery target only: .* ONNX"):
        engine.execute(f"CREATE MODEL d.m OPTIONS (MODEL_TYPE = '{model_type}', MODEL_PATH = 'gs://b/m/*')")
