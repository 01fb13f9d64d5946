"""ML.EXPLAIN_PREDICT, ML.GLOBAL_EXPLAIN and ML.FEATURE_IMPORTANCE: exact GLM attributions, tree
SHAP equal to XGBoost's own, persistence across processes, and BigQuery's output columns."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest
import xgboost as xgb
from scipy.special import expit

from ml import Engine
from ml.errors import MLError

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = (
    "SELECT species, island, bill_length_mm, flipper_length_mm, sex, body_mass_g "
    "FROM raw.penguins WHERE body_mass_g IS NOT NULL ORDER BY penguin_id"
)
FEATURES = ["species", "island", "bill_length_mm", "flipper_length_mm", "sex"]


def explain(engine: Engine, model: str, query: str, top_k: int = 10) -> list[dict]:
    return engine.execute(
        f"SELECT * FROM ML.EXPLAIN_PREDICT(MODEL {model}, ({query}), STRUCT({top_k} AS top_k_features))"
    ).to_pylist()


def attribution_sums(rows: list[dict]) -> np.ndarray:
    return np.array([sum(a["attribution"] for a in r["top_feature_attributions"]) for r in rows])


def test_linear_attributions_sum_to_prediction_minus_baseline_exactly(engine: Engine) -> None:
    engine.execute(
        "CREATE MODEL demo.mass OPTIONS (model_type = 'linear_reg', input_label_cols = ['body_mass_g'], "
        f"data_split_method = 'NO_SPLIT') AS {PENGUINS}"
    )
    rows = explain(engine, "demo.mass", PENGUINS)
    predicted = np.array([r["predicted_body_mass_g"] for r in rows])
    value = np.array([r["prediction_value"] for r in rows])
    baseline = np.array([r["baseline_prediction_value"] for r in rows])
    np.testing.assert_allclose(value, predicted, rtol=1e-12)
    np.testing.assert_allclose(attribution_sums(rows), value - baseline, rtol=0, atol=1e-9)
    assert max(r["approximation_error"] for r in rows) < 1e-9
    # The baseline is the prediction at the training means: attributions average to zero.
    assert abs(float(np.mean(value - baseline))) < 1e-6
    assert {a["feature"] for a in rows[0]["top_feature_attributions"]} == set(FEATURES)


def test_top_k_keeps_the_largest_attributions_in_order(engine: Engine) -> None:
    engine.execute(
        "CREATE MODEL demo.mass OPTIONS (model_type = 'linear_reg', input_label_cols = ['body_mass_g']) "
        f"AS {PENGUINS}"
    )
    every = explain(engine, "demo.mass", PENGUINS + " LIMIT 5")
    top = explain(engine, "demo.mass", PENGUINS + " LIMIT 5", top_k=2)
    for full, short in zip(every, top, strict=True):
        sizes = [abs(a["attribution"]) for a in full["top_feature_attributions"]]
        assert sizes == sorted(sizes, reverse=True)
        assert short["top_feature_attributions"] == full["top_feature_attributions"][:2]
    default = engine.execute(
        f"SELECT * FROM ML.EXPLAIN_PREDICT(MODEL demo.mass, ({PENGUINS} LIMIT 1))"
    ).to_pylist()
    assert len(default[0]["top_feature_attributions"]) == 5


@pytest.mark.parametrize("label", ["sex", "species"])
def test_logistic_attributions_explain_the_predicted_class_logit(engine: Engine, label: str) -> None:
    query = PENGUINS.replace("WHERE", f"WHERE {label} IS NOT NULL AND")
    engine.execute(
        f"CREATE MODEL demo.cls OPTIONS (model_type = 'logistic_reg', input_label_cols = ['{label}'], "
        f"data_split_method = 'NO_SPLIT') AS {query}"
    )
    rows = explain(engine, "demo.cls", query)
    value = np.array([r["prediction_value"] for r in rows])
    baseline = np.array([r["baseline_prediction_value"] for r in rows])
    np.testing.assert_allclose(attribution_sums(rows), value - baseline, rtol=0, atol=1e-9)
    predicted = engine.execute(
        f"SELECT predicted_{label} AS p, predicted_{label}_probs AS probs FROM ML.PREDICT(MODEL "
        f"demo.cls, ({query}))"
    ).to_pylist()
    assert [r[f"predicted_{label}"] for r in rows] == [p["p"] for p in predicted]
    best = np.array([max(s["prob"] for s in p["probs"]) for p in predicted])
    np.testing.assert_allclose([r["probability"] for r in rows], best, rtol=1e-9)
    if label == "sex":  # binary: the value is the logit of the predicted class
        np.testing.assert_allclose(expit(value), best, rtol=1e-9)


def test_tree_shap_equals_xgboost_pred_contribs(engine: Engine) -> None:
    engine.execute(
        "CREATE MODEL demo.bt OPTIONS (model_type = 'boosted_tree_regressor', input_label_cols = "
        "['body_mass_g'], "
        f"data_split_method = 'NO_SPLIT', max_iterations = 8) AS {PENGUINS}"
    )
    rows = explain(engine, "demo.bt", PENGUINS)
    state = json.loads(engine.con.execute("SELECT state FROM _ml.models").fetchall()[0][0])
    booster = xgb.Booster()
    booster.load_model(bytearray(__import__("base64").b64decode(state["booster"])))
    frame = engine.con.execute(PENGUINS).df()
    codes = []
    for name in FEATURES:
        values = frame[name]
        if name in ("species", "island", "sex"):
            vocabulary = {v: i + 1 for i, v in enumerate(sorted(values.dropna().unique()))}
            codes.append(values.map(lambda v, vocabulary=vocabulary: vocabulary.get(v, 0)).to_numpy(float))
        else:
            codes.append(values.to_numpy(float))
    contributions = booster.predict(
        xgb.DMatrix(np.column_stack(codes).astype(np.float32), missing=np.nan), pred_contribs=True
    )
    got = np.array(
        [
            [{a["feature"]: a["attribution"] for a in r["top_feature_attributions"]}[f] for f in FEATURES]
            for r in rows
        ]
    )
    np.testing.assert_allclose(got, contributions[:, :-1], rtol=1e-6, atol=1e-3)
    value = np.array([r["prediction_value"] for r in rows])
    baseline = np.array([r["baseline_prediction_value"] for r in rows])
    np.testing.assert_allclose(baseline, contributions[:, -1], rtol=1e-6)
    # XGBoost computes in float32: agreement to float32 precision at the prediction's scale.
    np.testing.assert_allclose(attribution_sums(rows), value - baseline, rtol=1e-5, atol=1e-3)
    assert max(r["approximation_error"] / r["prediction_value"] for r in rows) < 1e-5


def test_tree_classifier_shap_sums_to_the_predicted_class_margin(engine: Engine) -> None:
    engine.execute(
        "CREATE MODEL demo.sp OPTIONS (model_type = 'boosted_tree_classifier', input_label_cols = "
        "['species'], "
        f"data_split_method = 'NO_SPLIT', max_iterations = 5) AS {PENGUINS}"
    )
    rows = explain(engine, "demo.sp", PENGUINS)
    value = np.array([r["prediction_value"] for r in rows])
    baseline = np.array([r["baseline_prediction_value"] for r in rows])
    np.testing.assert_allclose(attribution_sums(rows), value - baseline, rtol=1e-5, atol=1e-5)
    assert all(r["probability"] > 1 / 3 for r in rows)


def test_global_explain_needs_the_option_and_averages_absolute_attributions(engine: Engine) -> None:
    engine.execute(
        "CREATE MODEL demo.off OPTIONS (model_type = 'linear_reg', input_label_cols = ['body_mass_g']) "
        f"AS {PENGUINS}"
    )
    with pytest.raises(MLError, match="enable_global_explain"):
        engine.execute("SELECT * FROM ML.GLOBAL_EXPLAIN(MODEL demo.off)")
    engine.execute(
        "CREATE MODEL demo.sp OPTIONS (model_type = 'boosted_tree_classifier', input_label_cols = "
        "['species'], "
        f"data_split_method = 'NO_SPLIT', max_iterations = 5, enable_global_explain = TRUE) AS {PENGUINS}"
    )
    overall = engine.execute("SELECT * FROM ML.GLOBAL_EXPLAIN(MODEL demo.sp)")
    assert overall.column_names == ["feature", "attribution"]
    rows = explain(engine, "demo.sp", PENGUINS)
    features = ["island", "bill_length_mm", "flipper_length_mm", "sex", "body_mass_g"]
    expected = {
        f: np.mean(
            [abs(a["attribution"]) for r in rows for a in r["top_feature_attributions"] if a["feature"] == f]
        )
        for f in features
    }
    got = dict(zip(overall["feature"].to_pylist(), overall["attribution"].to_pylist(), strict=True))
    assert got == pytest.approx(expected, rel=1e-9)
    assert overall["attribution"].to_pylist() == sorted(got.values(), reverse=True)
    by_class = engine.execute(
        "SELECT * FROM ML.GLOBAL_EXPLAIN(MODEL demo.sp, STRUCT(TRUE AS class_level_explain))"
    )
    assert by_class.column_names == ["class_label", "feature", "attribution"]
    assert set(by_class["class_label"].to_pylist()) == {"Adelie", "Chinstrap", "Gentoo"}


def test_feature_importance_is_xgboosts_own(engine: Engine) -> None:
    engine.execute(
        "CREATE MODEL demo.bt OPTIONS (model_type = 'boosted_tree_regressor', input_label_cols = "
        "['body_mass_g'], "
        f"max_iterations = 6) AS {PENGUINS}"
    )
    table = engine.execute("SELECT * FROM ML.FEATURE_IMPORTANCE(MODEL demo.bt)")
    assert [(f.name, str(f.type)) for f in table.schema] == [
        ("feature", "string"),
        ("importance_weight", "int64"),
        ("importance_gain", "double"),
        ("importance_cover", "double"),
    ]
    state = json.loads(engine.con.execute("SELECT state FROM _ml.models").fetchall()[0][0])
    booster = xgb.Booster()
    booster.load_model(bytearray(__import__("base64").b64decode(state["booster"])))
    gain = booster.get_score(importance_type="gain")
    got = {r["feature"]: r for r in table.to_pylist()}
    for j, feature in enumerate(FEATURES):
        assert got[feature]["importance_gain"] == pytest.approx(gain.get(f"f{j}", 0.0), rel=1e-12)
    assert sorted(got) == sorted(FEATURES)
    with pytest.raises(MLError, match="FEATURE_IMPORTANCE"):
        engine.execute(
            "CREATE MODEL demo.lin OPTIONS (model_type = 'linear_reg', input_label_cols = ['body_mass_g']) "
            f"AS {PENGUINS}; SELECT * FROM ML.FEATURE_IMPORTANCE(MODEL demo.lin)"
        )


def test_explain_predict_output_columns(engine: Engine, describe) -> None:
    engine.execute(
        "CREATE MODEL demo.sp OPTIONS (model_type = 'boosted_tree_classifier', input_label_cols = "
        "['species'], "
        f"max_iterations = 3) AS {PENGUINS}"
    )
    columns = describe(f"SELECT * FROM ML.EXPLAIN_PREDICT(MODEL demo.sp, ({PENGUINS}))")
    assert columns[:6] == [
        ("predicted_species", "VARCHAR"),
        ("probability", "DOUBLE"),
        ("top_feature_attributions", "STRUCT(feature VARCHAR, attribution DOUBLE)[]"),
        ("baseline_prediction_value", "DOUBLE"),
        ("prediction_value", "DOUBLE"),
        ("approximation_error", "DOUBLE"),
    ]
    assert [c for c, _ in columns[6:]] == [*FEATURES, "body_mass_g"]


def test_tree_model_predicts_and_explains_in_a_new_process(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    train = (
        "CREATE MODEL demo.bt OPTIONS (model_type = 'boosted_tree_classifier', input_label_cols = ['y'], "
        "max_iterations = 5) AS SELECT x, x % 7 AS r, CASE WHEN x % 3 = 0 THEN 'a' ELSE 'b' END AS k, "
        "(x * 37) % 11 > 5 AS y FROM range(300) AS t(x)"
    )
    query = (
        "SELECT predicted_y, prediction_value, top_feature_attributions FROM "
        "ML.EXPLAIN_PREDICT(MODEL demo.bt, "
        "(SELECT x, x % 7 AS r, 'a' AS k FROM range(0, 300, 13) AS t(x))) ORDER BY prediction_value"
    )
    with duckdb.connect(str(database)) as con:
        engine = Engine(con)
        engine.execute(train)
        here = engine.execute(query).to_pylist()
    script = (
        "import duckdb, json; from ml import Engine; "
        f"con = duckdb.connect({str(database)!r}); "
        f"print(json.dumps(Engine(con).execute({query!r}).to_pylist()))"
    )
    other = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert other.returncode == 0, other.stderr
    assert json.loads(other.stdout) == here
