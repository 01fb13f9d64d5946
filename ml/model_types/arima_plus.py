"""arima_plus: the training query's series (one, or one per time_series_id_col value) are
aggregated in DuckDB, put on a regular time grid, fitted (ml.estimators.arima) and their forecasts
stored; ML.FORECAST and ML.ARIMA_EVALUATE read them back (ml.compile.arima).

Seasonal decomposition is modelled; the other decomposition options (holidays, spikes and dips,
step changes) are accepted and reported as not applied: see docs/engine-contract.md.
"""

from __future__ import annotations

import datetime as dt
from itertools import groupby
from typing import Any

import numpy as np
import pandas as pd

from ml.compile.arima import arima_evaluate_template, forecast_template
from ml.errors import MLError
from ml.estimators.arima import ArimaFit, ArimaPlus
from ml.model_types.model_type import FORECASTING, Fitted, ModelType
from ml.model_types.option import BOOL_FALSE, BOOL_TRUE, Constraint, enum
from ml.model_types.options import COMMON_OPTIONS
from ml.model_types.training_data import TrainingData
from ml.names import quote_ident
from ml.preprocessing.automatic import is_numeric_type

OPTIONS: dict[str, Constraint] = {
    **COMMON_OPTIONS,
    "time_series_timestamp_col": Constraint("string"),
    "time_series_data_col": Constraint("string"),
    "time_series_id_col": Constraint("column_list"),
    "horizon": Constraint("int", 1000, low=1, high=10_000),
    "auto_arima": BOOL_TRUE,
    "auto_arima_max_order": Constraint("int", 5, low=1, high=5),
    "auto_arima_min_order": Constraint("int", 0, low=0, high=5),
    "non_seasonal_order": Constraint("order"),
    "include_drift": BOOL_FALSE,
    "data_frequency": enum(
        "AUTO_FREQUENCY",
        "AUTO_FREQUENCY",
        "PER_MINUTE",
        "HOURLY",
        "DAILY",
        "WEEKLY",
        "MONTHLY",
        "QUARTERLY",
        "YEARLY",
    ),
    "holiday_region": Constraint("column_list"),
    "clean_spikes_and_dips": BOOL_TRUE,
    "adjust_step_changes": BOOL_TRUE,
    "decompose_time_series": BOOL_TRUE,
    "seasonalities": Constraint("string_list", ["AUTO"]),
    "trend_smoothing_window_size": Constraint("int", None, low=1),
    "time_series_length_fraction": Constraint("float", None, low=0.0, high=1.0, open_low=True),
    "min_time_series_length": Constraint("int", None, low=4),
    "max_time_series_length": Constraint("int", None, low=4),
    "forecast_limit_lower_bound": Constraint("float", None),
    "forecast_limit_upper_bound": Constraint("float", None),
}

FREQUENCIES: dict[str, pd.DateOffset] = {
    "PER_MINUTE": pd.DateOffset(minutes=1),
    "HOURLY": pd.DateOffset(hours=1),
    "DAILY": pd.DateOffset(days=1),
    "WEEKLY": pd.DateOffset(weeks=1),
    "MONTHLY": pd.DateOffset(months=1),
    "QUARTERLY": pd.DateOffset(months=3),
    "YEARLY": pd.DateOffset(years=1),
}
# Typical spacing (days) of each calendar frequency, for AUTO_FREQUENCY on the median spacing.
_CALENDAR_DAYS = {"MONTHLY": (28, 31), "QUARTERLY": (89, 92), "YEARLY": (365, 366)}
_FIXED = {
    "PER_MINUTE": pd.Timedelta(minutes=1),
    "HOURLY": pd.Timedelta(hours=1),
    "DAILY": pd.Timedelta(days=1),
}
_FIXED["WEEKLY"] = pd.Timedelta(weeks=1)


def infer_frequency(timestamps: list[pd.Timestamp]) -> tuple[str | None, pd.DateOffset]:
    """AUTO_FREQUENCY: the named frequency matching the median spacing, else (None, that spacing)."""
    spacing = pd.Series(timestamps).diff().median()
    for name, step in _FIXED.items():
        if spacing == step:
            return name, FREQUENCIES[name]
    for name, (low, high) in _CALENDAR_DAYS.items():
        if pd.Timedelta(days=low) <= spacing <= pd.Timedelta(days=high):
            return name, FREQUENCIES[name]
    return None, pd.DateOffset(seconds=int(spacing.total_seconds()))


def series_frequency(option: str, timestamps: list[pd.Timestamp]) -> tuple[str | None, pd.DateOffset]:
    """The data_frequency option's frequency and step, or AUTO_FREQUENCY's inference."""
    if option in FREQUENCIES:
        return option, FREQUENCIES[option]
    if len(timestamps) < 2:
        return None, FREQUENCIES["DAILY"]  # one point: no grid to build, any step will do
    return infer_frequency(timestamps)


def regular_series(
    timestamps: list[pd.Timestamp], values: np.ndarray, step: pd.DateOffset
) -> tuple[list[pd.Timestamp], np.ndarray]:
    """The series on a regular grid from its first to its last timestamp; missing points are
    linearly interpolated (BigQuery fills gaps the same way)."""
    grid = [timestamps[0]]
    while grid[-1] < timestamps[-1]:
        grid.append(timestamps[0] + step * len(grid))
    seconds = np.array([t.timestamp() for t in timestamps])
    grid_seconds = np.array([t.timestamp() for t in grid])
    return grid, np.interp(grid_seconds, seconds, values)


def _length(n: int, options: dict[str, Any]) -> int:
    """How many of the latest points train (time_series_length_fraction and its bounds)."""
    length = n
    if options["time_series_length_fraction"] is not None:
        length = int(n * options["time_series_length_fraction"])
        length = max(length, options["min_time_series_length"] or 0)
    if options["max_time_series_length"] is not None:
        length = min(length, options["max_time_series_length"])
    return min(max(length, 1), n)


def _column(data: TrainingData, option: str, name: str) -> str:
    """The training query's column `name` (case-insensitive), which `option` names."""
    match = [c for c in data.column_types if c.lower() == name.lower()]
    if not match:
        raise MLError(f"Column {name} named by option {option} is not in the training query")
    return match[0]


def _series_rows(data: TrainingData, ids: list[str], timestamp: str, value: str) -> list[tuple]:
    types = data.column_types
    if not is_numeric_type(types[value]):
        raise MLError(f"time_series_data_col {value} must be numeric, got {types[value]}")
    if not types[timestamp].startswith(("DATE", "TIMESTAMP")):
        raise MLError(
            f"time_series_timestamp_col {timestamp} must be a DATE, DATETIME or TIMESTAMP, "
            f"got {types[timestamp]}"
        )
    keys = [quote_ident(c) for c in ids]
    group = ", ".join(str(i + 1) for i in range(len(keys) + 1))
    # Several rows at one timestamp are averaged; NULL values are gaps, filled on the grid.
    return data.query(
        f"SELECT {''.join(k + ', ' for k in keys)}CAST({quote_ident(timestamp)} AS TIMESTAMP), "
        f"avg(CAST({quote_ident(value)} AS DOUBLE)) FROM ({data.source}) AS __ml_src "
        f"WHERE {quote_ident(timestamp)} IS NOT NULL AND {quote_ident(value)} IS NOT NULL "
        f"GROUP BY {group} ORDER BY {group}"
    )


def _forecast_rows(key: tuple, fit: ArimaFit, last: pd.Timestamp, step: pd.DateOffset) -> list[tuple]:
    return [
        (*key, k + 1, (last + step * (k + 1)).to_pydatetime(), float(value), float(error))
        for k, (value, error) in enumerate(zip(fit.forecast, fit.standard_error, strict=True))
    ]


def _evaluate_row(key: tuple, fit: ArimaFit | None, error: str | None) -> tuple:
    if fit is None:
        return (*key, *([None] * 11), error)
    p, d, q = fit.order
    facts = (fit.has_drift, fit.log_likelihood, fit.aic, fit.variance, fit.seasonal_periods)
    # Holiday effects, spikes and dips, step changes: not modelled locally, so never present.
    return (*key, p, d, q, *facts, False, False, False, None)


def fit(data: TrainingData) -> Fitted:
    options = data.options
    timestamp = _column(data, "time_series_timestamp_col", options["time_series_timestamp_col"])
    value = _column(data, "time_series_data_col", options["time_series_data_col"])
    ids = [_column(data, "time_series_id_col", name) for name in options["time_series_id_col"] or []]
    rows = _series_rows(data, ids, timestamp, value)
    if not rows:
        raise MLError("The training data has no rows with both a timestamp and a value")
    model = ArimaPlus.from_options(options)
    forecasts, evaluations, summary = [], [], []
    for key, group in groupby(rows, key=lambda r: tuple(r[: len(ids)])):
        points = list(group)
        stamps = [pd.Timestamp(r[len(ids)]) for r in points]
        values = np.array([r[len(ids) + 1] for r in points], dtype=np.float64)
        frequency, step = series_frequency(options["data_frequency"], stamps)
        grid, regular = regular_series(stamps, values, step) if len(stamps) > 1 else (stamps, values)
        keep = _length(len(regular), options)
        fit, error = None, None
        try:
            fit = model.fit_series(regular[-keep:], frequency)
        except MLError as exc:
            if not ids:
                raise
            error = str(exc)  # one bad series does not fail the others
        if fit is not None:
            forecasts += _forecast_rows(key, fit, grid[-1], step)
        evaluations.append(_evaluate_row(key, fit, error))
        summary.append({"id": list(key), "order": fit.order if fit else None, "error": error})
    id_columns = [(c, data.column_types[c]) for c in ids]
    fixed = {
        "forecast": forecast_template(
            id_columns,
            forecasts,
            options["horizon"],
            options["forecast_limit_lower_bound"],
            options["forecast_limit_upper_bound"],
        ),
        "arima_evaluate": arima_evaluate_template(id_columns, evaluations),
    }
    # BigQuery's ML.EVALUATE of an arima_plus model without input data is ML.ARIMA_EVALUATE.
    fixed["evaluate"] = fixed["arima_evaluate"]
    return Fitted(None, {}, fixed, {"series": summary, "trained_at": dt.datetime.now(dt.UTC).isoformat()})


def check(options: dict[str, Any], raw: dict[str, Any]) -> None:
    for name in ("time_series_timestamp_col", "time_series_data_col"):
        if not options[name]:
            raise MLError(f"Option {name} must be set for an arima_plus model")
    order = options["non_seasonal_order"]
    if options["auto_arima"] and order is not None:
        raise MLError("Option non_seasonal_order can only be set when auto_arima is FALSE")
    if not options["auto_arima"] and order is None:
        raise MLError("Option non_seasonal_order must be set when auto_arima is FALSE")
    if order is not None and (order[0] > 5 or order[1] > 2 or order[2] > 5):
        raise MLError(f"Invalid value for option non_seasonal_order: {order}; p and q go to 5, d to 2")
    if options["auto_arima_min_order"] > options["auto_arima_max_order"]:
        raise MLError("Option auto_arima_min_order must not exceed auto_arima_max_order")
    _check_seasonalities(options["seasonalities"])
    low, high = options["forecast_limit_lower_bound"], options["forecast_limit_upper_bound"]
    if low is not None and high is not None and low >= high:
        raise MLError("Option forecast_limit_lower_bound must be less than forecast_limit_upper_bound")


SEASONALITIES = ("DAILY", "WEEKLY", "MONTHLY", "QUARTERLY", "YEARLY")


def _check_seasonalities(seasonalities: list[str]) -> None:
    """['AUTO'], ['NO_SEASONALITY'], or a list of named periods."""
    names = [s.upper() for s in seasonalities]
    if names in (["AUTO"], ["NO_SEASONALITY"]):
        return
    unknown = [s for s in names if s not in SEASONALITIES]
    if not names or unknown:
        raise MLError(
            f"Invalid value for option seasonalities: {seasonalities}; either ['AUTO'], "
            f"['NO_SEASONALITY'] or a list of {', '.join(SEASONALITIES)}"
        )


MODEL_TYPES = (
    ModelType(
        "ARIMA_PLUS",
        FORECASTING,
        OPTIONS,
        fit,
        frozenset({"forecast", "arima_evaluate", "evaluate"}),
        check,
        reads_whole_query=True,
    ),
)
