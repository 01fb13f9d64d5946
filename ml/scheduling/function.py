"""The retraining function's protocol, independent of the web framework.

HTTP (Cloud Scheduler HTTP jobs): POST with ``User-Agent: Google-Cloud-Scheduler``,
``X-CloudScheduler: true``, ``X-CloudScheduler-JobName``, ``X-CloudScheduler-ScheduleTime`` (RFC 3339),
an OIDC ``Authorization: Bearer`` ID token, and the job's body ``{"job": "<name>"}``.
Cloud Scheduler counts every non-2xx answer as a failed attempt and retries it per the job's
RetryConfig, so the status codes say whether retrying helps:

- 200 ``succeeded`` (trained, promoted or kept) and 200 ``skipped`` (drift below the threshold, another
  run holds the lock, or this scheduled execution already succeeded): nothing to retry;
- 200 ``failed`` with ``errorMessage``: a deterministic failure (bad model SQL, bad holdout); a retry
  would fail the same way, so none is asked for. The run record keeps the error;
- 503 ``failed``: a transient failure (warehouse busy or unavailable); Cloud Scheduler retries;
- 400 for a request that names no declared job, 401/403 for callers that may not call.

Pub/Sub (Cloud Scheduler Pub/Sub jobs): a CloudEvent ``google.cloud.pubsub.topic.v1.messagePublished``
whose ``message.data`` is the same body, base64-encoded. Returning acknowledges the message;
raising `TransientFailure` makes the push subscription redeliver it.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from typing import Any

from ml.errors import MLError
from ml.scheduling.retrain import Retrainer, RunOutcome, Trigger
from remote_functions.endpoint import EndpointUnavailable
from remote_functions.json_body import InvalidBody, parse_json_body
from remote_functions.main import AuthError, authenticate

log = logging.getLogger(__name__)
PUBSUB_EVENT = "google.cloud.pubsub.topic.v1.messagePublished"
MAX_ERROR_MESSAGE = 900


class BadRequest(ValueError):
    """The request names no declared job or is not JSON: HTTP 400."""


class TransientFailure(RuntimeError):
    """Raised from the CloudEvent handler so that Pub/Sub redelivers the message."""


def handle_http(
    headers: Mapping[str, str],
    body: bytes,
    env: Mapping[str, str],
    retrainer: Callable[[], Retrainer],
    job_prefix: str = "",
) -> tuple[dict[str, Any], int]:
    """One Cloud Scheduler (or manual) HTTP trigger → (JSON payload, status code). `retrainer` is
    called only for authenticated, well-formed requests (it is created once, on first use)."""
    try:
        authenticate(headers.get("Authorization"), env)
        trigger = http_trigger(headers, body, job_prefix)
        outcome = retrainer().run(trigger)
    except AuthError as exc:
        return _error(str(exc)), exc.status
    except EndpointUnavailable as exc:  # Google's token certificates unreachable: passes on its own
        return _error(str(exc)), 503
    except (BadRequest, MLError) as exc:
        return _error(str(exc)), 400
    return outcome.payload(), 503 if outcome.transient else 200


def http_trigger(headers: Mapping[str, str], body: bytes, job_prefix: str = "") -> Trigger:
    """The job (from the body, else from the job-name header) and the execution it is."""
    payload = _json_object(body) if body.strip() else {}
    job = payload.get("job") or _strip_prefix(headers.get("X-CloudScheduler-JobName", ""), job_prefix)
    if not isinstance(job, str) or not job:
        raise BadRequest('expected a JSON body {"job": "<declared job name>"}')
    scheduled = headers.get("X-CloudScheduler") == "true"
    return Trigger(
        job=job,
        source="cloud-scheduler" if scheduled else payload.get("source", "http"),
        schedule_time=parse_time(headers.get("X-CloudScheduler-ScheduleTime")),
    )


def handle_event(event_type: str, data: Any, retrainer: Callable[[], Retrainer]) -> RunOutcome | None:
    """One Pub/Sub CloudEvent → the run; `TransientFailure` when the message should come again.

    A malformed message or an unknown job is logged and acknowledged (None): redelivering it
    would fail the same way until the subscription gives up.
    """
    try:
        trigger = event_trigger(event_type, data)
        outcome = retrainer().run(trigger)
    except (BadRequest, MLError) as exc:
        log.error("retraining event refused: %s", exc)
        return None
    if outcome.transient:
        raise TransientFailure(outcome.detail.get("errorMessage", "transient failure"))
    return outcome


def event_trigger(event_type: str, data: Any) -> Trigger:
    """The job and execution a Pub/Sub CloudEvent asks for."""
    if event_type != PUBSUB_EVENT:
        raise BadRequest(f"unexpected CloudEvent type {event_type!r}, expected {PUBSUB_EVENT}")
    message = (data or {}).get("message") or {}
    try:
        body = base64.b64decode(message.get("data", ""), validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("message.data is not base64") from None
    payload = _json_object(body)
    job = payload.get("job") or (message.get("attributes") or {}).get("job")
    if not isinstance(job, str) or not job:
        raise BadRequest('expected message data {"job": "<declared job name>"}')
    # A redelivered message keeps its publish time: it identifies the execution across retries.
    return Trigger(job, "pubsub", parse_time(message.get("publishTime")))


def parse_time(value: str | None) -> dt.datetime | None:
    """RFC 3339 (``2026-11-27T03:00:00Z``, fractions allowed) → naive UTC; None when absent."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo is None else parsed.astimezone(dt.UTC).replace(tzinfo=None)
    except ValueError:
        raise BadRequest(f"not an RFC 3339 time: {value!r}") from None
    except OverflowError:  # year 1 or 9999 moved across a time zone leaves the calendar
        raise BadRequest(f"time out of range once in UTC: {value!r}") from None


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = parse_json_body(body)
    except InvalidBody as exc:
        raise BadRequest(str(exc)) from None
    if not isinstance(payload, dict):
        raise BadRequest("the body must be a JSON object")
    return payload


def _strip_prefix(name: str, prefix: str) -> str:
    return name[len(prefix) :] if prefix and name.startswith(prefix) else name


def _error(message: str) -> dict[str, str]:
    return {"status": "failed", "errorMessage": message[:MAX_ERROR_MESSAGE]}
