"""Training benchmark: CREATE MODEL linear_reg in DuckDB vs pandas fetch + scikit-learn.

Each side runs in its own process on the same DuckDB file, so peak memory (ru_maxrss of that
process) and wall time are measured independently. Usage:

    .venv/bin/python benchmarks/bench_engine_train.py [--rows 2000000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine_data import NUMERIC, STRINGS, create_table

ROOT = Path(__file__).resolve().parents[1]

ENGINE_SIDE = """
import duckdb, json, sys, time
from ml import Engine
con = duckdb.connect(sys.argv[1])
started = time.perf_counter()
Engine(con).execute("CREATE OR REPLACE MODEL bench.model OPTIONS (model_type = 'linear_reg', "
                    "input_label_cols = ['label']) AS SELECT * FROM bench.data")
print(json.dumps({"seconds": time.perf_counter() - started}))
"""

SKLEARN_SIDE = """
import duckdb, json, sys, time
import numpy as np
from sklearn.linear_model import LinearRegression
from sklearn.preprocessing import OneHotEncoder
numeric, strings = json.loads(sys.argv[2]), json.loads(sys.argv[3])
con = duckdb.connect(sys.argv[1], read_only=True)
started = time.perf_counter()
frame = con.execute("SELECT * FROM bench.data").df()
onehot = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit_transform(frame[strings])
X = np.hstack([frame[numeric].to_numpy(dtype=float), onehot])
LinearRegression().fit(X, frame["label"].to_numpy(dtype=float))
print(json.dumps({"seconds": time.perf_counter() - started}))
"""


def run_side(code: str, *args: str) -> dict[str, float]:
    """Run one side in a fresh interpreter; its wall time (inside) and peak RSS in MiB."""
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, cwd=ROOT, text=True
    )
    _, status, usage = os.wait4(process.pid, 0)
    output = process.stdout.read()
    if status != 0:
        raise SystemExit(f"benchmark side failed with status {status}")
    # DuckDB may draw a progress bar on stdout for long queries: the result is the last line.
    return {**json.loads(output.strip().splitlines()[-1]), "peak_mib": usage.ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=2_000_000, help="training rows")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database = str(Path(tmp) / "warehouse.duckdb")
        with duckdb.connect(database) as con:
            create_table(con, args.rows)
        sklearn = run_side(SKLEARN_SIDE, database, json.dumps(NUMERIC), json.dumps(list(STRINGS)))
        engine = run_side(ENGINE_SIDE, database)
    print(f"rows: {args.rows:,}  features: {len(NUMERIC)} numeric + {len(STRINGS)} string")
    print(f"{'side':<34}{'time (s)':>10}{'peak RSS (MiB)':>16}")
    print(f"{'engine CREATE MODEL linear_reg':<34}{engine['seconds']:>10.2f}{engine['peak_mib']:>16.0f}")
    print(f"{'pandas + sklearn one-hot + OLS':<34}{sklearn['seconds']:>10.2f}{sklearn['peak_mib']:>16.0f}")
    print(
        f"time ratio (engine / sklearn): {engine['seconds'] / sklearn['seconds']:.2f}x   "
        f"peak memory ratio: {engine['peak_mib'] / sklearn['peak_mib']:.2f}x"
    )


if __name__ == "__main__":
    main()
