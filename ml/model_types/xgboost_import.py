"""xgboost_import: an imported XGBoost model, as BigQuery's `CREATE MODEL m [INPUT (field TYPE, ...)
OUTPUT (field FLOAT64)] OPTIONS (MODEL_TYPE = 'XGBOOST', MODEL_PATH = '...')` imports a booster the
XGBoost library saved (`save_model`: model.bst, JSON or UBJSON; the library reads JSON and UBJSON
whatever the file is named). There is no training query: the file is read once, checked, and stored
with the model.

The input columns are the INPUT fields or, without INPUT and OUTPUT (optional only when the file
holds both feature_names and feature_types), the file's feature_names; INPUT must then name exactly
those. ML.PREDICT reads each feature from the input column of its name, in the model's feature
order (NULL is missing, NaN, as XGBoost treats it), and gives the output of the booster's predict
method first, then every input column: one FLOAT64 per row, or an ARRAY<FLOAT64> where the model
predicts several values per row (multi:softprob's class probabilities), named by OUTPUT or
`predicted_label`. It runs in a vectorised Arrow UDF: one booster.predict per DuckDB vector.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from ml.errors import MLError
from ml.model_types.arrow import list_array, rows_matrix
from ml.model_types.model_file import IMPORTED_OPTIONS, outputs_then_input, read_model_file
from ml.model_types.model_type import IMPORTED, Fitted, ModelType, ScalarUDF
from ml.model_types.trees import load_booster
from ml.names import quote_ident, quote_string
from ml.sql.statements import CreateModel, Field

if TYPE_CHECKING:
    import xgboost as xgb

MODEL_TYPE = "XGBOOST"
XGBOOST_UDF = "__ml_xgboost_predict"
# The UDF's values per row, as the predict template's subquery names them.
VALUES = "__ml_xgboost"
# BigQuery: "Models are limited to 250 MB in size."
MAX_MODEL_BYTES = 250 * 1024 * 1024
# BigQuery takes BST and JSON files; UBJSON is what the library's save_model writes to a .bst
# since its 2.1, so a .ubj file is the same model under its own name.
EXTENSIONS = (".bst", ".json", ".ubj")
# The output column without an OUTPUT clause, as BigQuery's examples name it.
DEFAULT_OUTPUT = "predicted_label"
# BigQuery's numeric types (and their aliases, parameterised or not): the INPUT types it takes.
_NUMERIC = re.compile(
    r"^(INT64|INT|SMALLINT|INTEGER|BIGINT|TINYINT|BYTEINT|FLOAT64|NUMERIC|DECIMAL|BIGNUMERIC|BIGDECIMAL)"
    r"(\s*\(\s*\d+\s*(,\s*\d+\s*)?\))?$"
)
_FLOAT_ARRAY = re.compile(r"^ARRAY\s*<\s*FLOAT64\s*>$")
# The library's errors start with "[time] source:line: ".
_ERROR_PREFIX = re.compile(r"^\[[^\]]*\]\s*\S+:\d+:\s*")


@dataclass(frozen=True)
class Output:
    """The model's one output column: its name, and whether it is an ARRAY (several values a row)."""

    name: str
    array: bool


def predict(booster: xgb.Booster, rows: np.ndarray) -> np.ndarray:
    """The booster's predict method on `rows` (NaN: missing), as one row of values per input row.
    Its own feature names and types go with the rows: a categorical split reads the category code."""
    import xgboost as xgb

    matrix = xgb.DMatrix(
        rows,
        missing=np.nan,
        feature_names=booster.feature_names,
        feature_types=booster.feature_types,
        enable_categorical=True,
    )
    return booster.predict(matrix).reshape(len(rows), -1)


def load_scorer(state: dict[str, Any]) -> xgb.Booster:
    """The booster a stored model's `state` holds; an unreadable file is a one-line MLError."""
    from xgboost.core import XGBoostError

    try:
        return load_booster(state)
    except XGBoostError as exc:
        reason = _ERROR_PREFIX.sub("", str(exc).splitlines()[0])
        raise MLError(f"Invalid {MODEL_TYPE} model file: {reason}") from None


def _check_format(model_bytes: bytes) -> None:
    """JSON and UBJSON, the forms the library reads, are objects: '{' first. Anything else is
    refused here, an empty file among them (the library's loader aborts the process on one)."""
    if not model_bytes.startswith(b"{"):
        raise MLError(
            f"Invalid {MODEL_TYPE} model file: neither JSON nor UBJSON (a booster in the library's "
            f"old binary format needs saving again with save_model)"
        )


def _check_single_target(booster: xgb.Booster) -> None:
    learner = json.loads(booster.save_config())["learner"]["learner_model_param"]
    targets = int(learner.get("num_target", "1"))
    if targets > 1:
        raise MLError(
            f"The {MODEL_TYPE} model file predicts {targets} targets: BigQuery takes a single scalar or "
            f"array output (multiple outputs aren't supported)"
        )


def _features(fields: tuple[Field, ...], booster: xgb.Booster) -> list[str]:
    """The input columns in the model's feature order: the file's feature_names, which INPUT must
    name exactly; else the INPUT fields, as many as the booster's features."""
    named = booster.feature_names
    if not fields:
        if not named or not booster.feature_types:
            raise MLError(
                f"model_type {MODEL_TYPE} needs INPUT and OUTPUT clauses: the model file has no "
                f"feature_names and feature_types (INPUT OUTPUT is optional only when it has both)"
            )
        return list(named)
    for field in fields:
        _check_input_type(field)
    given = [f.name for f in fields]
    if named is None:
        if len(given) != booster.num_features():
            raise MLError(
                f"INPUT has {len(given)} fields; the {MODEL_TYPE} model file takes "
                f"{booster.num_features()} features"
            )
        return given
    if sorted(given) != sorted(named):
        raise MLError(
            f"INPUT field names must be the model file's feature_names ({', '.join(named)}); "
            f"INPUT has {', '.join(given)}"
        )
    return list(named)


def _check_input_type(field: Field) -> None:
    if not _NUMERIC.match(_written(field)):
        raise MLError(
            f"INPUT field {field.name} has type {field.sql_type}: {MODEL_TYPE} models take numeric "
            f"inputs (INT64, NUMERIC, BIGNUMERIC, FLOAT64)"
        )


def _output(fields: tuple[Field, ...], width: int) -> Output:
    """The output column: OUTPUT's one field (FLOAT64, or ARRAY<FLOAT64>), or predicted_label."""
    if not fields:
        return Output(DEFAULT_OUTPUT, width > 1)
    if len(fields) != 1:
        raise MLError(
            f"OUTPUT has {len(fields)} fields: an {MODEL_TYPE} model has a single scalar or array output"
        )
    field = fields[0]
    written = _written(field)
    array = bool(_FLOAT_ARRAY.match(written))
    if not array and written != "FLOAT64":
        raise MLError(
            f"OUTPUT field {field.name} has type {field.sql_type}: {MODEL_TYPE} models output FLOAT64"
        )
    if width > 1 and not array:
        raise MLError(
            f"OUTPUT field {field.name} is FLOAT64, but the model predicts {width} values per row: "
            f"declare it ARRAY<FLOAT64>"
        )
    return Output(field.name, array)


def _written(field: Field) -> str:
    """A field's type as written, upper-cased (BigQuery's type names are case-insensitive)."""
    return " ".join(field.sql_type.split()).upper()


def predict_template(features: list[str], output: Output, token: str) -> str:
    """ML.PREDICT: the output column, then every input column unchanged (a NULL feature: NaN)."""
    values = ", ".join(f"CAST({quote_ident(name)} AS DOUBLE)" for name in features)
    call = f"{XGBOOST_UDF}({quote_string(token)}, [{values}])"
    value = VALUES if output.array else f"{VALUES}[1]"
    return outputs_then_input(VALUES, call, f"{value} AS {quote_ident(output.name)}")


def build(statement: CreateModel, options: dict[str, Any]) -> Fitted:
    """Read MODEL_PATH, load the booster, settle its input and output columns, and compile
    ML.PREDICT over them."""
    if bool(statement.input_fields) != bool(statement.output_fields):
        raise MLError(f"INPUT and OUTPUT go together: model_type {MODEL_TYPE} takes both or neither")
    model_bytes = read_model_file(options.get("model_path"), EXTENSIONS, MODEL_TYPE, MAX_MODEL_BYTES)
    _check_format(model_bytes)
    token = uuid.uuid4().hex
    state: dict[str, Any] = {"token": token, "booster": base64.b64encode(model_bytes).decode()}
    booster = load_scorer(state)
    _check_single_target(booster)
    features = _features(statement.input_fields, booster)
    # The values per row come from one prediction on zeros: a class count or objective can say it
    # only for some objectives.
    output = _output(statement.output_fields, predict(booster, np.zeros((1, len(features)))).shape[1])
    state |= {"inputs": [{"name": name} for name in features], "output": vars(output)}
    return Fitted(None, {}, {}, state, {"predict": predict_template(features, output, token)}, scorer=booster)


def _predict_udf(booster: xgb.Booster, values: pa.Array) -> pa.Array:
    """The UDF: one list of feature values per row (NULL elements: missing) → its predictions."""
    return list_array(predict(booster, rows_matrix(values, np.float32)))


MODEL_TYPES = (
    ModelType(
        MODEL_TYPE,
        IMPORTED,
        IMPORTED_OPTIONS,
        None,
        frozenset({"predict"}),
        udfs=(ScalarUDF(XGBOOST_UDF, _predict_udf, "DOUBLE[]"),),
        load_scorer=load_scorer,
        build=build,
        takes_input_output=True,
    ),
)
