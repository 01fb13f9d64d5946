"""onnx: an imported ONNX model, as BigQuery's `CREATE MODEL m OPTIONS (MODEL_TYPE = 'ONNX',
MODEL_PATH = '...')` imports one (a PyTorch network exported with torch.onnx, a scikit-learn model
converted by sklearn-onnx). There is no training query: the file is read once, checked, and stored
with the model, so a copy or a registry version holds the network itself, not a path that may change.

ML.PREDICT matches the graph's inputs to the input query's columns by name and passes the other
columns through; each graph output becomes a column (a number per row, or an ARRAY when the output
has more than one value per row). The graph runs in onnxruntime inside a vectorised Arrow UDF: one
session.run per DuckDB vector. An input of more than one dimension per row is an image, given as
the STRUCT that ML.DECODE_IMAGE / ML.RESIZE_IMAGE return.
"""

from __future__ import annotations

import base64
import math
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ml.errors import MLError
from ml.extras import require
from ml.model_types.arrow import list_array, rows_matrix
from ml.model_types.model_file import IMPORTED_OPTIONS, outputs_then_input, read_model_file
from ml.model_types.model_type import IMPORTED, Fitted, ModelType, ScalarUDF
from ml.names import quote_ident, quote_string
from ml.sql.statements import CreateModel

ONNX_UDF = "__ml_onnx_run"
# BigQuery: "Model size is limited to 450 MB".
MAX_MODEL_BYTES = 450 * 1024 * 1024
# ONNX tensor element types BigQuery maps to FLOAT64, INT64 and BOOL (its reference's table).
# STRING tensors are BigQuery's too; the local engine's UDF carries numbers only.
_ELEMENTS = {
    **{f"tensor({t})": ("float", t) for t in ("float", "double", "float16", "bfloat16")},
    **{f"tensor({t})": ("int", t) for t in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32")},
    "tensor(uint64)": ("int", "uint64"),
    "tensor(bool)": ("bool", "bool"),
}
_NUMPY = {"float": np.float32, "double": np.float64, "float16": np.float16, "bool": np.bool_}
_SQL_TYPES = {"float": "DOUBLE", "int": "BIGINT", "bool": "BOOLEAN"}


@dataclass(frozen=True)
class Tensor:
    """One graph input or output: its name, BigQuery's kind of value (float, int, bool), its
    ONNX element type, and its shape after the batch dimension."""

    name: str
    kind: str
    element: str
    row_shape: tuple[int, ...]

    @property
    def size(self) -> int:
        return math.prod(self.row_shape)

    @property
    def numpy_type(self) -> Any:
        return _NUMPY.get(self.element) or np.dtype(self.element).type


@dataclass
class OnnxScorer:
    """A loaded graph: the session, its inputs and outputs, and its batch size (None: any)."""

    session: Any
    inputs: list[Tensor]
    outputs: list[Tensor]
    batch: int | None

    def run(self, rows: np.ndarray) -> np.ndarray:
        """Rows of all inputs' values side by side → rows of all outputs' values side by side."""
        width = sum(t.size for t in self.inputs)
        if rows.shape[1] != width:
            names = ", ".join(f"{t.name} ({t.size})" for t in self.inputs)
            raise MLError(
                f"ML.PREDICT gives {rows.shape[1]} values per row; the ONNX graph takes {width}: {names}"
            )
        step = self.batch or max(len(rows), 1)
        chunks = [self._run_chunk(rows[start : start + step]) for start in range(0, len(rows), step)]
        return np.vstack(chunks) if chunks else np.zeros((0, sum(t.size for t in self.outputs)))

    def _run_chunk(self, rows: np.ndarray) -> np.ndarray:
        count = len(rows)
        if self.batch is not None and count < self.batch:  # a graph exported with a fixed batch size
            rows = np.vstack([rows, np.zeros((self.batch - count, rows.shape[1]))])
        feeds, start = {}, 0
        for tensor in self.inputs:
            values = rows[:, start : start + tensor.size]
            feeds[tensor.name] = values.reshape(len(rows), *tensor.row_shape).astype(tensor.numpy_type)
            start += tensor.size
        results = self.session.run([t.name for t in self.outputs], feeds)
        return np.hstack([r.reshape(len(rows), -1).astype(np.float64) for r in results])[:count]


def load_scorer(state: dict[str, Any]) -> OnnxScorer:
    """The graph a stored ONNX model's `state` holds, loaded in onnxruntime."""
    return _scorer(base64.b64decode(state["onnx"]))


def _scorer(model_bytes: bytes) -> OnnxScorer:
    require("onnxruntime", "onnx", "An ONNX model")
    import onnxruntime

    try:
        session = onnxruntime.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for unreadable files
        raise MLError(f"Invalid ONNX model file: {str(exc).splitlines()[0]}") from None
    inputs = [_tensor(arg, "input") for arg in session.get_inputs()]
    batch = _batch_size(session.get_inputs())
    probe = OnnxScorer(session, inputs, [], batch)
    # The outputs' sizes per row come from one run on zeros: exporters often leave them symbolic.
    results = session.run(None, probe_feeds(probe))
    outputs = [
        _tensor(arg, "output", tuple(result.shape[1:]))
        for arg, result in zip(session.get_outputs(), results, strict=True)
    ]
    return OnnxScorer(session, inputs, outputs, batch)


def probe_feeds(scorer: OnnxScorer) -> dict[str, np.ndarray]:
    rows = scorer.batch or 1
    return {t.name: np.zeros((rows, *t.row_shape), dtype=t.numpy_type) for t in scorer.inputs}


def _tensor(arg: Any, role: str, row_shape: tuple[int, ...] | None = None) -> Tensor:
    if not arg.type.startswith("tensor("):
        kind = arg.type.split("(")[0].upper()
        raise MLError(f"ONNX model {role} '{arg.name}' has unsupported ONNX type: ONNX_TYPE_{kind}")
    if arg.type not in _ELEMENTS:
        raise MLError(
            f"ONNX model {role} '{arg.name}' is a {arg.type}: the local engine runs float, integer "
            f"and bool tensors (string tensors run on the BigQuery target)"
        )
    kind, element = _ELEMENTS[arg.type]
    if row_shape is None:
        row_shape = _fixed_row_shape(arg, role)
    return Tensor(arg.name, kind, element, row_shape)


def _fixed_row_shape(arg: Any, role: str) -> tuple[int, ...]:
    dims = list(arg.shape)
    if not dims or not all(isinstance(d, int) and d > 0 for d in dims[1:]):
        raise MLError(
            f"ONNX model {role} '{arg.name}' has shape {dims}: the local engine needs a batch "
            f"dimension first and fixed sizes after it"
        )
    return tuple(dims[1:])


def _batch_size(args: list[Any]) -> int | None:
    fixed = {a.shape[0] for a in args if isinstance(a.shape[0], int)}
    return fixed.pop() if len(fixed) == 1 else None


def _flat_input(tensor: Tensor) -> str:
    """The input column of graph input `tensor` as the DOUBLE list of its values in one row."""
    column = quote_ident(tensor.name)
    if len(tensor.row_shape) >= 2:  # an image: ML.DECODE_IMAGE's STRUCT(dimensions, values)
        return f"CAST(struct_extract({column}, '_field_2') AS DOUBLE[])"
    if tensor.row_shape:
        return f"CAST({column} AS DOUBLE[])"
    return f"[CAST({column} AS DOUBLE)]"


def _output_column(tensor: Tensor, start: int) -> str:
    """Output `tensor` from the UDF's values (1-based `start`): a number, or an ARRAY."""
    sql_type = _SQL_TYPES[tensor.kind]
    if tensor.row_shape and tensor.size != 1:
        values = f"__ml_onnx[{start}:{start + tensor.size - 1}]"
        sql = values if sql_type == "DOUBLE" else f"CAST({values} AS {sql_type}[])"
    else:
        sql = f"__ml_onnx[{start}]" if sql_type == "DOUBLE" else f"CAST(__ml_onnx[{start}] AS {sql_type})"
    return f"{sql} AS {quote_ident(tensor.name)}"


def predict_template(scorer: OnnxScorer, token: str) -> str:
    """ML.PREDICT: the graph's outputs, then every input column unchanged (a NULL input: NULLs)."""
    values = ", ".join(_flat_input(t) for t in scorer.inputs)
    nulls = " OR ".join(f"{quote_ident(t.name)} IS NULL" for t in scorer.inputs)
    run = f"CASE WHEN {nulls} THEN NULL ELSE {ONNX_UDF}({quote_string(token)}, flatten([{values}])) END"
    starts = np.cumsum([1] + [t.size for t in scorer.outputs])
    columns = ", ".join(_output_column(t, int(s)) for t, s in zip(scorer.outputs, starts, strict=False))
    return outputs_then_input("__ml_onnx", run, columns)


def build(statement: CreateModel, options: dict[str, Any]) -> Fitted:
    """Read MODEL_PATH, check the graph runs, and compile ML.PREDICT over it."""
    model_bytes = read_model_file(options.get("model_path"), (".onnx",), "ONNX", MAX_MODEL_BYTES)
    scorer = _scorer(model_bytes)
    token = uuid.uuid4().hex
    state = {
        "token": token,
        "onnx": base64.b64encode(model_bytes).decode(),
        "inputs": [vars(t) for t in scorer.inputs],
        "outputs": [vars(t) for t in scorer.outputs],
    }
    return Fitted(None, {}, {}, state, {"predict": predict_template(scorer, token)}, scorer=scorer)


def _run_udf(scorer: OnnxScorer, values: pa.Array) -> pa.Array:
    """The UDF: one list of input values per row (NULL rows stay NULL) → one of output values."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    valid = np.asarray(values.is_valid())
    width = sum(t.size for t in scorer.outputs)
    outputs = np.zeros((len(values), width))
    if valid.any():
        outputs[valid] = scorer.run(rows_matrix(values.filter(pa.array(valid)), np.float64))
    return list_array(outputs, nulls=~valid)


MODEL_TYPES = (
    ModelType(
        "ONNX",
        IMPORTED,
        IMPORTED_OPTIONS,
        None,
        frozenset({"predict"}),
        udfs=(ScalarUDF(ONNX_UDF, _run_udf, "DOUBLE[]"),),
        load_scorer=load_scorer,
        build=build,
    ),
)
