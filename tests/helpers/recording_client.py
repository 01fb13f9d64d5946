"""A stand-in for google.cloud.bigquery.Client where a test looks at what the registry would send:
it records every call in order, answers every query with no rows, and knows only the models the
test says exist, with the labels the test gives them, and the tables it describes (their API
resources: type, view query, row count, last-modified time). It never pretends to run SQL: the registry's
reads that need rows are given by the test itself. A call past `crash_after` stops the "process"
(SimulatedCrash), so a test sees exactly what went out before a crash; a query containing
`rejects` fails as BigQuery fails a script whose ERROR() fires (BadRequest)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from google.api_core.exceptions import BadRequest, NotFound
from google.cloud import bigquery


class SimulatedCrash(BaseException):
    """The process died here (BaseException: no `except Exception` swallows it)."""


@dataclass
class Call:
    kind: str  # "query" or "copy"
    sql: str = ""
    job_config: Any = None
    source: str = ""
    destination: str = ""


@dataclass
class _Done:
    rows: list[Any] = field(default_factory=list)

    def result(self) -> list[Any]:
        return self.rows


class RecordingClient:
    def __init__(
        self,
        project: str,
        models: dict[str, dict[str, str]] | None = None,
        crash_after: int | None = None,
        rejects: str | None = None,
        tables: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.project = project
        self.models = models or {}  # "project.dataset.model" -> labels
        self.crash_after = crash_after
        self.rejects = rejects
        self.tables = tables or {}  # "project.dataset.table" -> its tables.get resource
        self.calls: list[Call] = []

    def _send(self, call: Call) -> None:
        if self.crash_after is not None and len(self.calls) >= self.crash_after:
            raise SimulatedCrash(f"crashed before {call.kind} {call.sql or call.destination}")
        self.calls.append(call)

    def query(self, sql: str, job_config: Any = None) -> _Done:
        self._send(Call("query", sql=sql, job_config=job_config))
        if self.rejects and self.rejects in sql:
            raise BadRequest(f"Query error: {self.rejects}")
        return _Done()

    def copy_table(self, sources: str, destination: str, job_config: Any = None) -> _Done:
        self._send(Call("copy", source=sources, destination=destination, job_config=job_config))
        return _Done()

    def get_model(self, path: str) -> bigquery.Model:
        if path not in self.models:
            raise NotFound(f"Not found: Model {path}")
        model = bigquery.Model(path)
        model.labels = self.models[path]
        return model

    def get_table(self, path: str) -> bigquery.Table:
        if path not in self.tables:
            raise NotFound(f"Not found: Table {path}")
        project, dataset, table = path.split(".")
        reference = {"projectId": project, "datasetId": dataset, "tableId": table}
        return bigquery.Table.from_api_repr({"tableReference": reference, **self.tables[path]})

    def list_models(self, dataset: str) -> list[bigquery.Model]:
        return [self.get_model(path) for path in self.models if path.rsplit(".", 1)[0] == dataset]
