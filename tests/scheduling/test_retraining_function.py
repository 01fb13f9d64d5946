"""The retraining function end to end on the local target: scheduler-shaped HTTP requests and Pub/Sub
CloudEvents retrain through dbt, promote through the registry and record the run; overlapping
triggers, a SIGKILL mid-run, failures of both kinds and the drift gate."""

from __future__ import annotations

import base64
import datetime as dt
import json
import subprocess
import sys

import functions_framework
import pytest
from cloudevents.conversion import to_structured
from cloudevents.http import CloudEvent
from scheduling_helpers import (
    MODEL,
    RECENT,
    ROOT,
    UNLABELLED,
    database,
    execution_at,
    job,
    predictions,
    query,
    registry_view,
    scheduler_request,
)

from ml.scheduling.function import PUBSUB_EVENT
from ml.scheduling.retrain import Retrainer, Trigger

pytestmark = pytest.mark.slow
SOURCE = str(ROOT / "retraining" / "main.py")


@pytest.fixture
def http_client(env: dict[str, str]):
    return functions_framework.create_app("retrain_http", SOURCE).test_client()


def test_scheduler_request_retrains_promotes_or_keeps_and_records(
    env: dict[str, str], http_client, retrainer: Retrainer
) -> None:
    before = registry_view(database(env))
    when = execution_at(2, 30)
    headers, body = scheduler_request(job(env, "penguins-http"), when)

    response = http_client.post("/", headers=headers, data=body)

    assert response.status_code == 200, response.get_json()
    payload = response.get_json()
    assert payload["status"] == "succeeded"
    [version] = payload["versions_trained"][MODEL]
    decision = payload["decision"][MODEL]
    assert (decision["challenger_version"], decision["champion_version"]) == (
        version, before.aliases.get("champion")
    )  # fmt: skip
    after = registry_view(database(env))
    assert after.versions == [*before.versions, version]
    kept = before.aliases.get("champion")
    assert after.aliases["champion"] == (version if decision["decision"] == "promoted" else kept)
    assert after.problems == []
    assert after.decisions[-1]["triggered_by"] == f"schedule:penguins-http:{payload['run_id']}"
    record = retrainer.store.runs("penguins-http")[0]
    assert record["run_id"] == payload["run_id"]
    assert (record["status"], record["trigger"]) == ("succeeded", "cloud-scheduler")
    assert record["schedule_time"] == when.replace(tzinfo=None)
    assert record["versions_trained"] == {MODEL: [version]}
    assert record["decision"] == payload["decision"]
    assert record["started_at"] <= record["finished_at"]

    # Cloud Scheduler retrying the same execution (e.g. after a lost answer) does not train again.
    retry = http_client.post("/", headers=headers, data=body)
    assert retry.status_code == 200
    assert retry.get_json()["status"] == "skipped"
    assert retry.get_json()["reason"] == f"run {payload['run_id']} already did this execution"
    assert registry_view(database(env)).versions == after.versions


def test_callers_without_the_token_or_a_declared_job_are_refused(
    env: dict[str, str], http_client, retrainer: Retrainer
) -> None:
    recorded = len(retrainer.store.runs(limit=1000))
    headers, body = scheduler_request(job(env, "penguins-http"), execution_at(0))
    anonymous = {key: value for key, value in headers.items() if key != "Authorization"}
    assert http_client.post("/", headers=anonymous, data=body).status_code == 401
    assert (
        http_client.post("/", headers={**headers, "Authorization": "Bearer guess"}, data=body).status_code
        == 403
    )
    unknown = http_client.post("/", headers=headers, data=b'{"job": "nope"}')
    assert unknown.status_code == 400
    assert "unknown job 'nope'" in unknown.get_json()["errorMessage"]
    assert http_client.post("/", headers=headers, data=b"not json").status_code == 400
    assert http_client.get("/").status_code == 405
    assert len(retrainer.store.runs(limit=1000)) == recorded


def pubsub_event(data: str, published: str) -> tuple[dict[str, str], bytes]:
    """A structured CloudEvent as Eventarc delivers a Pub/Sub message to a function."""
    event = CloudEvent(
        {"type": PUBSUB_EVENT, "source": "//pubsub.googleapis.com/projects/demo/topics/retrain"},
        {
            "message": {"data": data, "messageId": "17", "publishTime": published},
            "subscription": "projects/demo/subscriptions/retrain",
        },
    )
    return to_structured(event)


def test_pubsub_cloud_event_retrains_and_records(env: dict[str, str], retrainer: Retrainer) -> None:
    client = functions_framework.create_app("retrain_pubsub", SOURCE, "cloudevent").test_client()
    before = registry_view(database(env))
    data = base64.b64encode(json.dumps(job(env, "penguins-pubsub").body()).encode()).decode()

    headers, body = pubsub_event(data, "2026-11-27T04:00:00.250Z")
    assert client.post("/", headers=headers, data=body).status_code == 200

    record = retrainer.store.runs("penguins-pubsub")[0]
    assert (record["status"], record["trigger"]) == ("succeeded", "pubsub")
    assert record["schedule_time"] == dt.datetime(2026, 11, 27, 4, 0, 0, 250000)
    [version] = record["versions_trained"][MODEL]
    assert registry_view(database(env)).versions == [*before.versions, version]
    assert record["decision"][MODEL]["decision"] in ("promoted", "kept")
    # A malformed message is acknowledged (redelivery cannot fix it) and starts nothing.
    headers, body = pubsub_event("not base64!", "2026-11-27T05:00:00Z")
    assert client.post("/", headers=headers, data=body).status_code == 200
    assert retrainer.store.runs("penguins-pubsub")[0]["run_id"] == record["run_id"]


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("penguins-broken", "dbt run failed: penguins_broken"),  # training fails
        ("penguins-bad-holdout", "has no column body_mass_g"),  # promotion refuses the holdout
    ],
)
def test_deterministic_failures_answer_200_failed_and_never_touch_the_champion(
    env: dict[str, str], http_client, retrainer: Retrainer, name: str, words: str
) -> None:
    query(
        database(env),
        f"CREATE OR REPLACE TABLE {UNLABELLED} AS "
        "SELECT * EXCLUDE (body_mass_g) FROM main_staging.stg_penguins__penguins",
    )
    before = registry_view(database(env))
    headers, body = scheduler_request(job(env, name), execution_at(5))
    response = http_client.post("/", headers=headers, data=body)
    # 2xx: Cloud Scheduler retries every other status, and this one would fail the same way again.
    assert response.status_code == 200
    payload = response.get_json()
    assert payload["status"] == "failed"
    assert words in payload["errorMessage"]
    record = retrainer.store.runs(name)[0]
    assert (record["run_id"], record["status"], record["error"]) == (
        payload["run_id"], "failed", payload["errorMessage"]
    )  # fmt: skip
    after = registry_view(database(env))
    assert after.aliases.get("champion") == before.aliases.get("champion")
    assert after.problems == []
    assert len(predictions(database(env))) == 5


def test_a_busy_warehouse_is_a_retryable_503(env: dict[str, str], http_client) -> None:
    hold = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print(1, flush=True); time.sleep(300)"
    holder = subprocess.Popen([sys.executable, "-c", hold, str(database(env))], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"1"
        headers, body = scheduler_request(job(env, "penguins-http"), execution_at(6))
        response = http_client.post("/", headers=headers, data=body)
    finally:
        holder.kill()
        holder.wait()
    assert response.status_code == 503
    assert "the warehouse is busy" in response.get_json()["errorMessage"]


def test_drift_gate_skips_unchanged_data_and_retrains_shifted_data(
    env: dict[str, str], retrainer: Retrainer
) -> None:
    db = database(env)
    query(db, f"CREATE OR REPLACE TABLE {RECENT} AS SELECT * FROM main_staging.stg_penguins__penguins")
    before = registry_view(db)

    quiet = retrainer.run(Trigger("penguins-drift", "test"))

    assert quiet.status == "skipped"
    gate = quiet.detail["drift"]
    assert not gate["drifted"]
    assert gate["score"] < 0.1
    [report] = gate["models"]
    assert set(report["features"]) == {
        "species", "island", "sex", "bill_length_mm", "bill_depth_mm", "flipper_length_mm"
    }  # fmt: skip
    record = retrainer.store.runs("penguins-drift")[0]
    assert record["status"] == "skipped"
    assert record["drift"] == gate
    assert record["decision"]["reason"].startswith("largest feature PSI")
    assert registry_view(db).versions == before.versions

    query(
        db,
        f"CREATE OR REPLACE TABLE {RECENT} AS SELECT * REPLACE (bill_length_mm + 10 AS bill_length_mm) "
        "FROM main_staging.stg_penguins__penguins",
    )
    shifted = retrainer.run(Trigger("penguins-drift", "test"))

    assert shifted.status == "succeeded"
    gate = shifted.detail["drift"]
    assert gate["drifted"]
    features = gate["models"][0]["features"]
    assert max(features, key=lambda name: features[name]["psi"]) == "bill_length_mm"
    assert features["bill_length_mm"]["mean_shift_in_stddevs"] == pytest.approx(10 / 5.4596, rel=1e-3)
    [version] = shifted.detail["versions_trained"][MODEL]
    assert registry_view(db).versions == [*before.versions, version]
    record = retrainer.store.runs("penguins-drift")[0]
    assert (record["status"], record["drift"]["drifted"]) == ("succeeded", True)
