"""Drift scores: PSI over category shares, the normal-theory PSI of numeric features, and `measure`
against the statistics the engine stored at training."""

from __future__ import annotations

import math

import duckdb
import pytest

from ml import Engine
from ml.errors import MLError
from ml.scheduling.drift import category_psi, measure, normal_psi


def test_identical_distributions_score_zero() -> None:
    assert normal_psi(10.0, 2.0, 10.0, 2.0) == 0.0
    assert category_psi({"a": 30, "b": 70}, {"a": 3, "b": 7}) == pytest.approx(0.0)


def test_numeric_psi_is_the_symmetric_kl_of_two_normals() -> None:
    # Equal variances: J = delta² / sigma², so a one-sigma shift scores 1.
    assert normal_psi(0.0, 1.0, 1.0, 1.0) == pytest.approx(1.0)
    assert normal_psi(0.0, 2.0, 1.0, 2.0) == pytest.approx(0.25)
    # A variance change alone also drifts: sigma 1 → 2 gives (1/4 + 4)/2 - 1.
    assert normal_psi(0.0, 1.0, 0.0, 2.0) == pytest.approx(1.125)


def test_category_psi_matches_the_textbook_formula() -> None:
    expected = (0.5 - 0.25) * math.log(0.5 / 0.25) + (0.5 - 0.75) * math.log(0.5 / 0.75)
    assert category_psi({"a": 25, "b": 75}, {"a": 50, "b": 50}) == pytest.approx(expected)
    # A category unseen in training counts heavily (floored share), but finitely.
    assert 0.5 < category_psi({"a": 100}, {"a": 50, "new": 50}) < math.inf


@pytest.fixture
def trained() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA d")
    con.execute(
        "CREATE TABLE d.train AS SELECT i::DOUBLE AS x, CASE WHEN i % 4 = 0 THEN 'a' ELSE 'b' END AS c, "
        "i % 2 = 0 AS flag, (2 * i + 1)::DOUBLE AS y FROM range(200) t(i)"
    )
    Engine(con).execute(
        "CREATE MODEL d.m OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) "
        "AS SELECT * FROM d.train"
    )
    return con


def test_measure_same_data_is_quiet(trained: duckdb.DuckDBPyConnection) -> None:
    report = measure(trained, "d.m", "d.train")
    assert report.rows == 200
    assert set(report.features) == {"x", "c", "flag"}
    assert report.score == pytest.approx(0.0, abs=1e-9)


def test_measure_shifted_data_names_the_drifting_feature(trained: duckdb.DuckDBPyConnection) -> None:
    trained.execute(
        "CREATE TABLE d.recent AS SELECT x + 100 AS x, 'a' AS c, flag, y FROM d.train"
    )  # x moved by ~1.7 sigma, c became all 'a'; flag unchanged; y is the label, not a feature
    report = measure(trained, "d.m", "d.recent")
    assert report.features["x"]["psi"] > 2.5
    assert report.features["x"]["mean_shift_in_stddevs"] == pytest.approx(100 / 57.88, rel=1e-3)
    assert report.features["c"]["psi"] > 1.0
    assert report.features["flag"]["psi"] == pytest.approx(0.0, abs=1e-9)
    assert report.score == max(f["psi"] for f in report.features.values())


def test_features_missing_or_retyped_in_recent_data_are_listed(trained: duckdb.DuckDBPyConnection) -> None:
    trained.execute("CREATE TABLE d.partial AS SELECT CAST(x AS VARCHAR) AS x, c FROM d.train")
    report = measure(trained, "d.m", "d.partial")
    assert set(report.features) == {"c"}
    assert sorted(report.not_compared) == ["flag", "x"]


def test_a_model_never_trained_has_no_statistics(trained: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(MLError, match=r"Not found: Model d\.other"):
        measure(trained, "d.other", "d.train")
