"""Identifiers: BigQuery paths (`project.dataset.name`, backticks) onto DuckDB `schema.name`.

Every identifier that reaches generated SQL goes through `quote_ident`, every string through
`quote_string`: model names, column names and categories come from users and data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ml.errors import MLError

_BQ_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_BQ_PROJECT = re.compile(r"^[A-Za-z0-9_.:-]+$")


def quote_ident(name: str) -> str:
    """Quote `name` as a DuckDB identifier."""
    if not name or "\x00" in name:
        raise MLError(f"Invalid identifier: {name!r}")
    return '"' + name.replace('"', '""') + '"'


def quote_string(value: str) -> str:
    """Quote `value` as a DuckDB string literal."""
    if "\x00" in value:
        raise MLError("String literals cannot contain NUL characters")
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class ModelName:
    """A model's place in DuckDB: the BigQuery dataset is the DuckDB schema."""

    dataset: str
    model: str

    @property
    def sql(self) -> str:
        """The quoted DuckDB relation name, `"dataset"."model"`."""
        return f"{quote_ident(self.dataset)}.{quote_ident(self.model)}"

    def __str__(self) -> str:
        return f"{self.dataset}.{self.model}"


def parse_model_path(parts: list[str], database: str | None = None) -> ModelName:
    """Build a `ModelName` from the dotted parts of a BigQuery path.

    A backticked part may hold dots itself (`` `p.d.m` ``), so parts are split again. A project is
    accepted when it names the DuckDB database, as dbt-duckdb renders `database.schema.name`.
    """
    pieces = [piece for part in parts for piece in part.split(".")]
    if len(pieces) == 3:
        project, dataset, model = pieces
        if not _BQ_PROJECT.match(project) or (database is not None and project != database):
            raise MLError(f"Not found: Project {project} (the local database is {database})")
    elif len(pieces) == 2:
        dataset, model = pieces
    else:
        raise MLError(f"Invalid model name {'.'.join(pieces)}: expected dataset.model")
    for piece, what in ((dataset, "dataset"), (model, "model")):
        if not _BQ_NAME.match(piece):
            raise MLError(f"Invalid {what} name: {piece!r}")
    return ModelName(dataset, model)
