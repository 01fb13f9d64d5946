"""ML.* table function calls in a BigQuery query: found on tokens (sqlglot does not parse every
ML.* form) and their arguments read: `ML.F(MODEL m [, TABLE t | (query)] [, thresholds]
[, STRUCT(... AS setting)])`. What a call expands into is the engine's business.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.tokens import Token, TokenType

from ml.errors import MLError
from ml.names import ModelName, parse_model_path
from ml.sql.options import literal_value
from ml.sql.roc import is_thresholds_argument, parse_thresholds
from ml.sql.tokens import matching_paren, read_path, split_top_level, text_between, tokenize

# BigQuery's name -> the function name the engine stores templates under.
FUNCTIONS = {
    "PREDICT": "predict",
    "EVALUATE": "evaluate",
    "CONFUSION_MATRIX": "confusion_matrix",
    "ROC_CURVE": "roc_curve",
    "TRAINING_INFO": "training_info",
    "FEATURE_INFO": "feature_info",
    "WEIGHTS": "weights",
    "CENTROIDS": "centroids",
    "PRINCIPAL_COMPONENT_INFO": "principal_component_info",
    "FORECAST": "forecast",
    "ARIMA_EVALUATE": "arima_evaluate",
    "FEATURE_IMPORTANCE": "feature_importance",
    "EXPLAIN_PREDICT": "explain_predict",
    "GLOBAL_EXPLAIN": "global_explain",
    "TRIAL_INFO": "trial_info",
}


@dataclass(frozen=True)
class MLCall:
    """One ML.* call: `start`/`end` are its character span in the query (end exclusive);
    `input_query` is the input as a BigQuery query (a TABLE t argument reads `SELECT * FROM t`)."""

    function: str
    model: ModelName
    start: int
    end: int
    input_query: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    thresholds: list[float] | None = None


def ml_calls(sql: str, database: str | None) -> Iterator[MLCall]:
    """The outermost ML.* calls of `sql`, in order (calls inside an input query are that query's)."""
    tokens = tokenize(sql)
    index = 0
    while index < len(tokens):
        if _is_ml_call(tokens, index):
            close = matching_paren(tokens, index + 3)
            yield _parse_call(sql, tokens, index, close, database)
            index = close + 1
        else:
            index += 1


def _is_ml_call(tokens: list[Token], i: int) -> bool:
    """`ML.F(MODEL ...`, or a table function of FUNCTIONS missing its MODEL (an error to say)."""
    return (
        i + 4 < len(tokens)
        and tokens[i].token_type != TokenType.IDENTIFIER
        and tokens[i].text.upper() == "ML"
        and tokens[i + 1].token_type == TokenType.DOT
        and tokens[i + 3].token_type == TokenType.L_PAREN
        and (tokens[i + 4].token_type == TokenType.MODEL or tokens[i + 2].text.upper() in FUNCTIONS)
    )


def _parse_call(sql: str, tokens: list[Token], start: int, close: int, database: str | None) -> MLCall:
    name = tokens[start + 2].text.upper()
    function = FUNCTIONS.get(name)
    if function is None:
        raise MLError(f"Function ML.{name} is not supported by the local engine")
    args = split_top_level(tokens, start + 4, close)
    if not args or tokens[args[0][0]].token_type != TokenType.MODEL:
        raise MLError(f"Syntax error: ML.{name} expects MODEL <name> as its first argument")
    parts, after = read_path(tokens, args[0][0] + 1)
    if after != args[0][1]:
        raise MLError(f"Syntax error: unexpected '{tokens[after].text}' after the model name in ML.{name}")
    input_query, settings, thresholds = None, {}, None
    for first, end in args[1:]:
        kind = tokens[first].text.upper()
        if kind == "STRUCT":
            settings.update(_struct_settings(text_between(sql, tokens, first, end - 1)))
        elif kind == "TABLE" or tokens[first].token_type == TokenType.L_PAREN:
            if input_query is not None:
                raise MLError(f"Syntax error: ML.{name} takes one input table or query")
            input_query = _input_query(sql, tokens, first, end - 1)
        elif function == "roc_curve" and is_thresholds_argument(tokens[first]):
            thresholds = parse_thresholds(text_between(sql, tokens, first, end - 1))
        else:
            raise MLError(f"Unsupported argument to ML.{name}: {text_between(sql, tokens, first, end - 1)}")
    return MLCall(
        function,
        parse_model_path(parts, database),
        tokens[start].start,
        tokens[close].end + 1,
        input_query,
        settings,
        thresholds,
    )


def _input_query(sql: str, tokens: list[Token], first: int, last: int) -> str:
    if tokens[first].text.upper() == "TABLE":
        _parts, after = read_path(tokens, first + 1)
        if after != last + 1:
            raise MLError("Syntax error: TABLE must be followed by a table name")
        return f"SELECT * FROM {text_between(sql, tokens, first + 1, last)}"
    if matching_paren(tokens, first) != last:
        raise MLError("Syntax error: the input query must be parenthesised")
    return text_between(sql, tokens, first + 1, last - 1)


def _struct_settings(text: str) -> dict[str, Any]:
    """`STRUCT(0.6 AS threshold, TRUE AS standardize)` as {name: value}."""
    try:
        node = sqlglot.parse_one(text, read="bigquery")
    except sqlglot.errors.ParseError as exc:
        raise MLError(f"Syntax error: {first_line(exc)}") from exc
    settings = {}
    for item in node.expressions:
        if not isinstance(item, exp.PropertyEQ | exp.Alias):
            raise MLError("Syntax error: STRUCT settings need names, e.g. STRUCT(0.6 AS threshold)")
        name, value = (
            (item.this.name, item.expression) if isinstance(item, exp.PropertyEQ) else (item.alias, item.this)
        )
        try:
            settings[name.lower()] = literal_value(value)
        except MLError as exc:
            raise MLError(f"Invalid value for setting {name}: {exc}") from None
    return settings


def flag_setting(settings: dict[str, Any], name: str, function: str) -> bool:
    """Take a BOOL setting (`STRUCT(TRUE AS standardize)`) out of `settings`; FALSE when absent."""
    value = settings.pop(name, False)
    if not isinstance(value, bool):
        raise MLError(
            f"Invalid value for setting {name} of ML.{function.upper()}: expected BOOL, got {value!r}"
        )
    return value


def first_line(exc: Exception) -> str:
    """A parser error's first line (sqlglot appends the query with a caret underneath)."""
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
