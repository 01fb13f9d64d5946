"""BigQuery queries to DuckDB: ML.* table functions expand into their stored templates, and the
rest of the query is transpiled by sqlglot; ML.* scalar functions (ML.DECODE_IMAGE, ...) call the
engine's DuckDB functions (ml.sql.scalar_functions), and the standalone preprocessing functions
(ML.STANDARD_SCALER(x) OVER (), ...) become DuckDB expressions (ml.sql.preprocessing_functions).

Each ML call (ml.sql.calls) is replaced by a placeholder table name, the query transpiled, then
each placeholder swapped for the template as a parenthesised subquery. Inputs of the calls are
translated the same way, recursively.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import sqlglot

from ml.compile.arima import function_settings
from ml.compile.explain import explain_function, explain_settings
from ml.compile.placeholders import INPUT, ROC_THRESHOLDS, THRESHOLD
from ml.errors import MLError
from ml.literals import float_literal
from ml.names import ModelName
from ml.sql.calls import MLCall, first_line, flag_setting, ml_calls
from ml.sql.preprocessing_functions import to_duckdb
from ml.sql.scalar_functions import rename_scalar_functions

TemplateLookup = Callable[[ModelName, str, bool], str]
InputCheck = Callable[[ModelName, str, str], None]

# Functions whose input argument is optional (without it: the eval split seen at training).
OPTIONAL_INPUT = {"evaluate", "confusion_matrix", "roc_curve"}
REQUIRED_INPUT = {"predict", "explain_predict"}
DEFAULT_THRESHOLD = 0.5
_PLACEHOLDER = re.compile(r'"?__ml_call_(\d+)"?')


class Translator:
    """Translates BigQuery SQL to DuckDB SQL, expanding ML.* calls with `lookup`'s templates."""

    def __init__(self, lookup: TemplateLookup, database: str | None, check_input: InputCheck) -> None:
        self.lookup = lookup
        self.database = database
        self.check_input = check_input

    def translate(self, sql: str) -> str:
        sql = rename_scalar_functions(sql)
        pieces, expansions, last = [], [], 0
        for call in ml_calls(sql, self.database):
            pieces += [sql[last : call.start], f" __ml_call_{len(expansions)} "]
            expansions.append(self._instantiate(call))
            last = call.end
        pieces.append(sql[last:])
        try:
            translated = to_duckdb("".join(pieces))
        except sqlglot.errors.ParseError as exc:
            raise MLError(f"Syntax error: {first_line(exc)}") from exc
        if len(translated) != 1:
            raise MLError("Syntax error: expected exactly one statement")
        return _PLACEHOLDER.sub(lambda m: f"({expansions[int(m.group(1))]})", translated[0])

    def _instantiate(self, call: MLCall) -> str:
        function, settings = call.function, dict(call.settings)
        has_input = call.input_query is not None
        if function in REQUIRED_INPUT and not has_input:
            raise MLError(f"ML.{function.upper()} requires an input table or query")
        if has_input and function not in REQUIRED_INPUT | OPTIONAL_INPUT:
            raise MLError(f"ML.{function.upper()} does not take an input table or query")
        if function == "weights" and flag_setting(settings, "standardize", function):
            function = "weights_standardized"
        threshold = settings.pop("threshold", DEFAULT_THRESHOLD)
        function = explain_function(function, settings)
        placeholders = function_settings(function, settings)
        placeholders.update(explain_settings(function, settings))
        if settings:
            raise MLError(f"Unsupported setting for ML.{function.upper()}: {', '.join(settings)}")
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
            raise MLError("threshold must be a number between 0 and 1")
        template = self.lookup(call.model, function, has_input)
        roc_thresholds = thresholds_literal(template, call.thresholds, has_input)
        if has_input:
            input_sql = f"({self.translate(call.input_query)})"
            self.check_input(call.model, call.function, input_sql)
            template = template.replace(INPUT, input_sql)
        for placeholder, literal in placeholders.items():
            template = template.replace(placeholder, literal)
        template = template.replace(ROC_THRESHOLDS, roc_thresholds)
        return template.replace(THRESHOLD, float_literal(threshold))


def thresholds_literal(template: str, thresholds: list[float] | None, has_input: bool) -> str:
    """What replaces the ROC thresholds placeholder in `template`, after checking the thresholds
    can apply (NULL: BigQuery's default percentile thresholds)."""
    if thresholds is None:
        return "NULL"
    if not has_input:
        raise MLError(
            "ML.ROC_CURVE with thresholds needs an input table or query: the local engine keeps the "
            "eval split's curve at the default thresholds only"
        )
    if ROC_THRESHOLDS not in template:
        raise MLError(
            "ML.ROC_CURVE thresholds: the model was compiled by an older engine without them; retrain it"
        )
    return "[" + ", ".join(float_literal(v) for v in thresholds) + "]"
