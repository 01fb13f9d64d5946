"""The model store, the `_ml` schema: models, their compiled SQL templates, and the view that
reserves each name.

Layout (docs/engine-contract.md): `_ml.models` one row per model, `_ml.model_functions` one row per
(model, ML function, has_input) with its DuckDB template, and a view `dataset.model`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import duckdb

from ml.errors import MLError
from ml.literals import sql_literal
from ml.names import ModelName, quote_ident
from ml.version import ENGINE_VERSION

SCHEMA = "_ml"

_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.models (
    dataset VARCHAR NOT NULL, model VARCHAR NOT NULL, model_type VARCHAR NOT NULL, ddl VARCHAR NOT NULL,
    options JSON NOT NULL, created_at TIMESTAMP NOT NULL, label_column VARCHAR, feature_columns JSON,
    state JSON, PRIMARY KEY (dataset, model));
-- Added after the first release: catalogs written before it get the column here.
ALTER TABLE {SCHEMA}.models ADD COLUMN IF NOT EXISTS engine_version VARCHAR;
-- What ALTER MODEL ... SET OPTIONS set (description, labels, ...); NULL until it first runs.
ALTER TABLE {SCHEMA}.models ADD COLUMN IF NOT EXISTS metadata JSON;
CREATE TABLE IF NOT EXISTS {SCHEMA}.model_functions (
    dataset VARCHAR NOT NULL, model VARCHAR NOT NULL, function VARCHAR NOT NULL, has_input BOOLEAN NOT NULL,
    sql_template VARCHAR NOT NULL, PRIMARY KEY (dataset, model, function, has_input));
"""


@dataclass
class StoredModel:
    """Everything CREATE MODEL writes for one model."""

    name: ModelName
    model_type: str
    ddl: str
    options: dict[str, Any]
    label_column: str | None
    feature_columns: list[str]
    state: dict[str, Any]
    templates: dict[tuple[str, bool], str]


class ModelStore:
    """Reads and writes models in the `_ml` schema of one DuckDB connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def _exists(self) -> bool:
        return bool(
            self.con.execute(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = ? AND table_name = 'models'",
                [SCHEMA],
            ).fetchall()[0][0]
        )

    def has_model(self, name: ModelName) -> bool:
        if not self._exists():
            return False
        return bool(
            self.con.execute(
                f"SELECT count(*) FROM {SCHEMA}.models WHERE dataset = ? AND model = ?",
                [name.dataset, name.model],
            ).fetchall()[0][0]
        )

    def has_relation(self, name: ModelName) -> bool:
        """Whether a table or view (a model's own view included) holds the name."""
        return bool(
            self.con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ? "
                "AND table_catalog = current_database()",
                [name.dataset, name.model],
            ).fetchall()[0][0]
        )

    def template(self, name: ModelName, function: str, has_input: bool) -> str:
        """The SQL template of one ML function of a model; MLError when absent."""
        if not self.has_model(name):
            raise MLError(f"Not found: Model {name}")
        row = self.con.execute(
            f"SELECT sql_template FROM {SCHEMA}.model_functions "
            "WHERE dataset = ? AND model = ? AND function = ? AND has_input = ?",
            [name.dataset, name.model, function, has_input],
        ).fetchall()
        if not row:
            model_type = self.model_type(name)
            form = "with" if has_input else "without"
            raise MLError(
                f"ML.{function.upper()} is not supported {form} input data for model {name} "
                f"(model_type {model_type})"
            )
        return row[0][0]

    def model_type(self, name: ModelName) -> str:
        return self.con.execute(
            f"SELECT model_type FROM {SCHEMA}.models WHERE dataset = ? AND model = ?",
            [name.dataset, name.model],
        ).fetchall()[0][0]

    def state(self, name: ModelName) -> dict[str, Any]:
        """The `state` CREATE MODEL stored (the booster of a tree model, ...)."""
        text = self.con.execute(
            f"SELECT state FROM {SCHEMA}.models WHERE dataset = ? AND model = ?", [name.dataset, name.model]
        ).fetchall()[0][0]
        return json.loads(text or "{}")

    def metadata(self, name: ModelName) -> dict[str, Any]:
        """The options ALTER MODEL set on a model ({} if none; a catalog from before the column
        has none either)."""
        if not self._has_metadata_column():
            return {}
        text = self.con.execute(
            f"SELECT metadata FROM {SCHEMA}.models WHERE dataset = ? AND model = ?",
            [name.dataset, name.model],
        ).fetchall()[0][0]
        return json.loads(text or "{}")

    def set_metadata(self, name: ModelName, metadata: dict[str, Any]) -> None:
        """Replace the ALTER MODEL options of a model (adding the column to an older catalog)."""
        with _transaction(self.con):
            self.con.execute(_DDL)
            self.con.execute(
                f"UPDATE {SCHEMA}.models SET metadata = ? WHERE dataset = ? AND model = ?",
                [json.dumps(metadata), name.dataset, name.model],
            )

    def _has_metadata_column(self) -> bool:
        return bool(
            self.con.execute(
                "SELECT count(*) FROM information_schema.columns WHERE table_schema = ? "
                "AND table_name = 'models' AND column_name = 'metadata' "
                "AND table_catalog = current_database()",
                [SCHEMA],
            ).fetchall()[0][0]
        )

    def save(self, model: StoredModel) -> None:
        """Replace whatever the name held, in one transaction."""
        with _transaction(self.con):
            self.con.execute(_DDL)
            self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(model.name.dataset)}")
            self._delete(model.name)
            self.con.execute(
                f"INSERT INTO {SCHEMA}.models (dataset, model, model_type, ddl, options, created_at, "
                f"label_column, feature_columns, state, engine_version) "
                f"VALUES (?, ?, ?, ?, ?, current_localtimestamp(), ?, ?, ?, ?)",
                [
                    model.name.dataset,
                    model.name.model,
                    model.model_type,
                    model.ddl,
                    json.dumps(model.options),
                    model.label_column,
                    json.dumps(model.feature_columns),
                    json.dumps(model.state, default=_jsonable),
                    ENGINE_VERSION,
                ],
            )
            self.con.executemany(
                f"INSERT INTO {SCHEMA}.model_functions VALUES (?, ?, ?, ?, ?)",
                [
                    [model.name.dataset, model.name.model, fn, has_input, sql]
                    for (fn, has_input), sql in sorted(model.templates.items())
                ],
            )
            self._reserve_name(model.name)

    def copy(self, source: ModelName, target: ModelName) -> None:
        """Make `target` a model identical to `source` (the registry's unversioned name serving one
        version), replacing whatever `target` held, in one transaction (or the caller's)."""
        with _transaction(self.con):
            self._delete(target)
            for table in ("models", "model_functions"):
                self.con.execute(
                    f"INSERT INTO {SCHEMA}.{table} SELECT * REPLACE (? AS dataset, ? AS model) "
                    f"FROM {SCHEMA}.{table} WHERE dataset = ? AND model = ?",
                    [target.dataset, target.model, source.dataset, source.model],
                )
            self._reserve_name(target)

    def _reserve_name(self, name: ModelName) -> None:
        self.con.execute(
            f"CREATE OR REPLACE VIEW {name.sql} AS SELECT dataset, model, model_type, created_at, "
            f"label_column, feature_columns FROM {SCHEMA}.models "
            f"WHERE dataset = {sql_literal(name.dataset)} "
            f"AND model = {sql_literal(name.model)}"
        )

    def drop(self, name: ModelName) -> None:
        with _transaction(self.con):
            self._delete(name)
            self.con.execute(f"DROP VIEW IF EXISTS {name.sql}")

    def _delete(self, name: ModelName) -> None:
        for table in ("models", "model_functions"):
            self.con.execute(
                f"DELETE FROM {SCHEMA}.{table} WHERE dataset = ? AND model = ?", [name.dataset, name.model]
            )


class _transaction:
    """BEGIN/COMMIT, or ROLLBACK on error; joins the caller's transaction if one is open (dbt)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.owned = False

    def __enter__(self) -> None:
        # Ask rather than try: a failed BEGIN aborts the caller's open transaction in DuckDB.
        self.owned = not in_transaction(self.con)
        if self.owned:
            self.con.execute("BEGIN TRANSACTION")

    def __exit__(self, exc_type: object, *_: object) -> None:
        if self.owned:
            self.con.execute("ROLLBACK" if exc_type else "COMMIT")


def in_transaction(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether `con` has an explicit transaction open: outside one, each statement runs in a
    transaction of its own, so two statements see different transaction ids."""
    first, second = (con.execute("SELECT txid_current()").fetchall()[0][0] for _ in range(2))
    return first == second


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "__dict__"):
        return vars(value)
    return str(value)
