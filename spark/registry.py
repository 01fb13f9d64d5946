"""Where the side jobs record what they trained: the project's model registry (``ml/registry``).

A run that produced a model (``RunRecord.model`` set, e.g. ``side_jobs.titanic_lr``) becomes the
next version of that model in ``ml_registry.model_versions`` of the local DuckDB warehouse, with
status ``external``, its artifact's path and its metrics (``Registry.record_external``). Every run's
metrics are printed first: the driver log is all a cloud run keeps. ``ml`` (and so DuckDB) is
imported when a run is recorded, not before: the jobs also run on Dataproc, whose runtime has neither
DuckDB nor the warehouse (its batches get ``--registry none``).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_WAREHOUSE = Path("build/analytics_ml.duckdb")
NO_REGISTRY = "none"


@dataclass(frozen=True)
class RunRecord:
    """The outcome of one job run: what it produced, how well, and with which parameters.

    ``model`` is the registry model (``dataset.name``) the run's artifact is a version of; None for
    runs that produce no model (preprocessing), whose metrics only go to the log."""

    job: str
    artifact_uri: str
    metrics: Mapping[str, float]
    params: Mapping[str, Any] = field(default_factory=dict)
    model: str | None = None


def registry_database(spec: str) -> Path | None:
    """``none`` → no registry (the metrics only go to the log); otherwise the DuckDB file at ``spec``."""
    if spec == NO_REGISTRY:
        return None
    return Path(spec.removeprefix("duckdb:"))


def add_registry_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--registry", default=str(DEFAULT_WAREHOUSE),
        help=f"DuckDB warehouse whose model registry (ml_registry) receives the trained model, or "
             f"'{NO_REGISTRY}'",
    )


def record_run(spec: str, run: RunRecord) -> int | None:
    """Print the metrics and register the run's model when a registry is set; returns the version."""
    print(json.dumps({"job": run.job, "model": run.model, "artifact_uri": run.artifact_uri,
                      "metrics": dict(run.metrics)}))
    database = registry_database(spec)
    if database is None or run.model is None:
        return None
    from ml.registry.external import record_external_run

    recorded = record_external_run(
        database, run.model, run.artifact_uri, run.metrics,
        options={**run.params, "job": run.job}, triggered_by=f"job:{run.job}",
    )
    print(f"registered {recorded.model} version {recorded.version} (external: {recorded.artifact_uri})")
    return recorded.version
