"""ML.ROC_CURVE's optional thresholds argument, `GENERATE_ARRAY(start, end[, step])` or an array of
numbers (`[0.2, 0.5]`, `ARRAY<FLOAT64>[...]`), evaluated into the list of thresholds (the engine
writes it into the template's thresholds placeholder)."""

from __future__ import annotations

from decimal import Decimal

import sqlglot
from sqlglot import exp
from sqlglot.tokens import Token, TokenType

from ml.errors import MLError
from ml.sql.options import literal_value

# GENERATE_ARRAY's limit in BigQuery is far larger; a curve needs no more points than this.
MAX_THRESHOLDS = 10_000


def is_thresholds_argument(token: Token) -> bool:
    """Whether an ML.* argument starting at `token` is an array (ML.ROC_CURVE's thresholds)."""
    return token.token_type == TokenType.L_BRACKET or token.text.upper() in ("GENERATE_ARRAY", "ARRAY")


def parse_thresholds(text: str) -> list[float]:
    """The threshold values of a constant GENERATE_ARRAY call or array expression."""
    try:
        node = sqlglot.parse_one(text, read="bigquery")
    except sqlglot.errors.ParseError as exc:
        raise MLError(f"Syntax error in the ML.ROC_CURVE thresholds: {text}") from exc
    if isinstance(node, exp.Cast):
        node = node.this
    if isinstance(node, exp.GenerateSeries):
        values = _generate_array(
            _number(node.args["start"]), _number(node.args["end"]), _number(node.args.get("step"))
        )
    elif isinstance(node, exp.Array):
        values = [_number(e) for e in node.expressions]
    else:
        raise MLError(f"ML.ROC_CURVE thresholds must be GENERATE_ARRAY(...) or an array of numbers: {text}")
    if not values:
        raise MLError("ML.ROC_CURVE thresholds must not be empty")
    if any(not 0 <= v <= 1 for v in values):
        raise MLError("ML.ROC_CURVE thresholds must be between 0 and 1")
    return [float(v) for v in values]


def _number(node: exp.Expression | None) -> Decimal | None:
    """A numeric literal, exactly: GENERATE_ARRAY(0.1, 0.9, 0.1) must end at 0.9, as in BigQuery."""
    if node is None:
        return None
    value = literal_value(node)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MLError(f"ML.ROC_CURVE thresholds must be numbers, not {node.sql('bigquery')}")
    return Decimal(str(value))


def _generate_array(start: Decimal, end: Decimal, step: Decimal | None) -> list[Decimal]:
    step = Decimal(1) if step is None else step
    if step == 0:
        raise MLError("GENERATE_ARRAY: the step must not be 0")
    count = int((end - start) / step) + 1
    if count > MAX_THRESHOLDS:
        raise MLError(f"ML.ROC_CURVE takes at most {MAX_THRESHOLDS} thresholds")
    return [start + i * step for i in range(max(count, 0))]
