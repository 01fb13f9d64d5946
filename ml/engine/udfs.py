"""The engine's vectorised Arrow UDFs inside DuckDB queries: the scoring UDFs the model types
declare (a tree model's booster margin and tree SHAP, a DNN's forward pass; see ScalarUDF in
ml/model_types) and `__ml_load_model(model_type, state)`, which loads a stored model's booster or
network into this process and returns its token.

Templates call a scoring UDF as `name(token, [values])`: the model's scorer lives in this
process's cache under the random `token` its `state` holds (`_ml.models.state`). The Engine
(`prepare`) and dbt (macros/ml_functions/_ml_local_udfs_ready.sql) load it before a template that
names the token runs, so a new process uses a stored model as well as the one that trained it.
`register` puts the UDFs on a connection: the Engine's, and dbt's through the ml.dbt_plugin
plugin. Each call gets a whole DuckDB vector: one booster or torch call per vector, never a
Python loop per row.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import duckdb
import pyarrow as pa

from ml.compile.layers import UDF_VARIANT
from ml.engine.store import SCHEMA
from ml.model_types import catalog
from ml.model_types.model_type import ModelType, ScalarUDF
from ml.names import ModelName

LOAD_UDF = "__ml_load_model"
# Every scoring UDF a model type's templates may call, by name.
SCORING_UDFS: dict[str, ScalarUDF] = {
    udf.name: udf for kind in catalog.MODEL_TYPES.values() for udf in kind.udfs
}
# token -> the scorer (xgboost Booster, DNN network) that templates name by it.
_SCORERS: dict[str, Any] = {}


def uses_udfs(template: str) -> bool:
    """Whether a template calls a UDF that needs its model loaded in this process."""
    return any(f"{name}(" in template for name in SCORING_UDFS)


def load(kind: ModelType, state: dict[str, Any], scorer: Any = None) -> str:
    """Cache the scorer of a stored model of type `kind` under its token (`scorer` when the caller
    has it loaded already, else rebuilt from `state`); returns the token."""
    token = state["token"]
    if token not in _SCORERS:
        _SCORERS[token] = scorer if scorer is not None else kind.load_scorer(state)
    return token


def _scoring(udf: ScalarUDF) -> Callable[[pa.Array, pa.Array], pa.Array]:
    """The Arrow function DuckDB calls: the vector's token (one model per query) to its scorer."""

    def score(tokens: pa.Array, values: pa.Array) -> pa.Array:
        return udf.function(_SCORERS[tokens[0].as_py()], values)

    return score


def _load_model(model_types: pa.Array, states: pa.Array) -> pa.Array:
    tokens = [
        load(catalog.model_type(kind), json.loads(text))
        for kind, text in zip(model_types.to_pylist(), states.to_pylist(), strict=True)
    ]
    return pa.array(tokens, pa.string())


def register(con: duckdb.DuckDBPyConnection) -> None:
    """Register the UDFs on `con` (once each)."""
    names = [*SCORING_UDFS, LOAD_UDF]
    registered = {
        row[0]
        for row in con.execute(
            f"SELECT function_name FROM duckdb_functions() WHERE function_name IN "
            f"({', '.join('?' for _ in names)})",
            names,
        ).fetchall()
    }
    for name, udf in SCORING_UDFS.items():
        if name not in registered:
            scorer = _scoring(udf)
            con.create_function(
                name, scorer, ["VARCHAR", udf.takes], udf.returns, type="arrow", side_effects=False
            )
    if LOAD_UDF not in registered:
        # side effects: it fills this process's cache, so DuckDB must call it, never fold it away.
        con.create_function(
            LOAD_UDF, _load_model, ["VARCHAR", "VARCHAR"], "VARCHAR", type="arrow", side_effects=True
        )


def prepare(
    con: duckdb.DuckDBPyConnection, name: ModelName, function: str, has_input: bool, template: str
) -> str:
    """The template to run for an ML function: the `<function>_udf` variant when the model has
    one, with the UDFs and the booster or network made ready; `template` otherwise."""
    variant = con.execute(
        f"SELECT sql_template FROM {SCHEMA}.model_functions "
        "WHERE dataset = ? AND model = ? AND function = ? AND has_input = ?",
        [name.dataset, name.model, UDF_VARIANT.format(function), has_input],
    ).fetchall()
    if variant:
        template = variant[0][0]
    if not uses_udfs(template):
        return template
    register(con)
    token = con.execute(
        f"SELECT state->>'token' FROM {SCHEMA}.models WHERE dataset = ? AND model = ?",
        [name.dataset, name.model],
    ).fetchall()[0][0]
    if token not in _SCORERS:
        con.execute(
            f"SELECT {LOAD_UDF}(model_type, CAST(state AS VARCHAR)) FROM {SCHEMA}.models "
            "WHERE dataset = ? AND model = ?",
            [name.dataset, name.model],
        ).fetchall()
    return template
