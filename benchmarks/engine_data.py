"""Synthetic benchmark data held in DuckDB: 8 numeric and 2 string features and a numeric label.

Values come from hashes of the row number, so every run (and both sides of a comparison) sees the
same table without shipping a file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import duckdb

T = TypeVar("T")

NUMERIC = [f"x{k}" for k in range(1, 9)]
STRINGS = {"region": 12, "segment": 40}  # column -> number of distinct values


def create_table(con: duckdb.DuckDBPyConnection, rows: int, table: str = "bench.data") -> None:
    """Create `table` with `rows` rows (replacing it)."""
    numeric = [f"(hash(i * 16 + {k}) % 2000000) / 1e6 - 1.0 AS {name}" for k, name in enumerate(NUMERIC)]
    strings = [
        f"'{name}_' || (hash(i * 16 + {10 + k}) % {n}) AS {name}"
        for k, (name, n) in enumerate(STRINGS.items())
    ]
    label = " + ".join(f"{k + 1} * {name}" for k, name in enumerate(NUMERIC))
    con.execute("CREATE SCHEMA IF NOT EXISTS bench")
    con.execute(
        f"CREATE OR REPLACE TABLE {table} AS SELECT *, {label} + length(region) + (hash(segment) % 7) "
        f"+ ((hash(i * 16 + 15) % 1000) / 1000.0 - 0.5) AS label FROM "
        f"(SELECT i, {', '.join(numeric + strings)} FROM range({rows}) AS t(i))"
    )
    con.execute(f"ALTER TABLE {table} DROP COLUMN i")


def best_of(repeat: int, run: Callable[[], T]) -> tuple[float, T]:
    """The fastest of `repeat` timed runs (seconds) and the last run's result."""
    times: list[float] = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return min(times), result
