"""TRANSFORM re-applied at prediction, data splits, and ML.* functions anywhere a table can be."""

from __future__ import annotations

import pytest

from ml import Engine, MLError
from ml.preprocessing.transform import compile_transform

MASS = "model_type = 'linear_reg', input_label_cols = ['body_mass_g']"
PENGUINS = "SELECT * FROM raw.penguins WHERE body_mass_g IS NOT NULL"


def test_transform_functions_learn_their_statistics(con) -> None:
    source = "SELECT * FROM (VALUES (1, 'a'), (2, 'a'), (3, 'b'), (4, NULL), (5, 'a')) AS t(f, c)"
    compiled = compile_transform(
        "ML.QUANTILE_BUCKETIZE(f, 3) OVER () AS bucket, ML.STANDARD_SCALER(f) OVER () AS z, "
        "ML.MIN_MAX_SCALER(f) OVER () AS scaled, ML.IMPUTER(c, 'most_frequent') OVER () AS imputed, "
        "ML.ONE_HOT_ENCODER(c, 'none', 10, 1) OVER () AS onehot, ML.BUCKETIZE(f, [2, 4]) AS fixed, "
        "f * 2 AS twice",
        source,
        ["f", "c"],
        [],
        lambda sql: con.execute(sql).fetchall()[0],
    )
    select = ", ".join(f'{expr} AS "{name}"' for name, expr in compiled.items)
    rows = con.execute(f"SELECT {select} FROM ({source}) AS __ml_src").fetchall()
    assert [r[0] for r in rows] == [
        "bin_1",
        "bin_2",
        "bin_2",
        "bin_3",
        "bin_3",
    ]  # BigQuery's documented example
    assert [round(r[1], 6) for r in rows] == [round((f - 3) / 1.5811388300841898, 6) for f in range(1, 6)]
    assert [r[2] for r in rows] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert [r[3] for r in rows] == ["a", "a", "b", "a", "a"]
    assert [r[4] for r in rows] == ["a", "a", "b", None, "a"]
    assert [r[5] for r in rows] == ["bin_1", "bin_2", "bin_2", "bin_3", "bin_3"]
    # Statistics are constants now: one new row gets the training-time scaling, not its own.
    single = con.execute(f"SELECT {select} FROM (SELECT 9 AS f, 'z' AS c) AS __ml_src").fetchall()[0]
    assert single[:6] == ("bin_3", pytest.approx(6 / 1.5811388300841898), 1.0, "z", None, "bin_3")


def test_transform_is_stored_with_the_model_and_needs_only_raw_columns(engine: Engine) -> None:
    engine.execute(
        f"CREATE MODEL demo.mass TRANSFORM (ML.STANDARD_SCALER(flipper_length_mm) OVER () AS flipper, "
        f"ML.QUANTILE_BUCKETIZE(bill_length_mm, 4) OVER () AS bill_bucket, "
        f"ML.ONE_HOT_ENCODER(island) OVER () AS isle, * EXCEPT (penguin_id, year, flipper_length_mm, "
        f"bill_length_mm, island)) OPTIONS ({MASS}) AS {PENGUINS}"
    )
    info = engine.execute("SELECT input FROM ML.FEATURE_INFO(MODEL demo.mass) ORDER BY input")[
        "input"
    ].to_pylist()
    assert info == ["bill_bucket", "bill_depth_mm", "flipper", "isle", "sex", "species"]
    everyone = engine.execute(
        f"SELECT penguin_id, predicted_body_mass_g FROM ML.PREDICT(MODEL demo.mass, "
        f"({PENGUINS})) ORDER BY penguin_id"
    ).to_pylist()
    one = engine.execute(
        "SELECT predicted_body_mass_g FROM ML.PREDICT(MODEL demo.mass, (SELECT species, island, "
        "bill_length_mm, bill_depth_mm, flipper_length_mm, sex FROM raw.penguins "
        "WHERE penguin_id = 5))"
    ).to_pylist()
    assert one[0]["predicted_body_mass_g"] == pytest.approx(
        next(r["predicted_body_mass_g"] for r in everyone if r["penguin_id"] == 5), rel=1e-12
    )


def test_custom_split_evaluates_on_the_flagged_rows(engine: Engine) -> None:
    query = f"SELECT * EXCLUDE (penguin_id), penguin_id % 4 = 0 AS holdout FROM ({PENGUINS})"
    engine.execute(
        f"CREATE MODEL demo.mass OPTIONS ({MASS}, data_split_method = 'CUSTOM', "
        f"data_split_col = 'holdout') AS {query}"
    )
    at_training = engine.execute("SELECT * FROM ML.EVALUATE(MODEL demo.mass)").to_pylist()[0]
    on_holdout = engine.execute(
        f"SELECT * FROM ML.EVALUATE(MODEL demo.mass, (SELECT * FROM ({query}) WHERE holdout))"
    ).to_pylist()[0]
    assert at_training == pytest.approx(on_holdout, rel=1e-12)
    info = engine.execute("SELECT eval_loss FROM ML.TRAINING_INFO(MODEL demo.mass)").to_pylist()[0]
    assert info["eval_loss"] == pytest.approx(on_holdout["mean_squared_error"], rel=1e-9)


def test_seq_split_holds_out_the_last_values(engine: Engine) -> None:
    engine.execute(
        f"CREATE MODEL demo.mass OPTIONS ({MASS}, data_split_method = 'SEQ', data_split_col = 'penguin_id', "
        f"data_split_eval_fraction = 0.25) AS {PENGUINS}"
    )
    cutoff = engine.con.execute(f"SELECT quantile_disc(penguin_id, 0.75) FROM ({PENGUINS})").fetchall()[0][0]
    expected = engine.execute(
        f"SELECT * FROM ML.EVALUATE(MODEL demo.mass, ({PENGUINS} AND penguin_id > {cutoff}))"
    )
    assert engine.execute("SELECT * FROM ML.EVALUATE(MODEL demo.mass)").to_pylist()[0] == pytest.approx(
        expected.to_pylist()[0], rel=1e-12
    )


def test_random_and_auto_splits_are_deterministic(engine: Engine) -> None:
    titanic = "SELECT Survived, Pclass, Sex, Age, Fare FROM raw.titanic"
    logistic = "model_type = 'logistic_reg', input_label_cols = ['Survived']"
    for name in ("first", "second"):
        engine.execute(
            f"CREATE MODEL demo.{name} OPTIONS ({logistic}, data_split_method = 'RANDOM', "
            f"data_split_eval_fraction = 0.3) AS {titanic}"
        )
    first, second = (
        engine.execute(f"SELECT * FROM ML.EVALUATE(MODEL demo.{n})").to_pylist() for n in ("first", "second")
    )
    assert first == second
    held_out = engine.execute("SELECT SUM(_0 + _1) AS n FROM ML.CONFUSION_MATRIX(MODEL demo.first)")["n"][
        0
    ].as_py()
    assert 0.25 * 891 < held_out < 0.35 * 891
    # AUTO_SPLIT: under 500 rows everything trains (no eval loss); 891 rows hold out about 20 %.
    engine.execute(f"CREATE MODEL demo.small OPTIONS ({logistic}) AS {titanic} LIMIT 400")
    assert (
        engine.execute("SELECT eval_loss FROM ML.TRAINING_INFO(MODEL demo.small)")["eval_loss"].null_count > 0
    )
    engine.execute(f"CREATE MODEL demo.auto OPTIONS ({logistic}) AS {titanic}")
    held_out = engine.execute("SELECT SUM(_0 + _1) AS n FROM ML.CONFUSION_MATRIX(MODEL demo.auto)")["n"][
        0
    ].as_py()
    assert 0.15 * 891 < held_out < 0.25 * 891


def test_ml_functions_compose_with_ctes_joins_and_subqueries(engine: Engine) -> None:
    engine.execute(f"CREATE MODEL demo.mass OPTIONS ({MASS}) AS {PENGUINS}")
    result = engine.execute(f"""
        WITH predictions AS (
          SELECT penguin_id, predicted_body_mass_g FROM ML.PREDICT(MODEL `memory.demo.mass`, ({PENGUINS}))
        ), metrics AS (SELECT * FROM ML.EVALUATE(MODEL `demo`.mass, TABLE raw.penguins))
        SELECT p.penguin_id, ROUND(p.predicted_body_mass_g - r.body_mass_g, 6) AS residual, m.r2_score
        FROM predictions AS p JOIN raw.penguins AS r USING (penguin_id) CROSS JOIN metrics AS m
        WHERE p.penguin_id IN (SELECT penguin_id FROM ML.PREDICT(MODEL demo.mass, TABLE raw.penguins)
                               WHERE predicted_body_mass_g > 5000)
        ORDER BY p.penguin_id""").to_pylist()
    assert result and all(r["r2_score"] > 0.8 for r in result)
    nested = engine.execute(
        f"SELECT mean_absolute_error FROM ML.EVALUATE(MODEL demo.mass, "
        f"(SELECT * EXCEPT (predicted_body_mass_g) "
        f"FROM ML.PREDICT(MODEL demo.mass, ({PENGUINS}))))"
    )
    assert nested["mean_absolute_error"][0].as_py() > 0


def test_stored_templates_work_when_a_caller_substitutes_the_placeholders(engine: Engine) -> None:
    engine.execute(
        "CREATE MODEL demo.survival OPTIONS (model_type = 'logistic_reg', input_label_cols = ['Survived']) "
        "AS SELECT Survived, Pclass, Sex, Age FROM raw.titanic"
    )
    template = engine.con.execute(
        "SELECT sql_template FROM _ml.model_functions WHERE model = 'survival' AND "
        "function = 'evaluate' AND has_input"
    ).fetchall()[0][0]
    sql = template.replace("__ML_INPUT__", "raw.titanic").replace("__ML_THRESHOLD__", "0.7e0")
    by_hand = engine.con.execute(sql).fetchall()
    via_engine = engine.execute(
        "SELECT * FROM ML.EVALUATE(MODEL demo.survival, TABLE raw.titanic, STRUCT(0.7 AS threshold))"
    )
    assert by_hand == [tuple(r.values()) for r in via_engine.to_pylist()]


def test_the_project_must_be_the_local_database(engine: Engine) -> None:
    engine.execute(f"CREATE MODEL demo.mass OPTIONS ({MASS}) AS {PENGUINS}")
    with pytest.raises(MLError, match="Not found: Project elsewhere"):
        engine.execute("SELECT * FROM ML.WEIGHTS(MODEL `elsewhere.demo.mass`)")
