"""The retraining function's request parsing, without a warehouse: which job and which execution a
Cloud Scheduler request or a Pub/Sub event names, and what is refused."""

from __future__ import annotations

import base64
import datetime as dt

import pytest

from ml.scheduling.function import PUBSUB_EVENT, BadRequest, event_trigger, http_trigger, parse_time
from ml.scheduling.retrain import Trigger

SCHEDULED = {
    "User-Agent": "Google-Cloud-Scheduler",
    "X-CloudScheduler": "true",
    "X-CloudScheduler-JobName": "analytics-ml-retrain-nightly",
    "X-CloudScheduler-ScheduleTime": "2026-11-27T02:30:00Z",
}


def test_a_scheduler_request_names_job_and_execution() -> None:
    assert http_trigger(SCHEDULED, b'{"job": "nightly"}') == Trigger(
        "nightly", "cloud-scheduler", dt.datetime(2026, 11, 27, 2, 30)
    )


def test_without_a_body_the_job_comes_from_the_job_name_header() -> None:
    trigger = http_trigger(SCHEDULED, b"", job_prefix="analytics-ml-retrain-")
    assert (trigger.job, trigger.source) == ("nightly", "cloud-scheduler")


def test_a_manual_call_is_not_a_scheduled_execution() -> None:
    assert http_trigger({}, b'{"job": "nightly", "source": "backfill"}') == Trigger(
        "nightly", "backfill", None
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [(b"[1]", "JSON object"), (b"{", "not JSON"), (b'{"job": 3}', "declared job name"), (b"{}", "declared")],
)
def test_malformed_bodies_are_bad_requests(body: bytes, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        http_trigger({}, body)


def test_rfc3339_times_become_naive_utc() -> None:
    assert parse_time("2026-11-27T03:30:00+01:00") == dt.datetime(2026, 11, 27, 2, 30)
    assert parse_time("2026-11-27T02:30:00.123456Z") == dt.datetime(2026, 11, 27, 2, 30, 0, 123456)
    assert parse_time(None) is None
    with pytest.raises(BadRequest, match="RFC 3339"):
        parse_time("yesterday")


def test_a_pubsub_event_names_job_and_publish_time() -> None:
    data = {
        "message": {
            "data": base64.b64encode(b'{"job": "weekly"}').decode(),
            "publishTime": "2026-11-30T04:00:00Z",
        }
    }
    assert event_trigger(PUBSUB_EVENT, data) == Trigger("weekly", "pubsub", dt.datetime(2026, 11, 30, 4))
    by_attribute = {"message": {"data": base64.b64encode(b"{}").decode(), "attributes": {"job": "weekly"}}}
    assert event_trigger(PUBSUB_EVENT, by_attribute).job == "weekly"
    with pytest.raises(BadRequest, match="unexpected CloudEvent type"):
        event_trigger("google.cloud.storage.object.v1.finalized", data)
