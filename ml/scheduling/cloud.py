"""Cloud Scheduler jobs from the declarations: build the `scheduler_v1.Job` objects, then upsert.

Job IDs are `<prefix><declared name>`; Cloud Scheduler jobs carry no labels, so the prefix is what
marks a job as ours: `deploy` deletes jobs with the prefix that are no longer declared and never
touches any other job in the location.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from google.cloud import scheduler_v1
from google.protobuf import duration_pb2

from ml.errors import MLError
from ml.scheduling.declarations import DEFAULT_PREFIX, Job

# Fields the server fills in: never part of what we declare or compare.
OUTPUT_ONLY = ("state", "status", "user_update_time", "schedule_time", "last_attempt_time")


@dataclass(frozen=True)
class DeployTarget:
    """Where the jobs point: the function URL with the OIDC identity Cloud Scheduler signs as, and
    the Pub/Sub topic for `target: pubsub` jobs."""

    project: str
    location: str
    uri: str = ""
    service_account: str = ""
    audience: str = ""  # defaults to the URI, which is what Cloud Functions / Cloud Run expect
    topic: str = ""
    prefix: str = DEFAULT_PREFIX

    @property
    def parent(self) -> str:
        return f"projects/{self.project}/locations/{self.location}"

    def job_name(self, name: str) -> str:
        return f"{self.parent}/jobs/{self.prefix}{name}"


def _duration(seconds: int) -> duration_pb2.Duration:
    return duration_pb2.Duration(seconds=seconds)


def build_job(job: Job, target: DeployTarget) -> scheduler_v1.Job:
    """The Job that Cloud Scheduler should hold for one declaration."""
    body = json.dumps(job.body(), sort_keys=True).encode()
    built = scheduler_v1.Job(
        name=target.job_name(job.name),
        description=job.description or f"Retrain {job.models} (analytics-ml schedules/jobs.yml)",
        schedule=job.schedule,
        time_zone=job.time_zone,
        retry_config=scheduler_v1.RetryConfig(
            retry_count=job.retry.retry_count,
            max_retry_duration=_duration(job.retry.max_retry_duration_s),
            min_backoff_duration=_duration(job.retry.min_backoff_s),
            max_backoff_duration=_duration(job.retry.max_backoff_s),
            max_doublings=job.retry.max_doublings,
        ),
    )
    if job.target == "pubsub":
        if not target.topic:
            raise MLError(f"job {job.name!r} publishes to Pub/Sub: pass --topic projects/P/topics/T")
        built.pubsub_target = scheduler_v1.PubsubTarget(
            topic_name=target.topic, data=body, attributes={"job": job.name}
        )
        return built
    if not (target.uri and target.service_account):
        raise MLError(f"job {job.name!r} calls the function over HTTP: pass --uri and --service-account")
    built.http_target = scheduler_v1.HttpTarget(
        uri=target.uri,
        http_method=scheduler_v1.HttpMethod.POST,
        # Cloud Scheduler adds User-Agent: Google-Cloud-Scheduler and X-CloudScheduler-* itself.
        headers={"Content-Type": "application/json"},
        body=body,
        oidc_token=scheduler_v1.OidcToken(
            service_account_email=target.service_account, audience=target.audience or target.uri
        ),
    )
    # Only HTTP targets have an attempt deadline; Pub/Sub publishing is acknowledged at once.
    built.attempt_deadline = _duration(job.attempt_deadline_s)
    return built


def build_jobs(jobs: Sequence[Job], target: DeployTarget) -> list[scheduler_v1.Job]:
    return [build_job(job, target) for job in jobs]


class SchedulerClient(Protocol):
    """The part of `scheduler_v1.CloudSchedulerClient` that deploy uses."""

    def list_jobs(self, *, parent: str) -> Any: ...
    def create_job(self, *, parent: str, job: scheduler_v1.Job) -> Any: ...
    def update_job(self, *, job: scheduler_v1.Job) -> Any: ...
    def delete_job(self, *, name: str) -> Any: ...


@dataclass(frozen=True)
class Change:
    action: str  # create | update | delete | unchanged
    name: str
    job: scheduler_v1.Job | None = None


def plan(
    existing: Sequence[scheduler_v1.Job], desired: Sequence[scheduler_v1.Job], target: DeployTarget
) -> list[Change]:
    """What to send so that the location holds exactly `desired` among the jobs with our prefix."""
    mine = f"{target.parent}/jobs/{target.prefix}"
    ours = {job.name: job for job in existing if job.name.startswith(mine)}
    changes = []
    for job in desired:
        current = ours.get(job.name)
        if current is None:
            changes.append(Change("create", job.name, job))
        elif _differs(current, job):
            changes.append(Change("update", job.name, job))
        else:
            changes.append(Change("unchanged", job.name, job))
    wanted = {job.name for job in desired}
    changes += [Change("delete", name) for name in sorted(set(ours) - wanted)]
    return changes


def _differs(current: scheduler_v1.Job, desired: scheduler_v1.Job) -> bool:
    """Compare what we declare; the server's own fields (state, status, times) do not count."""
    have = scheduler_v1.Job.to_dict(current)
    want = scheduler_v1.Job.to_dict(desired)
    return any(have.get(key) != value for key, value in want.items() if key not in OUTPUT_ONLY)


def apply(client: SchedulerClient, changes: Sequence[Change], target: DeployTarget) -> None:
    for change in changes:
        if change.action == "create":
            client.create_job(parent=target.parent, job=change.job)
        elif change.action == "update":
            client.update_job(job=change.job)
        elif change.action == "delete":
            client.delete_job(name=change.name)


def deploy(client: SchedulerClient, jobs: Sequence[Job], target: DeployTarget) -> list[Change]:
    """Upsert the declared jobs and delete our undeclared ones; returns what was done."""
    desired = build_jobs(jobs, target)  # every Job is built (and can fail) before anything is sent
    changes = plan(list(client.list_jobs(parent=target.parent)), desired, target)
    apply(client, changes, target)
    return changes


def describe(job: scheduler_v1.Job) -> dict[str, Any]:
    """A Job as JSON-ready dict (bytes bodies decoded), for --dry-run and logs."""
    data = scheduler_v1.Job.to_dict(job, use_integers_for_enums=False)
    for name in OUTPUT_ONLY:
        data.pop(name, None)
    for key in ("http_target", "pubsub_target"):
        target = data.get(key)
        if target:
            field = "body" if key == "http_target" else "data"
            raw = getattr(getattr(job, key), field)
            target[field] = raw.decode() if isinstance(raw, bytes) else raw
    return data
