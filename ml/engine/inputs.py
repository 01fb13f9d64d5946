"""The input relation of ML.PREDICT & co. checked against the model before its template runs: a
missing feature column or one of the wrong kind is said in the model's terms (DuckDB would answer
with a binder error about COALESCE or a failed cast, deep inside the template)."""

from __future__ import annotations

import json
from typing import Any

import duckdb

from ml.engine.store import SCHEMA
from ml.errors import MLError
from ml.names import ModelName
from ml.preprocessing.automatic import is_numeric_type


def check_input(con: duckdb.DuckDBPyConnection, name: ModelName, function: str, input_sql: str) -> None:
    """MLError when `input_sql` lacks a feature of model `name` or gives one another kind of type
    than it trained on. Models with a TRANSFORM read raw columns the store does not type, and
    expanded inputs (TIMESTAMP, STRUCT, ARRAY) many columns: those are left to the template."""
    found = con.execute(
        f"SELECT feature_columns, state FROM {SCHEMA}.models WHERE dataset = ? AND model = ?",
        [name.dataset, name.model],
    ).fetchall()
    if not found:
        return
    features, state = (json.loads(text or "null") for text in found[0])
    if not features or (state or {}).get("transform"):
        return
    given = {column.lower(): kind for column, kind, *_ in con.execute(f"DESCRIBE {input_sql}").fetchall()}
    trained = {f["name"]: f for f in state.get("features", [])}
    expanded = {c["column"] for c in state.get("feature_expansion", [])}
    for column in features:
        kind = given.get(column.lower())
        if kind is None:
            raise MLError(f"ML.{function.upper()} input has no column {column}, a feature of model {name}")
        if column in trained and column not in expanded:
            _check_kind(function, name, column, kind, trained[column])


def _check_kind(function: str, name: ModelName, column: str, given: str, feature: dict[str, Any]) -> None:
    numeric, trained = "categories" not in feature, feature["duck_type"]
    if numeric and not is_numeric_type(given):
        expected = f"a number ({trained})"
    elif not numeric and trained == "VARCHAR" and given != "VARCHAR":
        expected = "strings (categories)"
    else:
        return
    raise MLError(
        f"ML.{function.upper()} input column {column} has type {given}; model {name} was trained on it "
        f"as {expected}"
    )
