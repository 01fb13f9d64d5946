"""Run records and the retraining lock, in the warehouse beside the models (schema `ml_retraining`).

The lock is a row: (name, run_id, owner, acquired_at, expires_at). Taking it is one transaction that
reads the row and either inserts it, or takes it over when its holder stopped renewing it (the
holder's run is marked failed in that same transaction), or gives up because a live run holds it.
DuckDB's optimistic concurrency makes two such transactions conflict: exactly one commits. While a
run works, a heartbeat pushes `expires_at` forward; a process that dies (SIGKILL, lost machine)
stops renewing, and the next trigger after the expiry recovers the lock.

On BigQuery the same two tables live in a dataset `ml_retraining` (`ml.scheduling.store_bigquery`),
and taking the lock is a multi-statement transaction (`BEGIN TRANSACTION; ... MERGE
ml_retraining.locks ... WHEN MATCHED AND expires_at < CURRENT_TIMESTAMP() THEN UPDATE ... WHEN NOT
MATCHED THEN INSERT ...; COMMIT TRANSACTION`): BigQuery aborts the second of two concurrent
transactions that modify the same table, which plays the role of DuckDB's write conflict here.
Both implement `RunRecords`; the retrainer picks one by dbt target.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import duckdb

SCHEMA = "ml_retraining"
RUN_STATUSES = ("running", "succeeded", "skipped", "failed")
CONFLICT_RETRIES = 8

_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.runs (
    run_id VARCHAR PRIMARY KEY, job VARCHAR NOT NULL, trigger VARCHAR NOT NULL, schedule_time TIMESTAMP,
    started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP, heartbeat_at TIMESTAMP, status VARCHAR NOT NULL,
    models JSON, versions_trained JSON, decision JSON, drift JSON, error VARCHAR, owner VARCHAR);
CREATE TABLE IF NOT EXISTS {SCHEMA}.locks (
    name VARCHAR PRIMARY KEY, run_id VARCHAR NOT NULL, owner VARCHAR NOT NULL,
    acquired_at TIMESTAMP NOT NULL, expires_at TIMESTAMP NOT NULL);
"""
RUN_COLUMNS = (
    "run_id",
    "job",
    "trigger",
    "schedule_time",
    "started_at",
    "finished_at",
    "heartbeat_at",
    "status",
    "models",
    "versions_trained",
    "decision",
    "drift",
    "error",
    "owner",
)
_JSON_COLUMNS = {"models", "versions_trained", "decision", "drift"}


def utcnow() -> dt.datetime:
    """Naive UTC, as the TIMESTAMP columns hold it, whatever the machine's time zone."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def process_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


@dataclass(frozen=True)
class LockHeld:
    """Another live run holds the lock."""

    run_id: str
    owner: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class Acquired:
    """We hold the lock; `recovered` names the abandoned run we took it over from, if any."""

    run_id: str
    recovered: str | None


class StoreError(RuntimeError):
    """The run store could not be read or written; `transient` when the same call can pass later."""

    def __init__(self, message: str, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class RunRecords(Protocol):
    """What the retrainer needs from a run store (DuckDB: `RunStore`; BigQuery: `BigQueryRunStore`)."""

    def start_run(
        self, lock: str, run: dict[str, Any], ttl: dt.timedelta, now: dt.datetime | None = None
    ) -> Acquired | LockHeld: ...

    def heartbeat(self, lock: str, run_id: str, ttl: dt.timedelta) -> bool: ...

    def finish_run(self, lock: str | None, run_id: str, status: str, **fields: Any) -> None: ...

    def record(self, run: dict[str, Any]) -> None: ...

    def runs(self, job: str | None = None, limit: int = 50) -> list[dict[str, Any]]: ...

    def completed(self, job: str, schedule_time: dt.datetime) -> str | None: ...


def finish_values(status: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The columns a finished run writes, checked: status and column names reach the SQL text."""
    if status not in RUN_STATUSES:
        raise ValueError(f"unknown run status {status!r}")
    values = {"status": status, "finished_at": utcnow(), **fields}
    unknown = set(values) - set(RUN_COLUMNS)
    if unknown:  # column names reach the SQL text: only this module's own names may
        raise ValueError(f"unknown run columns {sorted(unknown)}")
    return values


ABANDONED = "abandoned: its process stopped renewing the lock"


class RunStore:
    """Runs and locks in one DuckDB file; connections are short-lived so the file stays free
    between runs for other processes (dbt, the CLI)."""

    def __init__(self, database: Path | str) -> None:
        self.database = str(database)

    # Two threads creating the tables at once would conflict on DuckDB's catalog.
    _creating = threading.Lock()

    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with duckdb.connect(self.database) as con:
            with RunStore._creating:
                con.execute(_DDL)
            yield con

    def start_run(
        self, lock: str, run: dict[str, Any], ttl: dt.timedelta, now: dt.datetime | None = None
    ) -> Acquired | LockHeld:
        """Take `lock` and insert `run` (status running) in one transaction, or report the holder.

        A write conflict means another taker's transaction touched the lock row at the same time;
        it is retried, and the retry sees that taker's row once it committed (or takes the lock
        when that taker rolled back): the answer always names a real holder.
        """
        for attempt in range(CONFLICT_RETRIES):
            try:
                return self._try_start(lock, run, ttl, now or utcnow())
            except (duckdb.TransactionException, duckdb.ConstraintException):
                time.sleep(random.uniform(0, 0.01 * 2**attempt))
        return self._try_start(lock, run, ttl, now or utcnow())

    def _try_start(
        self, lock: str, run: dict[str, Any], ttl: dt.timedelta, now: dt.datetime
    ) -> Acquired | LockHeld:
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            held = con.execute(
                f"SELECT run_id, owner, expires_at FROM {SCHEMA}.locks WHERE name = ?", [lock]
            ).fetchall()
            if held and held[0][2] > now:
                con.execute("ROLLBACK")
                return LockHeld(*held[0])
            recovered = held[0][0] if held else None
            if recovered:
                _abandon(con, recovered, held[0][2])
                con.execute(f"DELETE FROM {SCHEMA}.locks WHERE name = ?", [lock])
            con.execute(
                f"INSERT INTO {SCHEMA}.locks VALUES (?, ?, ?, ?, ?)",
                [lock, run["run_id"], run["owner"], now, now + ttl],
            )
            _insert_run(con, {**run, "status": "running", "started_at": now, "heartbeat_at": now})
            con.execute("COMMIT")
            return Acquired(run["run_id"], recovered)

    def heartbeat(self, lock: str, run_id: str, ttl: dt.timedelta) -> bool:
        """Push the lock's expiry forward; False when the lock is no longer ours."""
        now = utcnow()
        with self.connect() as con:
            renewed = con.execute(
                f"UPDATE {SCHEMA}.locks SET expires_at = ? WHERE name = ? AND run_id = ? RETURNING run_id",
                [now + ttl, lock, run_id],
            ).fetchall()
            con.execute(f"UPDATE {SCHEMA}.runs SET heartbeat_at = ? WHERE run_id = ?", [now, run_id])
        return bool(renewed)

    def finish_run(self, lock: str | None, run_id: str, status: str, **fields: Any) -> None:
        """Write the outcome and release the lock (when held) in one transaction."""
        values = finish_values(status, fields)
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            _update_run(con, run_id, values)
            if lock is not None:
                con.execute(f"DELETE FROM {SCHEMA}.locks WHERE name = ? AND run_id = ?", [lock, run_id])
            con.execute("COMMIT")

    def record(self, run: dict[str, Any]) -> None:
        """A run that never took the lock (skipped or refused), recorded as finished."""
        with self.connect() as con:
            _insert_run(con, {"started_at": utcnow(), "finished_at": utcnow(), **run})

    def runs(self, job: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Newest first."""
        where, params = ("WHERE job = ?", [job]) if job else ("", [])
        with self.connect() as con:
            rows = con.execute(
                f"SELECT {', '.join(RUN_COLUMNS)} FROM {SCHEMA}.runs {where} "
                f"ORDER BY started_at DESC, run_id DESC LIMIT {int(limit)}",
                params,
            ).fetchall()
        return [_decode(dict(zip(RUN_COLUMNS, row, strict=True))) for row in rows]

    def completed(self, job: str, schedule_time: dt.datetime) -> str | None:
        """The run that already finished this job's execution at `schedule_time` (a scheduler retry)."""
        with self.connect() as con:
            row = con.execute(
                f"SELECT run_id FROM {SCHEMA}.runs WHERE job = ? AND schedule_time = ? "
                "AND status = 'succeeded' LIMIT 1",
                [job, schedule_time],
            ).fetchall()
        return row[0][0] if row else None


def _abandon(con: duckdb.DuckDBPyConnection, run_id: str, expired: dt.datetime) -> None:
    error = f"{ABANDONED} (expired {expired:%Y-%m-%d %H:%M:%S} UTC)"
    con.execute(
        f"UPDATE {SCHEMA}.runs SET status = 'failed', finished_at = ?, error = ? "
        "WHERE run_id = ? AND status = 'running'",
        [utcnow(), error, run_id],
    )


def _insert_run(con: duckdb.DuckDBPyConnection, run: dict[str, Any]) -> None:
    columns = [c for c in RUN_COLUMNS if c in run]
    con.execute(
        f"INSERT INTO {SCHEMA}.runs ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
        [_encode(c, run[c]) for c in columns],
    )


def _update_run(con: duckdb.DuckDBPyConnection, run_id: str, values: dict[str, Any]) -> None:
    assignments = ", ".join(f"{c} = ?" for c in values)
    con.execute(
        f"UPDATE {SCHEMA}.runs SET {assignments} WHERE run_id = ?",
        [*(_encode(c, v) for c, v in values.items()), run_id],
    )


def _encode(column: str, value: Any) -> Any:
    return json.dumps(value, default=str) if column in _JSON_COLUMNS and value is not None else value


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    for column in _JSON_COLUMNS:
        if isinstance(row[column], str):
            row[column] = json.loads(row[column])
    for column, value in row.items():  # BigQuery answers aware UTC; the records are naive UTC
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            row[column] = value.astimezone(dt.UTC).replace(tzinfo=None)
    return row
