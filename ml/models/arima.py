"""arima_plus's time-series core: one ARIMA(p, d, q) per series, fitted by exact maximum likelihood
(statsmodels' state-space ARIMA), with auto.ARIMA's order search when auto_arima is TRUE.

What the local engine does not model (reported in ML.ARIMA_EVALUATE as not present): seasonal
components, holiday effects, spike-and-dip cleaning and step-change adjustment.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from threadpoolctl import threadpool_limits

from ml.errors import MLError
from ml.models.base import BaseModel
from ml.sql.options import ARIMA_OPTIONS, Constraint

# auto.ARIMA's unit-root test level (KPSS) and the largest differencing it tries.
KPSS_ALPHA = 0.05
MAX_D = 2
MIN_LENGTH = 3


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
    """BigQuery ML `arima_plus` for one series at a time (`fit_series`).

    Parameters are the CREATE MODEL options that shape the ARIMA model itself.
    """

    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        name: ARIMA_OPTIONS[name]
        for name in (
            "horizon",
            "auto_arima",
            "auto_arima_max_order",
            "auto_arima_min_order",
            "non_seasonal_order",
            "include_drift",
        )
    }

    def __init__(
        self,
        horizon: int = 1000,
        auto_arima: bool = True,
        auto_arima_max_order: int = 5,
        auto_arima_min_order: int = 0,
        non_seasonal_order: tuple[int, int, int] | None = None,
        include_drift: bool = False,
    ) -> None:
        self.horizon = horizon
        self.auto_arima = auto_arima
        self.auto_arima_max_order = auto_arima_max_order
        self.auto_arima_min_order = auto_arima_min_order
        self.non_seasonal_order = non_seasonal_order
        self.include_drift = include_drift

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

    def fit_series(self, values: np.ndarray) -> ArimaFit:
        """Fit one regular series; the best candidate by AIC. MLError when none can be fitted."""
        self._validate_params()
        if len(values) < MIN_LENGTH:
            raise MLError(f"The time series has {len(values)} points; arima_plus needs at least {MIN_LENGTH}")
        # One BLAS thread: these are tiny matrices, and threads make each fit 10x slower.
        with threadpool_limits(1):
            return self._best_fit(values)

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
            forecast=np.asarray(forecast.predicted_mean, dtype=np.float64),
            standard_error=np.asarray(forecast.se_mean, dtype=np.float64),
        )
