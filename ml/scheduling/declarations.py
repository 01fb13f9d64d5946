"""Job declarations (`schedules/jobs.yml`): loaded into typed objects and validated before anything
is sent to Cloud Scheduler or run.

Every error names the job and the field, e.g. ``job 'penguins-nightly', field 'schedule': ...``.
Checks that need the dbt project (does the selector name models, are they bqml_model nodes, does the
metric exist for their model type) are in `ml.scheduling.dbt_project`; this module checks the
declaration on its own.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from croniter import croniter

from ml.errors import MLError

DEFAULT_PATH = Path("schedules") / "jobs.yml"
# Cloud Scheduler jobs have no labels: this job ID prefix is what marks a job as deployed from here.
DEFAULT_PREFIX = "analytics-ml-retrain-"
# Cloud Scheduler job IDs: letters, digits, hyphens, underscores, at most 500 characters.
_JOB_NAME = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
_DURATION = re.compile(r"^(?P<seconds>[0-9]+)s$")
# A dbt model or seed name (resolved to its relation on the target, so one declaration serves both
# targets), or a relation as the warehouse names it: [project.]dataset.table. Plain identifiers only.
_RELATION = re.compile(r"^(([A-Za-z0-9_-]+\.)?[A-Za-z0-9_]+\.)?[A-Za-z0-9_]+$")
TARGETS = ("http", "pubsub")
# Cloud Scheduler's limits: HTTP attempt deadlines 15 s to 30 min, at most 5 retries.
MIN_DEADLINE_S, MAX_DEADLINE_S = 15, 1800
MAX_RETRY_COUNT = 5


class DeclarationError(MLError):
    """A job declaration that cannot be deployed or run; the message names the job and the field."""

    def __init__(self, job: str, field_name: str, problem: str) -> None:
        super().__init__(f"job {job!r}, field {field_name!r}: {problem}")
        self.job = job
        self.field = field_name


@dataclass(frozen=True)
class RetryPolicy:
    """Cloud Scheduler's RetryConfig, durations in seconds."""

    retry_count: int = 0
    max_retry_duration_s: int = 0
    min_backoff_s: int = 5
    max_backoff_s: int = 3600
    max_doublings: int = 5


@dataclass(frozen=True)
class DriftGate:
    """Retrain only when `relation` drifted from the training data by at least `threshold` (PSI)."""

    relation: str
    threshold: float = 0.2
    only: bool = True  # False: measure and record drift, but retrain on every trigger


@dataclass(frozen=True)
class Job:
    """One scheduled retraining job."""

    name: str
    schedule: str
    time_zone: str
    models: str  # a dbt selector
    holdout: str
    metric: str
    min_gain: float = 0.0
    target: str = "http"  # http | pubsub
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    attempt_deadline_s: int = 1800
    drift: DriftGate | None = None
    description: str = ""

    def body(self) -> dict[str, str]:
        """What the scheduler sends: the job's name; the function reads the rest from this file."""
        return {"job": self.name}


def load(path: Path | str = DEFAULT_PATH) -> list[Job]:
    """Read and validate every job of a declarations file."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise MLError(f"cannot read job declarations {path}: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("jobs"), list):
        raise MLError(f"{path}: expected a mapping with a 'jobs' list")
    jobs = [parse_job(entry, index) for index, entry in enumerate(document["jobs"])]
    seen: set[str] = set()
    for job in jobs:
        if job.name in seen:
            raise DeclarationError(job.name, "name", "declared twice")
        seen.add(job.name)
    return jobs


def find(jobs: list[Job], name: str) -> Job:
    for job in jobs:
        if job.name == name:
            return job
    raise MLError(f"unknown job {name!r}; declared: {', '.join(j.name for j in jobs) or 'none'}")


_JOB_KEYS = {
    "name",
    "schedule",
    "time_zone",
    "models",
    "holdout",
    "metric",
    "min_gain",
    "target",
    "retry",
    "attempt_deadline",
    "drift",
    "description",
}


def parse_job(entry: Any, index: int) -> Job:
    """One declaration → `Job`, or a `DeclarationError` naming the first bad field."""
    if not isinstance(entry, dict):
        raise DeclarationError(f"#{index}", "-", "each job must be a mapping")
    name = entry.get("name")
    if not isinstance(name, str) or not _JOB_NAME.match(name):
        raise DeclarationError(str(name or f"#{index}"), "name", "1-100 letters, digits, '-' or '_'")
    unknown = sorted(set(entry) - _JOB_KEYS)
    if unknown:
        raise DeclarationError(name, unknown[0], f"unknown field (allowed: {', '.join(sorted(_JOB_KEYS))})")
    target = entry.get("target", "http")
    if target not in TARGETS:
        raise DeclarationError(name, "target", f"must be one of {list(TARGETS)}, got {target!r}")
    return Job(
        name=name,
        schedule=_schedule(name, entry.get("schedule")),
        time_zone=_time_zone(name, entry.get("time_zone", "Etc/UTC")),
        models=_text(name, "models", entry.get("models")),
        holdout=_relation(name, "holdout", entry.get("holdout")),
        metric=_text(name, "metric", entry.get("metric")).lower(),
        min_gain=_number(name, "min_gain", entry.get("min_gain", 0.0), minimum=0.0),
        target=target,
        retry=_retry(name, entry.get("retry") or {}),
        attempt_deadline_s=_deadline(name, entry.get("attempt_deadline", "1800s")),
        drift=_drift(name, entry.get("drift")),
        description=str(entry.get("description", "")),
    )


def _schedule(job: str, value: Any) -> str:
    # Cloud Scheduler takes unix-cron: exactly five fields, no seconds, no @-macros.
    if not isinstance(value, str) or len(value.split()) != 5 or not croniter.is_valid(value):
        raise DeclarationError(job, "schedule", f"not a five-field unix-cron expression: {value!r}")
    return " ".join(value.split())


def _time_zone(job: str, value: Any) -> str:
    try:
        zoneinfo.ZoneInfo(str(value))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise DeclarationError(job, "time_zone", f"unknown IANA time zone {value!r}") from None
    return str(value)


def _text(job: str, field_name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DeclarationError(job, field_name, "required, a non-empty string")
    return value.strip()


def _relation(job: str, field_name: str, value: Any) -> str:
    text = _text(job, field_name, value)
    if not _RELATION.match(text):
        raise DeclarationError(
            job, field_name, f"expected a dbt model or seed name, or dataset.table, got {text!r}"
        )
    return text


def _number(job: str, field_name: str, value: Any, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise DeclarationError(job, field_name, f"expected a number >= {minimum}, got {value!r}")
    return float(value)


def _seconds(job: str, field_name: str, value: Any) -> int:
    """A duration as Cloud Scheduler writes it ("300s"), or a plain number of seconds."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    match = _DURATION.match(str(value))
    if not match:
        raise DeclarationError(job, field_name, f"expected a duration like '300s', got {value!r}")
    return int(match["seconds"])


def _deadline(job: str, value: Any) -> int:
    seconds = _seconds(job, "attempt_deadline", value)
    if not MIN_DEADLINE_S <= seconds <= MAX_DEADLINE_S:
        raise DeclarationError(
            job, "attempt_deadline", f"must be {MIN_DEADLINE_S}s to {MAX_DEADLINE_S}s, got {seconds}s"
        )
    return seconds


_RETRY_KEYS = {"retry_count", "max_retry_duration", "min_backoff", "max_backoff", "max_doublings"}


def _retry(job: str, value: Any) -> RetryPolicy:
    if not isinstance(value, dict) or set(value) - _RETRY_KEYS:
        raise DeclarationError(job, "retry", f"a mapping with keys among {sorted(_RETRY_KEYS)}")
    count = value.get("retry_count", 0)
    if not isinstance(count, int) or not 0 <= count <= MAX_RETRY_COUNT:
        raise DeclarationError(job, "retry.retry_count", f"an integer 0..{MAX_RETRY_COUNT}, got {count!r}")
    policy = RetryPolicy(
        retry_count=count,
        max_retry_duration_s=_seconds(job, "retry.max_retry_duration", value.get("max_retry_duration", 0)),
        min_backoff_s=_seconds(job, "retry.min_backoff", value.get("min_backoff", "5s")),
        max_backoff_s=_seconds(job, "retry.max_backoff", value.get("max_backoff", "3600s")),
        max_doublings=int(_number(job, "retry.max_doublings", value.get("max_doublings", 5), 0)),
    )
    if policy.min_backoff_s > policy.max_backoff_s:
        raise DeclarationError(job, "retry.min_backoff", "must not exceed retry.max_backoff")
    return policy


def _drift(job: str, value: Any) -> DriftGate | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"relation", "threshold", "only"}:
        raise DeclarationError(job, "drift", "a mapping with relation, threshold and only")
    only = value.get("only", True)
    if not isinstance(only, bool):
        raise DeclarationError(job, "drift.only", f"true or false, got {only!r}")
    return DriftGate(
        relation=_relation(job, "drift.relation", value.get("relation")),
        threshold=_number(job, "drift.threshold", value.get("threshold", 0.2), minimum=0.0),
        only=only,
    )
