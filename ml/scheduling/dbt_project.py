"""The dbt side of a retraining job: which bqml_model nodes a selector names, and running them.

Everything goes through dbt's Python entry point (`dbtRunner`), in-process, on the configured
target, so the function retrains exactly what `dbt run --select ...` would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from dbt.cli.main import dbtRunner, dbtRunnerResult

from ml.errors import MLError
from ml.model_types.catalog import metrics_for
from ml.scheduling.declarations import DeclarationError, Job

# Selector words that are not model names: set operators and dbt's method prefixes handle themselves.
_GRAPH_OPERATORS = re.compile(r"^(@|[0-9]*\+)?(?P<name>.*?)(\+[0-9]*)?$")
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_]+$")
# The materializations that train a BigQuery ML model (`model` is dbt_ml's spelling).
ML_MATERIALIZATIONS = ("bqml_model", "model")
# Messages of failures that pass on their own: a DuckDB file held by another process, BigQuery's
# retryable error reasons, network trouble. Everything else fails the same way on a retry.
TRANSIENT = re.compile(
    r"Could not set lock on file|Conflicting lock|backendError|rateLimitExceeded|internalError|"
    r"quotaExceeded|\b50[234]\b|Service Unavailable|Connection (reset|aborted|refused)|timed? ?out",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ModelNode:
    """A bqml_model node as dbt resolves it on the target: `schema.name` is the engine's model."""

    name: str
    schema: str
    model_type: str

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class ResolvedJob:
    """A job as it applies to one target: its models and its relations' warehouse names."""

    job: Job
    models: list[ModelNode]
    holdout: str
    drift_relation: str | None


@dataclass(frozen=True)
class DbtProject:
    """A dbt project folder, its profiles folder and the target to run on."""

    project_dir: Path
    profiles_dir: Path
    target: str = "local"

    def _args(self) -> list[str]:
        return [
            "--project-dir",
            str(self.project_dir),
            "--profiles-dir",
            str(self.profiles_dir),
            "--target",
            self.target,
        ]

    def list_nodes(self, selector: str | None = None, resource_types: str = "model") -> list[dict]:
        """`dbt ls` as JSON objects (name, resource_type, schema, alias, config)."""
        args = ["ls", "--output", "json", "--output-keys", "name resource_type schema alias config"]
        for resource_type in resource_types.split():
            args += ["--resource-type", resource_type]
        args += ["--log-level", "none", *self._args()]
        if selector:
            args += ["--select", selector]
        result = _invoke(args)
        if not result.success:
            raise MLError(f"dbt ls failed: {result.exception or 'see the dbt log'}")
        return [json.loads(line) for line in result.result or []]

    def resolve(self, job: Job) -> ResolvedJob:
        """The bqml_model nodes `job.models` selects and the job's relations on this target;
        refuses unknown model names, selections without a bqml_model, and metrics they lack."""
        catalog = self.list_nodes(resource_types="model seed")
        relations = _relations(catalog)
        models = {node["name"] for node in catalog if node["resource_type"] == "model"}
        words = re.split(r"[\s,]+", job.models.strip())
        for word in words:
            name = _GRAPH_OPERATORS.match(word)["name"]
            if name and not re.search(r"[:*?/]", name) and name not in models:
                raise DeclarationError(job.name, "models", f"no model named {name!r} in the dbt project")
        # Space-separated plain names select themselves (a union): dbt's selector engine is needed
        # only for the rest (graph operators, methods, ',' intersections).
        plain = "," not in job.models and all(_PLAIN_NAME.match(word) for word in words)
        selected = [n for n in catalog if n["name"] in words] if plain else self.list_nodes(job.models)
        nodes = [
            _model_node(node)
            for node in selected
            if node["resource_type"] == "model" and node["config"].get("materialized") in ML_MATERIALIZATIONS
        ]
        if not nodes:
            raise DeclarationError(job.name, "models", f"selector {job.models!r} selects no bqml_model node")
        for node in nodes:
            if job.metric not in metrics_for(node.model_type):
                raise DeclarationError(
                    job.name,
                    "metric",
                    f"{node.name} ({node.model_type}) has no metric {job.metric!r}; "
                    f"it has {', '.join(sorted(metrics_for(node.model_type))) or 'none known'}",
                )
        return ResolvedJob(
            job,
            nodes,
            _relation(job, "holdout", job.holdout, relations),
            _relation(job, "drift.relation", job.drift.relation, relations) if job.drift else None,
        )

    def relation(self, name: str) -> str:
        """The `schema.alias` of the dbt model or seed `name` on this target."""
        relations = _relations(self.list_nodes(resource_types="model seed"))
        if name not in relations:
            raise MLError(
                f"{name} is neither dataset.name nor a dbt model or seed of {self.project_dir} "
                f"(--dbt-project-dir)"
            )
        return relations[name]

    def validate(self, jobs: Sequence[Job]) -> dict[str, ResolvedJob]:
        return {job.name: self.resolve(job) for job in jobs}

    def retrain(self, selector: str) -> TrainingOutcome:
        """`dbt run --full-refresh --select selector`: full refresh, so every selected model retrains."""
        result = _invoke(["run", "--full-refresh", "--select", selector, *self._args()])
        if result.exception is not None:
            return TrainingOutcome(False, str(result.exception))
        runs = list(getattr(result.result, "results", None) or [])
        failures = [
            f"{r.node.name}: {r.message}" for r in runs if str(r.status) not in ("success", "skipped")
        ]
        return TrainingOutcome(bool(result.success) and not failures, "; ".join(failures) or None)


@dataclass(frozen=True)
class TrainingOutcome:
    """What one dbt run did: success, or the failures in dbt's words (the registry says what trained)."""

    success: bool
    error: str | None

    @property
    def transient(self) -> bool:
        return bool(self.error and TRANSIENT.search(self.error))


def _invoke(args: list[str]) -> dbtRunnerResult:
    try:
        return dbtRunner().invoke(args)
    finally:
        _release_duckdb_file()


def _release_duckdb_file() -> None:
    """dbt-duckdb keeps its DuckDB instance open after an invocation (`keep_open` defaults to true),
    which would hold the file's lock for as long as this process lives: the CLI and dbt in other
    processes could not open it between runs. Close it; the next invocation opens it again."""
    with DuckDBConnectionManager._LOCK:
        environment = DuckDBConnectionManager._ENV
        if environment is not None:
            environment.close()
            DuckDBConnectionManager._ENV = None


def _relations(catalog: list[dict]) -> dict[str, str]:
    return {node["name"]: f"{node['schema']}.{node['alias']}" for node in catalog}


def _relation(job: Job, field_name: str, value: str, relations: dict[str, str]) -> str:
    """A dbt model or seed name → `schema.alias` on the target; `dataset.table` stays as written."""
    if "." in value:
        return value
    if value not in relations:
        raise DeclarationError(job.name, field_name, f"no dbt model or seed named {value!r}")
    return relations[value]


def _model_node(node: dict) -> ModelNode:
    config = node["config"]
    ml_config = (config.get("meta") or {}).get("ml_config") or config.get("ml_config") or {}
    return ModelNode(node["name"], node["schema"], str(ml_config.get("model_type", "")).upper())
