"""`schedules run-local`: fire the declared jobs by their cron, as Cloud Scheduler would, at a
locally served retraining function (started here with functions-framework on 127.0.0.1 unless a
URL is given).

Each firing is the request Cloud Scheduler sends: POST, ``User-Agent: Google-Cloud-Scheduler``,
``X-CloudScheduler: true``, the job name and schedule time headers, a bearer token and the job's
body; 5xx answers and connection failures are retried with the job's RetryConfig.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import sys
import tempfile
import time
import zoneinfo
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from croniter import croniter

from ml.scheduling.declarations import DEFAULT_PREFIX, Job
from remote_functions.local_services import LOOPBACK, ServiceProcess, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
FUNCTION_SOURCE = REPO_ROOT / "retraining" / "main.py"


def previous_fire(job: Job, at: dt.datetime) -> dt.datetime:
    """The job's latest scheduled time at or before `at` (aware), in UTC."""
    local = at.astimezone(zoneinfo.ZoneInfo(job.time_zone))
    return croniter(job.schedule, local + dt.timedelta(seconds=1)).get_prev(dt.datetime).astimezone(dt.UTC)


def fire_times(job: Job, start: dt.datetime, end: dt.datetime) -> Iterator[dt.datetime]:
    """Scheduled times in (start, end], in UTC; the cron is read in the job's time zone (DST included)."""
    schedule = croniter(job.schedule, start.astimezone(zoneinfo.ZoneInfo(job.time_zone)))
    while (moment := schedule.get_next(dt.datetime)) <= end:
        yield moment.astimezone(dt.UTC)


def rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def scheduler_headers(job: Job, schedule_time: dt.datetime, token: str | None, prefix: str) -> dict[str, str]:
    """The headers of a Cloud Scheduler HTTP job's request."""
    headers = {
        "User-Agent": "Google-Cloud-Scheduler",
        "X-CloudScheduler": "true",
        "X-CloudScheduler-JobName": f"{prefix}{job.name}",
        "X-CloudScheduler-ScheduleTime": rfc3339(schedule_time),
        "Content-Type": "application/json",
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


@dataclass(frozen=True)
class Firing:
    job: str
    schedule_time: dt.datetime
    attempts: int
    status_code: int | None
    payload: dict


class LocalScheduler:
    """Sends scheduler-shaped requests to one function URL."""

    def __init__(
        self,
        url: str,
        token: str | None,
        prefix: str = DEFAULT_PREFIX,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 1800.0,
    ) -> None:
        self.url, self.token, self.prefix = url, token, prefix
        self.sleep, self.timeout = sleep, timeout

    def fire(self, job: Job, schedule_time: dt.datetime) -> Firing:
        """One execution, retried as the job's RetryConfig says while the answer is not 2xx."""
        body = json.dumps(job.body()).encode()
        headers = scheduler_headers(job, schedule_time, self.token, self.prefix)
        backoff, attempt = float(job.retry.min_backoff_s), 0
        while True:
            attempt += 1
            try:
                response = requests.post(self.url, data=body, headers=headers, timeout=self.timeout)
                status, payload = response.status_code, _json(response)
            except requests.RequestException as exc:
                status, payload = None, {"status": "failed", "errorMessage": str(exc)}
            if (status is not None and 200 <= status < 300) or attempt > job.retry.retry_count:
                return Firing(job.name, schedule_time, attempt, status, payload)
            self.sleep(min(backoff, job.retry.max_backoff_s))
            if attempt <= job.retry.max_doublings:
                backoff *= 2

    def once(self, jobs: Sequence[Job], now: dt.datetime) -> list[Firing]:
        """Every job once, for its latest scheduled time (as `gcloud scheduler jobs run` forces it)."""
        return [self.fire(job, previous_fire(job, now)) for job in jobs]

    def until(
        self,
        jobs: Sequence[Job],
        end: dt.datetime,
        report: Callable[[Firing], None],
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> list[Firing]:
        """Fire each job at its scheduled times from now until `end`, in time order."""
        start = clock()
        due = sorted((moment, job.name) for job in jobs for moment in fire_times(job, start, end))
        by_name = {job.name: job for job in jobs}
        fired = []
        for moment, name in due:
            wait = (moment - clock()).total_seconds()
            if wait > 0:
                self.sleep(wait)
            firing = self.fire(by_name[name], moment)
            report(firing)
            fired.append(firing)
        return fired


def _json(response: requests.Response) -> dict:
    try:
        payload = response.json()
    except ValueError:
        return {"body": response.text[:500]}
    return payload if isinstance(payload, dict) else {"body": payload}


@dataclass(frozen=True)
class ServedFunction:
    url: str
    token: str
    process: ServiceProcess


@contextmanager
def served_function(env: dict[str, str], startup_timeout: float = 120.0) -> Iterator[ServedFunction]:
    """Serve `retraining/main.py` (target retrain_http) on a free port of 127.0.0.1, demanding a
    fresh bearer token; stops the server afterwards."""
    token = secrets.token_urlsafe(24)
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("functions-framework")),
        "--source",
        str(FUNCTION_SOURCE),
        "--target",
        "retrain_http",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
    ]
    server = ServiceProcess(
        "retrain-function",
        command,
        {**env, "REMOTE_FUNCTION_TOKEN": token},
        Path(tempfile.mkdtemp(prefix="analytics-ml-retrain-")),
    )
    served = ServedFunction(f"http://{LOOPBACK}:{port}/", token, server)
    try:
        server.wait_until_answering(served.url, startup_timeout)
        yield served
    finally:
        server.stop()
