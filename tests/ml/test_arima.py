"""arima_plus: ML.FORECAST agrees with statsmodels' SARIMAX on the same order, for one series and
per series with time_series_id_col; ML.ARIMA_EVALUATE has BigQuery's columns."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.stats import norm
from statsmodels.tsa.seasonal import MSTL
from statsmodels.tsa.statespace.sarimax import SARIMAX
from threadpoolctl import threadpool_limits

from ml import Engine
from ml.errors import MLError

ROOT = Path(__file__).resolve().parents[2]
SERIES = ("infl", "realint", "unemp")
ARIMA = "CREATE MODEL raw.{name} OPTIONS (model_type = 'arima_plus', time_series_timestamp_col = "
UNEMP = ARIMA.format(name="unemp") + "'quarter_start', time_series_data_col = 'unemp', {options}) AS {query}"
QUARTERS = "SELECT quarter_start, unemp FROM raw.macro"


def _load_macro(con: duckdb.DuckDBPyConnection) -> None:
    """US quarterly macro data (statsmodels' macrodata), wide and long (one row per series and quarter)."""
    con.register("macro_frame", sm.datasets.macrodata.load_pandas().data)
    con.execute(
        "CREATE TABLE raw.macro AS SELECT make_date(CAST(year AS INT), CAST(quarter AS INT) * 3 - 2, 1) "
        "AS quarter_start, infl, realint, unemp FROM macro_frame ORDER BY 1"
    )
    con.execute(
        "CREATE TABLE raw.macro_long AS "
        "UNPIVOT raw.macro ON infl, realint, unemp INTO NAME series VALUE value"
    )


@pytest.fixture
def macro(engine: Engine) -> Engine:
    _load_macro(engine.con)
    return engine


def _values(engine: Engine, column: str) -> np.ndarray:
    rows = engine.con.execute(f"SELECT {column} FROM raw.macro ORDER BY quarter_start").fetchall()
    return np.array([r[0] for r in rows])


def _sarimax(y: np.ndarray, order: tuple[int, int, int], drift: bool, horizon: int):
    """statsmodels' SARIMAX: a constant regressor for the mean (d = 0), the time index for a drift."""
    n = len(y)
    exog, future = None, None
    if order[1] == 0:
        exog, future = np.ones(n), np.ones((horizon, 1))
    elif drift:
        exog, future = np.arange(1.0, n + 1), np.arange(n + 1.0, n + horizon + 1).reshape(-1, 1)
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")
        result = SARIMAX(y, exog=exog, order=order).fit(disp=False)
    return result, result.get_forecast(horizon, exog=future)


@pytest.mark.parametrize(("order", "drift"), [((2, 0, 1), False), ((1, 1, 1), False), ((0, 1, 1), True)])
def test_forecast_equals_sarimax_on_the_same_order(macro: Engine, order: tuple, drift: bool) -> None:
    options = f"auto_arima = FALSE, non_seasonal_order = {order}, include_drift = {str(drift).upper()}"
    macro.execute(UNEMP.format(options=f"{options}, horizon = 12", query=QUARTERS))
    table = macro.execute(
        "SELECT * FROM ML.FORECAST(MODEL raw.unemp, STRUCT(6 AS horizon, 0.8 AS confidence_level))"
    )
    result, expected = _sarimax(_values(macro, "unemp"), order, drift, 6)
    np.testing.assert_allclose(table["forecast_value"].to_numpy(), expected.predicted_mean, rtol=1e-6)
    np.testing.assert_allclose(table["standard_error"].to_numpy(), expected.se_mean, rtol=1e-5)
    low, high = np.asarray(expected.conf_int(alpha=0.2)).T
    np.testing.assert_allclose(table["prediction_interval_lower_bound"].to_numpy(), low, rtol=1e-5)
    np.testing.assert_allclose(table["confidence_interval_upper_bound"].to_numpy(), high, rtol=1e-5)
    stamps = [t.date().isoformat() for t in table["forecast_timestamp"].to_pylist()]
    assert stamps == ["2009-10-01", "2010-01-01", "2010-04-01", "2010-07-01", "2010-10-01", "2011-01-01"]
    evaluated = macro.execute("SELECT * FROM ML.ARIMA_EVALUATE(MODEL raw.unemp)").to_pylist()[0]
    assert (evaluated["non_seasonal_p"], evaluated["non_seasonal_d"], evaluated["non_seasonal_q"]) == order
    assert evaluated["has_drift"] is drift
    assert evaluated["log_likelihood"] == pytest.approx(result.llf, rel=1e-6)
    assert evaluated["AIC"] == pytest.approx(result.aic, rel=1e-6)


def test_output_schemas_column_by_column(macro: Engine, describe) -> None:
    macro.execute(UNEMP.format(options="auto_arima_max_order = 1", query=QUARTERS))
    assert describe("SELECT * FROM ML.FORECAST(MODEL raw.unemp)") == [
        ("forecast_timestamp", "TIMESTAMP"),
        ("forecast_value", "DOUBLE"),
        ("standard_error", "DOUBLE"),
        ("confidence_level", "DOUBLE"),
        ("prediction_interval_lower_bound", "DOUBLE"),
        ("prediction_interval_upper_bound", "DOUBLE"),
        ("confidence_interval_lower_bound", "DOUBLE"),
        ("confidence_interval_upper_bound", "DOUBLE"),
    ]
    assert describe("SELECT * FROM ML.ARIMA_EVALUATE(MODEL raw.unemp)") == [
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
    default = macro.execute("SELECT * FROM ML.FORECAST(MODEL raw.unemp)").to_pylist()
    assert len(default) == 3 and {r["confidence_level"] for r in default} == {0.95}
    first = default[0]
    z = (first["prediction_interval_upper_bound"] - first["forecast_value"]) / first["standard_error"]
    assert z == pytest.approx(norm.ppf(0.975), rel=1e-8)


def test_auto_arima_reports_the_lowest_aic_candidate(macro: Engine) -> None:
    macro.execute(UNEMP.format(options="auto_arima_max_order = 2", query=QUARTERS))
    chosen = macro.execute("SELECT * FROM ML.ARIMA_EVALUATE(MODEL raw.unemp)").to_pylist()[0]
    d = chosen["non_seasonal_d"]
    y = _values(macro, "unemp")
    aics = {
        (p, q, drift): _sarimax(y, (p, d, q), drift, 1)[0].aic
        for p in range(3)
        for q in range(3)
        if p + q <= 2
        for drift in ([False, True] if d == 1 else [False])
    }
    best = min(aics, key=aics.get)
    assert (chosen["non_seasonal_p"], chosen["non_seasonal_q"], chosen["has_drift"]) == best
    assert chosen["AIC"] == pytest.approx(aics[best], rel=1e-6)


def test_one_model_per_time_series_id(macro: Engine, describe) -> None:
    macro.execute(
        ARIMA.format(name="multi") + "'quarter_start', time_series_data_col = 'value', "
        "time_series_id_col = 'series', auto_arima = FALSE, non_seasonal_order = (1, 1, 1), horizon = 4) "
        "AS SELECT * FROM raw.macro_long"
    )
    table = macro.execute("SELECT * FROM ML.FORECAST(MODEL raw.multi, STRUCT(4 AS horizon))")
    assert describe("SELECT * FROM ML.FORECAST(MODEL raw.multi)")[:2] == [
        ("series", "VARCHAR"),
        ("forecast_timestamp", "TIMESTAMP"),
    ]
    assert table["series"].to_pylist() == [s for s in SERIES for _ in range(4)]
    for k, series in enumerate(SERIES):
        _, expected = _sarimax(_values(macro, series), (1, 1, 1), False, 4)
        got = table["forecast_value"].to_numpy()[4 * k : 4 * k + 4]
        np.testing.assert_allclose(got, expected.predicted_mean, rtol=1e-6)
    evaluated = macro.execute("SELECT * FROM ML.ARIMA_EVALUATE(MODEL raw.multi)")
    assert evaluated.column_names[0] == "series" and evaluated["series"].to_pylist() == list(SERIES)


def _load_co2(engine: Engine) -> pd.DataFrame:
    """Mauna Loa CO2, weekly 1958-2001 with gaps (statsmodels' co2): a strong yearly cycle."""
    frame = sm.datasets.co2.load_pandas().data.reset_index(names="week")
    engine.con.register("co2_frame", frame)
    engine.con.execute("CREATE TABLE raw.co2 AS SELECT CAST(week AS DATE) AS week, co2 FROM co2_frame")
    return frame


def test_gaps_are_interpolated_on_the_inferred_grid(engine: Engine) -> None:
    frame = _load_co2(engine)
    assert engine.con.execute("SELECT count(*) FROM raw.co2 WHERE co2 IS NULL").fetchall()[0][0] > 0
    engine.execute(
        ARIMA.format(name="co2_weekly") + "'week', time_series_data_col = 'co2', auto_arima = FALSE, "
        "non_seasonal_order = (1, 1, 1), max_time_series_length = 300, "
        "seasonalities = ['NO_SEASONALITY']) AS SELECT * FROM raw.co2"
    )
    weekly = frame.set_index("week")["co2"].interpolate().to_numpy()[-300:]
    table = engine.execute("SELECT * FROM ML.FORECAST(MODEL raw.co2_weekly)")
    _, expected = _sarimax(weekly, (1, 1, 1), False, 3)
    np.testing.assert_allclose(table["forecast_value"].to_numpy(), expected.predicted_mean, rtol=1e-6)
    stamps = table["forecast_timestamp"].to_pylist()
    assert stamps[0] - frame["week"].iloc[-1].to_pydatetime() == stamps[1] - stamps[0]
    assert (stamps[1] - stamps[0]).days == 7


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("time_series_data_col = 'unemp'", "time_series_timestamp_col"),
        ("time_series_timestamp_col = 'quarter_start'", "time_series_data_col"),
        ("non_seasonal_order = (1, 0, 1)", "non_seasonal_order"),
        ("auto_arima = FALSE", "non_seasonal_order"),
        ("auto_arima = FALSE, non_seasonal_order = (1, 3, 1)", "non_seasonal_order"),
        ("horizon = 0", "horizon"),
        ("data_frequency = 'fortnightly'", "data_frequency"),
        ("time_series_id_col = 'nope'", "time_series_id_col"),
        ("seasonalities = ['HOURLY']", "seasonalities"),
        ("seasonalities = ['AUTO', 'YEARLY']", "seasonalities"),
        ("seasonalities = []", "seasonalities"),
        ("seasonalities = ['WEEKLY']", r"seasonalities \['WEEKLY'\] cannot be modelled on QUARTERLY"),
    ],
)
def test_bad_options_name_the_option(macro: Engine, options: str, message: str) -> None:
    if not options.startswith(("time_series_data_col", "time_series_timestamp_col")):
        options = f"time_series_timestamp_col = 'quarter_start', time_series_data_col = 'unemp', {options}"
    with pytest.raises(MLError, match=message):
        macro.execute(
            f"CREATE MODEL raw.bad OPTIONS (model_type = 'arima_plus', {options}) AS SELECT * FROM raw.macro"
        )


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ("'nope', time_series_data_col = 'unemp'", "time_series_timestamp_col"),
        ("'unemp', time_series_data_col = 'infl'", "time_series_timestamp_col"),
        ("'quarter_start', time_series_data_col = 'nope'", "time_series_data_col"),
    ],
)
def test_bad_columns_name_the_option(macro: Engine, columns: str, message: str) -> None:
    with pytest.raises(MLError, match=message):
        macro.execute(ARIMA.format(name="bad") + f"{columns}) AS SELECT * FROM raw.macro")


def test_forecast_settings_are_checked(macro: Engine) -> None:
    options = "auto_arima = FALSE, non_seasonal_order = (1, 0, 0), horizon = 5"
    macro.execute(UNEMP.format(options=options, query=QUARTERS))
    with pytest.raises(MLError, match="horizon"):
        macro.execute("SELECT * FROM ML.FORECAST(MODEL raw.unemp, STRUCT(6 AS horizon))")
    with pytest.raises(MLError, match="confidence_level"):
        macro.execute("SELECT * FROM ML.FORECAST(MODEL raw.unemp, STRUCT(1.0 AS confidence_level))")
    with pytest.raises(MLError, match=r"ML\.PREDICT"):
        macro.execute("SELECT * FROM ML.PREDICT(MODEL raw.unemp, (SELECT 1 AS x))")


def test_a_new_process_forecasts_with_the_stored_model(tmp_path: Path) -> None:
    database = str(tmp_path / "arima.duckdb")
    query = "SELECT forecast_value FROM ML.FORECAST(MODEL raw.unemp)"
    with duckdb.connect(database) as con:
        con.execute("CREATE SCHEMA raw")
        _load_macro(con)
        options = "auto_arima = FALSE, non_seasonal_order = (1, 1, 0)"
        Engine(con).execute(UNEMP.format(options=options, query=QUARTERS))
        here = Engine(con).execute(query)["forecast_value"].to_pylist()
    script = (
        f"import duckdb, json; from ml import Engine; con = duckdb.connect({database!r}); "
        f"print(json.dumps(Engine(con).execute({query!r})['forecast_value'].to_pylist()))"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == here and len(here) == 3


def test_a_series_that_cannot_be_fitted_gets_only_an_error_row(macro: Engine) -> None:
    macro.execute(
        ARIMA.format(name="multi") + "'quarter_start', time_series_data_col = 'value', "
        "time_series_id_col = ['series'], auto_arima = FALSE, non_seasonal_order = (1, 0, 0)) AS "
        "SELECT series, quarter_start, value FROM raw.macro_long WHERE series = 'unemp' "
        "UNION ALL SELECT 'short', DATE '2000-01-01', 1.0 UNION ALL SELECT 'short', DATE '2000-04-01', 2.0"
    )
    rows = {
        r["series"]: r for r in macro.execute("SELECT * FROM ML.ARIMA_EVALUATE(MODEL raw.multi)").to_pylist()
    }
    assert rows["short"]["non_seasonal_p"] is None and "2 points" in rows["short"]["error_message"]
    assert rows["unemp"]["error_message"] is None and rows["unemp"]["non_seasonal_p"] == 1
    forecast = macro.execute("SELECT DISTINCT series FROM ML.FORECAST(MODEL raw.multi)")
    assert forecast["series"].to_pylist() == ["unemp"]


CO2_WEEKLY = (
    ARIMA.format(name="{name}") + "'week', time_series_data_col = 'co2', auto_arima = FALSE, "
    "non_seasonal_order = (1, 1, 1), include_drift = TRUE, max_time_series_length = 520, horizon = 52, "
    "seasonalities = {seasons}) "
    "AS SELECT * FROM raw.co2 WHERE week < DATE '2001-01-01'"
)


def test_yearly_cycle_is_detected_removed_and_carried_into_the_forecast(engine: Engine) -> None:
    """Weekly CO2 under seasonalities AUTO: YEARLY (52 weeks) is found; the forecast equals MSTL's
    seasonal component carried forward plus statsmodels' ARIMA (with drift) on the deseasonalized
    series; on the year held out it errs less than half as much as the same ARIMA without it."""
    frame = _load_co2(engine)
    engine.execute(CO2_WEEKLY.format(name="co2_auto", seasons="['AUTO']"))
    engine.execute(CO2_WEEKLY.format(name="co2_flat", seasons="['NO_SEASONALITY']"))
    evaluated = engine.execute("SELECT * FROM ML.ARIMA_EVALUATE(MODEL raw.co2_auto)").to_pylist()[0]
    assert evaluated["seasonal_periods"] == ["YEARLY"]
    flat = engine.execute("SELECT * FROM ML.ARIMA_EVALUATE(MODEL raw.co2_flat)").to_pylist()[0]
    assert flat["seasonal_periods"] == ["NO_SEASONALITY"]

    weekly = frame.set_index("week")["co2"].interpolate()
    train = weekly[weekly.index < "2001-01-01"].to_numpy()[-520:]
    seasonal = np.asarray(MSTL(train, periods=[52]).fit().seasonal)
    _, arima = _sarimax(train - seasonal, (1, 1, 1), True, 52)
    expected = np.asarray(arima.predicted_mean) + seasonal[-52:]
    forecast = engine.execute(
        "SELECT forecast_value FROM ML.FORECAST(MODEL raw.co2_auto, STRUCT(52 AS horizon))"
    )
    np.testing.assert_allclose(forecast["forecast_value"].to_numpy(), expected, rtol=1e-6)

    held_out = weekly[weekly.index >= "2001-01-01"].to_numpy()[:52]
    errors = {}
    for name in ("co2_auto", "co2_flat"):
        table = engine.execute(
            f"SELECT forecast_value FROM ML.FORECAST(MODEL raw.{name}, STRUCT(52 AS horizon))"
        )
        predicted = table["forecast_value"].to_numpy()[: len(held_out)]
        errors[name] = float(np.mean(np.abs(predicted - held_out)))
    assert errors["co2_auto"] < 0.5 * errors["co2_flat"], errors


@pytest.mark.parametrize(
    ("series", "seasons", "expected"),
    [
        ("noise", "['AUTO']", ["NO_SEASONALITY"]),
        ("weekly", "['AUTO']", ["WEEKLY"]),
        ("noise", "['WEEKLY', 'MONTHLY']", ["WEEKLY", "MONTHLY"]),
        ("weekly", "['NO_SEASONALITY']", ["NO_SEASONALITY"]),
    ],
)
def test_auto_finds_the_weekly_cycle_of_daily_data_and_none_in_noise(
    engine: Engine, series: str, seasons: str, expected: list[str]
) -> None:
    """200 days: white noise has no season (STL strength alone would see a 91-day one); a weekly
    cycle on a trend is WEEKLY only, not also QUARTERLY (91 days = 13 weeks). Named seasons are
    removed whatever their strength; NO_SEASONALITY removes none."""
    t = np.arange(200)
    noise = np.random.default_rng(7).normal(size=200)
    values = noise if series == "noise" else 0.05 * t + 2 * np.sin(2 * np.pi * t / 7) + noise
    engine.con.register(
        "daily_frame", pd.DataFrame({"day": pd.date_range("2024-01-01", periods=200), "v": values})
    )
    engine.execute(
        ARIMA.format(name="daily") + "'day', time_series_data_col = 'v', auto_arima = FALSE, "
        f"non_seasonal_order = (0, 1, 1), seasonalities = {seasons}) AS SELECT * FROM daily_frame"
    )
    periods = engine.execute("SELECT seasonal_periods FROM ML.ARIMA_EVALUATE(MODEL raw.daily)")
    assert periods["seasonal_periods"].to_pylist() == [expected]


def test_a_named_season_longer_than_half_the_series_names_the_option(engine: Engine) -> None:
    engine.con.register(
        "short_frame", pd.DataFrame({"day": pd.date_range("2024-01-01", periods=300), "v": 1.0})
    )
    with pytest.raises(MLError, match=r"seasonalities \['YEARLY'\]: the series has 300 points"):
        engine.execute(
            ARIMA.format(name="short") + "'day', time_series_data_col = 'v', "
            "seasonalities = ['YEARLY']) AS SELECT * FROM short_frame"
        )
