"""Each model records the engine version that trained it, also in catalogs written before the column."""

from __future__ import annotations

import duckdb

import ml
from ml import Engine

MODEL = (
    "CREATE OR REPLACE MODEL demo.line OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) "
    "AS SELECT range::DOUBLE AS x, 2.0 * range AS y FROM range(20)"
)


def test_models_record_the_engine_version(engine: Engine) -> None:
    engine.execute(MODEL)
    rows = engine.con.execute("SELECT model, engine_version FROM _ml.models").fetchall()
    assert rows == [("line", ml.ENGINE_VERSION)]
    assert ml.ENGINE_VERSION.count(".") == 2


def test_a_catalog_from_before_the_column_gains_it() -> None:
    con = duckdb.connect()
    con.execute(
        """CREATE SCHEMA _ml; CREATE TABLE _ml.models (dataset VARCHAR NOT NULL,
        model VARCHAR NOT NULL, model_type VARCHAR NOT NULL, ddl VARCHAR NOT NULL,
        options JSON NOT NULL, created_at TIMESTAMP NOT NULL, label_column VARCHAR,
        feature_columns JSON, state JSON, PRIMARY KEY (dataset, model));
        INSERT INTO _ml.models VALUES ('demo', 'old', 'LINEAR_REG', '', '{}',
            TIMESTAMP '2026-01-01', 'y', '[]', '{}')"""
    )
    Engine(con).execute(MODEL)
    rows = con.execute("SELECT model, engine_version FROM _ml.models ORDER BY model").fetchall()
    # The old model has no version: the dbt retrain policy treats it as trained by another engine.
    assert rows == [("line", ml.ENGINE_VERSION), ("old", None)]
