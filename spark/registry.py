"""Where the side jobs (Spark, distributed torch) record their metrics, until `ml/` has a model registry.

One row per metric in ``_ml_side_jobs.runs`` of the local DuckDB warehouse. The jobs only see the
``RunRegistry`` protocol and ``open_registry``, so folding these rows into the real registry later
means a new ``open_registry`` scheme, not a change to the jobs. DuckDB is imported when a run is
recorded, not before: the jobs also run on Dataproc, whose runtime has no DuckDB and no warehouse.
"""

from __future__ import annotations

import argparse
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

SCHEMA = "_ml_side_jobs"
TABLE = f"{SCHEMA}.runs"
DEFAULT_WAREHOUSE = Path("build/analytics_ml.duckdb")
NO_REGISTRY = "none"


@dataclass(frozen=True)
class RunRecord:
    """The outcome of one job run: what it produced, how well, and with which parameters."""

    job: str
    artifact_uri: str
    metrics: Mapping[str, float]
    params: Mapping[str, Any] = field(default_factory=dict)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class RunRegistry(Protocol):
    def record(self, run: RunRecord) -> None: ...


class DuckDBRunRegistry:
    """``_ml_side_jobs.runs`` in a DuckDB file, created on first use."""

    def __init__(self, database: str | Path) -> None:
        self.database = Path(database)

    def record(self, run: RunRecord) -> None:
        import duckdb

        self.database.parent.mkdir(parents=True, exist_ok=True)
        rows = [
            (run.run_id, run.job, run.artifact_uri, name, float(value),
             json.dumps(dict(run.params), sort_keys=True, default=str), run.created_at)
            for name, value in sorted(run.metrics.items())
        ]
        with duckdb.connect(str(self.database)) as con:
            con.execute(f"create schema if not exists {SCHEMA}")
            con.execute(
                f"create table if not exists {TABLE} (run_id varchar not null, job varchar not null, "
                "artifact_uri varchar not null, metric varchar not null, value double, params json, "
                "created_at timestamptz not null, primary key (run_id, metric))"
            )
            # One transaction: a run is in the table with all its metrics or not at all.
            con.execute("begin")
            con.executemany(f"insert into {TABLE} values (?, ?, ?, ?, ?, ?, ?)", rows)
            con.execute("commit")

    def metrics(self, job: str) -> dict[str, dict[str, float]]:
        """``{run_id: {metric: value}}`` of every run of ``job``."""
        import duckdb

        with duckdb.connect(str(self.database), read_only=True) as con:
            found = con.execute(f"select run_id, metric, value from {TABLE} where job = ?", [job]).fetchall()
        runs: dict[str, dict[str, float]] = {}
        for run_id, metric, value in found:
            runs.setdefault(run_id, {})[metric] = value
        return runs


def open_registry(spec: str) -> RunRegistry | None:
    """``none`` → no registry (the metrics only go to the log); otherwise the DuckDB file at ``spec``."""
    if spec == NO_REGISTRY:
        return None
    return DuckDBRunRegistry(spec.removeprefix("duckdb:"))


def add_registry_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--registry", default=str(DEFAULT_WAREHOUSE),
        help=f"DuckDB warehouse that receives the metrics in {TABLE}, or '{NO_REGISTRY}'",
    )


def record_run(spec: str, run: RunRecord) -> None:
    """Print the metrics (the driver log is all a cloud run keeps) and store them when a registry is set."""
    print(json.dumps({"job": run.job, "artifact_uri": run.artifact_uri, "metrics": dict(run.metrics)}))
    registry = open_registry(spec)
    if registry is not None:
        registry.record(run)
