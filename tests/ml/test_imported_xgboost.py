"""Imported XGBoost models on the local engine: boosters trained and saved by the xgboost package in
the forms BigQuery imports, CREATE MODEL as BigQuery's reference writes it (paths filled in), and
ML.PREDICT checked against the booster's own predict method."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest
import xgboost as xgb

from ml import Engine
from ml.errors import MLError

# https://docs.cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create-xgboost
# "Import a model and specify input and output columns"
WITH_INPUT_OUTPUT = """CREATE OR REPLACE
  MODEL
    `project_id.mydataset.mymodel`
      INPUT(f1 float64, f2 float64, f3 float64, f4 float64)
      OUTPUT(predicted_label float64)
  OPTIONS (
    MODEL_TYPE = 'XGBOOST',
    MODEL_PATH = 'gs://bucket-name/xgboost-model/*')"""
# "Import a model that already contains input and output columns"
FROM_MODEL_FILE = """CREATE OR REPLACE
  MODEL
    `project_id.mydataset.mymodel`
  OPTIONS (
    MODEL_TYPE = 'XGBOOST',
    MODEL_PATH = 'gs://bucket-name/xgboost-model/*')"""
FEATURES = ["f1", "f2", "f3", "f4"]
ROWS = np.random.default_rng(0).normal(size=(200, 4))
PREDICT = "SELECT * FROM ML.PREDICT(MODEL `mydataset.mymodel`, {input}) ORDER BY id"
TABLE_INPUT = "(SELECT * FROM mydataset.rows)"
KMS_KEY = "projects/my_project/locations/my_location/keyRings/my_ring/cryptoKeys/my_key"


def train(objective: dict[str, object], label: np.ndarray, named: bool) -> xgb.Booster:
    """A small booster on ROWS; `named`: with feature_names and feature_types, as the
    statement without INPUT OUTPUT needs."""
    names = {"feature_names": FEATURES, "feature_types": ["float", "float", "q", "int"]} if named else {}
    data = xgb.DMatrix(ROWS, label=label, **names)
    return xgb.train({"max_depth": 3, "eta": 0.3, **objective}, data, num_boost_round=8)


def regressor(named: bool = True) -> xgb.Booster:
    return train({}, ROWS[:, 0] * 3 - ROWS[:, 1] + np.sin(ROWS[:, 2]), named)


def binary(named: bool = False) -> xgb.Booster:
    return train({"objective": "binary:logistic"}, (ROWS[:, 0] + ROWS[:, 3] > 0).astype(float), named)


def multiclass(named: bool = True) -> xgb.Booster:
    label = np.digitize(ROWS[:, 0] + ROWS[:, 1], [-0.5, 0.5])
    return train({"objective": "multi:softprob", "num_class": 3}, label, named)


def save(booster: xgb.Booster, path: Path) -> Path:
    """`booster.save_model(path)`; a file named neither .json nor .ubj (model.bst) is written as
    UBJSON, which the library says."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix not in (".json", ".ubj"):
        with pytest.warns(UserWarning, match="UBJSON"):
            booster.save_model(str(path))
    else:
        booster.save_model(str(path))
    return path


def expected(booster: xgb.Booster, rows: np.ndarray = ROWS) -> np.ndarray:
    """What the booster's own predict method answers for `rows` (NaN: missing)."""
    names = {"feature_names": booster.feature_names} if booster.feature_names else {}
    return booster.predict(xgb.DMatrix(rows, missing=np.nan, **names))


def create(engine: Engine, statement: str, model_path: Path | str) -> None:
    """One of the reference's statements with its Cloud Storage folder replaced by `model_path`."""
    engine.con.execute("CREATE SCHEMA IF NOT EXISTS mydataset")
    sql = statement.replace("gs://bucket-name/xgboost-model/*", str(model_path))
    engine.execute(sql.replace("project_id.", ""))


@pytest.fixture
def rows_table(engine: Engine) -> None:
    engine.con.execute("CREATE SCHEMA IF NOT EXISTS mydataset")
    columns = ", ".join(f"unnest(?) AS {name}" for name in FEATURES)
    engine.con.execute(
        f"CREATE TABLE mydataset.rows AS SELECT unnest(?) AS id, {columns}, 'kept' AS note",
        [list(range(len(ROWS))), *(ROWS[:, j].tolist() for j in range(4))],
    )


def test_a_model_file_with_feature_names_needs_no_input_output(engine, rows_table, tmp_path) -> None:
    booster = regressor()
    save(booster, tmp_path / "xgboost-model" / "model.bst")
    create(engine, FROM_MODEL_FILE, tmp_path / "xgboost-model" / "*")
    result = engine.execute(PREDICT.format(input=TABLE_INPUT))
    assert result.column_names == ["predicted_label", "id", *FEATURES, "note"]
    assert result.schema.field("predicted_label").type == pa.float64()
    np.testing.assert_allclose(result["predicted_label"].to_numpy(), expected(booster), atol=1e-6)
    assert set(result["note"].to_pylist()) == {"kept"}
    assert result["f3"].to_pylist() == ROWS[:, 2].tolist()


def test_binary_classifier_without_feature_names_reads_the_input_fields(engine, rows_table, tmp_path) -> None:
    booster = binary()
    save(booster, tmp_path / "xgboost-model" / "model.json")
    create(engine, WITH_INPUT_OUTPUT, tmp_path / "xgboost-model" / "*")
    result = engine.execute(PREDICT.format(input=TABLE_INPUT))
    assert result.column_names[0] == "predicted_label"
    probabilities = result["predicted_label"].to_numpy()
    np.testing.assert_allclose(probabilities, expected(booster), atol=1e-6)
    assert 0 < probabilities.min() < 0.5 < probabilities.max() < 1


def test_features_are_matched_by_name_in_the_models_order(engine, rows_table, tmp_path) -> None:
    booster = regressor()
    save(booster, tmp_path / "model.json")
    create(engine, FROM_MODEL_FILE, tmp_path / "model.json")
    # The input's columns in another order, with a column the model does not read in between.
    shuffled = "(SELECT f4, note, f2, id, f3, f1 FROM mydataset.rows)"
    result = engine.execute(PREDICT.format(input=shuffled))
    assert result.column_names == ["predicted_label", "f4", "note", "f2", "id", "f3", "f1"]
    np.testing.assert_allclose(result["predicted_label"].to_numpy(), expected(booster), atol=1e-6)


def test_multiclass_probabilities_are_one_array_per_row(engine, rows_table, tmp_path) -> None:
    booster = multiclass()
    save(booster, tmp_path / "model.ubj")
    create(engine, FROM_MODEL_FILE, tmp_path / "model.ubj")
    result = engine.execute(PREDICT.format(input=TABLE_INPUT))
    assert result.schema.field("predicted_label").type == pa.list_(pa.float64())
    probabilities = np.array(result["predicted_label"].to_pylist())
    np.testing.assert_allclose(probabilities, expected(booster), atol=1e-6)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)


def test_output_names_and_types_the_column(engine, rows_table, tmp_path) -> None:
    save(multiclass(named=False), tmp_path / "model.json")
    statement = WITH_INPUT_OUTPUT.replace("OUTPUT(predicted_label float64)", "OUTPUT(probs ARRAY<FLOAT64>)")
    create(engine, statement, tmp_path / "model.json")
    result = engine.execute(PREDICT.format(input=TABLE_INPUT))
    assert result.column_names[0] == "probs"
    assert result.schema.field("probs").type == pa.list_(pa.float64())
    with pytest.raises(
        MLError, match=r"OUTPUT field predicted_label is FLOAT64, but the model predicts 3 values"
    ):
        create(engine, WITH_INPUT_OUTPUT, tmp_path / "model.json")


def test_null_features_are_missing_values_as_the_booster_treats_them(engine, rows_table, tmp_path) -> None:
    booster = regressor()
    save(booster, tmp_path / "model.json")
    create(engine, FROM_MODEL_FILE, tmp_path / "model.json")
    holes = (
        "(SELECT id, CASE WHEN id % 3 = 0 THEN NULL ELSE f1 END AS f1, f2, "
        "CASE WHEN id % 2 = 0 THEN NULL ELSE f3 END AS f3, CAST(NULL AS INT64) AS f4 FROM mydataset.rows)"
    )
    result = engine.execute(PREDICT.format(input=holes))
    missing = ROWS.copy()
    ids = np.arange(len(ROWS))
    missing[ids % 3 == 0, 0] = np.nan
    missing[ids % 2 == 0, 2] = np.nan
    missing[:, 3] = np.nan
    np.testing.assert_allclose(result["predicted_label"].to_numpy(), expected(booster, missing), atol=1e-6)


def test_the_model_is_stored_and_predicts_in_a_new_process(tmp_path) -> None:
    booster = binary()
    path = save(booster, tmp_path / "model.bst")
    database = tmp_path / "w.duckdb"
    first = Engine(duckdb.connect(str(database)))
    create(first, WITH_INPUT_OUTPUT, path)
    first.con.close()
    path.unlink()  # the booster is stored with the model, not read from the path again
    script = (
        "import json, duckdb; from ml import Engine; "
        f"engine = Engine(duckdb.connect({str(database)!r})); "
        "rows = engine.execute('SELECT predicted_label FROM ML.PREDICT(MODEL mydataset.mymodel, "
        "(SELECT 0.5 AS f1, -1.0 AS f2, 0.25 AS f3, 2.0 AS f4))'); "
        "print(json.dumps(rows['predicted_label'].to_pylist()))"
    )
    answer = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    row = np.array([[0.5, -1.0, 0.25, 2.0]])
    np.testing.assert_allclose(json.loads(answer.stdout), expected(booster, row), atol=1e-6)


def test_an_input_column_missing_is_refused_naming_it(engine, rows_table, tmp_path) -> None:
    save(regressor(), tmp_path / "model.json")
    create(engine, FROM_MODEL_FILE, tmp_path / "model.json")
    with pytest.raises(MLError, match=r"input has no column f3, a feature of model mydataset\.mymodel"):
        engine.execute(PREDICT.format(input="(SELECT id, f1, f2, f4 FROM mydataset.rows)"))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("model.json", b'{"learner": "not a booster"}', "Invalid cast"),
        ("model.bst", b"", "neither JSON nor UBJSON"),  # an empty file would abort the loader
    ],
)
def test_a_bad_model_file_replaces_nothing(engine, rows_table, tmp_path, name, content, message) -> None:
    booster = regressor()
    save(booster, tmp_path / "good" / "model.json")
    create(engine, FROM_MODEL_FILE, tmp_path / "good" / "*")
    broken = tmp_path / "broken" / name
    broken.parent.mkdir()
    broken.write_bytes(content)
    with pytest.raises(MLError, match=rf"^Invalid XGBOOST model file: .*{message}"):
        create(engine, FROM_MODEL_FILE, tmp_path / "broken" / "*")
    kept = engine.execute(PREDICT.format(input=TABLE_INPUT))
    np.testing.assert_allclose(kept["predicted_label"].to_numpy(), expected(booster), atol=1e-6)


def test_input_names_must_be_the_files_feature_names(engine, tmp_path) -> None:
    save(regressor(), tmp_path / "model.json")
    renamed = WITH_INPUT_OUTPUT.replace("f4 float64", "f5 float64")
    with pytest.raises(
        MLError, match=r"INPUT field names must be the model file's feature_names \(f1, f2, f3, f4\)"
    ):
        create(engine, renamed, tmp_path / "model.json")
    create(engine, WITH_INPUT_OUTPUT, tmp_path / "model.json")  # the same names, as BigQuery requires


@pytest.mark.parametrize(
    ("clauses", "booster", "message"),
    [
        ("", binary, "needs INPUT and OUTPUT clauses: the model file has no feature_names and feature_types"),
        ("INPUT(f1 FLOAT64, f2 FLOAT64, f3 FLOAT64, f4 FLOAT64)", binary, "INPUT and OUTPUT go together"),
        (
            "INPUT(f1 FLOAT64, f2 FLOAT64, f3 FLOAT64) OUTPUT(y FLOAT64)",
            binary,
            "INPUT has 3 fields; the XGBOOST model file takes 4 features",
        ),
        (
            "INPUT(f1 FLOAT64, f2 FLOAT64, f3 STRING, f4 FLOAT64) OUTPUT(y FLOAT64)",
            binary,
            "INPUT field f3 has type STRING: XGBOOST models take numeric inputs",
        ),
        (
            "INPUT(f1 INT64, f2 NUMERIC(10, 2), f3 BIGNUMERIC, f4 FLOAT64) OUTPUT(y STRING)",
            binary,
            "OUTPUT field y has type STRING: XGBOOST models output FLOAT64",
        ),
        (
            "INPUT(f1 FLOAT64, f2 FLOAT64, f3 FLOAT64, f4 FLOAT64) OUTPUT(y FLOAT64, z FLOAT64)",
            binary,
            "OUTPUT has 2 fields: an XGBOOST model has a single scalar or array output",
        ),
    ],
)
def test_statement_problems_are_one_line_each(engine, tmp_path, clauses, booster, message) -> None:
    save(booster(), tmp_path / "model.json")
    with pytest.raises(MLError, match=message):
        engine.execute(
            f"CREATE MODEL main.m {clauses} OPTIONS (MODEL_TYPE = 'XGBOOST', "
            f"MODEL_PATH = '{tmp_path / 'model.json'}', KMS_KEY_NAME = '{KMS_KEY}')"
        )


def test_model_files_the_reference_does_not_import_are_refused(engine, tmp_path) -> None:
    save(regressor(), tmp_path / "model.txt")
    two_targets = xgb.train({"tree_method": "hist"}, xgb.DMatrix(ROWS, label=ROWS[:, :2]), 2)
    save(two_targets, tmp_path / "multi" / "model.json")
    with pytest.raises(MLError, match=r"XGBOOST models must be \.bst, \.json or \.ubj files"):
        engine.execute(
            f"CREATE MODEL main.m OPTIONS (MODEL_TYPE = 'XGBOOST', MODEL_PATH = '{tmp_path}/model.txt')"
        )
    with pytest.raises(MLError, match=r"must hold exactly one \.bst, \.json or \.ubj file \(found none\)"):
        engine.execute(f"CREATE MODEL main.m OPTIONS (MODEL_TYPE = 'XGBOOST', MODEL_PATH = '{tmp_path}/*')")
    with pytest.raises(MLError, match="predicts 2 targets: BigQuery takes a single scalar or array output"):
        engine.execute(
            f"CREATE MODEL main.m INPUT(a FLOAT64, b FLOAT64, c FLOAT64, d FLOAT64) OUTPUT(y ARRAY<FLOAT64>) "
            f"OPTIONS (MODEL_TYPE = 'XGBOOST', MODEL_PATH = '{tmp_path}/multi/*')"
        )


def test_input_output_on_a_trained_type_is_refused(engine) -> None:
    with pytest.raises(
        MLError, match=r"INPUT and OUTPUT are clauses of remote models .* and of model_type XGBOOST"
    ):
        engine.execute(
            "CREATE MODEL main.m INPUT (x FLOAT64) OUTPUT (y FLOAT64) "
            "OPTIONS (MODEL_TYPE = 'LINEAR_REG', INPUT_LABEL_COLS = ['y']) AS SELECT 1.0 AS x, 2.0 AS y"
        )
