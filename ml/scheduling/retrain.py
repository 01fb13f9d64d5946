"""One retraining run: lock, drift gate, `dbt run --full-refresh` of the job's selection, promotion
through the registry, run record. The HTTP and CloudEvent handlers (`ml.scheduling.function`) call
`Retrainer.run`; it never raises for a failed run, it records it and says whether a retry could
help (`transient`).

A failed training never reaches promotion, and the registry promotes inside one transaction, so the
champion stays what it was unless a new version won on the holdout.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from ml.errors import MLError
from ml.registry import Registry, parse_model
from ml.registry.local import LocalBackend, connect
from ml.scheduling import declarations, drift, drift_bigquery
from ml.scheduling.dbt_project import DbtProject, ModelNode, ResolvedJob
from ml.scheduling.store import Acquired, LockHeld, RunRecords, RunStore, StoreError, process_owner

log = logging.getLogger(__name__)
REPO_ROOT = Path(__file__).resolve().parents[2]
LOCK_NAME = "retrain"  # one retraining at a time per warehouse: dbt runs share the engine's tables
WAREHOUSES = {"local": "duckdb", "bigquery": "bigquery"}  # dbt target → where runs and the registry live
OpenRegistry = Callable[[str], contextlib.AbstractContextManager[Registry]]


class RetrainError(RuntimeError):
    """A run failed; `transient` when the same run could succeed later (Cloud Scheduler should retry)."""

    def __init__(self, message: str, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Settings:
    """Where the function finds the dbt project, its declarations and the warehouse."""

    project_dir: Path
    profiles_dir: Path
    target: str
    database: Path
    schedules: Path
    lock_ttl: dt.timedelta = dt.timedelta(seconds=120)
    project: str | None = None  # BigQuery (target bigquery): the project and location of profiles.yml
    location: str = "US"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        project = Path(env.get("DBT_PROJECT_DIR", REPO_ROOT)).resolve()
        database = Path(env.get("ANALYTICS_ML_DUCKDB", project / "build" / "analytics_ml.duckdb")).resolve()
        return cls(
            project_dir=project,
            profiles_dir=Path(env.get("DBT_PROFILES_DIR", project)).resolve(),
            target=env.get("DBT_TARGET", "local"),
            database=database,
            schedules=Path(env.get("RETRAIN_SCHEDULES", project / declarations.DEFAULT_PATH)).resolve(),
            lock_ttl=dt.timedelta(seconds=float(env.get("RETRAIN_LOCK_TTL_SECONDS", "120"))),
            project=env.get("BIGQUERY_PROJECT") or None,
            location=env.get("BIGQUERY_LOCATION", "US"),
        )

    @property
    def warehouse(self) -> str:
        """duckdb or bigquery: where the run store, the lock and the registry are."""
        if self.target not in WAREHOUSES:
            raise MLError(f"retraining runs on the dbt targets {sorted(WAREHOUSES)}, not {self.target!r}")
        return WAREHOUSES[self.target]

    def export_database(self) -> None:
        """profiles.yml reads the DuckDB path from ANALYTICS_ML_DUCKDB relative to the working
        directory; in-process dbt must train in the file this function records runs in."""
        os.environ["ANALYTICS_ML_DUCKDB"] = str(self.database)


@dataclass(frozen=True)
class Trigger:
    """What fired a run: the job, the channel (cloud-scheduler, pubsub, http, run-local) and the
    scheduled time, which identifies one execution across Cloud Scheduler's retries."""

    job: str
    source: str
    schedule_time: dt.datetime | None = None


@dataclass
class RunOutcome:
    """A finished (or refused) run as the handlers answer it."""

    run_id: str | None
    status: str  # succeeded | skipped | failed
    transient: bool = False
    detail: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "status": self.status, **self.detail}


class Heartbeat:
    """Renews the lock every third of its lifetime while the run works, on a thread of its own."""

    def __init__(self, store: RunRecords, run_id: str, ttl: dt.timedelta) -> None:
        self.store, self.run_id, self.ttl = store, run_id, ttl
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{run_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl.total_seconds() / 3):
            try:
                self.lost = self.lost or not self.store.heartbeat(LOCK_NAME, self.run_id, self.ttl)
            except (duckdb.Error, StoreError) as exc:  # a missed beat; the lock lives on until its expiry
                log.warning("heartbeat of run %s failed: %s", self.run_id, exc)


class Retrainer:
    """Runs jobs from one declarations file against one dbt project and warehouse."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store: RunRecords
        if settings.warehouse == "bigquery":
            from ml.scheduling.store_bigquery import BigQueryRunStore

            self.store = BigQueryRunStore.connect(settings.project, settings.location)
        else:
            self.store = RunStore(settings.database)
        self.project = DbtProject(settings.project_dir, settings.profiles_dir, settings.target)
        settings.export_database()

    def job(self, name: str) -> declarations.Job:
        return declarations.find(declarations.load(self.settings.schedules), name)

    def run(self, trigger: Trigger) -> RunOutcome:
        """Run `trigger.job` once; MLError (unknown job, bad declarations) before anything starts."""
        job = self.job(trigger.job)
        if job.drift is not None and self.settings.warehouse == "bigquery":
            drift_bigquery.check_threshold(job.name, job.drift.threshold)  # before anything starts
        try:
            return self._run(job, trigger)
        except StoreError as exc:  # the run store itself failed: nothing (more) could be recorded
            return RunOutcome(None, "failed", exc.transient, {"errorMessage": str(exc)})
        except duckdb.IOException as exc:
            # Another process (a dbt run, a CLI) holds the DuckDB file: nothing could even be
            # recorded, and the same trigger will pass once it lets go.
            message = f"the warehouse is busy: {str(exc).splitlines()[0]}"
            return RunOutcome(None, "failed", True, {"errorMessage": message})

    def _run(self, job: declarations.Job, trigger: Trigger) -> RunOutcome:
        if trigger.schedule_time is not None:
            done = self.store.completed(job.name, trigger.schedule_time)
            if done:
                reason = f"run {done} already did this execution"
                return RunOutcome(done, "skipped", detail={"reason": reason})
        run = {
            "run_id": uuid.uuid4().hex,
            "job": job.name,
            "trigger": trigger.source,
            "schedule_time": trigger.schedule_time,
            "owner": process_owner(),
            "models": job.models,
        }
        taken = self.store.start_run(LOCK_NAME, run, self.settings.lock_ttl)
        if isinstance(taken, LockHeld):
            return self._refused(run, taken)
        return self._locked_run(job, taken)

    def _refused(self, run: dict[str, Any], holder: LockHeld) -> RunOutcome:
        reason = f"run {holder.run_id} ({holder.owner}) holds the retraining lock until {holder.expires_at}"
        self.store.record({**run, "status": "skipped", "decision": {"reason": reason}})
        return RunOutcome(run["run_id"], "skipped", detail={"reason": reason})

    def _locked_run(self, job: declarations.Job, taken: Acquired) -> RunOutcome:
        run_id = taken.run_id
        if taken.recovered:
            log.warning("run %s took over the lock of abandoned run %s", run_id, taken.recovered)
        with Heartbeat(self.store, run_id, self.settings.lock_ttl) as heartbeat:
            try:
                status, fields = self._work(job, run_id, heartbeat)
            except Exception as exc:  # whatever failed, the run must not stay "running"
                return self._failed(run_id, exc)
        self.store.finish_run(LOCK_NAME, run_id, status, **fields)
        return RunOutcome(run_id, status, detail={**fields, "recovered": taken.recovered})

    def _failed(self, run_id: str, exc: Exception) -> RunOutcome:
        """Record the failure and release the lock. Only a `RetrainError` can be transient: bad
        declarations, holdouts, metrics (MLError) and bugs fail the same way on every retry."""
        if isinstance(exc, RetrainError | MLError | duckdb.Error | StoreError):
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        else:
            log.exception("retraining run %s failed", run_id)
            message = f"{type(exc).__name__}: {exc}"
        self.store.finish_run(LOCK_NAME, run_id, "failed", error=message)
        transient = isinstance(exc, RetrainError | StoreError) and exc.transient
        return RunOutcome(run_id, "failed", transient, {"errorMessage": message})

    def _work(self, job: declarations.Job, run_id: str, heartbeat: Heartbeat) -> tuple[str, dict[str, Any]]:
        resolved = self.project.resolve(job)
        gate = self._drift(resolved)
        if gate is not None and job.drift and job.drift.only and not gate["drifted"]:
            return "skipped", {"drift": gate, "decision": {"reason": gate["reason"]}}
        before = registry_versions(self.registry, resolved.models)
        outcome = self.project.retrain(job.models)
        if not outcome.success:
            raise RetrainError(f"dbt run failed: {outcome.error}", outcome.transient)
        trained = new_versions(before, registry_versions(self.registry, resolved.models))
        if heartbeat.lost:
            raise RetrainError("the retraining lock expired during training: not promoting", True)
        decisions = promote(self.registry, resolved, trained, run_id)
        return "succeeded", {"versions_trained": trained, "decision": decisions, "drift": gate}

    @contextlib.contextmanager
    def registry(self, triggered_by: str = "retraining") -> Iterator[Registry]:
        """The registry of the target's warehouse, on a session of its own."""
        if self.settings.warehouse == "bigquery":
            from ml.registry.bigquery import BigQueryBackend

            backend = BigQueryBackend.connect(self.settings.project, self.settings.location)
            yield Registry(backend, triggered_by=triggered_by)
        else:
            with local_registry(self.settings.database, triggered_by) as registry:
                yield registry

    def _drift(self, resolved: ResolvedJob) -> dict[str, Any] | None:
        """The drift gate's verdict, or None when the job has no gate."""
        job = resolved.job
        if job.drift is None or resolved.drift_relation is None:
            return None
        try:
            reports = self._drift_reports(resolved)
        except MLError as exc:  # a model never trained has nothing to drift from: train it
            return {"drifted": True, "reason": str(exc), "threshold": job.drift.threshold}
        score = max(report.score for report in reports)
        drifted = score >= job.drift.threshold
        verb = "reaches" if drifted else "is below"
        figure = "PSI" if reports[0].metric == "psi" else "Jensen-Shannon divergence (ML.VALIDATE_DATA_SKEW)"
        return {
            "drifted": drifted,
            "score": score,
            "threshold": job.drift.threshold,
            "reason": f"largest feature {figure} {score:.4f} {verb} the threshold {job.drift.threshold}",
            "models": [report.as_record() for report in reports],
        }

    def _drift_reports(self, resolved: ResolvedJob) -> list[drift.DriftReport]:
        """Each model's drift on the job's relation: the engine's PSI locally, BigQuery ML's own
        ML.VALIDATE_DATA_SKEW on BigQuery."""
        relation, threshold = resolved.drift_relation, resolved.job.drift.threshold
        if self.settings.warehouse == "bigquery":
            with self.registry() as registry:
                return [
                    drift_bigquery.measure(registry.backend, node.relation, relation, threshold)
                    for node in resolved.models
                ]
        assert isinstance(self.store, RunStore)
        with self.store.connect() as con:
            return [drift.measure(con, node.relation, relation) for node in resolved.models]


@contextlib.contextmanager
def local_registry(database: Path, triggered_by: str = "retraining") -> Iterator[Registry]:
    """The registry of the local target's DuckDB file, on a connection of its own."""
    with connect(str(database)) as con:
        yield Registry(LocalBackend(con), triggered_by=triggered_by)


def registry_versions(open_registry: OpenRegistry, nodes: list[ModelNode]) -> dict[str, list[int]]:
    """Registered versions of each model (empty for a model the registry does not know yet)."""
    found: dict[str, list[int]] = {}
    with open_registry("retraining") as registry:
        for node in nodes:
            try:
                found[node.relation] = [
                    row["version"] for row in registry.versions(parse_model(node.relation))
                ]
            except MLError:
                found[node.relation] = []
    return found


def new_versions(before: dict[str, list[int]], after: dict[str, list[int]]) -> dict[str, list[int]]:
    return {model: sorted(set(after[model]) - set(before.get(model, []))) for model in after}


def promote(
    open_registry: OpenRegistry, resolved: ResolvedJob, trained: dict[str, list[int]], run_id: str
) -> dict[str, Any]:
    """Champion vs challenger on the job's holdout for every model that got a new version; the
    registry scores both on the same rows in one query and moves the champion atomically."""
    job = resolved.job
    decisions: dict[str, Any] = {}
    with open_registry(f"schedule:{job.name}:{run_id}") as registry:
        for node in resolved.models:
            if not trained.get(node.relation):
                raise RetrainError(f"dbt reported success but {node.relation} has no new version", False)
            result = registry.promote(
                parse_model(node.relation),
                resolved.holdout,
                job.metric,
                job.min_gain,
                challenger=trained[node.relation][-1],
            )
            decisions[node.relation] = {
                "decision": result.decision.label,
                "metric": result.metric,
                "champion_version": result.champion,
                "challenger_version": result.challenger,
                "champion_score": result.decision.champion_score,
                "challenger_score": result.decision.challenger_score,
                "gain": result.decision.gain,
            }
    return decisions
