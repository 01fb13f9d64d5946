"""BigQuery queries to DuckDB: ML.* table functions expand into their stored templates, and the
rest of the query is transpiled by sqlglot.

ML calls are found on tokens (sqlglot does not parse every ML.* form), each replaced by a
placeholder table name, the query transpiled, then each placeholder swapped for the template as a
parenthesised subquery. Inputs of the calls are translated the same way, recursively.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import sqlglot
from sqlglot import exp
from sqlglot.tokens import Token, TokenType

from ml.compile.arima import function_settings
from ml.compile.explain import explain_function, explain_settings
from ml.compile.layers import ROC_THRESHOLDS
from ml.compile.literals import float_literal
from ml.errors import MLError
from ml.names import ModelName, parse_model_path
from ml.sql.options import literal_value
from ml.sql.roc import is_thresholds_argument, parse_thresholds, thresholds_literal
from ml.sql.tokens import matching_paren, read_path, split_top_level, text_between, tokenize

TemplateLookup = Callable[[ModelName, str, bool], str]

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
# Functions whose input argument is optional (without it: the eval split seen at training).
OPTIONAL_INPUT = {"evaluate", "confusion_matrix", "roc_curve"}
REQUIRED_INPUT = {"predict", "explain_predict"}
DEFAULT_THRESHOLD = 0.5
_PLACEHOLDER = re.compile(r'"?__ml_call_(\d+)"?')


class Translator:
    """Translates BigQuery SQL to DuckDB SQL, expanding ML.* calls with `lookup`'s templates."""

    def __init__(self, lookup: TemplateLookup, database: str | None) -> None:
        self.lookup = lookup
        self.database = database

    def translate(self, sql: str) -> str:
        tokens = tokenize(sql)
        pieces, expansions, last, index = [], [], 0, 0
        while index < len(tokens):
            if _is_ml_call(tokens, index):
                close = matching_paren(tokens, index + 3)
                pieces.append(sql[last : tokens[index].start])
                pieces.append(f" __ml_call_{len(expansions)} ")
                expansions.append(self._expand(sql, tokens, index, close))
                last, index = tokens[close].end + 1, close + 1
            else:
                index += 1
        pieces.append(sql[last:])
        try:
            translated = sqlglot.transpile("".join(pieces), read="bigquery", write="duckdb")
        except sqlglot.errors.ParseError as exc:
            raise MLError(f"Syntax error: {_first_line(exc)}") from exc
        if len(translated) != 1:
            raise MLError("Syntax error: expected exactly one statement")
        return _PLACEHOLDER.sub(lambda m: f"({expansions[int(m.group(1))]})", translated[0])

    def _expand(self, sql: str, tokens: list[Token], start: int, close: int) -> str:
        name = tokens[start + 2].text.upper()
        function = FUNCTIONS.get(name)
        if function is None:
            raise MLError(f"Function ML.{name} is not supported by the local engine")
        args = split_top_level(tokens, start + 4, close)
        if not args or tokens[args[0][0]].token_type != TokenType.MODEL:
            raise MLError(f"Syntax error: ML.{name} expects MODEL <name> as its first argument")
        parts, after = read_path(tokens, args[0][0] + 1)
        if after != args[0][1]:
            raise MLError(
                f"Syntax error: unexpected '{tokens[after].text}' after the model name in ML.{name}"
            )
        model = parse_model_path(parts, self.database)
        input_sql, settings, thresholds = None, {}, None
        for first, end in args[1:]:
            kind = tokens[first].text.upper()
            if kind == "STRUCT":
                settings.update(_struct_settings(sql, tokens, first, end - 1))
            elif kind == "TABLE" or tokens[first].token_type == TokenType.L_PAREN:
                if input_sql is not None:
                    raise MLError(f"Syntax error: ML.{name} takes one input table or query")
                input_sql = self._input(sql, tokens, first, end - 1)
            elif function == "roc_curve" and is_thresholds_argument(tokens[first]):
                thresholds = parse_thresholds(text_between(sql, tokens, first, end - 1))
            else:
                raise MLError(
                    f"Unsupported argument to ML.{name}: {text_between(sql, tokens, first, end - 1)}"
                )
        return self._instantiate(model, function, input_sql, settings, thresholds)

    def _input(self, sql: str, tokens: list[Token], first: int, last: int) -> str:
        if tokens[first].text.upper() == "TABLE":
            _parts, after = read_path(tokens, first + 1)
            if after != last + 1:
                raise MLError("Syntax error: TABLE must be followed by a table name")
            return "(" + self.translate(f"SELECT * FROM {text_between(sql, tokens, first + 1, last)}") + ")"
        if matching_paren(tokens, first) != last:
            raise MLError("Syntax error: the input query must be parenthesised")
        return "(" + self.translate(text_between(sql, tokens, first + 1, last - 1)) + ")"

    def _instantiate(
        self,
        model: ModelName,
        function: str,
        input_sql: str | None,
        settings: dict,
        thresholds: list[float] | None = None,
    ) -> str:
        if function in REQUIRED_INPUT and input_sql is None:
            raise MLError(f"ML.{function.upper()} requires an input table or query")
        if input_sql is not None and function not in REQUIRED_INPUT | OPTIONAL_INPUT:
            raise MLError(f"ML.{function.upper()} does not take an input table or query")
        if function == "weights" and settings.pop("standardize", False):
            function = "weights_standardized"
        threshold = settings.pop("threshold", DEFAULT_THRESHOLD)
        function = explain_function(function, settings)
        placeholders = function_settings(function, settings)
        placeholders.update(explain_settings(function, settings))
        if settings:
            raise MLError(f"Unsupported setting for ML.{function.upper()}: {', '.join(settings)}")
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
            raise MLError("threshold must be a number between 0 and 1")
        template = self.lookup(model, function, input_sql is not None)
        roc_thresholds = thresholds_literal(template, thresholds, input_sql is not None)
        if input_sql is not None:
            template = template.replace("__ML_INPUT__", input_sql)
        for placeholder, literal in placeholders.items():
            template = template.replace(placeholder, literal)
        template = template.replace(ROC_THRESHOLDS, roc_thresholds)
        return template.replace("__ML_THRESHOLD__", float_literal(threshold))


def _is_ml_call(tokens: list[Token], i: int) -> bool:
    return (
        i + 4 < len(tokens)
        and tokens[i].token_type != TokenType.IDENTIFIER
        and tokens[i].text.upper() == "ML"
        and tokens[i + 1].token_type == TokenType.DOT
        and tokens[i + 3].token_type == TokenType.L_PAREN
        and tokens[i + 4].token_type == TokenType.MODEL
    )


def _struct_settings(sql: str, tokens: list[Token], first: int, last: int) -> dict:
    """`STRUCT(0.6 AS threshold, TRUE AS standardize)` as {name: value}."""
    try:
        node = sqlglot.parse_one(text_between(sql, tokens, first, last), read="bigquery")
    except sqlglot.errors.ParseError as exc:
        raise MLError(f"Syntax error: {_first_line(exc)}") from exc
    settings = {}
    for field in node.expressions:
        if not isinstance(field, exp.PropertyEQ | exp.Alias):
            raise MLError("Syntax error: STRUCT settings need names, e.g. STRUCT(0.6 AS threshold)")
        name, value = (
            (field.this.name, field.expression)
            if isinstance(field, exp.PropertyEQ)
            else (field.alias, field.this)
        )
        settings[name.lower()] = literal_value(value)
    return settings


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
