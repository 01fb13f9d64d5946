"""The registry on BigQuery: each version its own BigQuery ML model, optionally registered in the
Vertex AI Model Registry, and the registry tables in a dataset of their own.

CREATE MODEL cannot run inside a BigQuery transaction, so a version's model is created first under
a name no registered version has (`name__v<N>`, N past every version and every model found), then
its registry row and alias changes commit as one multi-statement transaction. A crash in between
leaves an unregistered model, which the registry never serves and the next training steps over.
Reads run at once; the writes of one registry change are sent together as one script.

Google's client libraries are imported where used: they take seconds to import, and the local
target never needs them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ml.errors import MLError
from ml.names import ModelName
from ml.registry.ddl import bigquery_literal, is_version_name
from ml.registry.schema import column_kind
from ml.sql.statements import CreateModel

_PARAM = re.compile(r"@([A-Za-z_][A-Za-z0-9_]*)")
_SCRIPT_PREFIX = re.compile(r"^s[0-9]+_")
# Vertex AI model IDs; the dbt macros check the same pattern (the generated contract).
VERTEX_MODEL_ID = re.compile(r"^[a-z][a-z0-9_-]{0,127}$")


def quote_path(*parts: str) -> str:
    """`project.dataset.name` as one backticked BigQuery path; parts are validated names."""
    for part in parts:
        if not part or "`" in part or "\\" in part or "\n" in part:
            raise MLError(f"Invalid BigQuery name: {part!r}")
    return "`" + ".".join(parts) + "`"


def vertex_model_id(model: ModelName) -> str:
    """The Vertex AI model every version of `model` registers under (one model, many versions)."""
    candidate = f"{model.dataset}_{model.model}".lower()
    if not VERTEX_MODEL_ID.match(candidate):
        raise MLError(f"{model} does not make a valid Vertex AI model ID ({candidate})")
    return candidate


def vertex_options(model: ModelName, version: int) -> dict[str, str | list[str]]:
    """CREATE MODEL options registering the version in Vertex AI with the version alias v<N>."""
    return {
        "model_registry": "VERTEX_AI",
        "vertex_ai_model_id": vertex_model_id(model),
        "vertex_ai_model_version_aliases": [f"v{version}"],
    }


def query_parameter(name: str, value: Any) -> Any:
    """A typed BigQuery query parameter; a NULL takes the type of the registry column it is named for."""
    from google.cloud import bigquery

    if isinstance(value, bool):
        kind = "BOOL"
    elif isinstance(value, int):
        kind = "INT64"
    elif isinstance(value, float):
        kind = "FLOAT64"
    elif isinstance(value, datetime):
        kind = "TIMESTAMP"
    elif value is None:
        column = _SCRIPT_PREFIX.sub("", name)  # a script's parameters are named s<i>_<column>
        kind = {"int": "INT64", "float": "FLOAT64", "timestamp": "TIMESTAMP"}.get(
            column_kind(column) or "", "INT64" if column == "expected" else "STRING"
        )
    else:
        kind = "STRING"
    return bigquery.ScalarQueryParameter(name, kind, value)


@dataclass
class Script:
    """The writes of one registry change, rendered as one BigQuery transaction."""

    statements: list[str] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)

    def add(self, sql: str, params: dict[str, Any] | None = None) -> None:
        """Append `sql`, its `@name` parameters renamed `@s<i>_name` so statements cannot collide."""
        prefix = f"s{len(self.statements)}_"  # query_parameter() reads the column name back
        used = set(_PARAM.findall(sql))
        for name in used:
            self.parameters[prefix + name] = (params or {})[name]
        self.statements.append(_PARAM.sub(lambda m: f"@{prefix}{m.group(1)}", sql))

    def add_guard(self, message: str) -> None:
        """Fail the script (rolling the transaction back) unless the last DML changed one row."""
        self.statements.append(f"SELECT IF(@@row_count = 1, TRUE, ERROR({bigquery_literal(message)}))")

    def sql(self) -> str:
        # A failing statement ends the script and BigQuery rolls the open transaction back.
        return ";\n".join(["BEGIN TRANSACTION", *self.statements, "COMMIT TRANSACTION"]) + ";"


def default_version_request(project: str, region: str, model: ModelName, version: int) -> Any:
    """The Vertex AI call that makes version `version` (found by its alias v<N>) the model's
    `default` version, the one Vertex serves when none is named: the counterpart of the registry's
    unversioned name. Vertex keeps an alias on one version, so the previous default loses it."""
    from google.cloud import aiplatform_v1

    name = f"projects/{project}/locations/{region}/models/{vertex_model_id(model)}@v{version}"
    return aiplatform_v1.MergeVersionAliasesRequest(name=name, version_aliases=["default"])


class BigQueryBackend:
    """What the registry needs from a warehouse, on BigQuery (google-cloud-bigquery)."""

    dialect = "bigquery"
    # BigQuery ML has no model aliases: `ml_predict` resolves the champion from the registry when
    # it compiles, so the unversioned name is not a model of its own here.
    serves_by_name = False

    def __init__(self, client: Any, project: str, vertex_region: str | None = None) -> None:
        self.client = client
        self.project = project
        self.vertex_region = vertex_region
        self.database = project
        self._script: Script | None = None
        self._served: list[tuple[ModelName, int]] = []

    @classmethod
    def connect(cls, project: str | None, location: str, vertex_region: str | None = None) -> BigQueryBackend:
        if not project:
            raise MLError("--target bigquery needs --project (or BIGQUERY_PROJECT)")
        from google.cloud import bigquery

        return cls(bigquery.Client(project=project, location=location), project, vertex_region)

    def schema_sql(self, schema: str) -> str:
        return quote_path(self.project, schema)

    def table_sql(self, schema: str, table: str) -> str:
        return quote_path(self.project, schema, table)

    def model_sql(self, name: ModelName) -> str:
        return quote_path(self.project, name.dataset, name.model)

    relation_sql = model_sql

    def version_options(self, model: ModelName, version: int) -> dict[str, str | list[str]]:
        return vertex_options(model, version) if self.vertex_region else {}

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        from google.cloud import bigquery

        names = set(_PARAM.findall(sql))
        config = bigquery.QueryJobConfig(
            query_parameters=[query_parameter(name, (params or {})[name]) for name in sorted(names)]
        )
        from google.api_core.exceptions import GoogleAPICallError

        try:
            return [dict(row.items()) for row in self.client.query(sql, job_config=config).result()]
        except GoogleAPICallError as exc:  # one line, like every registry error (the CLI prints it)
            raise MLError(str(exc.message or exc).splitlines()[0]) from exc

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        if self._script is None:
            self.rows(sql, params)
        else:
            self._script.add(sql, params)

    def guarded(self, sql: str, params: dict[str, Any], message: str) -> None:
        if self._script is None:
            raise MLError("A guarded registry change runs inside a transaction")
        self._script.add(sql, params)
        self._script.add_guard(message)

    def ml_rows(self, sql: str) -> list[dict[str, Any]]:
        return self.rows(sql)

    def create_model(self, statement: CreateModel) -> None:
        self.rows(statement.ddl)  # at once: CREATE MODEL cannot run inside a transaction

    def execute_ddl(self, sql: str) -> None:
        self.rows(sql)  # at once, for the same reason; the registry's DDL is IF NOT EXISTS

    @contextmanager
    def recording(self) -> Iterator[Script]:
        """Collect the writes made inside into one script instead of sending them."""
        self._script, self._served = Script(), []
        try:
            yield self._script
        finally:
            self._script = None

    @contextmanager
    def transaction(self) -> Iterator[BigQueryBackend]:
        with self.recording() as script:
            yield self
        if script.statements:
            self.rows(script.sql(), script.parameters)
        self._move_vertex_default()

    def _move_vertex_default(self) -> None:
        """After the registry committed, Vertex AI follows it (a failure here leaves Vertex behind,
        never the registry; the next change of what serves sets it again)."""
        if not self.vertex_region or not self._served:
            return
        from google.cloud import aiplatform_v1

        client = aiplatform_v1.ModelServiceClient(
            client_options={"api_endpoint": f"{self.vertex_region}-aiplatform.googleapis.com"}
        )
        model, version = self._served[-1]
        client.merge_version_aliases(
            request=default_version_request(self.project, self.vertex_region, model, version)
        )

    def fingerprint(self, query: str) -> str:
        row = self.rows(
            f"SELECT COUNT(*) AS n, BIT_XOR(FARM_FINGERPRINT(TO_JSON_STRING(t))) AS h FROM ({query}) AS t"
        )[0]
        return f"rows={row['n']};hash={(row['h'] or 0) & (2**64 - 1):016x}"

    def _get(self, getter: Any, *parts: str) -> Any:
        from google.api_core.exceptions import NotFound

        try:
            return getter(".".join((self.project, *parts)))
        except NotFound:
            return None

    def columns(self, relation: ModelName) -> list[str]:
        table = self._get(self.client.get_table, relation.dataset, relation.model)
        if table is None:
            raise MLError(f"Not found: Table {relation}")
        return [column.name for column in table.schema]

    def has_table(self, schema: str, table: str) -> bool:
        return self._get(self.client.get_table, schema, table) is not None

    def model_exists(self, name: ModelName) -> bool:
        return self._get(self.client.get_model, name.dataset, name.model) is not None

    def model_info(self, name: ModelName) -> dict[str, Any]:
        model = self._get(self.client.get_model, name.dataset, name.model)
        if model is None:
            raise MLError(f"Not found: Model {name}")
        labels = [column.name for column in model.label_columns]
        return {"model_type": model.model_type, "label_column": labels[0] if labels else None}

    def version_models(self, model: ModelName) -> list[int]:
        from google.api_core.exceptions import NotFound

        try:
            listed = list(self.client.list_models(f"{self.project}.{model.dataset}"))
        except NotFound:
            return []
        names = [m.model_id for m in listed if is_version_name(m.model_id)]
        return sorted(int(n.rsplit("__v", 1)[1]) for n in names if n.rsplit("__v", 1)[0] == model.model)

    def serve(self, model: ModelName, version: int) -> None:
        self._served.append((model, version))

    def serving(self, model: ModelName) -> int | None:
        return None
