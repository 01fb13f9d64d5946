"""Prediction benchmark: ML.PREDICT of a linear_reg model vs the same arithmetic written by hand.

Both queries aggregate the prediction (sum and count) so the measure is the scoring itself, not
result transfer; the hand-written side uses the weights ML.WEIGHTS reports. Usage:

    .venv/bin/python benchmarks/bench_engine_predict.py [--rows 10000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine_data import create_table

from ml import Engine
from ml.literals import float_literal, sql_literal
from ml.names import quote_ident

TRAINING_ROWS = 200_000


def hand_written(engine: Engine) -> str:
    """b + sum(w * x) + CASE per string column, straight from ML.WEIGHTS."""
    terms = []
    for row in engine.execute("SELECT * FROM ML.WEIGHTS(MODEL bench.model)").to_pylist():
        if row["processed_input"] == "__INTERCEPT__":
            terms.insert(0, float_literal(row["weight"]))
        elif row["category_weights"]:
            cases = " ".join(
                f"WHEN {sql_literal(c['category'])} THEN {float_literal(c['weight'])}"
                for c in row["category_weights"]
            )
            terms.append(f"CASE {quote_ident(row['processed_input'])} {cases} ELSE 0e0 END")
        else:
            terms.append(f"{float_literal(row['weight'])} * {quote_ident(row['processed_input'])}")
    return f"SELECT sum({' + '.join(terms)}), count(*) FROM bench.data"


def best_time(con: duckdb.DuckDBPyConnection, sql: str, repeat: int) -> tuple[float, tuple]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = con.execute(sql).fetchall()[0]
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows to score")
    parser.add_argument("--repeat", type=int, default=3, help="runs per side (best is kept)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, duckdb.connect(str(Path(tmp) / "warehouse.duckdb")) as con:
        create_table(con, args.rows)
        engine = Engine(con)
        engine.execute(
            "CREATE MODEL bench.model OPTIONS (model_type = 'linear_reg', input_label_cols = ['label']) "
            f"AS SELECT * FROM bench.data LIMIT {TRAINING_ROWS}"
        )
        ours = engine.translate(
            "SELECT sum(predicted_label), count(*) FROM ML.PREDICT(MODEL bench.model, TABLE bench.data)"
        )
        engine_seconds, engine_result = best_time(con, ours, args.repeat)
        hand_seconds, hand_result = best_time(con, hand_written(engine), args.repeat)
    assert engine_result[1] == hand_result[1] == args.rows
    assert abs(engine_result[0] - hand_result[0]) <= 1e-6 * abs(hand_result[0])
    print(f"rows: {args.rows:,}  (best of {args.repeat})")
    print(f"{'side':<30}{'time (s)':>10}{'rows/s':>14}")
    print(f"{'ML.PREDICT (engine)':<30}{engine_seconds:>10.3f}{args.rows / engine_seconds:>14,.0f}")
    print(f"{'hand-written DuckDB SQL':<30}{hand_seconds:>10.3f}{args.rows / hand_seconds:>14,.0f}")
    print(f"throughput ratio (engine / hand-written): {hand_seconds / engine_seconds:.2f}x")


if __name__ == "__main__":
    main()
