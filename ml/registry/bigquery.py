"""The registry on BigQuery: each version its own BigQuery ML model, optionally registered in the
Vertex AI Model Registry, and the registry tables in a dataset of their own.

CREATE MODEL cannot run inside a BigQuery transaction, so a version's model is created first under
a name no registered version has (`name__v<N>`, N past every version and every model found), then
its registry row and alias changes commit as one multi-statement transaction. A crash in between
leaves an unregistered model, which the registry never serves and the next training steps over.
Reads run at once; the writes of one registry change are sent together as one script.

The unversioned name `name` is a model too, as on DuckDB: once a change that moves what it serves
has committed (its compare-and-set passed), a copy job copies `name__v<N>` over `name` and the
label `ml_registry_version` on `name` records N. A change whose compare-and-set fails copies
nothing; a crash after the commit leaves `name` and the registry apart until the next promote or
rollback copies again, and `problems` (python -m ml versions) reports it meanwhile.

Google's client libraries are imported where used: they take seconds to import, and the local
target never needs them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ml.errors import MLError
from ml.extras import require
from ml.names import ModelName
from ml.registry.ddl import bigquery_literal, is_version_name, version_name
from ml.registry.schema import column_kind
from ml.sql.statements import CreateModel

_PARAM = re.compile(r"(?<!@)@([A-Za-z_][A-Za-z0-9_]*)")  # not @@row_count, a system variable
_SCRIPT_PREFIX = re.compile(r"^s[0-9]+_")
# Vertex AI model IDs; the dbt macros check the same pattern (the generated contract).
VERTEX_MODEL_ID = re.compile(r"^[a-z][a-z0-9_-]{0,127}$")
# The label on the unversioned model naming the version it is a copy of (the contract has it too).
SERVING_LABEL = "ml_registry_version"


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


def tables_in(query: str, project: str) -> list[str]:
    """`project.dataset.table` of every table `query` reads (CTE names are not tables)."""
    import sqlglot
    from sqlglot import exp

    try:
        parsed = sqlglot.parse_one(query, read="bigquery")
    except sqlglot.errors.ParseError as exc:
        raise MLError(f"Cannot read the tables of the training query: {str(exc).splitlines()[0]}") from exc
    ctes = {cte.alias_or_name for cte in parsed.find_all(exp.CTE)}
    paths = []
    for table in parsed.find_all(exp.Table):
        if not table.db and table.name in ctes:
            continue
        if not table.db:
            raise MLError(f"Table {table.name} in the training query needs its dataset (dataset.table)")
        paths.append(".".join((table.catalog or project, table.db, table.name)))
    return sorted(set(paths))


def serving_label_sql(model_sql: str, version: int) -> str:
    """The ALTER MODEL that records, on the unversioned model, which version it was copied from."""
    return f"ALTER MODEL {model_sql} SET OPTIONS (labels = [('{SERVING_LABEL}', '{int(version)}')])"


def copy_job_config() -> Any:
    """Copy a version over the unversioned model, creating it the first time and replacing it after."""
    from google.cloud import bigquery

    return bigquery.CopyJobConfig(
        create_disposition=bigquery.CreateDisposition.CREATE_IF_NEEDED,
        write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
    )


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
    # BigQuery ML has no model aliases: the unversioned name is a copy of the version it serves.
    serves_by_name = True

    def __init__(self, client: Any, project: str, vertex_region: str | None = None) -> None:
        self.client = client
        self.project = project
        self.vertex_region = vertex_region
        self.database = project
        self._script: Script | None = None
        self._served: dict[ModelName, int] = {}
        self._dropped: list[ModelName] = []

    @classmethod
    def connect(cls, project: str | None, location: str, vertex_region: str | None = None) -> BigQueryBackend:
        if not project:
            raise MLError("--target bigquery needs --project (or BIGQUERY_PROJECT)")
        require("google.cloud.bigquery", "gcp", "--target bigquery")
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
        self._script, self._served, self._dropped = Script(), {}, []
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
        # Only now, after the compare-and-set committed: a change that lost its race copies nothing.
        for model, version in self._served.items():
            self._copy_version(model, version)
        for name in self._dropped:
            self.rows(f"DROP MODEL IF EXISTS {self.model_sql(name)}")
        self._move_vertex_default()

    def _copy_version(self, model: ModelName, version: int) -> None:
        """Make the unversioned model a copy of `version`, then label it with the version: a crash
        between the two leaves the old label, which `serving` reads as a disagreement to repair."""
        from google.api_core.exceptions import GoogleAPICallError

        source = ".".join((self.project, model.dataset, version_name(model, version).model))
        destination = ".".join((self.project, model.dataset, model.model))
        try:
            self.client.copy_table(source, destination, job_config=copy_job_config()).result()
        except GoogleAPICallError as exc:
            raise MLError(
                f"Copying {source} to {destination}: {str(exc.message or exc).splitlines()[0]}"
            ) from exc
        self.rows(serving_label_sql(self.model_sql(model), version))

    def _move_vertex_default(self) -> None:
        """After the registry committed, Vertex AI follows it (a failure here leaves Vertex behind,
        never the registry; the next change of what serves sets it again)."""
        if not self.vertex_region or not self._served:
            return
        from google.cloud import aiplatform_v1

        client = aiplatform_v1.ModelServiceClient(
            client_options={"api_endpoint": f"{self.vertex_region}-aiplatform.googleapis.com"}
        )
        model, version = list(self._served.items())[-1]
        client.merge_version_aliases(
            request=default_version_request(self.project, self.vertex_region, model, version)
        )

    def fingerprint(self, query: str) -> str:
        """The data `query` reads, from table metadata only (scanning it would bill every byte it
        reads): each table it reads, through views, by row count and last-modified time. Equal
        data can fingerprint differently (a table rewritten with the same rows), never the
        reverse while BigQuery's metadata is right."""
        tables = sorted(self._tables_read(query, seen=set()))
        total = sum(rows for _, rows, _ in tables)
        digest = hashlib.sha256(repr(tables).encode()).hexdigest()[:16]
        return f"rows={total};tables={len(tables)};metadata={digest}"

    def _tables_read(self, query: str, seen: set[str]) -> list[tuple[str, int, str]]:
        found = []
        for path in tables_in(query, self.project):
            if path in seen:
                continue
            seen.add(path)
            table = self._get(self.client.get_table, *path.split(".")[1:])
            if table is None:
                raise MLError(f"Not found: Table {path} (read by the training query)")
            if table.table_type == "VIEW":
                found += self._tables_read(table.view_query, seen)
            else:
                found.append((path, int(table.num_rows or 0), str(table.modified)))
        return found

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

    def drop_model(self, name: ModelName) -> None:
        if self._script is None:
            self.rows(f"DROP MODEL IF EXISTS {self.model_sql(name)}")
        else:
            self._dropped.append(name)  # DROP MODEL cannot run inside a transaction: after it commits

    def serve(self, model: ModelName, version: int) -> None:
        self._served[model] = version  # copied once the transaction commits; the last one wins

    def serving(self, model: ModelName) -> int | None:
        """The version the unversioned model's label names (None: no such model, or no label)."""
        found = self._get(self.client.get_model, model.dataset, model.model)
        label = (found.labels or {}).get(SERVING_LABEL, "") if found is not None else ""
        return int(label) if label.isdigit() else None
