"""Rows/s through SQL → DuckDB UDF → HTTP function → model server → CNN, against in-process inference.

    .venv/bin/python benchmarks/bench_remote_function.py [--rows 20000] [--append benchmarks/RESULTS.md]

Both paths classify the same PNG images (the digits, cycled with per-image pixel noise so no two
requests are alike), best of three runs each, and must agree on every label. The in-process
path does the same work the server does per image (PNG decode, preprocessing, batched forward
pass) without any HTTP. Latency is per remote-function request (one batch of
``max_batching_rows`` rows), as BigQuery would see it.
"""

from __future__ import annotations

import argparse
import base64
import platform
import statistics
import time
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import torch
from dbt.adapters.duckdb.plugins import BasePlugin

from remote_functions.duckdb_plugin import RemoteFunctionClient
from remote_functions.local_services import REPO_ROOT, LocalServices
from training.data import digits_pixels
from training.export import ExportedModel
from training.preprocess import encode_png

MODEL_DIR = REPO_ROOT / "build" / "models" / "digits"
IN_PROCESS_BATCH = 500
REPEATS = 3  # best of three for both paths: the CPU is shared, and noise only ever adds time


class TimedClient(RemoteFunctionClient):
    """The plugin's client, timing every request it sends."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seconds: list[float] = []

    def _request(self, calls: list[list[Any]], context: dict[str, str] | None) -> list[Any]:
        started = time.perf_counter()
        replies = super()._request(calls, context)
        self.seconds.append(time.perf_counter() - started)
        return replies


def make_images(rows: int, seed: int = 0) -> list[bytes]:
    pixels, _ = digits_pixels()
    rng = np.random.default_rng(seed)
    chosen = pixels[np.arange(rows) % len(pixels)].astype(np.int16)
    noisy = np.clip(chosen + rng.integers(-8, 9, chosen.shape), 0, 255).astype(np.uint8)
    return [encode_png(image) for image in noisy]


def in_process(model: ExportedModel, images: list[bytes]) -> tuple[float, list[str]]:
    encoded = [base64.b64encode(png).decode() for png in images]
    runs = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        labels = [
            p["label"]
            for start in range(0, len(encoded), IN_PROCESS_BATCH)
            for p in model.predict(encoded[start : start + IN_PROCESS_BATCH])
        ]
        runs.append(time.perf_counter() - started)
    return min(runs), labels


def through_sql(
    services: LocalServices, images: list[bytes], max_batching_rows: int
) -> tuple[float, list[str], list[float]]:
    plugin = BasePlugin.create(
        "remote_functions.duckdb_plugin", config={"function_url": services.function_url}
    )
    client = TimedClient(services.function_url, services.token, caller="//benchmark")
    plugin._client = client  # the plugin's own UDF, with a client that also times its requests
    con = duckdb.connect()
    plugin.configure_connection(con)
    con.execute("create table images (id integer, image blob)")
    con.executemany("insert into images values (?, ?)", list(enumerate(images)))
    con.execute(
        f"create macro classify_image(image) as remote_classify_image(image, '{{}}', {max_batching_rows})"
    )
    con.execute("select classify_image(image) from images where id < 10").fetchall()  # warm up connections
    client.seconds.clear()
    runs = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        con.execute("create or replace table labels as select id, classify_image(image) as label from images")
        runs.append(time.perf_counter() - started)
    labels = [label for (label,) in con.execute("select label from labels order by id").fetchall()]
    return min(runs), labels, client.seconds


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--max-batching-rows", type=int, default=500)
    parser.add_argument("--append", type=Path, help="append the results section to this Markdown file")
    args = parser.parse_args()

    images = make_images(args.rows)
    services = LocalServices(MODEL_DIR)  # trains the model first if build/models/digits is missing
    services.start()
    try:
        model = ExportedModel(MODEL_DIR)
        local_seconds, local_labels = in_process(model, images)
        sql_seconds, sql_labels, latencies = through_sql(services, images, args.max_batching_rows)
    finally:
        services.stop()

    agree = sum(a == b for a, b in zip(local_labels, sql_labels, strict=True))
    ratio = local_seconds / sql_seconds
    lines = [
        f"## Remote function: SQL → UDF → HTTP function → model server → CNN ({date.today().isoformat()})",
        "",
        f"`benchmarks/bench_remote_function.py`, {args.rows:,} digit PNGs (8×8 grey), "
        f"max_batching_rows {args.max_batching_rows}; {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} torch threads, CPU shared with other jobs.",
        "",
        f"| path (best of {REPEATS}) | seconds | rows/s |",
        "|---|---:|---:|",
        f"| in-process batched inference (decode + preprocess + forward, batches of {IN_PROCESS_BATCH}) "
        f"| {local_seconds:.2f} | {args.rows / local_seconds:,.0f} |",
        f"| SQL (DuckDB) → Arrow UDF → function → model server "
        f"| {sql_seconds:.2f} | {args.rows / sql_seconds:,.0f} |",
        "",
        f"- SQL path / in-process: **{ratio:.2f}×** (goal ≥ 0.3×); "
        f"labels agree on {agree:,}/{args.rows:,} rows.",
        f"- Latency per remote-function request "
        f"({len(latencies)} requests of ≤ {args.max_batching_rows} rows): "
        f"p50 {percentile(latencies, 50) * 1000:.0f} ms, p99 {percentile(latencies, 99) * 1000:.0f} ms, "
        f"mean {statistics.fmean(latencies) * 1000:.0f} ms.",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if args.append:
        with args.append.open("a") as handle:
            handle.write("\n" + report)


if __name__ == "__main__":
    main()
