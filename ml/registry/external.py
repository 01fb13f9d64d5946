"""Recording a model trained outside the warehouse (the Spark and PyTorch side jobs) in the local
registry: one call that opens the DuckDB warehouse, registers the next version and closes it.

Imported only when a run is recorded, so the jobs still start where there is no warehouse (Dataproc).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ml.registry.local import LocalBackend, connect
from ml.registry.registry import Recorded, Registry, parse_model


def record_external_run(
    database: str | Path,
    model: str,
    artifact_uri: str,
    metrics: Mapping[str, Any],
    options: Mapping[str, Any] | None = None,
    triggered_by: str = "side-job",
    fingerprint: str | None = None,
) -> Recorded:
    """`Registry.record_external` on the DuckDB file `database` (created when missing)."""
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    con = connect(str(database))
    try:
        registry = Registry(LocalBackend(con), triggered_by=triggered_by)
        return registry.record_external(
            parse_model(model), artifact_uri, dict(metrics), dict(options or {}), fingerprint
        )
    finally:
        con.close()
