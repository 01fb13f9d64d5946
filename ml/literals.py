"""Python values as typed DuckDB literals, and constant relations built from them."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ml.names import quote_ident, quote_string


def float_literal(value: float) -> str:
    """A DOUBLE literal. DuckDB reads `0.1` as DECIMAL; the exponent keeps it DOUBLE and exact."""
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        return f"CAST('{value}' AS DOUBLE)"
    text = repr(value)
    return text if "e" in text else f"{text}e0"


def sql_literal(value: Any) -> str:
    """An untyped-but-unambiguous literal for a python value (lists and dicts nest)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return float_literal(value)
    if isinstance(value, Decimal):
        return f"CAST({quote_string(str(value))} AS DOUBLE)"
    if isinstance(value, str):
        return quote_string(value)
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP {quote_string(value.isoformat(sep=' '))}"
    if isinstance(value, dt.date):
        return f"DATE {quote_string(value.isoformat())}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(sql_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        fields = ", ".join(f"{quote_string(k)}: {sql_literal(v)}" for k, v in value.items())
        return "{" + fields + "}"
    raise TypeError(f"no SQL literal for {type(value).__name__}")


def typed_literal(value: Any, duck_type: str) -> str:
    """`value` cast to `duck_type`, so that constant columns keep the type BigQuery gives them."""
    return f"CAST({sql_literal(value)} AS {duck_type})"


def values_relation(columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]) -> str:
    """A SELECT returning `rows` with exactly the named, typed `columns` (zero rows allowed)."""
    projections = ", ".join(
        f"CAST({quote_ident(f'c{i}')} AS {t}) AS {quote_ident(n)}" for i, (n, t) in enumerate(columns)
    )
    aliases = ", ".join(quote_ident(f"c{i}") for i in range(len(columns)))
    if not rows:
        nulls = ", ".join(f"CAST(NULL AS {t}) AS {quote_ident(n)}" for n, t in columns)
        return f"SELECT {nulls} LIMIT 0"
    body = ", ".join(
        "(" + ", ".join(typed_literal(v, t) for v, (_, t) in zip(row, columns, strict=True)) + ")"
        for row in rows
    )
    return f"SELECT {projections} FROM (VALUES {body}) AS __ml_values({aliases})"
