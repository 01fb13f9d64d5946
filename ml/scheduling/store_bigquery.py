"""Run records and the retraining lock on BigQuery: the tables of `ml.scheduling.store`, in a dataset
`ml_retraining` of the warehouse's project, behind the same `RunRecords` interface.

Taking the lock is one multi-statement transaction:

    DECLARE prior_run STRING; DECLARE prior_expires TIMESTAMP;
    BEGIN TRANSACTION;
    SET prior_run = (SELECT run_id FROM locks WHERE name = @lock);   -- NULL when there is no row
    SET prior_expires = (SELECT expires_at FROM locks WHERE name = @lock);
    MERGE locks ... WHEN MATCHED AND l.expires_at < CURRENT_TIMESTAMP() THEN UPDATE ...   -- take over
                    WHEN NOT MATCHED THEN INSERT ...;                                    -- take
    UPDATE runs SET status = 'failed' ... WHERE run_id = prior_run ... AND <the lock is ours now>;
    INSERT runs ... SELECT ... FROM locks WHERE name = @lock AND run_id = @run_id;
    COMMIT TRANSACTION;
    SELECT run_id, owner, expires_at, prior_run FROM locks WHERE name = @lock;

A live holder's row matches neither MERGE branch, so nothing changes and the last SELECT names it.
Two takers at once: BigQuery aborts one of two concurrent transactions that modify the same table
("concurrent update"); the loser retries and then sees the winner's row. Expiry and start times are
BigQuery's clock (CURRENT_TIMESTAMP()), so the machines' clocks do not matter.

Every value travels as a query parameter (`bigquery.ScalarQueryParameter`); the only names in the
SQL text are the validated project, the dataset and this module's own column names. The statement
builders (`RunStoreSql`) send nothing, so what is sent can be checked without Google Cloud.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import time
from dataclasses import dataclass
from typing import Any

from ml.errors import MLError
from ml.extras import require
from ml.registry.bigquery import quote_path
from ml.scheduling.store import (
    ABANDONED,
    CONFLICT_RETRIES,
    RUN_COLUMNS,
    SCHEMA,
    Acquired,
    LockHeld,
    StoreError,
    _decode,
    finish_values,
    utcnow,
)

# BigQuery types of the run columns (DuckDB's DDL in store.py has the same columns).
RUN_TYPES = {
    "run_id": "STRING",
    "job": "STRING",
    "trigger": "STRING",
    "schedule_time": "TIMESTAMP",
    "started_at": "TIMESTAMP",
    "finished_at": "TIMESTAMP",
    "heartbeat_at": "TIMESTAMP",
    "status": "STRING",
    "models": "JSON",
    "versions_trained": "JSON",
    "decision": "JSON",
    "drift": "JSON",
    "error": "STRING",
    "owner": "STRING",
}
assert tuple(RUN_TYPES) == RUN_COLUMNS
_REQUIRED = {"run_id", "job", "trigger", "started_at", "status"}
_PROJECT = re.compile(r"^(?:[a-z][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_DATASET = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,1023}$")
_CONFLICT = re.compile(r"concurrent update|transaction is aborted|could not serialize", re.IGNORECASE)


@dataclass(frozen=True)
class Query:
    """One request to BigQuery: SQL text (a statement or a script) and its named parameters with
    their BigQuery types."""

    sql: str
    params: dict[str, tuple[str, Any]]

    def job_config(self) -> Any:
        from google.cloud import bigquery

        return bigquery.QueryJobConfig(
            query_parameters=[
                bigquery.ScalarQueryParameter(name, kind, value)
                for name, (kind, value) in sorted(self.params.items())
            ]
        )

    def statements(self) -> list[str]:
        """The script's statements (for tests and logs; BigQuery receives `sql` as it is)."""
        return [s.strip() for s in self.sql.split(";\n") if s.strip().rstrip(";")]


def _value(kind: str, value: Any) -> Any:
    if kind == "JSON":  # sent as text, PARSE_JSON on the server
        return None if value is None else json.dumps(value, default=str)
    if kind == "TIMESTAMP" and isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)  # the records' naive timestamps are UTC
    return value


def _param_type(kind: str) -> str:
    return "STRING" if kind == "JSON" else kind


def _placeholder(column: str) -> str:
    return f"PARSE_JSON(@{column})" if RUN_TYPES[column] == "JSON" else f"@{column}"


def _script(*statements: str) -> str:
    return ";\n".join(statements) + ";"


class RunStoreSql:
    """The statements of the BigQuery run store for one project and dataset (nothing is sent)."""

    def __init__(self, project: str, dataset: str = SCHEMA) -> None:
        if not _PROJECT.match(project):
            raise MLError(f"Invalid BigQuery project ID: {project!r}")
        if not _DATASET.match(dataset):
            raise MLError(f"Invalid BigQuery dataset name: {dataset!r}")
        self.project, self.dataset = project, dataset
        self.runs_table = quote_path(project, dataset, "runs")
        self.locks_table = quote_path(project, dataset, "locks")

    def ddl(self) -> list[Query]:
        """Dataset and tables (IF NOT EXISTS; DDL runs outside transactions, one statement a job)."""
        run_columns = ",\n  ".join(
            f"{c} {kind}{' NOT NULL' if c in _REQUIRED else ''}" for c, kind in RUN_TYPES.items()
        )
        return [
            Query(f"CREATE SCHEMA IF NOT EXISTS {quote_path(self.project, self.dataset)}", {}),
            Query(f"CREATE TABLE IF NOT EXISTS {self.runs_table} (\n  {run_columns}\n)", {}),
            Query(
                f"CREATE TABLE IF NOT EXISTS {self.locks_table} (\n  name STRING NOT NULL, "
                "run_id STRING NOT NULL, owner STRING NOT NULL,\n  acquired_at TIMESTAMP NOT NULL, "
                "expires_at TIMESTAMP NOT NULL\n)",
                {},
            ),
        ]

    def take_lock(self, lock: str, run: dict[str, Any], ttl: dt.timedelta) -> Query:
        """The lock transaction (module docstring); its last SELECT names the holder afterwards."""
        expires = "TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL @ttl_ms MILLISECOND)"
        values = {c: run.get(c) for c in RUN_COLUMNS if c not in {"started_at", "heartbeat_at", "status"}}
        values.pop("finished_at")
        inserted = [*values, "status", "started_at", "heartbeat_at"]
        now = "CURRENT_TIMESTAMP()"
        selects = [*(_placeholder(c) for c in values), "'running'", now, now]
        ours = f"SELECT 1 FROM {self.locks_table} WHERE name = @lock AND run_id = @run_id"
        sql = _script(
            "DECLARE prior_run STRING",
            "DECLARE prior_expires TIMESTAMP",
            "BEGIN TRANSACTION",
            f"SET prior_run = (SELECT run_id FROM {self.locks_table} WHERE name = @lock)",
            f"SET prior_expires = (SELECT expires_at FROM {self.locks_table} WHERE name = @lock)",
            f"MERGE {self.locks_table} AS l\n"
            "USING (SELECT @lock AS name, @run_id AS run_id, @owner AS owner) AS n\n"
            "ON l.name = n.name\n"
            "WHEN MATCHED AND l.expires_at < CURRENT_TIMESTAMP() THEN\n"
            "  UPDATE SET run_id = n.run_id, owner = n.owner, acquired_at = CURRENT_TIMESTAMP(), "
            f"expires_at = {expires}\n"
            "WHEN NOT MATCHED THEN\n"
            "  INSERT (name, run_id, owner, acquired_at, expires_at) "
            f"VALUES (n.name, n.run_id, n.owner, CURRENT_TIMESTAMP(), {expires})",
            f"UPDATE {self.runs_table} SET status = 'failed', finished_at = CURRENT_TIMESTAMP(), "
            "error = CONCAT(@abandoned, ' (expired ', FORMAT_TIMESTAMP('%F %T', prior_expires), ' UTC)')\n"
            f"WHERE run_id = prior_run AND status = 'running' AND EXISTS ({ours})",
            f"INSERT {self.runs_table} ({', '.join(inserted)})\n"
            f"SELECT {', '.join(selects)} FROM {self.locks_table} WHERE name = @lock AND run_id = @run_id",
            "COMMIT TRANSACTION",
            f"SELECT run_id, owner, expires_at, prior_run FROM {self.locks_table} WHERE name = @lock",
        )
        params = {c: (_param_type(RUN_TYPES[c]), _value(RUN_TYPES[c], v)) for c, v in values.items()}
        params |= {
            "lock": ("STRING", lock),
            "ttl_ms": ("INT64", int(ttl.total_seconds() * 1000)),
            "abandoned": ("STRING", ABANDONED),
        }
        return Query(sql, params)

    def renew_lock(self, lock: str, run_id: str, ttl: dt.timedelta) -> Query:
        return Query(
            f"UPDATE {self.locks_table} SET expires_at = "
            "TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL @ttl_ms MILLISECOND) "
            "WHERE name = @lock AND run_id = @run_id",
            {
                "lock": ("STRING", lock),
                "run_id": ("STRING", run_id),
                "ttl_ms": ("INT64", int(ttl.total_seconds() * 1000)),
            },
        )

    def beat_run(self, run_id: str) -> Query:
        return Query(
            f"UPDATE {self.runs_table} SET heartbeat_at = CURRENT_TIMESTAMP() WHERE run_id = @run_id",
            {"run_id": ("STRING", run_id)},
        )

    def finish(self, lock: str | None, run_id: str, values: dict[str, Any]) -> Query:
        """The outcome and the release (when `lock`) as one transaction; `values` from finish_values."""
        assignments = ", ".join(f"{c} = {_placeholder(c)}" for c in values)
        statements = [f"UPDATE {self.runs_table} SET {assignments} WHERE run_id = @run_id"]
        params = {c: (_param_type(RUN_TYPES[c]), _value(RUN_TYPES[c], v)) for c, v in values.items()}
        params["run_id"] = ("STRING", run_id)
        if lock is not None:
            statements.append(f"DELETE FROM {self.locks_table} WHERE name = @lock AND run_id = @run_id")
            params["lock"] = ("STRING", lock)
        return Query(_script("BEGIN TRANSACTION", *statements, "COMMIT TRANSACTION"), params)

    def insert_run(self, run: dict[str, Any]) -> Query:
        columns = [c for c in RUN_COLUMNS if c in run]
        return Query(
            f"INSERT {self.runs_table} ({', '.join(columns)}) "
            f"VALUES ({', '.join(_placeholder(c) for c in columns)})",
            {c: (_param_type(RUN_TYPES[c]), _value(RUN_TYPES[c], run[c])) for c in columns},
        )

    def list_runs(self, job: str | None, limit: int) -> Query:
        where, params = ("WHERE job = @job ", {"job": ("STRING", job)}) if job else ("", {})
        return Query(
            f"SELECT {', '.join(RUN_COLUMNS)} FROM {self.runs_table} {where}"
            "ORDER BY started_at DESC, run_id DESC LIMIT @limit",
            {**params, "limit": ("INT64", int(limit))},
        )

    def completed(self, job: str, schedule_time: dt.datetime) -> Query:
        return Query(
            f"SELECT run_id FROM {self.runs_table} WHERE job = @job AND schedule_time = @schedule_time "
            "AND status = 'succeeded' LIMIT 1",
            {"job": ("STRING", job), "schedule_time": ("TIMESTAMP", _value("TIMESTAMP", schedule_time))},
        )


class BigQueryRunStore:
    """`RunRecords` on BigQuery through a google.cloud.bigquery.Client."""

    def __init__(self, client: Any, project: str, dataset: str = SCHEMA, location: str = "US") -> None:
        self.sql = RunStoreSql(project, dataset)  # a bad name is refused before any client exists
        self.location = location
        self._client = client
        self._created = False

    @classmethod
    def connect(cls, project: str | None, location: str, dataset: str = SCHEMA) -> BigQueryRunStore:
        """A store whose client is made on first use (credentials are looked up then, not here)."""
        if not project:
            raise MLError("retraining on the bigquery target needs BIGQUERY_PROJECT")
        require("google.cloud.bigquery", "gcp", "Retraining on the bigquery target")
        return cls(None, project, dataset, location)

    @property
    def client(self) -> Any:
        if self._client is None:
            from google.cloud import bigquery

            self._client = bigquery.Client(project=self.sql.project, location=self.location)
        return self._client

    def _send(self, query: Query, write: bool = True) -> Any:
        """Run `query` and wait; Google's errors become StoreError (transient when retrying helps).
        The first write creates the dataset and tables; reads never create anything."""
        from google.api_core import exceptions

        if write and not self._created:
            self._created = True  # before the DDL runs, or it would recurse
            try:
                for ddl in self.sql.ddl():
                    self._send(ddl)
            except StoreError:
                self._created = False
                raise
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                job = self.client.query(query.sql, job_config=query.job_config())
                job.result()
                return job
            except exceptions.GoogleAPICallError as exc:
                message = str(exc.message or exc).splitlines()[0]
                conflict = bool(_CONFLICT.search(message))
                if conflict and attempt < CONFLICT_RETRIES:
                    # An aborted transaction or DML committed nothing: sending it again is safe,
                    # and a lock taker's retry then sees the winner's row.
                    time.sleep(random.uniform(0, min(0.25 * 2**attempt, 8.0)))
                    continue
                transient = conflict or isinstance(exc, exceptions.ServerError | exceptions.TooManyRequests)
                raise StoreError(f"BigQuery run store: {message}", transient) from exc
        raise AssertionError("unreachable")

    def _rows(self, query: Query, write: bool = True) -> list[dict[str, Any]]:
        try:
            return [dict(row.items()) for row in self._send(query, write).result()]
        except StoreError as exc:
            from google.api_core.exceptions import NotFound

            if write or not isinstance(exc.__cause__, NotFound):
                raise
            return []  # no run was ever recorded in this project: no tables yet

    def start_run(
        self, lock: str, run: dict[str, Any], ttl: dt.timedelta, now: dt.datetime | None = None
    ) -> Acquired | LockHeld:
        """Take `lock` and insert `run` in one transaction, or report the holder. `now` is ignored:
        expiry is BigQuery's clock. A transaction aborted by a concurrent taker is retried (_send)."""
        rows = self._rows(self.sql.take_lock(lock, run, ttl))
        if not rows:
            raise StoreError(f"the lock {lock!r} has no row after the lock transaction", True)
        holder = rows[0]
        if holder["run_id"] != run["run_id"]:
            expires = holder["expires_at"].astimezone(dt.UTC).replace(tzinfo=None)
            return LockHeld(holder["run_id"], holder["owner"], expires)
        return Acquired(run["run_id"], holder["prior_run"])

    def heartbeat(self, lock: str, run_id: str, ttl: dt.timedelta) -> bool:
        renewed = self._send(self.sql.renew_lock(lock, run_id, ttl)).num_dml_affected_rows
        self._send(self.sql.beat_run(run_id))
        return bool(renewed)

    def finish_run(self, lock: str | None, run_id: str, status: str, **fields: Any) -> None:
        self._send(self.sql.finish(lock, run_id, finish_values(status, fields)))

    def record(self, run: dict[str, Any]) -> None:
        self._send(self.sql.insert_run({"started_at": utcnow(), "finished_at": utcnow(), **run}))

    def runs(self, job: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        return [_decode(row) for row in self._rows(self.sql.list_runs(job, limit), write=False)]

    def completed(self, job: str, schedule_time: dt.datetime) -> str | None:
        rows = self._rows(self.sql.completed(job, schedule_time), write=False)
        return rows[0]["run_id"] if rows else None
