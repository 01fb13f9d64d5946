"""The registry on the local target: a DuckDB file, trained and queried by the local engine.

DuckDB lets one process write a database file at a time (a file lock), so a registry change holds
the whole file from its first read to its COMMIT: two promotions cannot interleave. Within a
process, every change is one DuckDB transaction, which DuckDB's write-ahead log makes atomic across
crashes: the engine's own model store writes join it (see `ModelStore`), so a version's model, its
registry row, its aliases and the re-pointed unversioned name commit together or not at all.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb

from ml.engine import Engine
from ml.engine.store import SCHEMA as ENGINE_SCHEMA
from ml.engine.store import ModelStore, in_transaction
from ml.errors import MLError
from ml.names import ModelName, quote_ident
from ml.registry.ddl import is_version_name, version_name
from ml.sql.statements import CreateModel

DEFAULT_DATABASE = "build/analytics_ml.duckdb"
LOCK_TIMEOUT_S = 120.0
_PARAM = re.compile(r"@([A-Za-z_][A-Za-z0-9_]*)")


def connect(database: str, timeout: float = LOCK_TIMEOUT_S) -> duckdb.DuckDBPyConnection:
    """Open `database` for writing, waiting while another process holds its lock (a dbt run, or a
    second promotion) instead of failing at once."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            con = duckdb.connect(database)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise MLError(f"Cannot open {database}: {str(exc).splitlines()[0]}") from exc
            time.sleep(0.05)
            continue
        con.execute("SET enable_progress_bar = false")  # it would draw among the CLI's output
        return con


class LocalBackend:
    """What the registry needs from a warehouse, on DuckDB. Registry SQL uses BigQuery's `@name`
    parameters, rewritten here to DuckDB's `$name`."""

    dialect = "duckdb"
    serves_by_name = True

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.engine = Engine(con)
        self.store = ModelStore(con)
        self.database = self.engine.database

    def schema_sql(self, schema: str) -> str:
        return quote_ident(schema)

    def table_sql(self, schema: str, table: str) -> str:
        return f"{quote_ident(schema)}.{quote_ident(table)}"

    def version_options(self, model: ModelName, version: int) -> dict[str, str | list[str]]:
        return {}  # no Vertex AI locally

    def model_sql(self, name: ModelName) -> str:
        return str(name)

    def relation_sql(self, name: ModelName) -> str:
        return str(name)

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        try:
            # DuckDB refuses parameters a statement does not use; callers share one dict.
            used = {name: (params or {})[name] for name in set(_PARAM.findall(sql))}
            cursor = self.con.execute(_PARAM.sub(r"$\1", sql), used)
        except duckdb.Error as exc:
            raise MLError(str(exc).splitlines()[0]) from exc
        if cursor.description is None:
            return []
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        self.rows(sql, params)

    def guarded(self, sql: str, params: dict[str, Any], message: str) -> None:
        """Run a DML statement that must change exactly one row (a compare-and-set)."""
        changed = self.rows(sql, params)
        if not changed or next(iter(changed[0].values())) != 1:
            raise MLError(message)

    def ml_rows(self, sql: str) -> list[dict[str, Any]]:
        return self.engine.execute(sql).to_pylist()

    def create_model(self, statement: CreateModel) -> None:
        self.engine.create_model(statement)

    def execute_ddl(self, sql: str) -> None:
        self.execute(sql)  # DuckDB runs DDL inside the transaction like any other statement

    @contextmanager
    def transaction(self) -> Iterator[LocalBackend]:
        if in_transaction(self.con):
            yield self  # the caller's (dbt's) transaction: it commits or rolls back the whole
            return
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def fingerprint(self, query: str) -> str:
        """Row count and an order-independent hash of whole rows: equal data, equal fingerprint."""
        count, digest = self.con.execute(
            f"SELECT count(*), bit_xor(hash(__ml_fp)) FROM ({self.engine.translate(query)}) AS __ml_fp"
        ).fetchall()[0]
        return f"rows={count};hash={(digest or 0):016x}"

    def columns(self, relation: ModelName) -> list[str]:
        try:
            described = self.con.execute(f"DESCRIBE {relation.sql}").fetchall()
        except duckdb.CatalogException as exc:
            raise MLError(f"Not found: Table {relation}") from exc
        return [row[0] for row in described]

    def model_exists(self, name: ModelName) -> bool:
        return self.store.has_model(name)

    def model_info(self, name: ModelName) -> dict[str, Any]:
        found = self.rows(
            f"SELECT model_type, label_column, state FROM {ENGINE_SCHEMA}.models "
            "WHERE dataset = @dataset AND model = @model",
            {"dataset": name.dataset, "model": name.model},
        )
        if not found:
            raise MLError(f"Not found: Model {name}")
        return found[0]

    def version_models(self, model: ModelName) -> list[int]:
        """Versions of `model` that exist as engine models (registered or not)."""
        if not self.has_table(ENGINE_SCHEMA, "models"):
            return []
        names = self.rows(
            f"SELECT model FROM {ENGINE_SCHEMA}.models "
            "WHERE dataset = @dataset AND starts_with(model, @prefix)",
            {"dataset": model.dataset, "prefix": f"{model.model}__v"},
        )
        return sorted(
            int(row["model"].rsplit("__v", 1)[1])
            for row in names
            if is_version_name(row["model"]) and row["model"].rsplit("__v", 1)[0] == model.model
        )

    def has_table(self, schema: str, table: str) -> bool:
        return bool(
            self.rows(
                "SELECT 1 FROM information_schema.tables "
                "WHERE table_schema = @schema AND table_name = @table",
                {"schema": schema, "table": table},
            )
        )

    def drop_model(self, name: ModelName) -> None:
        self.store.drop(name)  # inside the current transaction, like the registry row retiring it

    def serve(self, model: ModelName, version: int) -> None:
        """Point the unversioned name at one version, inside the current transaction."""
        self.store.copy(version_name(model, version), model)

    def serving(self, model: ModelName) -> int | None:
        """Which version the unversioned name serves now (None: none of them)."""
        versions = self.version_models(model)
        if not versions or not self.store.has_model(model):
            return None
        found = self.rows(
            f"SELECT v.model FROM {ENGINE_SCHEMA}.models AS v JOIN {ENGINE_SCHEMA}.models AS m "
            # A version's DDL names the version (CREATE MODEL ds.m__v3), so equal DDL is that version.
            "ON v.dataset = m.dataset AND v.ddl = m.ddl "
            "WHERE m.dataset = @dataset AND m.model = @model AND starts_with(v.model, @prefix)",
            {"dataset": model.dataset, "model": model.model, "prefix": f"{model.model}__v"},
        )
        return int(found[0]["model"].rsplit("__v", 1)[1]) if found else None
