"""Vectorised Arrow UDFs that run a tree model's XGBoost booster inside DuckDB queries.

- `__ml_tree_shap(token, [features])`: exact tree SHAP (XGBoost `pred_contribs`) for
  ML.EXPLAIN_PREDICT; tree SHAP has no closed form in SQL.
- `__ml_tree_margin_<n>(token, x1, ..., xn)`: the margin of a single-output tree model (regressor,
  binary classifier). The stored `predict` template of a tree model is pure SQL (nested CASE, so
  dbt and any bare DuckDB connection predict); the Engine prefers the `<function>_udf` templates
  (predict, evaluate, confusion_matrix, roc_curve), the same outputs with the margin from this UDF,
  because XGBoost scores trees ~15x faster than DuckDB evaluates nested CASE expressions.

Both take whole Arrow batches (one XGBoost call per DuckDB vector, never a Python loop per row).
The booster lives in `_ml.models.state` (UBJSON, base64) under a random `token`; `prepare` loads it
into this process's cache and registers the UDFs before a template that calls them runs, so a new
process uses a stored model as well as the one that trained it.
"""

from __future__ import annotations

import base64
import inspect
import re
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from ml.catalog import SCHEMA
from ml.compile.explain import UDF as SHAP_UDF
from ml.compile.trees import MARGIN_UDF
from ml.names import ModelName

_MARGIN_CALL = re.compile(r"__ml_tree_margin_(\d+)\(")
_BOOSTERS: dict[str, Any] = {}


def load(token: str, booster_b64: str) -> None:
    """Cache the booster that templates name by `token`."""
    if token not in _BOOSTERS:
        import xgboost as xgb

        booster = xgb.Booster()
        booster.load_model(bytearray(base64.b64decode(booster_b64)))
        _BOOSTERS[token] = booster


def _tree_shap(tokens: pa.Array, features: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Per row: SHAP values of every feature then the bias, for every output (class) in turn."""
    import xgboost as xgb

    booster = _BOOSTERS[tokens[0].as_py()]
    if isinstance(features, pa.ChunkedArray):
        features = features.combine_chunks()
    flat = features.flatten().to_numpy(zero_copy_only=False).astype(np.float32)
    X = flat.reshape(len(features), -1)
    contributions = booster.predict(xgb.DMatrix(X, missing=np.nan), pred_contribs=True)
    rows = contributions.reshape(len(features), -1).astype(np.float64)
    offsets = np.arange(0, rows.size + 1, rows.shape[1], dtype=np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(rows.reshape(-1)))


def _tree_margin(tokens: pa.Array, *columns: pa.Array) -> pa.Array:
    booster = _BOOSTERS[tokens[0].as_py()]
    X = np.empty((len(tokens), len(columns)), dtype=np.float32)
    for j, column in enumerate(columns):
        X[:, j] = column.to_numpy(zero_copy_only=False)
    return pa.array(booster.inplace_predict(X, predict_type="margin", missing=np.nan).astype(np.float64))


def _registered(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        con.execute("SELECT count(*) FROM duckdb_functions() WHERE function_name = ?", [name]).fetchall()[0][
            0
        ]
    )


def register(con: duckdb.DuckDBPyConnection, margin_arity: int | None = None) -> None:
    """Register the SHAP UDF and, for `margin_arity` features, the margin UDF on `con` (once)."""
    if not _registered(con, SHAP_UDF):
        con.create_function(
            SHAP_UDF, _tree_shap, ["VARCHAR", "DOUBLE[]"], "DOUBLE[]", type="arrow", side_effects=False
        )
    name = MARGIN_UDF.format(margin_arity)
    if margin_arity is not None and not _registered(con, name):
        # DuckDB reads the arity off the signature: give the variadic function a fixed one.
        def margin(*args: pa.Array) -> pa.Array:
            return _tree_margin(*args)

        positional = inspect.Parameter.POSITIONAL_ONLY
        margin.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter(f"a{i}", positional) for i in range(margin_arity + 1)]
        )
        con.create_function(
            name,
            margin,
            ["VARCHAR"] + ["DOUBLE"] * margin_arity,
            "DOUBLE",
            type="arrow",
            side_effects=False,
            # NULL features are XGBoost's missing values, not a reason for a NULL prediction.
            null_handling="special",
        )


def prepare(
    con: duckdb.DuckDBPyConnection, name: ModelName, function: str, has_input: bool, template: str
) -> str:
    """The template to run for an ML function: the `<function>_udf` variant when the model has
    one, with its UDFs and booster made ready; `template` otherwise."""
    variant = con.execute(
        f"SELECT sql_template FROM {SCHEMA}.model_functions "
        "WHERE dataset = ? AND model = ? AND function = ? AND has_input = ?",
        [name.dataset, name.model, f"{function}_udf", has_input],
    ).fetchall()
    if variant:
        template = variant[0][0]
    if SHAP_UDF not in template and not _MARGIN_CALL.search(template):
        return template
    token, booster = con.execute(
        f"SELECT state->>'token', state->>'booster' FROM {SCHEMA}.models WHERE dataset = ? AND model = ?",
        [name.dataset, name.model],
    ).fetchall()[0]
    load(token, booster)
    arity = _MARGIN_CALL.search(template)
    register(con, int(arity.group(1)) if arity else None)
    return template
