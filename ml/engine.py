"""The engine: runs BigQuery ML scripts against a DuckDB connection (see docs/engine-contract.md)."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from ml import tuning, udf
from ml.catalog import Catalog
from ml.errors import MLError
from ml.names import ModelName
from ml.sql.options import validate_options
from ml.sql.statements import CreateModel, DropModel, parse_ml_statement
from ml.sql.tokens import split_statements
from ml.sql.translate import Translator


class Engine:
    """Executes BigQuery SQL, BigQuery ML statements and ML.* table functions on DuckDB.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The connection to run on (dbt's own inside dbt); models live in its database.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.catalog = Catalog(con)
        self.database = con.execute("SELECT current_database()").fetchall()[0][0]
        self.translator = Translator(self._template, self.database)

    def _template(self, name: ModelName, function: str, has_input: bool) -> str:
        """A stored template, with whatever it needs at run time (the tree SHAP UDF) made ready."""
        try:
            template = self.catalog.template(name, function, has_input)
        except MLError:
            if function.startswith("global_explain") and self.catalog.has_model(name):
                raise MLError(
                    f"ML.GLOBAL_EXPLAIN needs model {name} to be trained with enable_global_explain = TRUE"
                ) from None
            raise
        return udf.prepare(self.con, name, function, has_input, template)

    def translate(self, query: str) -> str:
        """A BigQuery query, ML.* table functions included, as DuckDB SQL."""
        return self.translator.translate(query)

    def execute(self, sql: str) -> pa.Table:
        """Run `;`-separated statements; returns the result of the last (DDL: a one-row status)."""
        statements = split_statements(sql)
        if not statements:
            raise MLError("Syntax error: no statement to run")
        result = None
        for statement in statements:
            result = self._execute_one(statement)
        return result

    def _execute_one(self, sql: str) -> pa.Table:
        statement = parse_ml_statement(sql, self.database)
        try:
            if isinstance(statement, CreateModel):
                return self._create_model(statement)
            if isinstance(statement, DropModel):
                return self._drop_model(statement)
            relation = self.con.sql(self.translate(sql))
            if relation is None:
                return _status(_verb(sql), "", "done")
            return relation.to_arrow_table()
        except duckdb.Error as exc:
            raise MLError(_duckdb_message(exc)) from exc

    def _create_model(self, statement: CreateModel) -> pa.Table:
        options = validate_options(statement.options)
        name = statement.name
        if self.catalog.has_model(name):
            if statement.if_not_exists:
                return _status("CREATE MODEL", name, "skipped: already exists")
            if not statement.replace:
                raise MLError(f"Already Exists: Model {name}")
        elif self.catalog.has_relation(name):
            raise MLError(f"Already Exists: {name} is a table or view, not a model")
        stored = tuning.train(self.con, self.translate, statement, options)
        self.catalog.save(stored)
        return _status("CREATE MODEL", name, "replaced" if statement.replace else "created")

    def _drop_model(self, statement: DropModel) -> pa.Table:
        if not self.catalog.has_model(statement.name):
            if statement.if_exists:
                return _status("DROP MODEL", statement.name, "skipped: not found")
            raise MLError(f"Not found: Model {statement.name}")
        self.catalog.drop(statement.name)
        return _status("DROP MODEL", statement.name, "dropped")


def _status(statement: str, target: ModelName | str, status: str) -> pa.Table:
    return pa.table({"statement": [statement], "target": [str(target)], "status": [status]})


def _verb(sql: str) -> str:
    return " ".join(sql.split()[:2]).upper()


def _duckdb_message(exc: duckdb.Error) -> str:
    """DuckDB's message without its multi-line context (LINE 1: ... ^)."""
    return str(exc).split("\n")[0]
