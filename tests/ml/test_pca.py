"""pca: principal components equal scikit-learn's / numpy's on the same (scaled) data, up to sign."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest
from sklearn.decomposition import PCA

from ml import Engine
from ml.errors import MLError

NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
ROWS = f"SELECT {', '.join(NUMERIC)} FROM raw.penguins WHERE body_mass_g IS NOT NULL ORDER BY penguin_id"


def _scores(engine: Engine, model: str, query: str) -> np.ndarray:
    table = engine.execute(f"SELECT * FROM ML.PREDICT(MODEL {model}, ({query}))")
    names = [c for c in table.column_names if c.startswith("principal_component_")]
    return np.column_stack([table[c].to_numpy() for c in names])


def _same_up_to_sign(ours: np.ndarray, theirs: np.ndarray) -> None:
    signs = np.sign(np.sum(ours * theirs, axis=0))
    np.testing.assert_allclose(ours, theirs * signs, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("scale", [True, False])
def test_components_and_ratios_equal_sklearn(engine: Engine, scale: bool) -> None:
    engine.execute(
        f"CREATE MODEL raw.pc OPTIONS (model_type = 'pca', num_principal_components = 3, "
        f"scale_features = {str(scale).upper()}) AS {ROWS}"
    )
    X = engine.con.execute(ROWS).fetchnumpy()
    X = np.column_stack([X[c].astype(float) for c in NUMERIC])
    # BigQuery scales by the sample standard deviation (ddof 1), as ML.FEATURE_INFO reports it.
    data = (X - X.mean(axis=0)) / X.std(axis=0, ddof=1) if scale else X
    oracle = PCA(n_components=3, svd_solver="full").fit(data)
    _same_up_to_sign(_scores(engine, "raw.pc", ROWS), oracle.transform(data))
    info = engine.execute("SELECT * FROM ML.PRINCIPAL_COMPONENT_INFO(MODEL raw.pc)")
    np.testing.assert_allclose(info["eigenvalue"].to_numpy(), oracle.explained_variance_, rtol=1e-9)
    np.testing.assert_allclose(
        info["explained_variance_ratio"].to_numpy(), oracle.explained_variance_ratio_, rtol=1e-9
    )
    total = engine.execute("SELECT * FROM ML.EVALUATE(MODEL raw.pc)")
    assert total.column_names == ["total_explained_variance_ratio"]
    assert total[0][0].as_py() == pytest.approx(oracle.explained_variance_ratio_.sum(), rel=1e-12)


def test_categorical_features_are_centered_one_hot_columns(engine: Engine) -> None:
    query = "SELECT bill_length_mm, species, island FROM raw.penguins WHERE bill_length_mm IS NOT NULL"
    engine.execute(
        f"CREATE MODEL raw.pc OPTIONS (model_type = 'pca', num_principal_components = 2) AS {query}"
    )
    rows = engine.con.execute(query).fetchall()
    length = np.array([r[0] for r in rows])
    design = [(length - length.mean()) / length.std(ddof=1)]
    for j in (1, 2):
        design += [np.array([r[j] == v for r in rows], dtype=float) for v in sorted({r[j] for r in rows})]
    design = np.column_stack(design)
    centered = design - design.mean(axis=0)
    _, _, vt = np.linalg.svd(centered, full_matrices=False)
    _same_up_to_sign(_scores(engine, "raw.pc", query), centered @ vt[:2].T)


def test_explained_variance_ratio_picks_the_fewest_components(engine: Engine) -> None:
    engine.execute(
        f"CREATE MODEL raw.pc OPTIONS (model_type = 'pca', pca_explained_variance_ratio = 0.8) AS {ROWS}"
    )
    info = engine.execute("SELECT * FROM ML.PRINCIPAL_COMPONENT_INFO(MODEL raw.pc)")
    cumulative = info["cumulative_explained_variance_ratio"].to_pylist()
    assert cumulative[-1] >= 0.8 and (len(cumulative) == 1 or cumulative[-2] < 0.8)
    assert len(cumulative) == 2  # penguins: 69 % then 88 %


def test_predict_schema_and_null_inputs(engine: Engine, describe) -> None:
    engine.execute(
        f"CREATE MODEL raw.pc OPTIONS (model_type = 'pca', num_principal_components = 2) AS {ROWS}"
    )
    columns = describe(f"SELECT * FROM ML.PREDICT(MODEL raw.pc, ({ROWS}))")
    assert columns[:2] == [("principal_component_1", "DOUBLE"), ("principal_component_2", "DOUBLE")]
    assert [c for c, _ in columns[2:]] == NUMERIC
    # A NULL feature takes the training mean, i.e. contributes nothing after centering.
    nulls = engine.execute(
        "SELECT * FROM ML.PREDICT(MODEL raw.pc, (SELECT CAST(NULL AS DOUBLE) AS bill_length_mm, "
        "CAST(NULL AS DOUBLE) AS bill_depth_mm, CAST(NULL AS BIGINT) AS flipper_length_mm, "
        "CAST(NULL AS BIGINT) AS body_mass_g))"
    )
    assert nulls["principal_component_1"][0].as_py() == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("", "num_principal_components and pca_explained_variance_ratio"),
        ("num_principal_components = 2, pca_explained_variance_ratio = 0.5", "num_principal_components"),
        ("num_principal_components = 9", "num_principal_components: 9 exceeds"),
        ("pca_explained_variance_ratio = 1.5", "pca_explained_variance_ratio"),
        ("num_principal_components = 2, pca_solver = 'power'", "pca_solver"),
    ],
)
def test_bad_options_name_the_option(engine: Engine, options: str, message: str) -> None:
    separator = ", " if options else ""
    with pytest.raises(MLError, match=message):
        engine.execute(f"CREATE MODEL raw.pc OPTIONS (model_type = 'pca'{separator}{options}) AS {ROWS}")


def test_a_new_process_projects_with_the_stored_model(tmp_path: Path, penguins) -> None:
    database = str(tmp_path / "pca.duckdb")
    query = f"SELECT principal_component_1 FROM ML.PREDICT(MODEL raw.pc, ({ROWS}))"
    with duckdb.connect(database) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.penguins AS SELECT * FROM penguins")
        Engine(con).execute(
            f"CREATE MODEL raw.pc OPTIONS (model_type = 'pca', num_principal_components = 1) AS {ROWS}"
        )
        here = Engine(con).execute(query)["principal_component_1"].to_pylist()
    script = (
        f"import duckdb, json; from ml import Engine; con = duckdb.connect({database!r}); "
        f"print(json.dumps(Engine(con).execute({query!r})['principal_component_1'].to_pylist()))"
    )
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=root, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == here and len(here) == 342
