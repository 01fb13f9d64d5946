"""The TRANSFORM clause: validated, its ML.* preprocessing functions fitted on the training query,
and compiled to plain DuckDB expressions over the raw input columns.

The compiled expressions carry the learned statistics as constants, so the very same text is used
to build the training features and, inside the predict template, to re-apply them at prediction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp

from ml.errors import MLError
from ml.literals import sql_literal
from ml.preprocessing.automatic import is_numeric_type
from ml.sql.options import literal_value
from ml.sql.preprocessing_functions import FUNCTIONS, check_form, is_call, ml_function, preprocessing

Query = Callable[[str], tuple]
# The preprocessing functions whose first argument must be a number.
NUMERIC_ARGUMENT = frozenset(
    {
        "STANDARD_SCALER",
        "MIN_MAX_SCALER",
        "MAX_ABS_SCALER",
        "ROBUST_SCALER",
        "QUANTILE_BUCKETIZE",
        "BUCKETIZE",
    }
)


@dataclass
class CompiledTransform:
    """TRANSFORM outputs as (name, DuckDB expression over raw columns), plus what was learned."""

    items: list[tuple[str, str]]
    statistics: list[dict[str, Any]] = field(default_factory=list)


def compile_transform(
    text: str, source_sql: str, source_columns: Sequence[str], passthrough: Sequence[str], query: Query
) -> CompiledTransform:
    """Compile the TRANSFORM list `text`; `query` runs one DuckDB query and returns its first row."""
    try:
        select = sqlglot.parse_one(f"SELECT {text}", read="bigquery")
    except sqlglot.errors.ParseError as exc:
        raise MLError(f"Syntax error in TRANSFORM: {str(exc).splitlines()[0]}") from exc
    fitter = _Fitter(source_sql, query)
    passthrough_lower = {p.lower() for p in passthrough}
    listed: set[str] = set()
    items: list[tuple[str, str]] = []
    for projection in select.expressions:
        listed |= _listed_passthrough(projection, source_columns, passthrough_lower)
        for name, node in _expand(projection, source_columns, passthrough_lower):
            if name.lower() in passthrough_lower:
                raise MLError(f"TRANSFORM cannot redefine the column {name}: it passes through untouched")
            _check_allowed(node)
            items.append((name, fitter.fit(node).sql(dialect="duckdb")))
    missing = [p for p in passthrough if p.lower() not in listed]
    if missing:
        raise MLError(
            f"TRANSFORM must select the column {missing[0]} as it is (by name or with *): the label, "
            "data split and kmeans init columns reach training only through the TRANSFORM, unchanged"
        )
    names = [n.lower() for n, _ in items]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise MLError(f"Duplicate column names in TRANSFORM: {', '.join(duplicates)}")
    if not items:
        raise MLError("TRANSFORM produces no feature columns")
    return CompiledTransform(items, fitter.statistics)


def _expand(projection: exp.Expression, columns: Sequence[str], passthrough: set[str]):
    """Yield (output name, expression) for one TRANSFORM list item; `*` expands to the query's columns."""
    if isinstance(projection, exp.Star):
        excluded = _star_excluded(projection)
        replaced = {r.alias.lower(): r.this for r in projection.args.get("replace") or []}
        for column in columns:
            lower = column.lower()
            if lower in excluded or lower in passthrough:
                continue
            yield column, replaced.get(lower, exp.column(column, quoted=True))
    elif isinstance(projection, exp.Alias):
        yield projection.alias, projection.this
    elif isinstance(projection, exp.Column) and not isinstance(projection.this, exp.Star):
        if projection.name.lower() not in passthrough:
            yield projection.name, projection
    else:
        raise MLError(f"TRANSFORM expressions must be aliased: {projection.sql('bigquery')}")


def _star_excluded(star: exp.Star) -> set[str]:
    """The columns (lower case) of `* EXCEPT (...)`."""
    return {c.name.lower() for c in star.args.get("except_") or star.args.get("except") or []}


def _listed_passthrough(
    projection: exp.Expression, columns: Sequence[str], passthrough: set[str]
) -> set[str]:
    """The passthrough columns (lower case) one TRANSFORM item selects unchanged; an alias of one
    is refused, as in BigQuery."""
    if isinstance(projection, exp.Star):
        excluded = _star_excluded(projection)
        return {c.lower() for c in columns if c.lower() in passthrough and c.lower() not in excluded}
    if isinstance(projection, exp.Column) and projection.name.lower() in passthrough:
        return {projection.name.lower()}
    if isinstance(projection, exp.Alias) and isinstance(projection.this, exp.Column):
        name = projection.this.name.lower()
        if name in passthrough and projection.alias.lower() != name:
            raise MLError(
                f"TRANSFORM cannot rename the column {projection.this.name} (as {projection.alias}): the "
                "label, data split and kmeans init columns pass through unchanged"
            )
        return {name} if name in passthrough else set()
    return set()


def _check_allowed(node: exp.Expression) -> None:
    for window in node.find_all(exp.Window):
        if ml_function(window.this) is None:
            raise MLError("Analytic functions other than ML.* preprocessing are not allowed in TRANSFORM")
    for agg in node.find_all(exp.AggFunc):
        raise MLError(f"Aggregate function {agg.sql_name()} is not allowed in the TRANSFORM clause")
    if node.find(exp.Subquery, exp.Select):
        raise MLError("Subqueries are not allowed in the TRANSFORM clause")


def _constant(node: exp.Expression, what: str) -> Any:
    try:
        return literal_value(node)
    except MLError as exc:
        raise MLError(f"{what} must be a constant") from exc


class _Fitter:
    """Replaces each ML.* preprocessing call by its DuckDB expression with learned constants."""

    def __init__(self, source_sql: str, query: Query) -> None:
        self.source_sql = source_sql
        self.query = query
        self.statistics: list[dict[str, Any]] = []

    def fit(self, node: exp.Expression) -> exp.Expression:
        node = node.copy()
        # Deepest calls first: an outer scaler learns its statistics from the inner call's output.
        calls = [n for n in node.find_all(exp.Window, exp.Dot) if is_call(n)]
        for call in reversed(calls):
            replacement = self._replace(call)
            if call is node:
                node = replacement
            else:
                call.replace(replacement)
        return node

    def _replace(self, call: exp.Expression) -> exp.Expression:
        windowed = isinstance(call, exp.Window)
        name, args = ml_function(call.this if windowed else call)
        if name not in FUNCTIONS and name != "ONE_HOT_ENCODER":
            raise MLError(f"Function ML.{name} is not supported in TRANSFORM by the local engine")
        check_form(name, windowed)
        if not args:
            raise MLError(f"ML.{name} needs an argument")
        arg = f"({args[0].sql(dialect='duckdb')})"
        if name in NUMERIC_ARGUMENT:
            self._require_numeric(name, args[0], arg)
        if name == "ONE_HOT_ENCODER":
            sql = self._one_hot_encoder(arg, args[1:])
        else:
            sql = self._fitted(name, arg, args[1:])
        return sqlglot.parse_one(sql, read="duckdb")

    def _fitted(self, name: str, arg: str, options: list[exp.Expression]) -> str:
        """The shared definition of ML.`name`, its statistics learned here as constants."""
        function = preprocessing(name, options)
        values = self._stats(name, arg, function.aggregates) if function.aggregates else ()
        return function.formula(arg, [sql_literal(_plain(v)) for v in values])

    def _require_numeric(self, name: str, node: exp.Expression, arg: str) -> None:
        """A scaler or bucketizer of a non-numeric argument is the caller's mistake, said as one
        (DuckDB would answer with its own avg(VARCHAR) binder error)."""
        (kind,) = self.query(f"SELECT typeof({arg}) FROM ({self.source_sql}) AS __ml_src LIMIT 1")
        if not (is_numeric_type(kind) or kind == "NULL"):
            raise MLError(
                f"ML.{name} needs a numeric argument, but {node.sql('bigquery')} is {kind} in the "
                "training data"
            )

    def _stats(self, name: str, arg: str, aggregates: list[str]) -> tuple:
        select = ", ".join(a.format(x=arg) for a in aggregates)
        row = self.query(f"SELECT {select} FROM ({self.source_sql}) AS __ml_src")
        self.statistics.append({"function": name, "input": arg, "values": [_plain(v) for v in row]})
        return row

    def _one_hot_encoder(self, arg: str, rest: list) -> str:
        # BigQuery returns a sparse one-hot vector; a categorical column restricted to the learned
        # vocabulary feeds the model the same indicators (outside values: the all-zero slot).
        drop, top_k, threshold = ([_constant(a, "ML.ONE_HOT_ENCODER argument") for a in rest] + [None] * 3)[
            :3
        ]
        drop = str(drop or "none").lower()
        top_k = 32_000 if top_k is None else top_k
        threshold = 5 if threshold is None else threshold
        if (
            drop not in ("none", "most_frequent")
            or not isinstance(top_k, int)
            or not isinstance(threshold, int)
        ):
            raise MLError(
                "ML.ONE_HOT_ENCODER takes (expression, drop 'none'|'most_frequent', top_k, "
                "frequency_threshold)"
            )
        as_text = f"CAST({arg} AS VARCHAR)"
        rows = self.query(
            f"SELECT list(v ORDER BY c DESC, v) FROM (SELECT {as_text} AS v, count(*) AS c "
            f"FROM ({self.source_sql}) AS __ml_src WHERE {arg} IS NOT NULL GROUP BY 1 "
            f"HAVING count(*) >= {threshold} "
            f"ORDER BY c DESC, v LIMIT {top_k})"
        )
        vocabulary = list(rows[0] or [])
        if drop == "most_frequent":
            vocabulary = vocabulary[1:]
        self.statistics.append({"function": "ONE_HOT_ENCODER", "input": arg, "values": vocabulary})
        if not vocabulary:
            return "CAST(NULL AS VARCHAR)"
        return f"CASE WHEN {as_text} IN ({', '.join(sql_literal(v) for v in vocabulary)}) THEN {as_text} END"


def _plain(value: Any) -> Any:
    """JSON-friendly statistics (DECIMAL averages and quantiles become floats)."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "is_finite"):
        return float(value)
    return value
