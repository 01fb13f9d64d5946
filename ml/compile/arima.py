"""Time-series forecasts as SQL: ML.FORECAST reads the forecasts stored at training (point forecast and
standard error per step) and computes the intervals for the caller's confidence_level in SQL;
ML.ARIMA_EVALUATE is a constant relation.

Placeholders (ml.compile.placeholders): HORIZON (an integer literal) and CONFIDENCE_LEVEL (a
DOUBLE literal).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from ml.compile.placeholders import CONFIDENCE_LEVEL, HORIZON
from ml.errors import MLError
from ml.literals import float_literal, sql_literal, values_relation
from ml.names import quote_ident, quote_string
from ml.sql.calls import flag_setting

DEFAULT_HORIZON = 3
DEFAULT_CONFIDENCE_LEVEL = 0.95

# Acklam's rational approximation of the standard normal quantile (relative error < 1.2e-9):
# DuckDB has no inverse normal CDF, and the level is only known when ML.FORECAST is called.
_A = (-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.3577518672690, -30.66479806614716)
_A_LAST = 2.506628277459239
_B = (-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572)
_C = (-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968)
_C_LAST = 2.938163982698783
_D = (0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416)
_TAIL = 0.02425

EVALUATE_COLUMNS = [
    ("non_seasonal_p", "BIGINT"),
    ("non_seasonal_d", "BIGINT"),
    ("non_seasonal_q", "BIGINT"),
    ("has_drift", "BOOLEAN"),
    ("log_likelihood", "DOUBLE"),
    ("AIC", "DOUBLE"),
    ("variance", "DOUBLE"),
    ("seasonal_periods", "VARCHAR[]"),
    ("has_holiday_effect", "BOOLEAN"),
    ("has_spikes_and_dips", "BOOLEAN"),
    ("has_step_changes", "BOOLEAN"),
    ("error_message", "VARCHAR"),
]


def function_settings(function: str, settings: dict[str, Any]) -> dict[str, str]:
    """Take the STRUCT settings of ML.FORECAST / ML.ARIMA_EVALUATE out of `settings`; returns the
    placeholder literals for the template."""
    if function == "forecast":
        horizon = settings.pop("horizon", DEFAULT_HORIZON)
        level = settings.pop("confidence_level", DEFAULT_CONFIDENCE_LEVEL)
        if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
            raise MLError(f"Invalid horizon: {horizon!r}; it must be a positive INT64")
        if isinstance(level, bool) or not isinstance(level, int | float) or not 0 <= level < 1:
            raise MLError(f"Invalid confidence_level: {level!r}; it must be in [0, 1)")
        return {HORIZON: str(horizon), CONFIDENCE_LEVEL: float_literal(level)}
    if function == "arima_evaluate" and flag_setting(settings, "show_all_candidate_models", function):
        raise MLError("show_all_candidate_models = TRUE is not supported by the local engine")
    return {}


def _horner(coefficients: Sequence[float], x: str, last: float) -> str:
    sql = float_literal(coefficients[0])
    for c in coefficients[1:]:
        sql = f"({sql} * {x} + {float_literal(c)})"
    return f"({sql} * {x} + {float_literal(last)})"


def normal_quantile_sql(p: str) -> str:
    """The standard normal quantile of `p` (a SQL expression in [0.5, 1))."""
    central = f"({_horner(_A, '__ml_r', _A_LAST)} * __ml_q / {_horner(_B, '__ml_r', 1.0)})".replace(
        "__ml_r", f"(({p}) - 0.5e0) * (({p}) - 0.5e0)"
    ).replace("__ml_q", f"(({p}) - 0.5e0)")
    q = f"sqrt(-2e0 * ln(1e0 - ({p})))"
    tail = f"(-{_horner(_C, q, _C_LAST)} / {_horner(_D, q, 1.0)})"
    return f"(CASE WHEN ({p}) <= {float_literal(1 - _TAIL)} THEN {central} ELSE {tail} END)"


def columns_relation(columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]) -> str:
    """A constant relation as one typed list per column, unnested: a forecast holds thousands of
    rows, and DuckDB binds one list literal far faster than a VALUES list of casts."""
    lists = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    return "SELECT " + ", ".join(
        f"{_unnested(values, duck_type)} AS {quote_ident(name)}"
        for (name, duck_type), values in zip(columns, lists, strict=True)
    )


def _unnested(values: Sequence[Any], duck_type: str) -> str:
    if duck_type == "TIMESTAMP":
        # Epoch microseconds: integers bind several times faster than TIMESTAMP literals.
        micros = ", ".join(str(round(v.replace(tzinfo=dt.UTC).timestamp() * 1_000_000)) for v in values)
        return f"unnest(list_transform(CAST([{micros}] AS BIGINT[]), lambda u: make_timestamp(u)))"
    return f"unnest(CAST([{', '.join(sql_literal(v) for v in values)}] AS {duck_type}[]))"


def forecast_template(
    id_columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[Any]],
    max_horizon: int,
    lower_limit: float | None,
    upper_limit: float | None,
) -> str:
    """ML.FORECAST over stored rows (ids..., step, forecast_timestamp, forecast_value, standard_error)."""
    columns = [
        *id_columns,
        ("__ml_step", "BIGINT"),
        ("forecast_timestamp", "TIMESTAMP"),
        ("__ml_value", "DOUBLE"),
        ("standard_error", "DOUBLE"),
    ]

    def limited(sql: str) -> str:
        if lower_limit is not None:
            sql = f"greatest({sql}, {float_literal(lower_limit)})"
        if upper_limit is not None:
            sql = f"least({sql}, {float_literal(upper_limit)})"
        return sql

    z = normal_quantile_sql(f"(1e0 + {CONFIDENCE_LEVEL}) / 2e0")
    lower = limited("__ml_value - __ml_z * standard_error")
    upper = limited("__ml_value + __ml_z * standard_error")
    ids = [quote_ident(name) for name, _ in id_columns]
    too_far = quote_string(f"horizon exceeds the model's horizon option ({max_horizon})")
    leading = "".join(f"{i}, " for i in ids)
    return (
        f"SELECT {leading}forecast_timestamp, {limited('__ml_value')} AS forecast_value, "
        f"standard_error, CAST({CONFIDENCE_LEVEL} AS DOUBLE) AS confidence_level, "
        f"{lower} AS prediction_interval_lower_bound, {upper} AS prediction_interval_upper_bound, "
        f"{lower} AS confidence_interval_lower_bound, {upper} AS confidence_interval_upper_bound "
        f"FROM ({columns_relation(columns, rows)}) AS __ml_rows, (SELECT {z} AS __ml_z) AS __ml_level "
        f"WHERE __ml_step <= {HORIZON} "
        f"AND (CASE WHEN {HORIZON} > {max_horizon} THEN error({too_far}) ELSE TRUE END) "
        f"ORDER BY {leading}forecast_timestamp"
    )


def arima_evaluate_template(id_columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]) -> str:
    """ML.ARIMA_EVALUATE: one row per time series (ids first)."""
    ids = ", ".join(quote_ident(name) for name, _ in id_columns)
    order = f" ORDER BY {ids}" if ids else ""
    return values_relation([*id_columns, *EVALUATE_COLUMNS], rows) + order
