"""ALTER MODEL ... SET OPTIONS and EXPORT MODEL through the real engine, statements as BigQuery's
reference pages write them (names and paths filled in)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from ml import Engine
from ml.errors import MLError
from ml.names import ModelName

FEATURES = "island, bill_length_mm, flipper_length_mm, sex"
REGRESSOR = f"""
CREATE MODEL ds.bt OPTIONS (model_type = 'boosted_tree_regressor', input_label_cols = ['body_mass_g'],
  max_iterations = 5)
AS SELECT {FEATURES}, body_mass_g FROM raw.penguins WHERE body_mass_g IS NOT NULL"""
CLASSIFIER = """
CREATE MODEL ds.rf OPTIONS (model_type = 'random_forest_classifier', input_label_cols = ['sex'],
  num_parallel_tree = 10)
AS SELECT island, bill_length_mm, flipper_length_mm, body_mass_g, sex FROM raw.penguins
WHERE sex IS NOT NULL"""
LINEAR = """
CREATE MODEL ds.lin OPTIONS (model_type = 'linear_reg', input_label_cols = ['body_mass_g'])
AS SELECT flipper_length_mm, body_mass_g FROM raw.penguins WHERE body_mass_g IS NOT NULL"""


def _predictions(engine: Engine, model: str, column: str) -> list[float]:
    return (
        engine.execute(
            f"SELECT {column} AS v FROM ML.PREDICT(MODEL {model}, TABLE raw.penguins) ORDER BY penguin_id"
        )
        .column("v")
        .to_pylist()
    )


def _metadata(engine: Engine) -> dict:
    return json.loads(
        engine.con.execute("SELECT metadata FROM _ml.models WHERE model = 'bt'").fetchall()[0][0]
    )


# https://docs.cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-alter-model
def test_alter_model_sets_options_and_keeps_predictions(engine: Engine) -> None:
    engine.execute(REGRESSOR)
    before = _predictions(engine, "ds.bt", "predicted_body_mass_g")
    status = engine.execute(
        """ALTER MODEL IF EXISTS
`ds.bt`
SET OPTIONS
  (
    vertex_ai_model_id = 'penguin_mass'
    , expiration_timestamp = TIMESTAMP '2030-01-01 00:00:00 UTC'
    , description = 'Penguin body mass'
    , labels = [('team', 'birds'), ('stage', 'dev')]
  );"""
    )
    assert status.to_pylist() == [{"statement": "ALTER MODEL", "target": "ds.bt", "status": "altered"}]
    assert _metadata(engine) == {
        "vertex_ai_model_id": "penguin_mass",
        "expiration_timestamp": "2030-01-01T00:00:00+00:00",
        "description": "Penguin body mass",
        "labels": {"team": "birds", "stage": "dev"},
    }
    assert _predictions(engine, "ds.bt", "predicted_body_mass_g") == before


def test_a_second_alter_replaces_what_it_sets_and_null_clears(engine: Engine) -> None:
    engine.execute(REGRESSOR)
    engine.execute("ALTER MODEL ds.bt SET OPTIONS (description = 'one', labels = [('a', 'b')])")
    engine.execute("ALTER MODEL ds.bt SET OPTIONS (description = NULL, labels = [('c', 'd')])")
    assert _metadata(engine) == {"labels": {"c": "d"}}


def test_alter_model_if_exists_on_a_missing_model_is_a_no_op(engine: Engine) -> None:
    status = engine.execute("ALTER MODEL IF EXISTS ds.nothing SET OPTIONS (description = 'x')")
    assert status.column("status").to_pylist() == ["skipped: not found"]
    with pytest.raises(MLError, match=r"^Not found: Model ds\.nothing$"):
        engine.execute("ALTER MODEL ds.nothing SET OPTIONS (description = 'x')")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            "max_iterations = 3",
            r"Unknown option for ALTER MODEL: max_iterations \(it takes vertex_ai_model_id, ",
        ),
        ("deploy_model = TRUE", "deploy_model applies only to open models"),
        ("endpoint_idle_ttl = INTERVAL 8 HOUR", "endpoint_idle_ttl applies only to open models"),
        ("description = 3", "Invalid value for option description: expected a STRING"),
        (
            "expiration_timestamp = 'soon'",
            "Invalid value for option expiration_timestamp: expected a TIMESTAMP",
        ),
        ("labels = ['a']", r"Invalid value for option labels: expected \[\('key', 'value'\)"),
        ("description = 'a', description = 'b'", "Duplicate option: description"),
        ("", "needs at least one option"),
    ],
)
def test_alter_model_refuses(engine: Engine, options: str, message: str) -> None:
    engine.execute(REGRESSOR)
    with pytest.raises(MLError, match=message):
        engine.execute(f"ALTER MODEL ds.bt SET OPTIONS ({options})")
    assert engine.con.execute("SELECT metadata FROM _ml.models").fetchall() == [(None,)]


def test_a_catalog_from_before_the_metadata_column_is_altered(engine: Engine) -> None:
    engine.execute(REGRESSOR)
    engine.con.execute("ALTER TABLE _ml.models DROP COLUMN metadata")
    assert engine.store.metadata(ModelName("ds", "bt")) == {}
    engine.execute("ALTER MODEL ds.bt SET OPTIONS (description = 'old catalog')")
    assert _metadata(engine) == {"description": "old catalog"}


def _matrix(engine: Engine, folder: Path, where: str) -> np.ndarray:
    """The rows of raw.penguins as the exported booster reads them: numbers as float32 (NULL: NaN),
    a label-encoded feature as its line in its assets/N.txt vocabulary (NULL: line 0)."""
    metadata = json.loads((folder / "assets" / "model_metadata.json").read_text())
    columns = []
    for name in metadata["feature_names"]:
        if name in metadata["vocabularies"]:
            lines = (folder / metadata["vocabularies"][name]).read_text().splitlines()
            cases = " ".join(f"WHEN '{v}' THEN {code}" for code, v in enumerate(lines) if v)
            columns.append(f"CASE {name} {cases} ELSE 0 END")
        else:
            columns.append(f"CAST({name} AS FLOAT)")
    rows = engine.con.execute(
        f"SELECT {', '.join(columns)} FROM raw.penguins WHERE {where} ORDER BY penguin_id"
    ).fetchall()
    return np.array(rows, dtype=np.float64).astype(np.float32)


# https://docs.cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-export-model
# https://docs.cloud.google.com/bigquery/docs/exporting-models (boosted tree: model.bst, assets/)
def test_export_boosted_tree_predicts_as_ml_predict(engine: Engine, tmp_path: Path) -> None:
    engine.execute(REGRESSOR)
    folder = tmp_path / "saved_model"
    status = engine.execute(f"EXPORT MODEL ds.bt OPTIONS(URI = '{folder}/')")
    assert status.column("status").to_pylist() == [f"exported to {folder}/"]
    assert (folder / "assets" / "0.txt").read_text().splitlines() == ["", "Biscoe", "Dream", "Torgersen"]
    booster = xgb.Booster(model_file=str(folder / "model.bst"))
    exported = booster.predict(xgb.DMatrix(_matrix(engine, folder, "TRUE"), missing=np.nan))
    expected = _predictions(engine, "ds.bt", "predicted_body_mass_g")
    np.testing.assert_allclose(exported, expected, rtol=1e-6)


def test_export_random_forest_classifier_probabilities(engine: Engine, tmp_path: Path) -> None:
    engine.execute(CLASSIFIER)
    engine.execute(f"EXPORT MODEL `ds.rf` OPTIONS(URI = '{tmp_path}')")
    metadata = json.loads((tmp_path / "assets" / "model_metadata.json").read_text())
    assert metadata["label_values"] == ["female", "male"]
    booster = xgb.Booster(model_file=str(tmp_path / "model.bst"))
    exported = booster.predict(xgb.DMatrix(_matrix(engine, tmp_path, "TRUE"), missing=np.nan))
    male = "(SELECT p.prob FROM UNNEST(predicted_sex_probs) AS p WHERE p.label = 'male')"
    np.testing.assert_allclose(exported, _predictions(engine, "ds.rf", male), atol=1e-6)


def test_export_linear_model_is_refused_naming_tensorflow(engine: Engine, tmp_path: Path) -> None:
    engine.execute(LINEAR)
    with pytest.raises(
        MLError, match=r"^EXPORT MODEL of model ds\.lin \(model_type LINEAR_REG\) needs a TensorFlow"
    ):
        engine.execute(f"EXPORT MODEL ds.lin OPTIONS(URI = '{tmp_path}')")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("OPTIONS(URI = 's3://bucket/model/')", r"Invalid value for option uri: s3://bucket/model/"),
        ("OPTIONS(URI = 'gs:///model/')", "names no bucket"),
        ("OPTIONS(URI = '')", "Missing required option: uri"),
        ("", "Missing required option: uri"),
        ("OPTIONS(URI = 'x', FORMAT = 'onnx')", "Unknown option for EXPORT MODEL: format"),
        ("OPTIONS(URI = 'x', TRIAL_ID = 2)", "trial_id is not supported by the local engine"),
    ],
)
def test_export_refuses_bad_options(engine: Engine, options: str, message: str) -> None:
    engine.execute(REGRESSOR)
    with pytest.raises(MLError, match=message):
        engine.execute(f"EXPORT MODEL ds.bt {options}")


def test_export_into_a_file_and_of_a_missing_model(engine: Engine, tmp_path: Path) -> None:
    engine.execute(REGRESSOR)
    file = tmp_path / "taken"
    file.write_text("")
    with pytest.raises(MLError, match="is a file, not a folder"):
        engine.execute(f"EXPORT MODEL ds.bt OPTIONS(URI = '{file}')")
    with pytest.raises(MLError, match=r"^Not found: Model ds\.nothing$"):
        engine.execute(f"EXPORT MODEL ds.nothing OPTIONS(URI = '{tmp_path}')")
