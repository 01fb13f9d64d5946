"""The engine: runs BigQuery ML scripts against a DuckDB connection (see docs/engine-contract.md)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pyarrow as pa

from ml.engine import image_functions, model_ddl, tuning, udfs
from ml.engine.inputs import check_input
from ml.engine.store import ModelStore
from ml.engine.training import build_model
from ml.engine.translate import Translator
from ml.errors import MLError
from ml.model_types import catalog
from ml.names import ModelName
from ml.sql.statements import AlterModel, CreateModel, DropModel, ExportModel, parse_ml_statement
from ml.sql.tokens import split_statements

# Template functions answering a variant of a BigQuery ML function (a STRUCT setting).
_VARIANT_OF = {"weights_standardized": "weights", "global_explain_class_level": "global_explain"}


class Engine:
    """Executes BigQuery SQL, BigQuery ML statements and ML.* table functions on DuckDB.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The connection to run on (dbt's own inside dbt); models live in its database.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        image_functions.register(con)  # ML.DECODE_IMAGE & co. in any query, no model needed
        self.store = ModelStore(con)
        self.database = con.execute("SELECT current_database()").fetchall()[0][0]
        self.translator = Translator(
            self._template, self.database, lambda name, function, sql: check_input(con, name, function, sql)
        )

    def _template(self, name: ModelName, function: str, has_input: bool) -> str:
        """A stored template, with whatever it needs at run time (the tree SHAP UDF) made ready."""
        try:
            template = self.store.template(name, function, has_input)
        except MLError:
            self._refuse_undeclared(name, function)
            if function.startswith("global_explain") and self.store.has_model(name):
                raise MLError(
                    f"ML.GLOBAL_EXPLAIN needs model {name} to be trained with enable_global_explain = TRUE"
                ) from None
            raise
        return udfs.prepare(self.con, name, function, has_input, template)

    def _refuse_undeclared(self, name: ModelName, function: str) -> None:
        """A function the model's type never answers is refused naming the ones it does."""
        if not self.store.has_model(name):
            return
        kind = self.store.model_type(name)
        declared = catalog.MODEL_TYPES.get(kind)
        if declared is not None and _VARIANT_OF.get(function, function) not in declared.functions:
            supported = ", ".join(f"ML.{f.upper()}" for f in sorted(declared.functions))
            raise MLError(
                f"ML.{_VARIANT_OF.get(function, function).upper()} is not supported for model {name} "
                f"(model_type {kind} supports {supported})"
            )

    def translate(self, query: str) -> str:
        """A BigQuery query, ML.* table functions included, as DuckDB SQL."""
        return self.translator.translate(query)

    def execute(self, sql: str) -> pa.Table:
        """Run `;`-separated statements; returns the result of the last (DDL: a one-row status)."""
        statements = split_statements(sql)
        if not statements:
            raise MLError("Syntax error: no statement to run")
        result = None
        for number, statement in enumerate(statements, start=1):
            try:
                result = self._execute_one(statement)
            except MLError as exc:
                if len(statements) == 1:
                    raise
                # As in a BigQuery script, what ran before stays done: say so.
                applied = {1: "nothing was applied", 2: "statement 1 was applied"}.get(
                    number, f"statements 1-{number - 1} were applied"
                )
                raise MLError(f"Statement {number} of {len(statements)} failed ({applied}): {exc}") from exc
        return result

    def _execute_one(self, sql: str) -> pa.Table:
        statement = parse_ml_statement(sql, self.database)
        if isinstance(statement, CreateModel):
            return self.create_model(statement)
        with _one_line_errors():
            if isinstance(statement, DropModel):
                return self._drop_model(statement)
            if isinstance(statement, AlterModel):
                return self._alter_model(statement)
            if isinstance(statement, ExportModel):
                return self._export_model(statement)
            relation = self.con.sql(self.translate(sql))
            if relation is None:
                return _status(_verb(sql), "", "done")
            return relation.to_arrow_table()

    def create_model(self, statement: CreateModel) -> pa.Table:
        """Run a parsed CREATE MODEL statement (the registry hands over the one it parsed)."""
        options = catalog.validate_options(catalog.statement_options(statement))
        catalog.check_query(statement, options["model_type"])
        name = statement.name
        with _one_line_errors():
            if self.store.has_model(name):
                if statement.if_not_exists:
                    return _status("CREATE MODEL", name, "skipped: already exists")
                if not statement.replace:
                    raise MLError(f"Already Exists: Model {name}")
            elif self.store.has_relation(name):
                raise MLError(f"Already Exists: {name} is a table or view, not a model")
            if catalog.MODEL_TYPES[options["model_type"]].build is not None:
                stored = build_model(statement, options)
            else:
                stored = tuning.train(self.con, self.translate, statement, options)
            self.store.save(stored)
        return _status("CREATE MODEL", name, "replaced" if statement.replace else "created")

    def _drop_model(self, statement: DropModel) -> pa.Table:
        if not self.store.has_model(statement.name):
            if statement.if_exists:
                return _status("DROP MODEL", statement.name, "skipped: not found")
            raise MLError(f"Not found: Model {statement.name}")
        self.store.drop(statement.name)
        return _status("DROP MODEL", statement.name, "dropped")

    def _alter_model(self, statement: AlterModel) -> pa.Table:
        if not self.store.has_model(statement.name):
            if statement.if_exists:
                return _status("ALTER MODEL", statement.name, "skipped: not found")
            raise MLError(f"Not found: Model {statement.name}")
        current = self.store.metadata(statement.name)
        self.store.set_metadata(
            statement.name, model_ddl.altered_metadata(statement, current, self._constant)
        )
        return _status("ALTER MODEL", statement.name, "altered")

    def _constant(self, option: str, sql: str) -> object:
        """The value of a constant BigQuery expression (an ALTER MODEL option's)."""
        try:
            return self.con.sql(self.translate(f"SELECT {sql}")).fetchall()[0][0]
        except (duckdb.Error, MLError) as exc:
            raise MLError(f"Invalid value for option {option}: {str(exc).splitlines()[0]}") from None

    def _export_model(self, statement: ExportModel) -> pa.Table:
        if not self.store.has_model(statement.name):
            raise MLError(f"Not found: Model {statement.name}")
        kind = catalog.MODEL_TYPES[self.store.model_type(statement.name)]
        files = model_ddl.export_files(statement, kind, self.store.state(statement.name))
        model_ddl.write_files(statement.options["uri"], files)
        return _status("EXPORT MODEL", statement.name, f"exported to {statement.options['uri']}")


def _status(statement: str, target: ModelName | str, status: str) -> pa.Table:
    return pa.table({"statement": [statement], "target": [str(target)], "status": [status]})


def _verb(sql: str) -> str:
    return " ".join(sql.split()[:2]).upper()


@contextmanager
def _one_line_errors() -> Iterator[None]:
    """DuckDB's errors as MLError, without their multi-line context (LINE 1: ... ^)."""
    try:
        yield
    except duckdb.Error as exc:
        raise MLError(udf_message(str(exc).split("\n")[0])) from exc


_UDF_FAILED = "Python exception occurred while executing the UDF: "


def udf_message(message: str) -> str:
    """A UDF's own error without DuckDB's wrapping ("Invalid Input Error: Python exception ...
    MLError: "): the scorer's message is the one that names the problem."""
    _, found, inner = message.partition(_UDF_FAILED)
    return inner.removeprefix("MLError: ") if found else message
