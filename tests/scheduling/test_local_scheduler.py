"""The local cron runner: when jobs fire (time zones, DST), the request it sends, its retries."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from ml.scheduling import declarations
from ml.scheduling.declarations import parse_job
from ml.scheduling.runner import LocalScheduler, fire_times, previous_fire, scheduler_headers

BERLIN_0230 = parse_job(
    {"name": "n", "schedule": "30 2 * * *", "time_zone": "Europe/Berlin", "models": "m", "holdout": "h",
     "metric": "r2_score"},
    0,
)  # fmt: skip
UTC = dt.UTC


def test_cron_is_read_in_the_job_time_zone() -> None:
    start = dt.datetime(2026, 1, 10, 0, 0, tzinfo=UTC)
    times = list(fire_times(BERLIN_0230, start, start + dt.timedelta(days=2)))
    assert times == [dt.datetime(2026, 1, 10, 1, 30, tzinfo=UTC), dt.datetime(2026, 1, 11, 1, 30, tzinfo=UTC)]


def test_summer_time_moves_the_utc_firing() -> None:
    start = dt.datetime(2026, 7, 1, 0, 0, tzinfo=UTC)
    assert next(fire_times(BERLIN_0230, start, start + dt.timedelta(days=1))) == dt.datetime(
        2026, 7, 1, 0, 30, tzinfo=UTC
    )


def test_previous_fire_is_the_latest_scheduled_time() -> None:
    at = dt.datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
    assert previous_fire(BERLIN_0230, at) == dt.datetime(2026, 1, 10, 1, 30, tzinfo=UTC)
    exactly = dt.datetime(2026, 1, 10, 1, 30, tzinfo=UTC)
    assert previous_fire(BERLIN_0230, exactly) == exactly


def test_headers_are_cloud_schedulers() -> None:
    headers = scheduler_headers(BERLIN_0230, dt.datetime(2026, 1, 10, 1, 30, tzinfo=UTC), "tok", "pre-")
    assert headers == {
        "User-Agent": "Google-Cloud-Scheduler",
        "X-CloudScheduler": "true",
        "X-CloudScheduler-JobName": "pre-n",
        "X-CloudScheduler-ScheduleTime": "2026-01-10T01:30:00Z",
        "Content-Type": "application/json",
        "Authorization": "Bearer tok",
    }


@pytest.fixture
def function_stub() -> Iterator[tuple[str, list[dict[str, str]], list[int]]]:
    """A real HTTP server on 127.0.0.1 that records each request and answers the scripted statuses
    (then 200): the far side of `LocalScheduler` without a dbt project."""
    requests_seen: list[dict[str, str]] = []
    statuses: list[int] = []

    @Request.application
    def app(request: Request) -> Response:
        requests_seen.append({**request.headers, "body": request.get_data(as_text=True)})
        status = statuses.pop(0) if statuses else 200
        return Response(json.dumps({"status": "succeeded" if status == 200 else "failed"}), status)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}/", requests_seen, statuses
    server.shutdown()


def job_with_retry(**retry: object) -> declarations.Job:
    return parse_job(
        {"name": "r", "schedule": "*/10 * * * *", "models": "m", "holdout": "h", "metric": "r2_score",
         "retry": retry},
        0,
    )  # fmt: skip


def test_5xx_is_retried_with_the_job_backoff(function_stub: tuple) -> None:
    url, seen, statuses = function_stub
    statuses[:] = [503, 503]
    sleeps: list[float] = []
    job = job_with_retry(retry_count=3, min_backoff="5s", max_backoff="8s", max_doublings=1)
    firing = LocalScheduler(url, "tok", sleep=sleeps.append).fire(job, dt.datetime(2026, 1, 10, tzinfo=UTC))
    assert (firing.attempts, firing.status_code, firing.payload) == (3, 200, {"status": "succeeded"})
    assert sleeps == [5, 8]  # doubled once (max_doublings), capped by max_backoff
    assert [r["X-Cloudscheduler-Scheduletime"] for r in seen] == ["2026-01-10T00:00:00Z"] * 3
    assert json.loads(seen[0]["body"]) == {"job": "r"}


def test_retries_stop_after_retry_count(function_stub: tuple) -> None:
    url, seen, statuses = function_stub
    statuses[:] = [503] * 5
    job = job_with_retry(retry_count=1)
    firing = LocalScheduler(url, None, sleep=lambda _: None).fire(job, dt.datetime(2026, 1, 10, tzinfo=UTC))
    assert (firing.attempts, firing.status_code) == (2, 503)
    assert "Authorization" not in seen[0]


def test_until_fires_every_due_time_in_order(function_stub: tuple) -> None:
    url, seen, _ = function_stub
    now = [dt.datetime(2026, 1, 10, 0, 5, tzinfo=UTC)]

    def sleep(seconds: float) -> None:  # a clock that the runner's waits move forward
        now[0] += dt.timedelta(seconds=seconds)

    hourly = parse_job(
        {"name": "hourly", "schedule": "0 * * * *", "models": "m", "holdout": "h", "metric": "r2_score"}, 0
    )
    fired = LocalScheduler(url, "tok", sleep=sleep).until(
        [job_with_retry(), hourly], dt.datetime(2026, 1, 10, 1, 0, tzinfo=UTC), lambda _: None, lambda: now[0]
    )
    assert [(f.job, f"{f.schedule_time:%H:%M}") for f in fired] == [
        ("r", "00:10"), ("r", "00:20"), ("r", "00:30"), ("r", "00:40"), ("r", "00:50"),
        ("hourly", "01:00"), ("r", "01:00"),
    ]  # fmt: skip
    assert [r["X-Cloudscheduler-Jobname"] for r in seen][-2:] == [
        "analytics-ml-retrain-hourly", "analytics-ml-retrain-r"
    ]  # fmt: skip
    assert now[0] == dt.datetime(2026, 1, 10, 1, 0, tzinfo=UTC)
