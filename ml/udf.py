"""Vectorised Arrow UDFs that run a tree model's XGBoost booster or a DNN inside DuckDB queries.

- `__ml_tree_shap(token, [features])`: exact tree SHAP (XGBoost `pred_contribs`) for
  ML.EXPLAIN_PREDICT; tree SHAP has no closed form in SQL.
- `__ml_tree_margin(token, [features])`: the margin of a single-output tree model (regressor,
  binary classifier). The stored `predict` template of a tree model is pure SQL (nested CASE, so
  any bare DuckDB connection predicts); the `<function>_udf` templates (predict, evaluate,
  confusion_matrix, roc_curve) give the same outputs with the margin from this UDF, because
  XGBoost scores trees ~15x faster than DuckDB evaluates nested CASE expressions.
- `__ml_dnn_forward(token, [inputs])`: a DNN's outputs (regression value or logits) as a list,
  from its first-layer inputs (standardized numerics, then each categorical feature's 1-based
  category index, 0 when unseen). The DNN's `<function>_udf` templates use it for the same
  reason: one matrix product per layer and vector instead of ~1,000 scalar SQL expressions.
- `__ml_load_model(state)`: loads the booster or network of a model's stored `state` JSON into
  this process and returns its token. dbt calls it (macros/ml_functions/_ml_local_udfs_ready.sql)
  before it runs a template that names the token.

All take whole Arrow batches (one XGBoost or torch call per DuckDB vector, never a Python loop per
row). The booster or network lives in `_ml.models.state` under a random `token`; the Engine
(`prepare`) and dbt load it into this process's cache before a template that calls them runs, so
a new process uses a stored model as well as the one that trained it. `register` puts the UDFs on
a connection: the Engine's, and dbt's through the ml.dbt_plugin plugin.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from ml.catalog import SCHEMA
from ml.compile.dnn import FORWARD_UDF
from ml.compile.explain import UDF as SHAP_UDF
from ml.compile.layers import Scoring
from ml.compile.trees import MARGIN_UDF
from ml.names import ModelName

LOAD_UDF = "__ml_load_model"
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


def uses_udfs(template: str) -> bool:
    """Whether a template calls a UDF that needs its model loaded in this process."""
    return any(f"{name}(" in template for name in (SHAP_UDF, MARGIN_UDF, FORWARD_UDF))


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


def _rows(lists: pa.Array | pa.ChunkedArray, dtype: type) -> np.ndarray:
    """Equal-length lists as a matrix, one row per list (NULL elements become NaN)."""
    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks()
    flat = lists.flatten().to_numpy(zero_copy_only=False).astype(dtype)
    return flat.reshape(len(lists), -1)


def _list_array(rows: np.ndarray) -> pa.Array:
    rows = rows.astype(np.float64)
    offsets = np.arange(0, rows.size + 1, rows.shape[1], dtype=np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(rows.reshape(-1)))


def _tree_shap(tokens: pa.Array, features: pa.Array) -> pa.Array:
    """Per row: SHAP values of every feature then the bias, for every output (class) in turn."""
    import xgboost as xgb

    booster = _SCORERS[tokens[0].as_py()]
    X = _rows(features, np.float32)
    contributions = booster.predict(xgb.DMatrix(X, missing=np.nan), pred_contribs=True)
    return _list_array(contributions.reshape(len(X), -1))


def _tree_margin(tokens: pa.Array, features: pa.Array) -> pa.Array:
    booster = _SCORERS[tokens[0].as_py()]
    margin = booster.inplace_predict(_rows(features, np.float32), predict_type="margin", missing=np.nan)
    return pa.array(margin.astype(np.float64))


def _dnn_forward(tokens: pa.Array, inputs: pa.Array) -> pa.Array:
    return _list_array(_SCORERS[tokens[0].as_py()].outputs(_rows(inputs, np.float64)))


def _load_model(states: pa.Array) -> pa.Array:
    tokens = []
    for text in states.to_pylist():
        state = json.loads(text)
        load(state["token"], state)
        tokens.append(state["token"])
    return pa.array(tokens, pa.string())


def register(con: duckdb.DuckDBPyConnection) -> None:
    """Register the UDFs on `con` (once each)."""
    registered = {
        row[0]
        for row in con.execute(
            "SELECT function_name FROM duckdb_functions() WHERE function_name IN (?, ?, ?, ?)",
            [SHAP_UDF, MARGIN_UDF, FORWARD_UDF, LOAD_UDF],
        ).fetchall()
    }
    udfs = [
        (SHAP_UDF, _tree_shap, ["VARCHAR", "DOUBLE[]"], "DOUBLE[]"),
        (MARGIN_UDF, _tree_margin, ["VARCHAR", "DOUBLE[]"], "DOUBLE"),
        (FORWARD_UDF, _dnn_forward, ["VARCHAR", "DOUBLE[]"], "DOUBLE[]"),
    ]
    for name, function, parameters, returns in udfs:
        if name not in registered:
            con.create_function(name, function, parameters, returns, type="arrow", side_effects=False)
    if LOAD_UDF not in registered:
        # side effects: it fills this process's cache, so DuckDB must call it, never fold it away.
        con.create_function(LOAD_UDF, _load_model, ["VARCHAR"], "VARCHAR", type="arrow", side_effects=True)


def variants(fast: Scoring, evaluation: dict[str, str]) -> dict[str, str]:
    """The `<function>_udf` templates of a scoring whose model runs in one of these UDFs."""
    return {f"{name}_udf": sql for name, sql in {"predict": fast.predict_sql(), **evaluation}.items()}


def prepare(
    con: duckdb.DuckDBPyConnection, name: ModelName, function: str, has_input: bool, template: str
) -> str:
    """The template to run for an ML function: the `<function>_udf` variant when the model has
    one, with the UDFs and the booster or network made ready; `template` otherwise."""
    variant = con.execute(
        f"SELECT sql_template FROM {SCHEMA}.model_functions "
        "WHERE dataset = ? AND model = ? AND function = ? AND has_input = ?",
        [name.dataset, name.model, f"{function}_udf", has_input],
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
            f"SELECT {LOAD_UDF}(CAST(state AS VARCHAR)) FROM {SCHEMA}.models WHERE dataset = ? AND model = ?",
            [name.dataset, name.model],
        ).fetchall()
    return template
