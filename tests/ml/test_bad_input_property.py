"""Property: whatever finite, non-finite, NULL or extreme values a feature column holds, CREATE OR
REPLACE MODEL either stores a model whose predictions are all finite, or fails with the engine's
one-line error and leaves the previous model predicting exactly as before. For each model type."""

from __future__ import annotations

import json
import math

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml import Engine, MLError

# Options of each model type (label `y` numeric, `c` a class); small, so each example trains fast.
MODEL_TYPES = {
    "linear_reg": "input_label_cols = ['y']",
    "logistic_reg": "input_label_cols = ['c']",
    "kmeans": "num_clusters = 2",
    "boosted_tree_regressor": "input_label_cols = ['y'], max_iterations = 2",
    "boosted_tree_classifier": "input_label_cols = ['c'], max_iterations = 2",
    "random_forest_regressor": "input_label_cols = ['y'], num_parallel_tree = 3",
    "dnn_regressor": "input_label_cols = ['y'], hidden_units = [3], max_iterations = 2",
    "dnn_classifier": "input_label_cols = ['c'], hidden_units = [3], max_iterations = 2",
    "pca": "num_principal_components = 1",
}
REFERENCE = pa.table({"a": [0.5, 1.5, 2.5, 3.5], "b": [1.0, 2.0, 1.0, 0.0]})
values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.none(),
    st.sampled_from([1e306, -1e306, 3.5e38, -3e38, 1e-300, 0.0]),
    st.floats(min_value=-1e3, max_value=1e3),
)


def training_table(a: list[float | None], b: list[float]) -> pa.Table:
    n = len(a)
    return pa.table(
        {
            "a": pa.array(a, pa.float64()),
            "b": pa.array(b, pa.float64()),
            "y": [float(i % 5) + 0.5 * i for i in range(n)],
            "c": ["p" if i % 2 else "q" for i in range(n)],
        }
    )


def load(engine: Engine, name: str, table: pa.Table) -> None:
    engine.con.register("__rows", table)
    engine.con.execute(f"CREATE OR REPLACE TABLE raw.{name} AS SELECT * FROM __rows")
    engine.con.unregister("__rows")


def create(engine: Engine, model_type: str, table: str) -> None:
    options = MODEL_TYPES[model_type]
    label = "y" if "'y'" in options else "c" if "'c'" in options else None
    columns = ", ".join(["a", "b", *([label] if label else [])])
    engine.execute(
        f"CREATE OR REPLACE MODEL demo.m OPTIONS (model_type = '{model_type}', {options}) AS "
        f"SELECT {columns} FROM {table}"
    )


def predictions(engine: Engine) -> list[dict]:
    return engine.execute("SELECT * FROM ML.PREDICT(MODEL demo.m, TABLE raw.reference)").to_pylist()


def numbers(value: object) -> list[float]:
    """Every number inside a prediction output (lists and structs of probabilities included)."""
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, int | float):
        return [float(value)]
    if isinstance(value, dict):
        return [x for v in value.values() for x in numbers(v)]
    if isinstance(value, list):
        return [x for v in value for x in numbers(v)]
    return []


@pytest.fixture(scope="module")
def engine() -> Engine:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw")
    engine = Engine(con)
    load(engine, "reference", REFERENCE)
    return engine


@pytest.mark.parametrize("model_type", sorted(MODEL_TYPES))
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_model_is_finite_or_refused_and_the_previous_stays(
    engine: Engine, model_type: str, data: st.DataObject
) -> None:
    rows = data.draw(st.integers(min_value=12, max_value=40))
    a = data.draw(st.lists(values, min_size=rows, max_size=rows))
    b = data.draw(st.lists(st.floats(min_value=-10, max_value=10), min_size=rows, max_size=rows))
    load(engine, "good", training_table([float(i) for i in range(rows)], [float(i % 3) for i in range(rows)]))
    create(engine, model_type, "raw.good")
    before = json.dumps(predictions(engine), sort_keys=True, default=str)
    load(engine, "candidate", training_table(a, b))
    try:
        create(engine, model_type, "raw.candidate")
    except MLError as exc:
        assert "\n" not in str(exc) and str(exc)
        assert json.dumps(predictions(engine), sort_keys=True, default=str) == before
        return
    outputs = [{k: v for k, v in r.items() if k not in REFERENCE.column_names} for r in predictions(engine)]
    assert all(math.isfinite(x) for row in outputs for x in numbers(row)), outputs
