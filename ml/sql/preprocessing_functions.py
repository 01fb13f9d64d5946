"""BigQuery ML's preprocessing functions (`ML.STANDARD_SCALER(x) OVER ()`, `ML.BUCKETIZE(x, [...])`,
...) as DuckDB SQL, one definition serving both places BigQuery accepts them:

- in TRANSFORM (ml/preprocessing/transform.py) the statistics are computed once on the training
  query and passed in as literals, so prediction re-applies them;
- in a plain SELECT (`to_duckdb`) they are the same aggregates as DuckDB window functions over the
  call's own OVER (PARTITION BY ...).

A function is its statistics (DuckDB aggregates over `{x}`) and a formula over the argument and
the statistics' SQL. The formula holds the edge cases (zero variance, NULL statistics), so both
forms agree on them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import sqlglot
from sqlglot import exp

from ml.errors import MLError
from ml.sql.options import literal_value

Formula = Callable[[str, list[str]], str]
# The ones without OVER (): their options are all they need.
SCALAR = frozenset({"BUCKETIZE"})
OUTPUT_FORMATS = ("bucket_names", "bucket_ranges", "bucket_ranges_json")
# The median of DOUBLEs: DuckDB's median of a DECIMAL stays DECIMAL, BigQuery's is FLOAT64.
IMPUTER_STATISTIC = {
    "mean": "avg({x})",
    "median": "quantile_cont(CAST({x} AS DOUBLE), 0.5)",
    "most_frequent": "mode({x})",
}
_PLACEHOLDER = re.compile(r"__ml_preprocessing_(\d+)")
_OVER = "__ml_over"


@dataclass(frozen=True)
class Preprocessing:
    """DuckDB aggregates over `{x}` and the formula turning (argument, their SQL) into the output."""

    aggregates: list[str]
    formula: Formula


def ml_function(node: exp.Expression) -> tuple[str, list[exp.Expression]] | None:
    """(NAME, arguments) when `node` is a call `ML.NAME(...)`."""
    if (
        isinstance(node, exp.Dot)
        and isinstance(node.this, exp.Identifier | exp.Column)
        and node.this.name.upper() == "ML"
        and isinstance(node.expression, exp.Anonymous)
    ):
        return node.expression.name.upper(), list(node.expression.expressions)
    return None


def check_form(name: str, windowed: bool) -> None:
    """BigQuery's analytic functions need OVER (); the scalar ones refuse it."""
    if windowed == (name in SCALAR):
        raise MLError(f"ML.{name} {'takes no' if windowed else 'needs an'} OVER() clause")


def preprocessing(name: str, options: list[exp.Expression]) -> Preprocessing:
    """The definition of ML.`name` (one of FUNCTIONS) with its constant `options`: the arguments
    after the first."""
    return _BUILDERS[name](options)


def _constants(name: str, options: list[exp.Expression], most: int) -> list:
    if len(options) > most:
        raise MLError(f"ML.{name} takes at most {most + 1} arguments")
    try:
        return [literal_value(o) for o in options]
    except MLError as exc:
        raise MLError(f"ML.{name} arguments after the first must be constants") from exc


def _double_literal(value: float) -> str:
    """A DOUBLE constant: a bare `0.25` would be DECIMAL in DuckDB, and 1/3 as a DECIMAL picks
    another discrete quantile than the double BigQuery computes with."""
    return f"CAST('{float(value)!r}' AS DOUBLE)"


def _double(x: str) -> str:
    return f"CAST({x} AS DOUBLE)"


def _nonzero(value: str) -> str:
    """A divisor: 1 where the statistic is 0 or NULL (constant or single-row input), so the
    column is only shifted rather than turned into NaN or NULL."""
    return f"COALESCE(NULLIF({value}, 0), 1)"


def _standard_scaler(options: list[exp.Expression]) -> Preprocessing:
    _constants("STANDARD_SCALER", options, 0)
    # BigQuery's z-score uses the sample standard deviation (its page: 1..5 -> +-1.2649...).
    return Preprocessing(
        ["avg({x})", "stddev_samp({x})"],
        lambda x, s: f"(({_double(x)} - COALESCE({s[0]}, 0)) / {_nonzero(s[1])})",
    )


def _min_max_scaler(options: list[exp.Expression]) -> Preprocessing:
    _constants("MIN_MAX_SCALER", options, 0)

    def formula(x: str, s: list[str]) -> str:
        scaled = f"(({_double(x)} - COALESCE({s[0]}, 0)) / {_nonzero(f'{s[1]} - {s[0]}')})"
        # Values outside the learned range (at prediction) are capped to [0, 1]; DuckDB's
        # greatest and least skip NULLs, so a NULL input is kept NULL first.
        return f"CASE WHEN {x} IS NULL THEN NULL ELSE greatest(0e0, least(1e0, {scaled})) END"

    return Preprocessing(["min({x})", "max({x})"], formula)


def _max_abs_scaler(options: list[exp.Expression]) -> Preprocessing:
    _constants("MAX_ABS_SCALER", options, 0)
    return Preprocessing(["max(abs({x}))"], lambda x, s: f"({_double(x)} / {_nonzero(s[0])})")


def _robust_scaler(options: list[exp.Expression]) -> Preprocessing:
    values = _constants("ROBUST_SCALER", options, 3)
    low, high = values[0] if values else [25, 75]
    with_median, with_range = [*values[1:], True, True][:2]
    if not (0 < low < high < 100) or not all(isinstance(v, bool) for v in (with_median, with_range)):
        raise MLError(
            "ML.ROBUST_SCALER takes (expression, [low, high] with 0 < low < high < 100, with_median "
            "BOOL, with_quantile_range BOOL)"
        )
    # Discrete quantiles: BigQuery's page centres [-3, 1, 2, 3, 4, 5] on 2 and scales by 4 - 1.
    fractions = ", ".join(_double_literal(q) for q in (low / 100, 0.5, high / 100))
    quantiles = f"quantile_disc({{x}}, [{fractions}])"
    return Preprocessing([quantiles], partial(_robust_formula, with_median, with_range))


def _robust_formula(with_median: bool, with_range: bool, x: str, s: list[str]) -> str:
    scaled = f"({_double(x)} - COALESCE(({s[0]})[2], 0))" if with_median else _double(x)
    return f"({scaled} / {_nonzero(f'({s[0]})[3] - ({s[0]})[1]')})" if with_range else scaled


def _imputer(options: list[exp.Expression]) -> Preprocessing:
    values = _constants("IMPUTER", options, 1)
    strategy = str(values[0]).lower() if values else "mean"
    if strategy not in IMPUTER_STATISTIC:
        raise MLError(f"ML.IMPUTER strategy must be mean, median or most_frequent, got {strategy}")
    # mean and median are DOUBLE, so COALESCE makes numeric input FLOAT64 as BigQuery does.
    return Preprocessing([IMPUTER_STATISTIC[strategy]], lambda x, s: f"COALESCE({x}, {s[0]})")


def _quantile_bucketize(options: list[exp.Expression]) -> Preprocessing:
    values = _constants("QUANTILE_BUCKETIZE", options, 2)
    buckets = values[0] if values else None
    if isinstance(buckets, bool) or not isinstance(buckets, int) or buckets < 1:
        raise MLError("ML.QUANTILE_BUCKETIZE num_buckets must be a positive INT64")
    output = _output_format("QUANTILE_BUCKETIZE", values[1:])
    if buckets == 1:
        return Preprocessing([], lambda x, _: bucket_sql(x, "[]", 0, output))
    fractions = ", ".join(_double_literal(k / buckets) for k in range(1, buckets))
    # Equal quantiles (many ties) make one bucket, not an empty one.
    return Preprocessing(
        [f"quantile_disc({{x}}, [{fractions}])"],
        lambda x, s: bucket_sql(x, f"list_sort(list_distinct({s[0]}))", buckets - 1, output),
    )


def _bucketize(options: list[exp.Expression]) -> Preprocessing:
    values = _constants("BUCKETIZE", options, 3)
    splits = values[0] if values else None
    if (
        not isinstance(splits, list)
        or not all(isinstance(s, int | float) and not isinstance(s, bool) for s in splits)
        or splits != sorted(splits)
    ):
        raise MLError("ML.BUCKETIZE split points must be an ascending ARRAY of numbers")
    exclude = values[1] if len(values) > 1 else False
    if not isinstance(exclude, bool):
        raise MLError("ML.BUCKETIZE exclude_boundaries must be a BOOL")
    if exclude:
        # Without its lowest and highest points, [1, 2, 3, 4] makes three buckets, not five.
        splits = splits[1:-1]
    output = _output_format("BUCKETIZE", values[2:])
    bounds = f"CAST([{', '.join(_double_literal(s) for s in splits)}] AS DOUBLE[])"
    return Preprocessing([], lambda x, _: bucket_sql(x, bounds, len(splits), output))


def _output_format(name: str, values: list) -> str:
    output = str(values[0]).lower() if values else "bucket_names"
    if output not in OUTPUT_FORMATS:
        raise MLError(f"ML.{name} output_format must be one of {', '.join(OUTPUT_FORMATS)}")
    return output


def bucket_sql(x: str, bounds: str, count: int, output: str) -> str:
    """The bucket of `x` among the ascending `bounds` (a DuckDB list of at most `count` numbers,
    NULL past its end) as `output` formats it: bucket k holds bounds[k-1] <= x < bounds[k]."""
    index = " + ".join(
        ["1"] + [f"COALESCE(CAST({x} >= ({bounds})[{i}] AS INTEGER), 0)" for i in range(1, count + 1)]
    )
    lower, upper = f"({bounds})[({index}) - 1]", f"({bounds})[{index}]"
    if output == "bucket_names":
        text = f"'bin_' || CAST({index} AS VARCHAR)"
    elif output == "bucket_ranges":
        text = (
            f"CASE WHEN {lower} IS NULL THEN '(-inf, ' ELSE '[' || {_number_text(lower)} || ', ' END || "
            f"COALESCE({_number_text(upper)}, '+inf') || ')'"
        )
    else:
        start = f"COALESCE({_number_text(lower)}, '-Infinity')"
        end = f"COALESCE({_number_text(upper)}, 'Infinity')"
        text = f"""'{{"start": "' || {start} || '", "end": "' || {end} || '"}}'"""
    return f"CASE WHEN {x} IS NULL THEN NULL ELSE {text} END"


def _number_text(value: str) -> str:
    """A number as BigQuery's CAST(FLOAT64 AS STRING) writes it in bucket ranges: 2 and 2.5, not
    DuckDB's 2.0."""
    return (
        f"CASE WHEN {value} = trunc({value}) AND abs({value}) < 1e15 "
        f"THEN CAST(CAST({value} AS BIGINT) AS VARCHAR) ELSE CAST({_double(value)} AS VARCHAR) END"
    )


_BUILDERS: dict[str, Callable[[list[exp.Expression]], Preprocessing]] = {
    "STANDARD_SCALER": _standard_scaler,
    "MIN_MAX_SCALER": _min_max_scaler,
    "MAX_ABS_SCALER": _max_abs_scaler,
    "ROBUST_SCALER": _robust_scaler,
    "IMPUTER": _imputer,
    "QUANTILE_BUCKETIZE": _quantile_bucketize,
    "BUCKETIZE": _bucketize,
}
FUNCTIONS = frozenset(_BUILDERS)


def to_duckdb(sql: str) -> list[str]:
    """sqlglot's BigQuery -> DuckDB transpilation of `sql`, with each standalone preprocessing
    call compiled by its definition: statistics as window aggregates over the call's OVER ()."""
    return [_statement(e) if e else "" for e in sqlglot.parse(sql, read="bigquery")]


def _statement(statement: exp.Expression) -> str:
    """One statement in DuckDB SQL. Each call becomes a placeholder column whose DuckDB text is
    spliced in after generation: sqlglot need not read our DuckDB SQL back."""
    compiled: list[str] = []

    def render(node: exp.Expression) -> str:
        return _splice(node.sql(dialect="duckdb"), compiled)

    # Deepest first, so an outer call's argument already holds the inner call's placeholder.
    for call in reversed([n for n in statement.find_all(exp.Window, exp.Dot) if is_call(n)]):
        sql = _compile(call, render)
        if sql is not None:
            call.replace(exp.column(f"__ml_preprocessing_{len(compiled)}"))
            compiled.append(sql)
    return _splice(statement.sql(dialect="duckdb"), compiled)


def _splice(sql: str, compiled: list[str]) -> str:
    return _PLACEHOLDER.sub(lambda m: f"({compiled[int(m.group(1))]})", sql)


def is_call(node: exp.Expression) -> bool:
    """An ML.* call, windowed (`ML.F(x) OVER ()`) or plain (`ML.BUCKETIZE(x, ...)`)."""
    if isinstance(node, exp.Window):
        return ml_function(node.this) is not None
    return ml_function(node) is not None and not isinstance(node.parent, exp.Window)


def _compile(call: exp.Expression, render: Callable[[exp.Expression], str]) -> str | None:
    """The DuckDB SQL of one call, or None when it is no preprocessing function defined here."""
    windowed = isinstance(call, exp.Window)
    name, args = ml_function(call.this if windowed else call)
    if name not in FUNCTIONS:
        return None
    check_form(name, windowed)
    if not args:
        raise MLError(f"ML.{name} needs an argument")
    function = preprocessing(name, args[1:])
    x = f"({render(args[0])})"
    over = _over(call, name, render) if windowed else ""
    return function.formula(x, [f"({a.format(x=x)}{over})" for a in function.aggregates])


def _over(window: exp.Window, name: str, render: Callable[[exp.Expression], str]) -> str:
    """` OVER (...)` of `window` in DuckDB SQL. Statistics are over the whole partition, so a
    window ORDER BY or frame (a running statistic) is refused."""
    if window.args.get("order") or window.args.get("spec"):
        raise MLError(f"ML.{name} takes OVER () or OVER (PARTITION BY ...), without ORDER BY or a frame")
    bare = window.copy()
    bare.set("this", exp.column(_OVER))
    return render(bare)[len(_OVER) :]
