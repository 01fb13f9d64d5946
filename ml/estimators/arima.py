"""The time-series core of BigQuery's forecasting model, per series: seasonal components first,
then one ARIMA(p, d, q) on what they leave, fitted by exact maximum likelihood (statsmodels'
state-space ARIMA), with auto.ARIMA's order search when auto_arima is TRUE.

Seasonality follows BigQuery's pipeline: the candidate periods of the data frequency (weekly and
yearly for daily data, yearly for quarterly...), each kept under `seasonalities = ['AUTO']` when
the series covers more than two periods and shows seasonal evidence (`seasonal_evidence`); the
kept periods are removed by MSTL (STL per period) before the ARIMA fit and carried forward a
period at a time (seasonal naive) onto its forecast. BigQuery extrapolates them by double
exponential smoothing instead.

What the local engine does not model (reported in ML.ARIMA_EVALUATE as not present): holiday
effects, spike-and-dip cleaning and step-change adjustment.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from ml.errors import MLError
from ml.estimators.base import BaseModel

# auto.ARIMA's unit-root test level (KPSS) and the largest differencing it tries.
KPSS_ALPHA = 0.05
MAX_D = 2
MIN_LENGTH = 3
# The seasonal periods each data frequency can carry, in steps of that frequency.
SEASONAL_PERIODS: dict[str, dict[str, int]] = {
    "PER_MINUTE": {"DAILY": 1440},
    "HOURLY": {"DAILY": 24, "WEEKLY": 168},
    "DAILY": {"WEEKLY": 7, "MONTHLY": 30, "QUARTERLY": 91, "YEARLY": 365},
    "WEEKLY": {"MONTHLY": 4, "QUARTERLY": 13, "YEARLY": 52},
    "MONTHLY": {"QUARTERLY": 3, "YEARLY": 12},
    "QUARTERLY": {"YEARLY": 4},
    "YEARLY": {},
}
# AUTO keeps a season whose STL strength reaches this (Wang, Smith & Hyndman 2006; R's forecast
# package uses the same threshold) and whose autocorrelation is significant at 1 % (seasonal_evidence).
SEASONAL_STRENGTH = 0.64
SEASONAL_ACF_Z = 2.576
NO_SEASONALITY = "NO_SEASONALITY"


@dataclass
class ArimaFit:
    """The chosen model of one series: ML.ARIMA_EVALUATE's row and ML.FORECAST's numbers."""

    order: tuple[int, int, int]
    has_drift: bool
    log_likelihood: float
    aic: float
    variance: float
    forecast: np.ndarray
    standard_error: np.ndarray
    seasonal_periods: list[str]


def seasonal_evidence(values: np.ndarray, period: int) -> tuple[bool, np.ndarray]:
    """Whether `values` has a season of `period` steps, and its STL seasonal component.

    Two tests, both needed: the STL seasonal strength 1 - var(remainder) / var(seasonal +
    remainder) reaches 0.64, and the detrended series' autocorrelation at lag `period` is
    significant at 1 % against white noise (z > 2.576, standard error 1 / sqrt(n)). Strength
    alone is fooled when the series covers few periods: STL's seasonal smoother then fits noise.
    """
    from statsmodels.tsa.seasonal import STL
    from statsmodels.tsa.stattools import acf

    result = STL(values, period=period).fit()
    seasonal, remainder = np.asarray(result.seasonal), np.asarray(result.resid)
    detrended = seasonal + remainder
    if np.var(detrended) == 0:
        return False, seasonal
    strength = 1.0 - np.var(remainder) / np.var(detrended)
    z = acf(detrended, nlags=period, fft=True)[period] * np.sqrt(len(values))
    return bool(strength >= SEASONAL_STRENGTH and z > SEASONAL_ACF_Z), seasonal


def detected_periods(values: np.ndarray, candidates: dict[str, int]) -> dict[str, int]:
    """AUTO: the candidates (name -> period) with seasonal evidence, tested shortest first, each on
    the series with the seasons already kept removed, so a multiple of a kept period (91 days =
    13 weeks) is not kept again for the same cycle."""
    kept: dict[str, int] = {}
    rest = values
    for name, period in sorted(candidates.items(), key=lambda item: item[1]):
        if len(values) <= 2 * period:
            continue
        seasonal, component = seasonal_evidence(rest, period)
        if seasonal:
            kept[name] = period
            rest = rest - component
    return kept


def seasonal_components(values: np.ndarray, periods: list[int]) -> np.ndarray:
    """MSTL's seasonal components, shape (len(values), len(periods)), periods ascending."""
    from statsmodels.tsa.seasonal import MSTL

    result = MSTL(values, periods=periods).fit()
    return np.asarray(result.seasonal).reshape(len(values), len(periods))


def carry_forward(component: np.ndarray, period: int, horizon: int) -> np.ndarray:
    """A seasonal component's next `horizon` values: its last period, repeated."""
    last = component[-period:]
    return last[np.arange(horizon) % period]


def trend_term(d: int, drift: bool) -> str:
    """statsmodels' trend for BigQuery's model: a mean when d = 0, a drift when d = 1 and asked."""
    if d == 0:
        return "c"
    return "t" if d == 1 and drift else "n"


def fit_order(values: np.ndarray, order: tuple[int, int, int], drift: bool) -> Any:
    """Fitted statsmodels ARIMA results for one order."""
    from statsmodels.tsa.arima.model import ARIMA

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter; a failed fit raises
        return ARIMA(values, order=order, trend=trend_term(order[1], drift)).fit()


def differencing_order(values: np.ndarray) -> int:
    """auto.ARIMA's d: difference while the KPSS test rejects level stationarity."""
    from statsmodels.tsa.stattools import kpss

    d, series = 0, values
    while d < MAX_D and len(series) > MIN_LENGTH + 1 and np.ptp(series) > 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # p-values outside the lookup table
            p_value = kpss(series, regression="c", nlags="auto")[1]
        if p_value >= KPSS_ALPHA:
            break
        series, d = np.diff(series), d + 1
    return d


class ArimaPlus(BaseModel):
    """BigQuery ML's ARIMA forecasting model for one series at a time (`fit_series`).

    Parameters are the CREATE MODEL options that shape the ARIMA model itself.
    """

    def __init__(
        self,
        *,
        horizon: int,
        auto_arima: bool,
        auto_arima_max_order: int,
        auto_arima_min_order: int,
        non_seasonal_order: tuple[int, int, int] | None,
        include_drift: bool,
        decompose_time_series: bool,
        seasonalities: list[str] | None,
    ) -> None:
        self.horizon = horizon
        self.auto_arima = auto_arima
        self.auto_arima_max_order = auto_arima_max_order
        self.auto_arima_min_order = auto_arima_min_order
        self.non_seasonal_order = non_seasonal_order
        self.include_drift = include_drift
        self.decompose_time_series = decompose_time_series
        self.seasonalities = seasonalities

    def _candidates(self, values: np.ndarray) -> list[tuple[tuple[int, int, int], bool]]:
        if not self.auto_arima:
            order = tuple(self.non_seasonal_order)
            return [(order, self.include_drift and order[1] == 1)]
        d = differencing_order(values)
        orders = [
            (p, d, q)
            for p in range(self.auto_arima_max_order + 1)
            for q in range(self.auto_arima_max_order + 1)
            if self.auto_arima_min_order <= p + q <= self.auto_arima_max_order
        ]
        drifts = [False, True] if d == 1 else [False]
        return [(order, drift) for order in orders for drift in drifts]

    def seasonal_periods(self, values: np.ndarray, frequency: str | None) -> dict[str, int]:
        """The seasonal periods to remove from this series: name -> length in steps."""
        names = [name.upper() for name in self.seasonalities or ["AUTO"]]
        if not self.decompose_time_series or names == [NO_SEASONALITY]:
            return {}
        available = SEASONAL_PERIODS.get(frequency or "", {})
        if names == ["AUTO"]:
            return detected_periods(values, available)
        unfit = [name for name in names if name not in available]
        if unfit:
            raise MLError(
                f"Option seasonalities {unfit} cannot be modelled on {frequency or 'irregularly spaced'} "
                f"data (it can carry {sorted(available) or 'none'})"
            )
        short = [name for name in names if len(values) <= 2 * available[name]]
        if short:
            raise MLError(
                f"Option seasonalities {short}: the series has {len(values)} points, "
                "not more than two periods"
            )
        return {name: available[name] for name in names}

    def fit_series(self, values: np.ndarray, frequency: str | None = None) -> ArimaFit:
        """Fit one regular series of data frequency `frequency` (None: irregular spacing): its
        seasonal components, then the best ARIMA candidate by AIC on the rest. MLError when none
        can be fitted."""
        if len(values) < MIN_LENGTH:
            raise MLError(f"The time series has {len(values)} points; it needs at least {MIN_LENGTH}")
        # One BLAS thread: these are tiny matrices, and threads make each fit 10x slower.
        with threadpool_limits(1):
            seasons = dict(sorted(self.seasonal_periods(values, frequency).items(), key=lambda kv: kv[1]))
            seasonal = np.zeros((len(values), 0))
            if seasons:
                seasonal = seasonal_components(values, list(seasons.values()))
            fit = self._best_fit(values - seasonal.sum(axis=1))
        for k, period in enumerate(seasons.values()):
            fit.forecast += carry_forward(seasonal[:, k], period, self.horizon)
        fit.seasonal_periods = list(seasons) or [NO_SEASONALITY]
        return fit

    def _best_fit(self, values: np.ndarray) -> ArimaFit:
        best, errors = None, []
        for order, drift in self._candidates(values):
            try:
                result = fit_order(values, order, drift)
            except (ValueError, np.linalg.LinAlgError) as exc:
                errors.append(f"{order}: {exc}")
                continue
            if np.isfinite(result.aic) and (best is None or result.aic < best[0].aic):
                best = (result, order, drift)
        if best is None:
            raise MLError(f"No ARIMA model could be fitted: {'; '.join(errors) or 'no candidate'}")
        result, order, drift = best
        forecast = result.get_forecast(self.horizon)
        return ArimaFit(
            order=order,
            has_drift=drift,
            log_likelihood=float(result.llf),
            aic=float(result.aic),
            variance=float(result.params[-1]),
            forecast=np.array(forecast.predicted_mean, dtype=np.float64),
            standard_error=np.asarray(forecast.se_mean, dtype=np.float64),
            seasonal_periods=[NO_SEASONALITY],
        )
