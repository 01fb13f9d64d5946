"""CREATE MODEL rewritten for one registry version: the name `dataset.m__v7`, extra OPTIONS.

The statement is parsed once; its version is the same statement with the version's name and
options, and with its text rewritten on tokens of the user's statement, so the TRANSFORM, OPTIONS
and training query stay exactly as written: the DDL stored with a version is the DDL that
trained it (and the text BigQuery runs).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from sqlglot.tokens import TokenType

from ml.errors import MLError
from ml.names import ModelName
from ml.sql.statements import CreateModel, parse_ml_statement
from ml.sql.tokens import is_word, matching_paren, read_path, tokenize

_VERSIONED = re.compile(r"^(?P<model>[A-Za-z0-9_]+)__v(?P<version>[0-9]+)$")


def version_name(model: ModelName, version: int) -> ModelName:
    """The engine / BigQuery ML model that holds one version: `dataset.name__v<version>`."""
    return ModelName(model.dataset, f"{model.model}__v{version}")


def is_version_name(name: str) -> bool:
    return _VERSIONED.match(name) is not None


def parse_create(ddl: str, database: str | None) -> CreateModel:
    """The CREATE MODEL statement in `ddl`; anything else is an error."""
    statement = parse_ml_statement(ddl, database)
    if not isinstance(statement, CreateModel):
        raise MLError("Expected a CREATE [OR REPLACE] MODEL statement")
    if is_version_name(statement.name.model):
        raise MLError(
            f"Model name {statement.name} ends like a registry version (__v<N>): train the model by its "
            f"own name and the registry numbers the versions"
        )
    return statement


def versioned_statement(
    statement: CreateModel,
    target: ModelName,
    target_sql: str,
    options: dict[str, str | Sequence[str]] | None = None,
) -> CreateModel:
    """`statement` as the version `target` (written `target_sql` in its text): a plain CREATE
    MODEL (a version is never overwritten) with `options` added."""
    return replace(
        statement,
        name=target,
        replace=False,
        if_not_exists=False,
        options={**statement.options, **(options or {})},
        ddl=versioned_ddl(statement.ddl, target_sql, options),
    )


def versioned_ddl(ddl: str, target: str, options: dict[str, str | Sequence[str]] | None = None) -> str:
    """`ddl` as `CREATE MODEL <target> ...`: no OR REPLACE (a version is never overwritten), no
    IF NOT EXISTS, and `options` appended to its OPTIONS list (values rendered as BigQuery literals).
    """
    tokens = tokenize(ddl)
    index = next(i for i, t in enumerate(tokens) if t.token_type == TokenType.MODEL) + 1
    if is_word(tokens[index], "IF"):
        index += 3
    _parts, after = read_path(tokens, index)
    head = f"CREATE MODEL {target}"
    rest = ddl[tokens[after - 1].end + 1 :]
    if not options:
        return head + rest
    opening = next(i for i in range(after, len(tokens)) if is_word(tokens[i], "OPTIONS")) + 1
    close = matching_paren(tokens, opening)
    cut = tokens[close].start - (tokens[after - 1].end + 1)
    extra = ", ".join(f"{key} = {bigquery_literal(value)}" for key, value in options.items())
    separator = ", " if close > opening + 1 else ""
    return head + rest[:cut] + separator + extra + rest[cut:]


def bigquery_literal(value: str | Sequence[str]) -> str:
    """A STRING or ARRAY<STRING> literal in BigQuery's syntax."""
    if isinstance(value, str):
        if "\x00" in value:
            raise MLError("String literals cannot contain NUL characters")
        escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
        return f"'{escaped}'"
    return "[" + ", ".join(bigquery_literal(item) for item in value) + "]"
