"""CREATE MODEL for arima_plus: the training query's series (one, or one per time_series_id_col
value) are aggregated in DuckDB, put on a regular time grid, fitted (ml.models.arima) and their
forecasts stored; ML.FORECAST and ML.ARIMA_EVALUATE read them back (ml.compile.arima).
"""

from __future__ import annotations

import datetime as dt
from itertools import groupby
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ml.compile.arima import arima_evaluate_template, forecast_template
from ml.errors import MLError
from ml.models.arima import ArimaFit, ArimaPlus
from ml.names import quote_ident
from ml.preprocessing import is_numeric_type

if TYPE_CHECKING:
    from ml.training import Fitted, Trainer

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


def _column(trainer: Trainer, option: str, name: str) -> str:
    """The training query's column `name` (case-insensitive), which `option` names."""
    match = [c for c in trainer.types if c.lower() == name.lower()]
    if not match:
        raise MLError(f"Column {name} named by option {option} is not in the training query")
    return match[0]


def _series_rows(trainer: Trainer, ids: list[str], timestamp: str, data: str) -> list[tuple]:
    if not is_numeric_type(trainer.types[data]):
        raise MLError(f"time_series_data_col {data} must be numeric, got {trainer.types[data]}")
    if not trainer.types[timestamp].startswith(("DATE", "TIMESTAMP")):
        raise MLError(
            f"time_series_timestamp_col {timestamp} must be a DATE, DATETIME or TIMESTAMP, "
            f"got {trainer.types[timestamp]}"
        )
    keys = [quote_ident(c) for c in ids]
    group = ", ".join(str(i + 1) for i in range(len(keys) + 1))
    # Several rows at one timestamp are averaged; NULL values are gaps, filled on the grid.
    return trainer.query(
        f"SELECT {''.join(k + ', ' for k in keys)}CAST({quote_ident(timestamp)} AS TIMESTAMP), "
        f"avg(CAST({quote_ident(data)} AS DOUBLE)) FROM ({trainer.source}) AS __ml_src "
        f"WHERE {quote_ident(timestamp)} IS NOT NULL AND {quote_ident(data)} IS NOT NULL "
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


def fit_arima(trainer: Trainer) -> Fitted:
    from ml.training import Fitted

    options = trainer.options
    trainer.types = dict(trainer.describe(trainer.source))
    timestamp = _column(trainer, "time_series_timestamp_col", options["time_series_timestamp_col"])
    data = _column(trainer, "time_series_data_col", options["time_series_data_col"])
    ids = [_column(trainer, "time_series_id_col", name) for name in options["time_series_id_col"] or []]
    rows = _series_rows(trainer, ids, timestamp, data)
    if not rows:
        raise MLError("The training data has no rows with both a timestamp and a value")
    model = ArimaPlus(**{name: options[name] for name in ArimaPlus._parameter_constraints})
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
    id_columns = [(c, trainer.types[c]) for c in ids]
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
