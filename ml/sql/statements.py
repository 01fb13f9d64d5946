"""Recognise and parse the BigQuery ML DDL statements: CREATE [OR REPLACE] MODEL, DROP MODEL,
ALTER MODEL ... SET OPTIONS and EXPORT MODEL.

Parsing is token-level so that the TRANSFORM list and the training query keep their source text:
both are stored with the model and translated to DuckDB later. Imported models ([INPUT (...)
OUTPUT (...)] OPTIONS (MODEL_TYPE = ..., MODEL_PATH = ...)) and remote models (INPUT (...) OUTPUT
(...) REMOTE WITH CONNECTION c OPTIONS (ENDPOINT = ...)) have no training query; which model types
take INPUT and OUTPUT is the catalog's to say.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlglot.tokens import Token, TokenType

from ml.errors import MLError
from ml.names import ModelName, parse_model_path
from ml.sql.options import parse_option_list
from ml.sql.tokens import is_word, matching_paren, read_path, split_top_level, text_between, tokenize


@dataclass(frozen=True)
class Field:
    """One field of an INPUT or OUTPUT clause: its name and BigQuery type as written."""

    name: str
    sql_type: str


@dataclass(frozen=True)
class CreateModel:
    """A parsed CREATE MODEL statement (options not yet validated). `query` is None without AS
    (imported and remote models); `connection` is REMOTE WITH CONNECTION's, as written."""

    name: ModelName
    replace: bool
    if_not_exists: bool
    transform: str | None
    options: dict[str, Any]
    query: str | None
    ddl: str
    input_fields: tuple[Field, ...] = ()
    output_fields: tuple[Field, ...] = ()
    connection: str | None = None


@dataclass(frozen=True)
class DropModel:
    """A parsed DROP MODEL statement."""

    name: ModelName
    if_exists: bool


@dataclass(frozen=True)
class AlterModel:
    """A parsed ALTER MODEL ... SET OPTIONS statement: each option's value is its SQL text as
    written, since BigQuery takes constant expressions there (TIMESTAMP '...', INTERVAL 8 HOUR)."""

    name: ModelName
    if_exists: bool
    options: dict[str, str]


@dataclass(frozen=True)
class ExportModel:
    """A parsed EXPORT MODEL statement (options not yet validated)."""

    name: ModelName
    options: dict[str, Any]


MLStatement = CreateModel | DropModel | AlterModel | ExportModel


def parse_ml_statement(sql: str, database: str | None = None) -> MLStatement | None:
    """Parse `sql` if it is CREATE/DROP/ALTER/EXPORT MODEL; None for any other statement."""
    tokens = tokenize(sql)
    if len(tokens) < 3:
        return None
    head = [t.text.upper() for t in tokens[:4]]
    if tokens[1].token_type == TokenType.MODEL:
        if head[0] == "DROP":
            return _parse_drop(tokens, database)
        if head[0] == "ALTER":
            return _parse_alter(sql, tokens, database)
        if head[0] == "EXPORT":
            return _parse_export(sql, tokens, database)
    if head[0] == "CREATE":
        replace = head[1:3] == ["OR", "REPLACE"]
        model_at = 3 if replace else 1
        if model_at < len(tokens) and tokens[model_at].token_type == TokenType.MODEL:
            return _parse_create(sql, tokens, model_at + 1, replace, database)
    return None


def _parse_drop(tokens: list[Token], database: str | None) -> DropModel:
    index, if_exists = 2, False
    if _words_at(tokens, index, "IF", "EXISTS"):
        index, if_exists = index + 2, True
    parts, index = read_path(tokens, index)
    if index != len(tokens):
        raise MLError(f"Syntax error: unexpected '{tokens[index].text}' after DROP MODEL name")
    return DropModel(parse_model_path(parts, database), if_exists)


def _parse_alter(sql: str, tokens: list[Token], database: str | None) -> AlterModel:
    """`ALTER MODEL [IF EXISTS] name SET OPTIONS (name = expression, ...)`."""
    index, if_exists = 2, False
    if _words_at(tokens, index, "IF", "EXISTS"):
        index, if_exists = index + 2, True
    parts, index = read_path(tokens, index)
    if not _words_at(tokens, index, "SET", "OPTIONS"):
        raise MLError("Syntax error: expected SET OPTIONS (...) after ALTER MODEL name")
    text, index = _parenthesised(sql, tokens, index + 2, "SET OPTIONS")
    if index != len(tokens):
        raise MLError(
            f"Syntax error: unexpected '{tokens[index].text}' after ALTER MODEL ... SET OPTIONS (...)"
        )
    return AlterModel(parse_model_path(parts, database), if_exists, _option_expressions(text))


def _parse_export(sql: str, tokens: list[Token], database: str | None) -> ExportModel:
    """`EXPORT MODEL name [OPTIONS (URI = '...' [, TRIAL_ID = n])]`."""
    parts, index = read_path(tokens, 2)
    options: dict[str, Any] = {}
    if index < len(tokens) and is_word(tokens[index], "OPTIONS"):
        text, index = _parenthesised(sql, tokens, index + 1, "OPTIONS")
        options = parse_option_list(text)
    if index != len(tokens):
        raise MLError(f"Syntax error: unexpected '{tokens[index].text}' in EXPORT MODEL")
    return ExportModel(parse_model_path(parts, database), options)


def _parenthesised(sql: str, tokens: list[Token], index: int, clause: str) -> tuple[str, int]:
    """The text inside the parentheses opening at `index`, and the index after them."""
    if index >= len(tokens) or tokens[index].token_type != TokenType.L_PAREN:
        raise MLError(f"Syntax error: expected '(' after {clause}")
    close = matching_paren(tokens, index)
    return (text_between(sql, tokens, index + 1, close - 1) if close > index + 1 else ""), close + 1


def _option_expressions(text: str) -> dict[str, str]:
    """`name = expression, ...` as {lower-case name: expression text}."""
    tokens = tokenize(text)
    options: dict[str, str] = {}
    for first, end in split_top_level(tokens, 0, len(tokens)):
        if end - first < 3 or tokens[first + 1].token_type != TokenType.EQ:
            written = text_between(text, tokens, first, end - 1) if end > first else ""
            raise MLError(f"Syntax error in SET OPTIONS: expected name = value, got '{written}'")
        name = tokens[first].text.lower()
        if name in options:
            raise MLError(f"Duplicate option: {name}")
        options[name] = text_between(text, tokens, first + 2, end - 1)
    return options


def _parse_create(
    sql: str, tokens: list[Token], index: int, replace: bool, database: str | None
) -> CreateModel:
    if_not_exists = _words_at(tokens, index, "IF", "NOT", "EXISTS")
    if if_not_exists:
        index += 3
        if replace:
            raise MLError("Syntax error: CREATE OR REPLACE MODEL cannot be combined with IF NOT EXISTS")
    parts, index = read_path(tokens, index)
    clauses: dict[str, str] = {}
    connection = None
    while index < len(tokens) and tokens[index].token_type != TokenType.ALIAS:
        word = tokens[index].text.upper()
        if word == "REMOTE" and connection is None:
            connection, index = _remote_connection(sql, tokens, index)
            continue
        if word not in _CLAUSES or word in clauses:
            raise MLError(f"Syntax error: unexpected '{tokens[index].text}' in CREATE MODEL")
        if index + 1 >= len(tokens) or tokens[index + 1].token_type != TokenType.L_PAREN:
            raise MLError(f"Syntax error: expected '(' after {word}")
        close = matching_paren(tokens, index + 1)
        clauses[word] = text_between(sql, tokens, index + 2, close - 1) if close > index + 2 else ""
        index = close + 1
    if "OPTIONS" not in clauses:
        raise MLError("Syntax error: CREATE MODEL requires OPTIONS (model_type = ...)")
    return CreateModel(
        name=parse_model_path(parts, database),
        replace=replace,
        if_not_exists=if_not_exists,
        transform=clauses.get("TRANSFORM"),
        options=parse_option_list(clauses["OPTIONS"]),
        query=_training_query(sql, tokens, index),
        ddl=sql.strip(),
        input_fields=_fields(clauses.get("INPUT"), "INPUT"),
        output_fields=_fields(clauses.get("OUTPUT"), "OUTPUT"),
        connection=connection,
    )


_CLAUSES = ("TRANSFORM", "INPUT", "OUTPUT", "OPTIONS")


def _training_query(sql: str, tokens: list[Token], index: int) -> str | None:
    """The query after AS (outer parentheses dropped), None when the statement ends first."""
    if index >= len(tokens):
        return None
    if index == len(tokens) - 1:
        raise MLError("Syntax error: CREATE MODEL requires AS followed by the training query")
    query = sql[tokens[index + 1].start :].strip()
    if query.startswith("(") and query.endswith(")") and matching_paren(tokens, index + 1) == len(tokens) - 1:
        query = query[1:-1].strip()
    return query


def _remote_connection(sql: str, tokens: list[Token], index: int) -> tuple[str, int]:
    """`REMOTE WITH CONNECTION project.location.connection | DEFAULT`: the connection as written."""
    if not _words_at(tokens, index, "REMOTE", "WITH", "CONNECTION"):
        raise MLError("Syntax error: expected REMOTE WITH CONNECTION <connection> in CREATE MODEL")
    index += 3
    if index < len(tokens) and is_word(tokens[index], "DEFAULT"):
        return "DEFAULT", index + 1
    parts, after = read_path(tokens, index)
    return ".".join(parts), after


def _fields(text: str | None, clause: str) -> tuple[Field, ...]:
    """`name TYPE, name ARRAY<TYPE>, ...` of an INPUT or OUTPUT clause."""
    if text is None:
        return ()
    tokens = tokenize(text)
    fields = []
    for first, end in split_top_level(tokens, 0, len(tokens)):
        if end - first < 2:
            written = text_between(text, tokens, first, end - 1)
            raise MLError(f"Syntax error in {clause}: expected 'name TYPE', got '{written}'")
        fields.append(Field(tokens[first].text, text_between(text, tokens, first + 1, end - 1)))
    if not fields:
        raise MLError(f"Syntax error: {clause} needs at least one field")
    names = [f.name.lower() for f in fields]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise MLError(f"Duplicate field {duplicate} in {clause}")
    return tuple(fields)


def _words_at(tokens: list[Token], index: int, *words: str) -> bool:
    window = tokens[index : index + len(words)]
    return len(window) == len(words) and all(is_word(t, w) for t, w in zip(window, words, strict=True))
