"""Wall time of `dbt build` on the local target: a full build on a fresh warehouse, then a rebuild
with nothing changed, and where the time goes.

    .venv/bin/python benchmarks/bench_dbt_build.py --repeat 3

Each repetition builds into a fresh DuckDB file of its own (ANALYTICS_ML_DUCKDB) and target folder,
so the developer's build/analytics_ml.duckdb is never touched. The split per build:
  - engine: the local BigQuery ML engine training models, the seconds each bqml_model node reports
    in its adapter response ("trained (...) in 1.23s", timed around the in-process engine call);
  - retrain checks: the rest of the bqml_model nodes' execute time (validating the config,
    fingerprinting the training data, reading and writing the build state);
  - other nodes: every other node's execute time in run_results.json (seeds, views, marts whose
    ML.* calls run as DuckDB SQL compiled by the engine, tests);
  - dbt itself: the rest of the wall time (start-up, parsing, compiling, scheduling, hooks).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DBT = Path(sys.executable).with_name("dbt")
PARTS = ("engine", "retrain_checks", "other_nodes", "dbt")
TRAINED = re.compile(r"^trained \(.*\) in ([0-9.]+)s$")


def build(database: Path, target_path: Path, exclude: list[str]) -> dict[str, float]:
    """One `dbt build`; its wall time and how that time splits."""
    command = [str(DBT), "build", "--project-dir", str(ROOT), "--profiles-dir", str(ROOT),
               "--target", "local", "--target-path", str(target_path)]
    if exclude:
        command += ["--exclude", *exclude]
    env = {**os.environ, "ANALYTICS_ML_DUCKDB": str(database), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"dbt build failed:\n{completed.stdout[-4000:]}{completed.stderr[-2000:]}")
    results = json.loads((target_path / "run_results.json").read_text())["results"]
    split = {"engine": 0.0, "retrain_checks": 0.0, "other_nodes": 0.0}
    trained = 0
    for result in results:
        execute = sum(_seconds(t) for t in result["timing"] if t["name"] == "execute")
        match = TRAINED.match(result.get("message") or "")
        engine = float(match.group(1)) if match else 0.0
        trained += bool(match)
        is_ml_model = result.get("adapter_response", {}).get("code") in ("TRAINED", "SKIPPED")
        split["engine"] += engine
        split["retrain_checks" if is_ml_model else "other_nodes"] += max(execute - engine, 0.0)
    return {"wall": wall, **split, "dbt": max(wall - sum(split.values()), 0.0), "trained": trained}


def _seconds(timing: dict[str, str]) -> float:
    started, completed = (datetime.fromisoformat(timing[key]) for key in ("started_at", "completed_at"))
    return (completed - started).total_seconds()


def summarize(label: str, runs: list[dict[str, float]]) -> str:
    wall = statistics.median(r["wall"] for r in runs)
    parts = {k: statistics.median(r[k] for r in runs) for k in PARTS}
    shares = ", ".join(f"{k.replace('_', ' ')} {v:.2f} s ({100 * v / wall:.0f} %)" for k, v in parts.items())
    walls = ", ".join(f"{r['wall']:.2f}" for r in runs)
    return f"| {label} | {wall:.2f} s | {int(runs[0]['trained'])} | {shares} | {walls} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="fresh warehouses built (median reported)")
    parser.add_argument("--exclude", nargs="*", default=["digit_predictions"],
                        help="nodes left out (the CNN remote-function mart needs its model server)")
    args = parser.parse_args(argv)
    full, again = [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as scratch:
            database = Path(scratch) / "bench.duckdb"
            full.append(build(database, Path(scratch) / "target", args.exclude))
            again.append(build(database, Path(scratch) / "target", args.exclude))
    print("| build | wall (median) | models trained | split (median) | walls |")
    print("|---|---|---|---|---|")
    print(summarize("full build, fresh warehouse", full))
    print(summarize("rebuild, nothing changed", again))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
