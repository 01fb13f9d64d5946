"""Vectorised Arrow UDFs that run a tree model's XGBoost booster or a DNN inside DuckDB queries.

- `__ml_tree_shap(token, [features])`: exact tree SHAP (XGBoost `pred_contribs`) for
  ML.EXPLAIN_PREDICT; tree SHAP has no closed form in SQL.
- `__ml_tree_margin_<n>(token, x1, ..., xn)`: the margin of a single-output tree model (regressor,
  binary classifier). The stored `predict` template of a tree model is pure SQL (nested CASE, so
  dbt and any bare DuckDB connection predict); the Engine prefers the `<function>_udf` templates
  (predict, evaluate, confusion_matrix, roc_curve), the same outputs with the margin from this UDF,
  because XGBoost scores trees ~15x faster than DuckDB evaluates nested CASE expressions.
- `__ml_dnn_forward_<n>(token, x1, ..., xn)`: a DNN's outputs (regression value or logits) as a
  list, from its n first-layer inputs (standardized numerics, then each categorical feature's
  1-based category index, 0 when unseen). The DNN's `<function>_udf` templates use it for the
  same reason: one matrix product per layer and vector instead of ~1,000 scalar SQL expressions.

All take whole Arrow batches (one XGBoost or torch call per DuckDB vector, never a Python loop per
row). The booster or network lives in `_ml.models.state` under a random `token`; `prepare` loads it
into this process's cache and registers the UDFs before a template that calls them runs, so a new
process uses a stored model as well as the one that trained it.
"""

from __future__ import annotations

import base64
import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from ml.catalog import SCHEMA
from ml.compile.explain import UDF as SHAP_UDF
from ml.compile.layers import Scoring
from ml.names import ModelName

_ARITY_CALL = re.compile(r"(__ml_tree_margin|__ml_dnn_forward)_(\d+)\(")
# token -> the xgboost Booster or StoredNetwork that templates name by it.
_SCORERS: dict[str, Any] = {}


@dataclass
class StoredNetwork:
    """A DNN's inference network and the layout of its first-layer inputs."""

    network: Any  # torch.nn.Sequential, float64
    numeric_inputs: int
    category_blocks: list[int]  # per categorical feature, how many one-hot columns it has

    @property
    def width(self) -> int:
        return self.numeric_inputs + sum(self.category_blocks)

    def design(self, inputs: np.ndarray) -> np.ndarray:
        """The one-hot design matrix from numerics then 1-based category indices (0: unseen)."""
        X = np.zeros((len(inputs), self.width))
        X[:, : self.numeric_inputs] = inputs[:, : self.numeric_inputs]
        offset = self.numeric_inputs
        for k, size in enumerate(self.category_blocks):
            index = inputs[:, self.numeric_inputs + k].astype(np.int64)
            rows = np.nonzero(index > 0)[0]
            X[rows, offset + index[rows] - 1] = 1.0
            offset += size
        return X

    def outputs(self, inputs: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.network(torch.from_numpy(self.design(inputs))).numpy()


def load(token: str, state: dict[str, Any]) -> None:
    """Cache the booster (tree models) or network (DNNs) of a model's stored `state` by `token`."""
    if token in _SCORERS:
        return
    if "booster" in state:
        import xgboost as xgb

        booster = xgb.Booster()
        booster.load_model(bytearray(base64.b64decode(state["booster"])))
        _SCORERS[token] = booster
    else:
        from ml.models.dnn import stored_network

        _SCORERS[token] = StoredNetwork(
            stored_network(state["layers"], state["activation_fn"]),
            state["numeric_inputs"],
            state["category_blocks"],
        )


def _matrix(columns: tuple[pa.Array, ...], dtype: type) -> np.ndarray:
    X = np.empty((len(columns[0]), len(columns)), dtype=dtype)
    for j, column in enumerate(columns):
        X[:, j] = column.to_numpy(zero_copy_only=False)
    return X


def _tree_shap(tokens: pa.Array, features: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Per row: SHAP values of every feature then the bias, for every output (class) in turn."""
    import xgboost as xgb

    booster = _SCORERS[tokens[0].as_py()]
    if isinstance(features, pa.ChunkedArray):
        features = features.combine_chunks()
    flat = features.flatten().to_numpy(zero_copy_only=False).astype(np.float32)
    X = flat.reshape(len(features), -1)
    contributions = booster.predict(xgb.DMatrix(X, missing=np.nan), pred_contribs=True)
    return _list_array(contributions.reshape(len(features), -1))


def _list_array(rows: np.ndarray) -> pa.Array:
    rows = rows.astype(np.float64)
    offsets = np.arange(0, rows.size + 1, rows.shape[1], dtype=np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(rows.reshape(-1)))


def _tree_margin(tokens: pa.Array, *columns: pa.Array) -> pa.Array:
    booster = _SCORERS[tokens[0].as_py()]
    margin = booster.inplace_predict(_matrix(columns, np.float32), predict_type="margin", missing=np.nan)
    return pa.array(margin.astype(np.float64))


def _dnn_forward(tokens: pa.Array, *columns: pa.Array) -> pa.Array:
    return _list_array(_SCORERS[tokens[0].as_py()].outputs(_matrix(columns, np.float64)))


def _registered(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        con.execute("SELECT count(*) FROM duckdb_functions() WHERE function_name = ?", [name]).fetchall()[0][
            0
        ]
    )


def _register_fixed_arity(
    con: duckdb.DuckDBPyConnection,
    name: str,
    function: Callable[..., pa.Array],
    arity: int,
    return_type: str,
    null_handling: str = "default",
) -> None:
    """Register variadic `function(token, x1, ..., x<arity>)`; DuckDB reads the arity off the
    signature, so the registered callable gets a fixed one."""

    def fixed(*args: pa.Array) -> pa.Array:
        return function(*args)

    positional = inspect.Parameter.POSITIONAL_ONLY
    fixed.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(f"a{i}", positional) for i in range(arity + 1)]
    )
    con.create_function(
        name,
        fixed,
        ["VARCHAR"] + ["DOUBLE"] * arity,
        return_type,
        type="arrow",
        side_effects=False,
        null_handling=null_handling,
    )


def register(con: duckdb.DuckDBPyConnection, template: str = "") -> None:
    """Register on `con` (once each) the SHAP UDF and the fixed-arity UDFs `template` calls."""
    if not _registered(con, SHAP_UDF):
        con.create_function(
            SHAP_UDF, _tree_shap, ["VARCHAR", "DOUBLE[]"], "DOUBLE[]", type="arrow", side_effects=False
        )
    for kind, arity in {(m.group(1), int(m.group(2))) for m in _ARITY_CALL.finditer(template)}:
        name = f"{kind}_{arity}"
        if _registered(con, name):
            continue
        if kind == "__ml_dnn_forward":
            _register_fixed_arity(con, name, _dnn_forward, arity, "DOUBLE[]")
        else:
            # NULL features are XGBoost's missing values, not a reason for a NULL prediction.
            _register_fixed_arity(con, name, _tree_margin, arity, "DOUBLE", null_handling="special")


def variants(fast: Scoring, evaluation: dict[str, str]) -> dict[str, str]:
    """The `<function>_udf` templates of a scoring whose model runs in one of these UDFs."""
    return {f"{name}_udf": sql for name, sql in {"predict": fast.predict_sql(), **evaluation}.items()}


def prepare(
    con: duckdb.DuckDBPyConnection, name: ModelName, function: str, has_input: bool, template: str
) -> str:
    """The template to run for an ML function: the `<function>_udf` variant when the model has
    one, with its UDFs and booster or network made ready; `template` otherwise."""
    variant = con.execute(
        f"SELECT sql_template FROM {SCHEMA}.model_functions "
        "WHERE dataset = ? AND model = ? AND function = ? AND has_input = ?",
        [name.dataset, name.model, f"{function}_udf", has_input],
    ).fetchall()
    if variant:
        template = variant[0][0]
    if SHAP_UDF not in template and not _ARITY_CALL.search(template):
        return template
    token = con.execute(
        f"SELECT state->>'token' FROM {SCHEMA}.models WHERE dataset = ? AND model = ?",
        [name.dataset, name.model],
    ).fetchall()[0][0]
    if token not in _SCORERS:
        state = con.execute(
            f"SELECT state FROM {SCHEMA}.models WHERE dataset = ? AND model = ?", [name.dataset, name.model]
        ).fetchall()[0][0]
        load(token, json.loads(state))
    register(con, template)
    return template
