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


def test_a_remote_model_is_versioned_and_served_like_a_trained_one(database: Path) -> None:
    """No training query: the version records the statement's fingerprint, and, with no champion
    yet, the plain name serves the newest version's endpoint."""
    create = (
        "CREATE MODEL demo.scorer INPUT (x FLOAT64) OUTPUT (y FLOAT64) REMOTE WITH CONNECTION DEFAULT "
        "OPTIONS (endpoint = 'http://127.0.0.1:{port}/predict')"
    )
    with registry_on(database) as registry:
        first = registry.train(create.format(port=9))
        second = registry.train(create.format(port=10))
        rows = registry.backend.con.execute(
            f"SELECT version, data_fingerprint FROM {registry.table('model_versions')} ORDER BY version"
        ).fetchall()
        [(served,)] = registry.backend.con.execute(
            "SELECT state->>'endpoint' FROM _ml.models WHERE dataset = 'demo' AND model = 'scorer'"
        ).fetchall()
    assert (first.version, second.version, second.serving) == (1, 2, True)
    assert [v for v, _ in rows] == [1, 2] and rows[0][1] != rows[1][1]
    assert all(fingerprint.startswith("ddl=") for _, fingerprint in rows)
    assert served == "http://127.0.0.1:10/predict"
