"""remote: a remote model over a prediction endpoint, as BigQuery's `CREATE MODEL m INPUT (...)
OUTPUT (...) REMOTE WITH CONNECTION c OPTIONS (ENDPOINT = '...')` makes one over a model deployed
to a Vertex AI endpoint. No function to deploy: ML.PREDICT sends the INPUT fields of each row as
`{"instances": [{field: value, ...}, ...]}` and types the prediction's OUTPUT fields.

BigQuery keeps no model_type for remote models (its Model resource has remoteModelInfo instead);
the local store names them REMOTE_MODEL. Locally the endpoint is a Vertex AI endpoint, called with
your own Google credentials where BigQuery uses the connection's service account, or a model server on
this machine (`http://127.0.0.1:PORT/ROUTE`, POSTed as written). Requests go out in batches of
128 instances (BigQuery's default) within Vertex AI's 1.5 MB, retried with backoff while the
failure is transient; any other failure fails the query naming the endpoint and its status,
never a partial result.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import requests

from ml.errors import MLError
from ml.extras import require
from ml.model_types.model_file import outputs_then_input
from ml.model_types.model_type import IMPORTED, Fitted, ModelType, ScalarUDF
from ml.model_types.option import Constraint
from ml.names import quote_ident, quote_string
from ml.sql.statements import CreateModel, Field
from remote_functions.endpoint import EndpointRejected, EndpointUnavailable, PredictionEndpoint

MODEL_TYPE = "REMOTE_MODEL"
REMOTE_UDF = "__ml_remote_predict"
BATCH_INSTANCES = 128
OPTIONS: dict[str, Constraint] = {
    "model_type": Constraint("string"),
    "endpoint": Constraint("string"),
}
_SCALAR_TYPES = {
    "BOOL": "BOOLEAN",
    "INT64": "BIGINT",
    "FLOAT64": "DOUBLE",
    "NUMERIC": "DECIMAL(38, 9)",
    # DuckDB's decimals stop at 38 digits; BIGNUMERIC's 76 are read as DOUBLE.
    "BIGNUMERIC": "DOUBLE",
    "STRING": "VARCHAR",
}
_ARRAY = re.compile(r"^ARRAY\s*<\s*(\w+)\s*>$", re.IGNORECASE)
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_VERTEX = re.compile(
    r"^https://[a-z0-9-]+-aiplatform\.googleapis\.com/v1/projects/[^/]+/locations/[^/]+/endpoints/[^/:]+$"
)
_LOCAL = re.compile(r"^http://(127\.0\.0\.1|localhost)(:\d+)?(/[^\s]*)?$")


def duck_type(field: Field, clause: str) -> str:
    """The DuckDB type of an INPUT or OUTPUT field's BigQuery type."""
    written = " ".join(field.sql_type.split()).upper()
    array = _ARRAY.match(written)
    scalar = array.group(1) if array else written
    if scalar not in _SCALAR_TYPES:
        raise MLError(
            f"{clause} field {field.name} has type {field.sql_type}: remote models take "
            f"{', '.join(_SCALAR_TYPES)} and ARRAYs of them"
        )
    return _SCALAR_TYPES[scalar] + ("[]" if array else "")


@dataclass
class RemoteModelClient:
    """Sends rows to the endpoint and reads the OUTPUT fields of each prediction."""

    endpoint: str
    outputs: list[str]
    client: PredictionEndpoint

    def predict(self, instances: list[str]) -> list[dict[str, Any]]:
        """The OUTPUT fields for each instance (a JSON object of INPUT fields)."""
        try:
            predictions = self.client.predict_written(instances)
        except (EndpointUnavailable, EndpointRejected) as exc:
            status = f" (HTTP {exc.status})" if isinstance(exc, EndpointRejected) else ""
            raise MLError(f"Remote model endpoint {self.endpoint} failed{status}: {exc}") from None
        return [self._fields(p) for p in predictions]

    def _fields(self, prediction: Any) -> dict[str, Any]:
        # BigQuery: an endpoint with a single output answers a bare value, named by OUTPUT.
        if len(self.outputs) == 1 and not isinstance(prediction, dict):
            return {self.outputs[0]: prediction}
        if not isinstance(prediction, dict):
            raise MLError(
                f"Remote model endpoint {self.endpoint} answered {prediction!r}, not an object of fields"
            )
        missing = [name for name in self.outputs if name not in prediction]
        if missing:
            raise MLError(
                f"Remote model endpoint {self.endpoint} answered no field {missing[0]} (named by OUTPUT); "
                f"its predictions have {', '.join(sorted(prediction)) or 'no fields'}"
            )
        return {name: prediction[name] for name in self.outputs}


def predict_url(endpoint: str) -> str:
    """What ML.PREDICT POSTs to: a Vertex AI endpoint's `:predict`, or a local server as written."""
    if _VERTEX.match(endpoint):
        return f"{endpoint}:predict"
    if _LOCAL.match(endpoint):
        return endpoint
    raise MLError(
        f"Invalid value for option endpoint: {endpoint!r} is neither a Vertex AI endpoint "
        f"(https://LOCATION-aiplatform.googleapis.com/v1/projects/P/locations/L/endpoints/E) "
        f"nor a model server on this machine (http://127.0.0.1:PORT/ROUTE)"
    )


def _session(endpoint: str) -> requests.Session:
    if _LOCAL.match(endpoint):
        return requests.Session()
    require("google.auth", "gcp", "A remote model over a Vertex AI endpoint")
    import google.auth
    import google.auth.exceptions
    from google.auth.transport.requests import AuthorizedSession

    try:
        credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    except google.auth.exceptions.DefaultCredentialsError as exc:
        raise MLError(f"A remote model over {endpoint} needs Google credentials: {exc}") from None
    return AuthorizedSession(credentials)


def load_scorer(state: dict[str, Any]) -> RemoteModelClient:
    endpoint = state["endpoint"]
    client = PredictionEndpoint(
        predict_url(endpoint), _session(endpoint), max_instances=BATCH_INSTANCES, labelled=False
    )
    return RemoteModelClient(endpoint, [f["name"] for f in state["outputs"]], client)


def _output_column(name: str, sql_type: str) -> str:
    path = quote_string(f"$.{name}")
    if sql_type == "VARCHAR":
        return f"json_extract_string(__ml_remote, {path}) AS {quote_ident(name)}"
    return f"CAST(json_extract(__ml_remote, {path}) AS {sql_type}) AS {quote_ident(name)}"


def predict_template(inputs: list[dict[str, str]], outputs: list[dict[str, str]], token: str) -> str:
    """ML.PREDICT: the OUTPUT fields, remote_model_status (NULL: the row was answered), then every
    input column unchanged."""
    fields = ", ".join(
        f"{quote_string(f['name'])}, CAST({quote_ident(f['name'])} AS {f['duck_type']})" for f in inputs
    )
    call = f"{REMOTE_UDF}({quote_string(token)}, CAST(json_object({fields}) AS VARCHAR))"
    columns = [_output_column(f["name"], f["duck_type"]) for f in outputs]
    columns.append("CAST(NULL AS VARCHAR) AS remote_model_status")
    return outputs_then_input("__ml_remote", call, ", ".join(columns))


def _fields(fields: tuple[Field, ...], clause: str) -> list[dict[str, str]]:
    if not fields:
        raise MLError(f"A remote model over an endpoint needs an {clause} clause (BigQuery requires it)")
    for field in fields:
        if not _FIELD_NAME.match(field.name):
            raise MLError(f"Invalid {clause} field name {field.name!r}: letters, digits and underscores")
    return [{"name": f.name, "duck_type": duck_type(f, clause)} for f in fields]


def build(statement: CreateModel, options: dict[str, Any]) -> Fitted:
    """Check the endpoint and the INPUT/OUTPUT clauses and compile ML.PREDICT; no call is made."""
    if statement.connection is None:
        raise MLError("A remote model needs REMOTE WITH CONNECTION")
    if not options.get("endpoint"):
        raise MLError("Missing required option: endpoint (remote model)")
    predict_url(options["endpoint"])
    inputs = _fields(statement.input_fields, "INPUT")
    outputs = _fields(statement.output_fields, "OUTPUT")
    token = uuid.uuid4().hex
    state = {
        "token": token,
        "endpoint": options["endpoint"],
        "connection": statement.connection,
        "inputs": inputs,
        "outputs": outputs,
    }
    return Fitted(None, {}, {}, state, {"predict": predict_template(inputs, outputs, token)})


def _predict_udf(client: RemoteModelClient, instances: pa.Array) -> pa.Array:
    """The UDF: a vector of JSON instances → one JSON object of OUTPUT fields per row."""
    return pa.array([json.dumps(p) for p in client.predict(instances.to_pylist())], pa.string())


MODEL_TYPES = (
    ModelType(
        MODEL_TYPE,
        IMPORTED,
        OPTIONS,
        None,
        frozenset({"predict"}),
        udfs=(ScalarUDF(REMOTE_UDF, _predict_udf, "VARCHAR", takes="VARCHAR"),),
        load_scorer=load_scorer,
        build=build,
        takes_input_output=True,
    ),
)
