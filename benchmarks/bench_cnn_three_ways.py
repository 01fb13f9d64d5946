"""The digits CNN from SQL three ways, in one run, against in-process PyTorch inference.

    .venv/bin/python benchmarks/bench_cnn_three_ways.py [--rows 20000] [--append benchmarks/RESULTS.md]

The same noisy digit PNGs as bench_remote_function.py go through: in-process batched inference
(the baseline: PNG decode, preprocessing, forward pass), the remote function (SQL → Arrow UDF →
HTTP function → model server), a remote model over the same model server (ML.PREDICT → HTTP, 128
instances a request as BigQuery sends) and the exported model.onnx imported into the engine
(ML.PREDICT over ML.DECODE_IMAGE, onnxruntime inside DuckDB). Best of three each; every path must
give the baseline's label on every row. Latency is per HTTP request for the two HTTP paths.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import torch
from bench_remote_function import MODEL_DIR, REPEATS, in_process, make_images, percentile, through_sql

from ml import Engine
from remote_functions.endpoint import PredictionEndpoint
from remote_functions.local_services import LocalServices
from training.export import ONNX_FILE, ExportedModel

GOALS = {"ONNX inside DuckDB": 0.8, "remote model": 0.5, "remote function": 0.56}


def engine_with(images: list[bytes]) -> Engine:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA bench")
    con.execute("CREATE TABLE bench.images (id INTEGER, image BLOB)")
    con.executemany("INSERT INTO bench.images VALUES (?, ?)", list(enumerate(images)))
    return Engine(con)


def best_of(run: Callable[[], list[int]]) -> tuple[float, list[int]]:
    run()  # warm: the model loads and HTTP connections open outside the timing
    runs = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        labels = run()
        runs.append(time.perf_counter() - started)
    return min(runs), labels


def by_onnx(engine: Engine) -> tuple[float, list[int]]:
    engine.execute(
        f"CREATE MODEL bench.cnn_onnx OPTIONS (MODEL_TYPE = 'ONNX', MODEL_PATH = '{MODEL_DIR / ONNX_FILE}')"
    )

    def run() -> list[int]:
        engine.execute(
            "CREATE OR REPLACE TABLE bench.onnx_labels AS SELECT id, output FROM ML.PREDICT("
            "MODEL bench.cnn_onnx, (SELECT id, ML.DECODE_IMAGE(image) AS input FROM bench.images))"
        )
        rows = engine.con.execute("SELECT output FROM bench.onnx_labels ORDER BY id").fetchall()
        return np.argmax(np.array([r[0] for r in rows]), axis=1).tolist()

    return best_of(run)


def by_remote_model(engine: Engine, model_url: str) -> tuple[float, list[int], list[float]]:
    engine.execute(
        "CREATE MODEL bench.cnn_remote INPUT (image STRING) OUTPUT (label STRING) "
        f"REMOTE WITH CONNECTION DEFAULT OPTIONS (ENDPOINT = '{model_url}')"
    )
    latencies: list[float] = []
    untimed = PredictionEndpoint.predict_batch

    def timed(self: PredictionEndpoint, instances: Any) -> list[Any]:
        started = time.perf_counter()
        answered = untimed(self, instances)
        latencies.append(time.perf_counter() - started)
        return answered

    def run() -> list[int]:
        engine.execute(
            "CREATE OR REPLACE TABLE bench.remote_labels AS SELECT id, label FROM ML.PREDICT("
            "MODEL bench.cnn_remote, (SELECT id, TO_BASE64(image) AS image FROM bench.images))"
        )
        return [
            int(r[0])
            for r in engine.con.execute("SELECT label FROM bench.remote_labels ORDER BY id").fetchall()
        ]

    PredictionEndpoint.predict_batch = timed  # the engine's own client, timing each request it sends
    try:
        seconds, labels = best_of(run)
    finally:
        PredictionEndpoint.predict_batch = untimed
    return seconds, labels, latencies[len(latencies) // (REPEATS + 1) :]  # the warm-up run's dropped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--append", type=Path, help="append the results section to this Markdown file")
    args = parser.parse_args()

    images = make_images(args.rows)
    services = LocalServices(MODEL_DIR)  # trains the model first if build/models/digits is missing
    services.start()
    try:
        local_seconds, local_labels = in_process(ExportedModel(MODEL_DIR), images)
        baseline = [int(label) for label in local_labels]
        engine = engine_with(images)
        function_seconds, function_labels, function_latencies = through_sql(services, images, 500)
        onnx_seconds, onnx_labels = by_onnx(engine)
        remote_seconds, remote_labels, remote_latencies = by_remote_model(engine, services.model_url)
    finally:
        services.stop()

    paths = {
        "ONNX inside DuckDB": (onnx_seconds, onnx_labels),
        "remote model": (remote_seconds, remote_labels),
        "remote function": (function_seconds, [int(label) for label in function_labels]),
    }
    lines = [
        f"## The CNN from SQL three ways, against in-process PyTorch ({date.today().isoformat()})",
        "",
        f"`benchmarks/bench_cnn_three_ways.py`, {args.rows:,} digit PNGs (8×8 grey), one run; "
        f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
        "CPU shared with other jobs.",
        "",
        f"| path (best of {REPEATS}) | seconds | rows/s | × in-process | goal | labels = in-process |",
        "|---|---:|---:|---:|---:|---:|",
        f"| in-process PyTorch (decode + preprocess + forward) | {local_seconds:.2f} | "
        f"{args.rows / local_seconds:,.0f} | 1.00× | | |",
    ]
    for name, (seconds, labels) in paths.items():
        agree = sum(a == b for a, b in zip(labels, baseline, strict=True))
        lines.append(
            f"| {name} | {seconds:.2f} | {args.rows / seconds:,.0f} | {local_seconds / seconds:.2f}× | "
            f"≥ {GOALS[name]}× | {agree:,}/{args.rows:,} |"
        )
    for name, latencies in (("remote function", function_latencies), ("remote model", remote_latencies)):
        lines.append(
            f"- {name}: {len(latencies)} requests over the timed runs, "
            f"p50 {percentile(latencies, 50) * 1000:.0f} ms, p99 {percentile(latencies, 99) * 1000:.0f} ms."
        )
    report = "\n".join([*lines, ""])
    print(report)
    if args.append:
        with args.append.open("a") as handle:
            handle.write("\n" + report)


if __name__ == "__main__":
    main()
