"""The registry parses a CREATE MODEL once and hands the engine that statement: the version the
engine trains is the parsed statement renamed, not a rewritten text parsed again."""

from __future__ import annotations

from pathlib import Path

import pytest
from registry_helpers import MODEL, PREDICT_ONE, TRAIN_GOOD, registry_on

import ml.engine.engine
from ml.sql.statements import parse_ml_statement


def test_the_engine_trains_the_statement_the_registry_parsed(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed_by_engine: list[str] = []

    def engine_parse(sql: str, database: str | None = None):  # what Engine.execute parses
        statement = parse_ml_statement(sql, database)
        if sql.lstrip().upper().startswith("CREATE"):
            parsed_by_engine.append(sql)
        return statement

    monkeypatch.setattr(ml.engine.engine, "parse_ml_statement", engine_parse)
    with registry_on(database) as registry:
        trained = registry.train(TRAIN_GOOD)
        [(ddl,)] = registry.backend.con.execute("SELECT ddl FROM _ml.models WHERE model = 'm__v1'").fetchall()
        [row] = registry.backend.ml_rows(PREDICT_ONE.format(model="demo.m__v1"))
    assert trained.version == 1 and trained.model == MODEL
    assert parsed_by_engine == []
    assert ddl.startswith("CREATE MODEL demo.m__v1 OPTIONS (model_type = 'linear_reg'")
    assert row["predicted_y"] == pytest.approx(2.5 * 100 + 1 + 3, abs=0.5)
