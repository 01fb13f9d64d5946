"""Retraining function: Cloud Scheduler (HTTP, OIDC) and Pub/Sub (CloudEvent) targets.

    functions-framework --source retraining/main.py --target retrain_http
    functions-framework --source retraining/main.py --target retrain_pubsub --signature-type cloudevent

It needs the whole repository (the dbt project, `schedules/jobs.yml`, the `ml` package), so it is
deployed from the repository root with this file as the function source (see
docs/scheduled-retraining.md). Run records and the lock are in DuckDB on the local target and in
the dataset `ml_retraining` of BIGQUERY_PROJECT on the bigquery target.

Settings (environment): DBT_PROJECT_DIR, DBT_PROFILES_DIR, DBT_TARGET, ANALYTICS_ML_DUCKDB,
BIGQUERY_PROJECT, BIGQUERY_LOCATION, RETRAIN_SCHEDULES, RETRAIN_LOCK_TTL_SECONDS, RETRAIN_JOB_PREFIX;
callers are authenticated as the remote function does it (FUNCTION_AUDIENCE: Google ID tokens;
REMOTE_FUNCTION_TOKEN: a local token).
The protocol and status codes are in `ml/scheduling/function.py`.
"""

from __future__ import annotations

import functools
import os

import flask
import functions_framework
from cloudevents.http import CloudEvent

from ml.scheduling.declarations import DEFAULT_PREFIX
from ml.scheduling.function import handle_event, handle_http
from ml.scheduling.retrain import Retrainer, Settings


@functools.cache
def retrainer() -> Retrainer:
    # One per instance, created on first use, as functions-framework samples create clients.
    return Retrainer(Settings.from_env(os.environ))


@functions_framework.http
def retrain_http(request: flask.Request) -> tuple[flask.Response, int]:
    if request.method != "POST":
        return flask.jsonify({"status": "failed", "errorMessage": "POST the job's body"}), 405
    payload, status = handle_http(
        request.headers,
        request.get_data(),
        os.environ,
        retrainer,
        os.environ.get("RETRAIN_JOB_PREFIX", DEFAULT_PREFIX),
    )
    return flask.jsonify(payload), status


@functions_framework.cloud_event
def retrain_pubsub(event: CloudEvent) -> None:
    handle_event(event["type"], event.data, retrainer)
