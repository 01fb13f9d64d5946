"""The retraining lock and run records on DuckDB: one holder at a time, recovery of a dead holder."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest

from ml.scheduling.store import Acquired, LockHeld, RunStore, utcnow

TTL = dt.timedelta(seconds=30)


def new_run(run_id: str, job: str = "nightly") -> dict:
    return {"run_id": run_id, "job": job, "trigger": "test", "owner": f"owner-{run_id}"}


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(tmp_path / "runs.duckdb")


def test_a_held_lock_refuses_a_second_run_until_released(store: RunStore) -> None:
    assert store.start_run("retrain", new_run("a"), TTL) == Acquired("a", None)
    held = store.start_run("retrain", new_run("b"), TTL)
    assert isinstance(held, LockHeld)
    assert (held.run_id, held.owner) == ("a", "owner-a")
    store.finish_run("retrain", "a", "succeeded", versions_trained={"ds.m": [2]})
    assert store.start_run("retrain", new_run("c"), TTL) == Acquired("c", None)
    runs = {run["run_id"]: run for run in store.runs()}
    assert set(runs) == {"a", "c"}  # b never started: nothing was written for it
    assert runs["a"]["status"] == "succeeded"
    assert runs["a"]["versions_trained"] == {"ds.m": [2]}
    assert runs["a"]["finished_at"] >= runs["a"]["started_at"]
    assert runs["c"]["status"] == "running"


def test_concurrent_takers_exactly_one_wins(store: RunStore) -> None:
    store.runs()  # create the tables first; the race is about the lock row
    barrier = threading.Barrier(8)
    results: dict[str, Acquired | LockHeld] = {}

    def take(run_id: str) -> None:
        barrier.wait()
        results[run_id] = store.start_run("retrain", new_run(run_id), TTL)

    threads = [threading.Thread(target=take, args=(f"r{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [run_id for run_id, result in results.items() if isinstance(result, Acquired)]
    assert len(winners) == 1
    assert all(result.run_id == winners[0] for result in results.values() if isinstance(result, LockHeld))
    assert [run["run_id"] for run in store.runs()] == winners


def test_an_expired_lock_is_recovered_and_its_run_marked_failed(store: RunStore) -> None:
    past = utcnow() - dt.timedelta(minutes=5)
    store.start_run("retrain", new_run("dead"), dt.timedelta(seconds=10), now=past)  # holder died
    taken = store.start_run("retrain", new_run("next"), TTL)
    assert taken == Acquired("next", "dead")
    dead = next(run for run in store.runs() if run["run_id"] == "dead")
    assert dead["status"] == "failed"
    assert dead["error"].startswith("abandoned: its process stopped renewing the lock")


def test_heartbeat_keeps_the_lock_and_reports_losing_it(store: RunStore) -> None:
    store.start_run("retrain", new_run("a"), dt.timedelta(seconds=1))
    assert store.heartbeat("retrain", "a", TTL)
    assert isinstance(store.start_run("retrain", new_run("b"), TTL), LockHeld)
    store.finish_run("retrain", "a", "succeeded")
    assert not store.heartbeat("retrain", "a", TTL)  # released: a late beat does not re-take it


def test_a_succeeded_execution_is_found_by_its_schedule_time(store: RunStore) -> None:
    scheduled = dt.datetime(2026, 11, 27, 2, 30)
    store.start_run("retrain", {**new_run("a"), "schedule_time": scheduled}, TTL)
    assert store.completed("nightly", scheduled) is None  # still running
    store.finish_run("retrain", "a", "succeeded")
    assert store.completed("nightly", scheduled) == "a"
    assert store.completed("nightly", scheduled + dt.timedelta(days=1)) is None


def test_unknown_status_and_columns_are_refused(store: RunStore) -> None:
    store.start_run("retrain", new_run("a"), TTL)
    with pytest.raises(ValueError, match="unknown run status"):
        store.finish_run("retrain", "a", "done")
    with pytest.raises(ValueError, match="unknown run columns"):
        store.finish_run("retrain", "a", "failed", **{"error = 'x'; --": "y"})
