"""Data split methods: which training-query rows are held out for evaluation.

The result is a SQL predicate over the raw query row (alias `__ml_src`), TRUE for eval rows. Random
splits hash the whole row, as BigQuery does with FARM_FINGERPRINT, so a rerun on the same data
gives the same split.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ml.errors import MLError
from ml.literals import float_literal, sql_literal
from ml.names import quote_ident

AUTO_SPLIT_SMALL = 500
AUTO_SPLIT_LARGE = 50_000
AUTO_SPLIT_EVAL_ROWS = 10_000

Query = Callable[[str], tuple]


def random_predicate(fraction: float) -> str:
    """Rows whose row hash falls in the lowest `fraction` of the hash space."""
    return f"((hash(__ml_src) % 1000000) < {round(fraction * 1_000_000)})"


def eval_predicate(
    options: dict[str, Any], n_rows: int, column_types: dict[str, str], source_sql: str, query: Query
) -> str | None:
    """The eval-row predicate for `options`' data_split_method, or None when every row trains."""
    method = options["data_split_method"]
    fraction = options["data_split_eval_fraction"]
    if method == "NO_SPLIT":
        return None
    if method == "AUTO_SPLIT":
        if n_rows < AUTO_SPLIT_SMALL:
            return None
        fraction = 0.2 if n_rows <= AUTO_SPLIT_LARGE else AUTO_SPLIT_EVAL_ROWS / n_rows
        return random_predicate(fraction)
    if method == "RANDOM":
        return random_predicate(round(fraction, 2))
    column = options["data_split_col"]
    if column.lower() not in {c.lower() for c in column_types}:
        raise MLError(f"data_split_col {column} not found in the training data")
    ref = f"__ml_src.{quote_ident(column)}"
    if method == "CUSTOM":
        if column_types[_match(column, column_types)] != "BOOLEAN":
            raise MLError(f"data_split_col {column} must be of type BOOL for data_split_method CUSTOM")
        return f"({ref} IS NULL OR {ref})"
    # SEQ: the smallest values train, the last fraction (and NULLs) evaluate.
    (cutoff,) = query(
        f"SELECT quantile_disc({ref}, {float_literal(1.0 - round(fraction, 2))}) "
        f"FROM ({source_sql}) AS __ml_src"
    )
    if cutoff is None:
        return "TRUE"
    return f"({ref} IS NULL OR {ref} > {sql_literal(cutoff)})"


def _match(name: str, column_types: dict[str, str]) -> str:
    return next(c for c in column_types if c.lower() == name.lower())
