"""boosted_tree_regressor benchmark: the engine vs XGBoost used directly, on the same data, same run.

Training: `CREATE MODEL ... boosted_tree_regressor` (NO_SPLIT, early_stop FALSE, so both sides grow
exactly max_iterations rounds) vs the same XGBoost parameters on the same label-encoded matrix,
fetched from the same DuckDB table (timed with and without that fetch). Prediction: ML.PREDICT
(the Engine's `predict_udf` template: features encoded in DuckDB SQL, the margin from the booster in
the `__ml_tree_margin` Arrow UDF; `sum()` of the prediction so scoring is measured, not result
transfer) vs `Booster.inplace_predict` on the matrix already in memory, and the stored pure-SQL
template (trees as nested CASE, run by DuckDB). Two more figures bound what
any Arrow UDF can reach: the same query with a UDF that does nothing (DuckDB's cost of handing
2048-row vectors to Python), and `inplace_predict` called once per 2048 rows. Usage:

    .venv/bin/python benchmarks/bench_engine_trees.py [--rows 1000000] [--repeat 3] [--iterations 20]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xgboost as xgb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine_data import NUMERIC, STRINGS, best_of, create_table

from ml import Engine
from ml.compile.trees import MARGIN_UDF

VECTOR_SIZE = 2048  # rows per DuckDB vector: the most a scalar UDF receives per call


def direct_matrix(con: duckdb.DuckDBPyConnection) -> tuple[np.ndarray, np.ndarray]:
    """The table as XGBoost's user would feed it: numerics as float32, strings label-encoded over
    the sorted vocabulary from 1 (BigQuery's tree encoding)."""
    table = con.sql(f"SELECT {', '.join(NUMERIC + list(STRINGS))}, label FROM bench.data").to_arrow_table()
    columns = [table.column(name).to_numpy() for name in NUMERIC]
    for name in STRINGS:
        vocabulary = pc.unique(table.column(name)).sort()
        columns.append(pc.index_in(table.column(name), value_set=vocabulary).to_numpy() + 1)
    return np.column_stack(columns).astype(np.float32), table.column("label").to_numpy()


def noop_margin(tokens: pa.Array, features: pa.Array) -> pa.Array:
    """The margin UDF's signature, no work: what remains is DuckDB's side of any Python UDF."""
    return pa.array(np.zeros(len(features)))


def per_vector(booster: xgb.Booster, X: np.ndarray) -> None:
    """XGBoost called the way a UDF calls it: once per DuckDB vector."""
    for start in range(0, len(X), VECTOR_SIZE):
        booster.inplace_predict(X[start : start + VECTOR_SIZE], predict_type="margin")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to train on and score")
    parser.add_argument("--repeat", type=int, default=3, help="runs per side (best is kept)")
    parser.add_argument("--iterations", type=int, default=20, help="boosting rounds (max_iterations)")
    args = parser.parse_args()
    params = {
        "objective": "reg:squarederror",
        "max_depth": 6,
        "eta": 0.3,
        "lambda": 1.0,
        "tree_method": "hist",
        "seed": 0,
    }
    create = (
        "CREATE OR REPLACE MODEL bench.trees OPTIONS (model_type = 'boosted_tree_regressor', "
        f"input_label_cols = ['label'], data_split_method = 'NO_SPLIT', early_stop = FALSE, "
        f"max_iterations = {args.iterations}) AS SELECT * FROM bench.data"
    )
    with tempfile.TemporaryDirectory() as tmp, duckdb.connect(str(Path(tmp) / "warehouse.duckdb")) as con:
        create_table(con, args.rows)
        engine = Engine(con)

        engine_train, _ = best_of(args.repeat, lambda: engine.execute(create))
        fetch_seconds, (X, y) = best_of(1, lambda: direct_matrix(con))

        def train_direct() -> xgb.Booster:
            return xgb.train(params, xgb.QuantileDMatrix(X, y), num_boost_round=args.iterations)

        direct_train, booster = best_of(args.repeat, train_direct)

        predict_sql = engine.translate(
            "SELECT sum(predicted_label), count(*) FROM ML.PREDICT(MODEL bench.trees, TABLE bench.data)"
        )
        engine_predict, (engine_sum, count) = best_of(
            args.repeat, lambda: con.execute(predict_sql).fetchall()[0]
        )
        direct_predict, predictions = best_of(args.repeat, lambda: booster.inplace_predict(X))
        con.create_function(
            "__bench_noop", noop_margin, ["VARCHAR", "DOUBLE[]"], "DOUBLE", type="arrow", side_effects=False
        )
        noop_sql = predict_sql.replace(f"{MARGIN_UDF}(", "__bench_noop(")
        assert noop_sql != predict_sql
        floor, _ = best_of(args.repeat, lambda: con.execute(noop_sql).fetchall())
        batched, _ = best_of(args.repeat, lambda: per_vector(booster, X))
        # The stored pure-SQL template (nested CASE per tree): what dbt runs on a bare connection.
        template = con.execute(
            "SELECT sql_template FROM _ml.model_functions WHERE model = 'trees' AND function = 'predict'"
        ).fetchall()[0][0]
        sql_only = (
            f"SELECT sum(predicted_label), count(*) FROM ({template.replace('__ML_INPUT__', 'bench.data')})"
        )
        sql_predict, (sql_sum, _) = best_of(args.repeat, lambda: con.execute(sql_only).fetchall()[0])
    assert count == args.rows
    # Same data, same parameters: the models predict the same totals (float32 leaves).
    expected = float(predictions.astype(np.float64).sum())
    for total in (engine_sum, sql_sum):
        assert abs(total - expected) <= 1e-5 * abs(total) + 1e-3 * count

    direct_with_fetch = direct_train + fetch_seconds
    print(f"rows: {args.rows:,}  boosting rounds: {args.iterations}  (best of {args.repeat})")
    print(f"{'side':<58}{'time (s)':>10}")
    print(f"{'engine CREATE MODEL (fetch, fit, compile, evaluate snapshot)':<58}{engine_train:>10.3f}")
    print(f"{'XGBoost xgb.train on the in-memory matrix':<58}{direct_train:>10.3f}")
    print(f"{'  + fetching and encoding the matrix from DuckDB':<58}{direct_with_fetch:>10.3f}")
    print(
        f"training speed ratio (XGBoost / engine): {direct_train / engine_train:.2f}x "
        f"(with fetch: {direct_with_fetch / engine_train:.2f}x)"
    )
    print(
        f"{'ML.PREDICT in DuckDB (rows/s)':<58}{args.rows / engine_predict:>14,.0f}  ({engine_predict:.3f} s)"
    )
    for side, seconds in (
        ("XGBoost inplace_predict", direct_predict),
        ("stored pure-SQL template", sql_predict),
    ):
        print(f"{side + ' (rows/s)':<58}{args.rows / seconds:>14,.0f}  ({seconds:.3f} s)")
    with_fetch = (fetch_seconds + direct_predict) / engine_predict
    print(
        f"predict throughput ratio (engine / XGBoost): {direct_predict / engine_predict:.2f}x "
        f"(XGBoost counting the fetch of the rows from DuckDB: {with_fetch:.2f}x)"
    )
    print(f"pure-SQL template throughput ratio (SQL / XGBoost): {direct_predict / sql_predict:.2f}x")
    print(f"{'the same query, a UDF that does nothing (DuckDB floor)':<58}{floor:>10.3f}")
    print(f"{f'XGBoost inplace_predict per {VECTOR_SIZE}-row vector':<58}{batched:>10.3f}")
    print(
        f"ratio a UDF that does nothing reaches: {direct_predict / floor:.2f}x; one scoring with XGBoost per "
        f"vector, were DuckDB's side and XGBoost's run one after the other: "
        f"{direct_predict / (floor + batched):.2f}x"
    )


if __name__ == "__main__":
    main()
