"""The retraining function served by functions-framework on 127.0.0.1 (gunicorn, threads), one
server for the module: `schedules run-local` fires at it, two triggers race, and the last test
SIGKILLs it mid-training."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from scheduling_helpers import (
    MODEL,
    database,
    execution_at,
    function_env,
    job,
    kill_tree,
    predictions,
    registry_view,
    scheduler_request,
)

from ml.cli import main
from ml.scheduling.retrain import Retrainer, Trigger
from ml.scheduling.runner import ServedFunction, served_function

pytestmark = pytest.mark.slow
SERVED_LOCK_TTL_S = 2  # short, so that the lock of the killed server expires within the test
TRAINING_STARTS = "START sql bqml_model model"


@pytest.fixture(scope="module")
def served(project: Path) -> Iterator[ServedFunction]:
    with served_function(
        {**function_env(project), "RETRAIN_LOCK_TTL_SECONDS": str(SERVED_LOCK_TTL_S)}
    ) as server:
        yield server


def wait_for(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_run_local_fires_a_job_at_the_served_function_and_runs_lists_it(
    served: ServedFunction, env: dict[str, str], project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schedules = env["RETRAIN_SCHEDULES"]
    code = main(
        ["schedules", "run-local", "--once", "--job", "penguins-http", "--schedules", schedules,
         "--project-dir", str(project), "--url", served.url, "--token", served.token]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert "penguins-http: HTTP 200 succeeded run " in out
    run_id = out.split(" run ")[1].split()[0]

    assert (
        main(["runs", "--database", env["ANALYTICS_ML_DUCKDB"], "--job", "penguins-http", "--format", "json"])
        == 0
    )
    latest = json.loads(capsys.readouterr().out)[0]
    assert (latest["run_id"], latest["trigger"], latest["status"]) == (run_id, "cloud-scheduler", "succeeded")
    assert main(["runs", "--database", env["ANALYTICS_ML_DUCKDB"], "--limit", "3"]) == 0
    table = capsys.readouterr().out
    assert run_id[:12] in table
    assert f"{MODEL}: v" in table


def test_two_triggers_at_once_exactly_one_trains(
    served: ServedFunction, env: dict[str, str], retrainer: Retrainer
) -> None:
    before = registry_view(database(env))
    penguins = job(env, "penguins-http")
    barrier = threading.Barrier(2)

    def fire(minute: int) -> requests.Response:
        headers, body = scheduler_request(penguins, execution_at(7, minute), served.token)
        barrier.wait()
        return requests.post(served.url, headers=headers, data=body, timeout=300)

    with ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(fire, [0, 10]))
    assert [r.status_code for r in responses] == [200, 200]
    payloads = sorted((r.json() for r in responses), key=lambda p: p["status"])
    assert [p["status"] for p in payloads] == ["skipped", "succeeded"]
    skipped, succeeded = payloads
    assert f"run {succeeded['run_id']} " in skipped["reason"]
    assert "holds the retraining lock" in skipped["reason"]
    assert registry_view(database(env)).versions == [*before.versions, *succeeded["versions_trained"][MODEL]]
    recorded = {run["run_id"]: run["status"] for run in retrainer.store.runs("penguins-http", limit=2)}
    assert recorded == {succeeded["run_id"]: "succeeded", skipped["run_id"]: "skipped"}


@pytest.mark.parametrize(
    ("header", "body", "message"),
    [
        (None, b'{"job": ' + b"[" * 2000 + b"]" * 2000 + b"}", "nests JSON arrays or objects too deeply"),
        (None, b'{"job": "\xff"}', "not UTF-8"),
        ("0001-01-01T00:00:00+01:00", None, "time out of range once in UTC"),
        ("9999-12-31T23:59:59-05:00", None, "time out of range once in UTC"),
    ],
    ids=["2000-levels-deep", "not-utf8", "year-1", "year-9999"],
)
def test_a_request_it_cannot_read_is_a_400_naming_why(
    served: ServedFunction, env: dict[str, str], header: str | None, body: bytes | None, message: str
) -> None:
    headers, job_body = scheduler_request(job(env, "penguins-http"), execution_at(7, 20), served.token)
    if header is not None:
        headers["X-CloudScheduler-ScheduleTime"] = header
    response = requests.post(served.url, headers=headers, data=body or job_body, timeout=60)
    assert response.status_code == 400
    assert message in response.json()["errorMessage"]


def test_sigkill_during_a_run_keeps_the_champion_and_the_next_run_recovers(
    served: ServedFunction, env: dict[str, str], retrainer: Retrainer
) -> None:
    before = registry_view(database(env))
    headers, body = scheduler_request(job(env, "penguins-http"), execution_at(8), served.token)
    trainings = served.process.log_path.read_text().count(TRAINING_STARTS)

    def post() -> None:
        with contextlib.suppress(requests.ConnectionError):  # the server dies under it
            requests.post(served.url, headers=headers, data=body, timeout=300)

    caller = threading.Thread(target=post)
    caller.start()
    wait_for(lambda: served.process.log_path.read_text().count(TRAINING_STARTS) > trainings, 120)
    kill_tree(served.process.process.pid)  # mid-training: no finally, no rollback
    caller.join()

    after_kill = registry_view(database(env))
    assert after_kill.aliases.get("champion") == before.aliases.get("champion")
    assert after_kill.problems == []
    assert len(predictions(database(env))) == 5
    killed = retrainer.store.runs("penguins-http")[0]
    assert killed["status"] == "running"  # nobody could say otherwise yet

    time.sleep(SERVED_LOCK_TTL_S + 0.5)  # the dead holder's lock expires
    outcome = retrainer.run(Trigger("penguins-http", "test"))

    assert outcome.status == "succeeded"
    assert outcome.detail["recovered"] == killed["run_id"]
    dead = next(run for run in retrainer.store.runs("penguins-http") if run["run_id"] == killed["run_id"])
    assert dead["status"] == "failed"
    assert dead["error"].startswith("abandoned: its process stopped renewing the lock")
    assert registry_view(database(env)).problems == []
