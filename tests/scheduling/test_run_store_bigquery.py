"""The BigQuery run store: what it would send (SQL text and query parameters), checked without
Google Cloud, and a live round trip that runs only with credentials."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import uuid
from pathlib import Path

import pytest
import sqlglot
from google.cloud import bigquery
from recording_client import RecordingClient
from scheduling_helpers import TOKEN, function_env, job, scheduler_request
from sqlglot import exp

from ml.errors import MLError
from ml.registry import Registry
from ml.registry.bigquery import BigQueryBackend
from ml.scheduling.dbt_project import ModelNode, ResolvedJob
from ml.scheduling.drift_bigquery import skew_report
from ml.scheduling.function import handle_http
from ml.scheduling.retrain import Retrainer, Settings
from ml.scheduling.store import ABANDONED, RUN_COLUMNS, Acquired, LockHeld, finish_values
from ml.scheduling.store_bigquery import RUN_TYPES, BigQueryRunStore, Query, RunStoreSql

PROJECT = "analytics-prod"
TTL = dt.timedelta(seconds=90)
WHEN = dt.datetime(2026, 11, 27, 4, 0)
HOSTILE = "x'; DROP TABLE t; --"  # a value that must travel as a parameter, never as SQL text
RUN = {
    "run_id": "run-1",
    "job": HOSTILE,
    "trigger": "cloud-scheduler",
    "schedule_time": WHEN,
    "owner": "host:1:2",
    "models": ["penguins_body_mass"],
}


@pytest.fixture
def sql() -> RunStoreSql:
    return RunStoreSql(PROJECT)


def parsed(query: Query) -> list[exp.Expression]:
    """Every statement parses in sqlglot's BigQuery dialect as itself (no opaque Command)."""
    statements = [sqlglot.parse_one(s, read="bigquery") for s in query.statements()]
    assert not [s for s in statements if isinstance(s, exp.Command)], query.sql
    return statements


def parameters(query: Query) -> dict[str, bigquery.ScalarQueryParameter]:
    """The QueryJobConfig's parameters by name; exactly the `@names` the SQL uses, each once."""
    config = query.job_config()
    assert isinstance(config, bigquery.QueryJobConfig)
    found = {p.name: p for p in config.query_parameters}
    assert len(found) == len(config.query_parameters)
    assert all(isinstance(p, bigquery.ScalarQueryParameter) for p in found.values())
    assert set(found) == set(re.findall(r"@([a-z_]+)", query.sql.replace("@@", "")))
    return found


def flat(statement: exp.Expression) -> str:
    return " ".join(statement.sql("bigquery").split())


def test_taking_the_lock_is_one_transaction_around_a_merge(sql: RunStoreSql) -> None:
    query = sql.take_lock("retrain", RUN, TTL)
    statements = parsed(query)
    kinds = [type(s).__name__ for s in statements]
    assert kinds == [
        "Declare", "Declare", "Transaction", "Set", "Set", "Merge", "Update", "Insert", "Commit", "Select",
    ]  # fmt: skip
    assert query.statements()[2] == "BEGIN TRANSACTION"
    assert query.statements()[8] == "COMMIT TRANSACTION"
    merge = flat(statements[5])
    locks = "`analytics-prod.ml_retraining.locks`"
    assert merge.startswith(f"MERGE INTO {locks} AS l USING (SELECT @lock AS name, @run_id AS run_id")
    assert "ON l.name = n.name" in merge
    # A dead holder's expired row is taken over; a missing row is inserted; a live one is left alone.
    assert (
        "WHEN MATCHED AND l.expires_at < CURRENT_TIMESTAMP() THEN UPDATE SET run_id = n.run_id, "
        "owner = n.owner, acquired_at = CURRENT_TIMESTAMP(), "
        "expires_at = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL (@ttl_ms) MILLISECOND)"
    ) in merge
    assert "WHEN NOT MATCHED THEN INSERT (name, run_id, owner, acquired_at, expires_at)" in merge
    assert merge.count("WHEN") == 2
    # The holder it took over from is marked failed, and our run row written, only if the lock is ours.
    ours = f"EXISTS(SELECT 1 FROM {locks} WHERE name = @lock AND run_id = @run_id)"
    abandon = flat(statements[6])
    assert abandon.startswith("UPDATE `analytics-prod.ml_retraining.runs` SET status = 'failed'")
    assert f"WHERE run_id = prior_run AND status = 'running' AND {ours}" in abandon
    insert = flat(statements[7])
    assert insert.startswith("INSERT INTO `analytics-prod.ml_retraining.runs` (run_id, job, trigger")
    assert insert.endswith(f"FROM {locks} WHERE name = @lock AND run_id = @run_id")
    assert (
        flat(statements[9]) == f"SELECT run_id, owner, expires_at, prior_run FROM {locks} WHERE name = @lock"
    )
    assert HOSTILE not in query.sql


def test_the_lock_parameters_field_by_field(sql: RunStoreSql) -> None:
    params = parameters(sql.take_lock("retrain", RUN, TTL))
    expected = {
        "lock": ("STRING", "retrain"),
        "run_id": ("STRING", "run-1"),
        "job": ("STRING", HOSTILE),
        "trigger": ("STRING", "cloud-scheduler"),
        "schedule_time": ("TIMESTAMP", WHEN.replace(tzinfo=dt.UTC)),
        "owner": ("STRING", "host:1:2"),
        "models": ("STRING", json.dumps(["penguins_body_mass"])),  # PARSE_JSON(@models) in the SQL
        "versions_trained": ("STRING", None),
        "decision": ("STRING", None),
        "drift": ("STRING", None),
        "error": ("STRING", None),
        "ttl_ms": ("INT64", 90_000),
        "abandoned": ("STRING", ABANDONED),
    }
    assert {name: (p.type_, p.value) for name, p in params.items()} == expected
    # The naive UTC schedule time goes out as that instant, not the machine's local time.
    assert params["schedule_time"].to_api_repr()["parameterValue"]["value"].startswith("2026-11-27 04:00:00")


def test_heartbeat_release_and_records(sql: RunStoreSql) -> None:
    renew = sql.renew_lock("retrain", "run-1", TTL)
    [update] = parsed(renew)
    assert flat(update) == (
        "UPDATE `analytics-prod.ml_retraining.locks` SET expires_at = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), "
        "INTERVAL (@ttl_ms) MILLISECOND) WHERE name = @lock AND run_id = @run_id"
    )
    assert {n: (p.type_, p.value) for n, p in parameters(renew).items()} == {
        "lock": ("STRING", "retrain"), "run_id": ("STRING", "run-1"), "ttl_ms": ("INT64", 90_000),
    }  # fmt: skip
    beat = sql.beat_run("run-1")
    assert isinstance(parsed(beat)[0], exp.Update) and set(parameters(beat)) == {"run_id"}

    values = finish_values("succeeded", {"versions_trained": {"m": [2]}, "decision": {"m": "kept"}})
    finish = sql.finish("retrain", "run-1", values)
    statements = parsed(finish)
    assert [type(s).__name__ for s in statements] == ["Transaction", "Update", "Delete", "Commit"]
    assert flat(statements[1]).startswith(
        "UPDATE `analytics-prod.ml_retraining.runs` SET status = @status, finished_at = @finished_at, "
        "versions_trained = PARSE_JSON(@versions_trained), decision = PARSE_JSON(@decision)"
    )
    assert flat(statements[2]) == (
        "DELETE FROM `analytics-prod.ml_retraining.locks` WHERE name = @lock AND run_id = @run_id"
    )
    params = parameters(finish)
    assert (params["status"].type_, params["status"].value) == ("STRING", "succeeded")
    assert params["finished_at"].type_ == "TIMESTAMP" and params["finished_at"].value.tzinfo == dt.UTC
    assert json.loads(params["versions_trained"].value) == {"m": [2]}
    # No lock (a run that never held one): no DELETE, no @lock.
    assert "DELETE" not in sql.finish(None, "run-1", values).sql
    assert "lock" not in parameters(sql.finish(None, "run-1", values))

    insert = sql.insert_run({**RUN, "status": "skipped", "decision": {"reason": "held"}})
    assert isinstance(parsed(insert)[0], exp.Insert)
    assert parameters(insert)["job"].value == HOSTILE and HOSTILE not in insert.sql

    listing = sql.list_runs("nightly", 20)
    assert flat(parsed(listing)[0]).endswith(
        "WHERE job = @job ORDER BY started_at DESC, run_id DESC LIMIT @limit"
    )
    assert {n: (p.type_, p.value) for n, p in parameters(listing).items()} == {
        "job": ("STRING", "nightly"), "limit": ("INT64", 20),
    }  # fmt: skip
    assert set(parameters(sql.list_runs(None, 5))) == {"limit"}
    done = sql.completed("nightly", WHEN)
    assert isinstance(parsed(done)[0], exp.Select)
    assert parameters(done)["schedule_time"].type_ == "TIMESTAMP"


def test_ddl_has_the_duckdb_columns(sql: RunStoreSql) -> None:
    schema, runs, locks = (parsed(q)[0] for q in sql.ddl())
    assert all(isinstance(s, exp.Create) for s in (schema, runs, locks))
    assert flat(schema) == "CREATE SCHEMA IF NOT EXISTS `analytics-prod.ml_retraining`"
    columns = {c.name: c.args["kind"].sql("bigquery") for c in runs.find_all(exp.ColumnDef)}
    assert tuple(columns) == RUN_COLUMNS == tuple(RUN_TYPES)
    assert (columns["schedule_time"], columns["decision"], columns["run_id"]) == (
        "TIMESTAMP",
        "JSON",
        "STRING",
    )
    assert [c.name for c in locks.find_all(exp.ColumnDef)] == [
        "name", "run_id", "owner", "acquired_at", "expires_at",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("project", "dataset"),
    [("analytics-prod`; DROP", "ml_retraining"), ("Bad_Project", "ml_retraining"), (PROJECT, "ml-retraining"),
     (PROJECT, "x`y")],
)  # fmt: skip
def test_bad_names_are_refused_before_any_sql(project: str, dataset: str) -> None:
    with pytest.raises(MLError, match="Invalid BigQuery"):
        RunStoreSql(project, dataset)
    with pytest.raises(MLError, match="Invalid BigQuery"):
        BigQueryRunStore.connect(project, "US", dataset)


def test_unknown_status_and_columns_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown run status"):
        finish_values("done", {})
    with pytest.raises(ValueError, match="unknown run columns"):
        finish_values("failed", {"error = 'x'; --": "y"})


def bigquery_env(project_copy: Path, **extra: str) -> dict[str, str]:
    return {**function_env(project_copy), "DBT_TARGET": "bigquery", **extra}


def test_the_bigquery_target_needs_a_project(project_copy: Path) -> None:
    with pytest.raises(MLError, match="BIGQUERY_PROJECT"):
        Retrainer(Settings.from_env(bigquery_env(project_copy)))
    with pytest.raises(MLError, match="dbt targets"):
        Retrainer(Settings.from_env({**function_env(project_copy), "DBT_TARGET": "snowflake"}))


def test_a_drift_gated_job_on_bigquery_asks_bigquery_ml_for_the_skew(
    project_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    retrainer = Retrainer(Settings.from_env(bigquery_env(project_copy, BIGQUERY_PROJECT=PROJECT)))
    client = RecordingClient(PROJECT)  # sends nothing; answers no rows
    registry = Registry(BigQueryBackend(client, PROJECT), "retraining")
    monkeypatch.setattr(retrainer, "registry", lambda triggered_by="": contextlib.nullcontext(registry))
    model = ModelNode("penguins_body_mass", "analytics_ml_ml", "LINEAR_REG")
    resolved = ResolvedJob(retrainer.job("penguins-drift"), [model], "staging.h", "staging.recent")

    gate = retrainer._drift(resolved)
    (call,) = client.calls
    # sqlglot 30 does not know ML.VALIDATE_DATA_SKEW: check its arguments as written, then the STRUCT.
    arguments = re.fullmatch(
        r".* FROM ML\.VALIDATE_DATA_SKEW\(MODEL (\S+), TABLE (\S+), (STRUCT\(.*\))\)", call.sql
    )
    assert arguments is not None, call.sql
    (query,) = sqlglot.parse(
        call.sql.replace(arguments[0][arguments[0].index("ML.") :], "skew"), read="bigquery"
    )
    assert [c.alias_or_name for c in query.selects] == ["input", "metric", "threshold", "value", "is_anomaly"]
    assert arguments[1] == f"`{PROJECT}.analytics_ml_ml.penguins_body_mass`"  # the champion's plain name
    assert arguments[2] == f"`{PROJECT}.staging.recent`"
    struct = sqlglot.parse_one(arguments[3], read="bigquery")
    options = {e.name: e.expression.this for e in struct.expressions}
    assert options == {
        "categorical_default_threshold": "0.1", "categorical_metric_type": "JENSEN_SHANNON_DIVERGENCE",
        "numerical_default_threshold": "0.1", "numerical_metric_type": "JENSEN_SHANNON_DIVERGENCE",
    }  # fmt: skip
    assert gate["drifted"] is False and "Jensen-Shannon divergence (ML.VALIDATE_DATA_SKEW)" in gate["reason"]


def test_the_skew_rows_make_the_gate_report() -> None:
    report = skew_report("ml.m", [
        {"input": "bill_length_mm", "metric": "JENSEN_SHANNON_DIVERGENCE", "threshold": 0.1, "value": 0.42,
         "is_anomaly": True},
        {"input": "island", "metric": "JENSEN_SHANNON_DIVERGENCE", "threshold": 0.1, "value": 0.05,
         "is_anomaly": False},
        {"input": "sex", "metric": "JENSEN_SHANNON_DIVERGENCE", "threshold": 0.1, "value": None,
         "is_anomaly": None},
    ])  # fmt: skip
    assert report.score == 0.42 and report.not_compared == ["sex"]
    assert report.as_record()["metric"] == "divergence"
    assert report.features["bill_length_mm"] == {
        "kind": "jensen_shannon_divergence", "divergence": 0.42, "is_anomaly": True,
    }  # fmt: skip


def test_a_drift_threshold_bigquery_cannot_take_is_refused_with_400(
    project_copy: Path, tmp_path: Path
) -> None:
    declared = Path(function_env(project_copy)["RETRAIN_SCHEDULES"]).read_text()
    assert "threshold: 0.1" in declared
    schedules = tmp_path / "jobs.yml"
    schedules.write_text(declared.replace("threshold: 0.1", "threshold: 1.5"))
    env = {**bigquery_env(project_copy, BIGQUERY_PROJECT=PROJECT), "RETRAIN_SCHEDULES": str(schedules)}
    retrainer = Retrainer(Settings.from_env(env))  # no client yet: nothing is sent
    headers, body = scheduler_request(job(env, "penguins-drift"), WHEN.replace(tzinfo=dt.UTC), TOKEN)
    payload, status = handle_http(headers, body, env, lambda: retrainer)
    assert status == 400
    assert "job 'penguins-drift': drift.threshold 1.5 is not in [0, 1)" in payload["errorMessage"]
    assert retrainer.store._client is None  # refused before the store was touched


@pytest.mark.gcp
@pytest.mark.skipif(
    not os.environ.get("BIGQUERY_PROJECT") or not os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"),
    reason="needs BIGQUERY_PROJECT and GOOGLE_APPLICATION_CREDENTIALS",
)
def test_live_lock_round_trip_on_bigquery() -> None:
    dataset = f"ml_retraining_smoke_{uuid.uuid4().hex[:8]}"
    store = BigQueryRunStore.connect(
        os.environ["BIGQUERY_PROJECT"], os.environ.get("BIGQUERY_LOCATION", "US"), dataset
    )
    try:
        run = {"run_id": "a", "job": "smoke", "trigger": "test", "owner": "owner-a", "models": ["m"]}
        assert store.start_run("retrain", run, TTL) == Acquired("a", None)
        held = store.start_run("retrain", {**run, "run_id": "b", "owner": "owner-b"}, TTL)
        assert isinstance(held, LockHeld) and (held.run_id, held.owner) == ("a", "owner-a")
        assert store.heartbeat("retrain", "a", TTL)
        store.finish_run("retrain", "a", "succeeded", versions_trained={"m": [2]})
        assert not store.heartbeat("retrain", "a", TTL)
        # An expired lock (ttl 0) is taken over and its run marked failed.
        assert store.start_run("retrain", {**run, "run_id": "c"}, dt.timedelta(0)) == Acquired("c", None)
        assert store.start_run("retrain", {**run, "run_id": "d"}, TTL) == Acquired("d", "c")
        runs = {r["run_id"]: r for r in store.runs("smoke")}
        assert runs["a"]["status"] == "succeeded" and runs["a"]["versions_trained"] == {"m": [2]}
        assert runs["c"]["status"] == "failed" and runs["c"]["error"].startswith(ABANDONED)
        assert runs["d"]["status"] == "running"
    finally:
        store.client.delete_dataset(f"{store.sql.project}.{dataset}", delete_contents=True, not_found_ok=True)
