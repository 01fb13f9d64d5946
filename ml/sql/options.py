"""The values of `OPTIONS (...)` and of ML.* STRUCT settings: constant SQL expressions as Python
values. What each option accepts is the model types' business (ml/model_types)."""

from __future__ import annotations

from typing import Any

import sqlglot
from sqlglot import exp

from ml.errors import MLError
from ml.sql.hparams import spec_from_call


def parse_option_list(text: str) -> dict[str, Any]:
    """Parse the inside of `OPTIONS (...)` into {lower-case name: python value}."""
    try:
        select = sqlglot.parse_one(f"SELECT {text}", read="bigquery")
    except sqlglot.errors.ParseError as exc:
        raise MLError(f"Syntax error in OPTIONS: {str(exc).splitlines()[0]}") from exc
    options: dict[str, Any] = {}
    for item in select.expressions:
        if not isinstance(item, exp.EQ) or not isinstance(item.this, exp.Column):
            raise MLError(f"Syntax error in OPTIONS: expected name = value, got {item.sql('bigquery')}")
        name = item.this.name.lower()
        if name in options:
            raise MLError(f"Duplicate option: {name}")
        try:
            options[name] = literal_value(item.expression)
        except MLError as exc:
            raise MLError(f"Invalid value for option {name}: {exc}") from None
    return options


def literal_value(node: exp.Expression) -> Any:
    """A constant SQL expression (literal, array, tuple, struct) as a python value."""
    if isinstance(node, exp.Literal):
        return node.this if node.is_string else _number(node.this)
    if isinstance(node, exp.Boolean):
        return node.this
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Neg):
        inner = literal_value(node.this)
        if isinstance(inner, int | float) and not isinstance(inner, bool):
            return -inner
    if isinstance(node, exp.Array):
        return [literal_value(e) for e in node.expressions]
    if isinstance(node, exp.Tuple | exp.Struct):
        return tuple(
            literal_value(e.this if isinstance(e, exp.PropertyEQ | exp.Alias) else e)
            for e in node.expressions
        )
    if isinstance(node, exp.Paren):
        return literal_value(node.this)
    if isinstance(node, exp.Anonymous):
        spec = spec_from_call(node.name, [literal_value(e) for e in node.expressions])
        if spec is not None:
            return spec
    raise MLError(f"{node.sql('bigquery')} is not a constant")


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)
