"""Hyperparameter tuning: trials drawn from HPARAM_RANGE / HPARAM_CANDIDATES, the best one by the
objective on the eval split becomes the model, ML.EVALUATE answers from the held-out test split."""

from __future__ import annotations

import pytest

from ml import Engine
from ml.engine.training import with_defaults
from ml.engine.tuning import Tuner
from ml.errors import MLError
from ml.model_types.catalog import validate_options
from ml.sql.statements import parse_ml_statement

PENGUINS = (
    "SELECT species, island, bill_length_mm, flipper_length_mm, sex, body_mass_g "
    "FROM raw.penguins WHERE body_mass_g IS NOT NULL AND sex IS NOT NULL"
)
TREES = (
    "CREATE MODEL demo.tuned OPTIONS (model_type = 'boosted_tree_regressor', "
    "input_label_cols = ['body_mass_g'], num_trials = 3, max_iterations = 3, "
    "max_tree_depth = HPARAM_CANDIDATES([1, 3, 6]), "
    f"learn_rate = HPARAM_RANGE(0.05, 0.5)) AS {PENGUINS}"
)


def test_random_search_trials_and_the_optimal_one(engine: Engine) -> None:
    engine.execute(TREES)
    trials = engine.execute("SELECT * FROM ML.TRIAL_INFO(MODEL demo.tuned)")
    assert [(f.name, str(f.type)) for f in trials.schema] == [
        ("trial_id", "int64"),
        ("hyperparameters", "struct<max_tree_depth: int64, learn_rate: double>"),
        ("hparam_tuning_evaluation_metrics", "struct<r2_score: double>"),
        ("training_loss", "double"),
        ("eval_loss", "double"),
        ("status", "string"),
        ("error_message", "string"),
        ("is_optimal", "bool"),
    ]
    rows = trials.to_pylist()
    assert [r["trial_id"] for r in rows] == [1, 2, 3]
    assert all(r["status"] == "SUCCEEDED" and r["error_message"] is None for r in rows)
    for r in rows:
        assert r["hyperparameters"]["max_tree_depth"] in (1, 3, 6)
        assert 0.05 <= r["hyperparameters"]["learn_rate"] <= 0.5
    best = max(rows, key=lambda r: r["hparam_tuning_evaluation_metrics"]["r2_score"])
    assert [r["trial_id"] for r in rows if r["is_optimal"]] == [best["trial_id"]]
    # Seeded: the same statement draws the same trials.
    engine.execute(TREES.replace("CREATE MODEL demo.tuned", "CREATE MODEL demo.again"))
    again = engine.execute("SELECT hyperparameters FROM ML.TRIAL_INFO(MODEL demo.again)").to_pylist()
    assert again == [{"hyperparameters": r["hyperparameters"]} for r in rows]

    # Without input, ML.EVALUATE answers from the test split, which no trial trained or chose on.
    statement = parse_ml_statement(TREES, engine.database)
    tuner = Tuner(engine.con, engine.translate, statement, validate_options(statement.options), {})
    template = engine.con.execute(
        "SELECT sql_template FROM _ml.model_functions "
        "WHERE model = 'tuned' AND function = 'evaluate' AND has_input"
    ).fetchall()[0][0]
    on_test = engine.con.execute(with_defaults(template, f"({tuner.test_rows()})")).fetchall()[0]
    stored = engine.execute("SELECT * FROM ML.EVALUATE(MODEL demo.tuned)").to_pylist()[0]
    assert list(stored.values()) == pytest.approx(list(on_test), rel=1e-12)
    test_rows = engine.con.execute(f"SELECT count(*) FROM ({tuner.test_rows()})").fetchall()[0][0]
    assert 10 < test_rows < 60  # about 10 % of 333 rows


def test_grid_search_over_candidates_with_a_minimised_objective(engine: Engine) -> None:
    engine.execute(
        "CREATE MODEL demo.grid OPTIONS (model_type = 'logistic_reg', input_label_cols = ['sex'], "
        "num_trials = 3, hparam_tuning_algorithm = 'GRID_SEARCH', hparam_tuning_objectives = ['log_loss'], "
        f"l2_reg = HPARAM_CANDIDATES([0.0, 3.0, 300.0])) AS {PENGUINS}"
    )
    rows = engine.execute("SELECT * FROM ML.TRIAL_INFO(MODEL demo.grid)").to_pylist()
    assert [r["hyperparameters"]["l2_reg"] for r in rows] == [0.0, 3.0, 300.0]
    best = min(rows, key=lambda r: r["hparam_tuning_evaluation_metrics"]["log_loss"])
    assert best["is_optimal"] and best["hyperparameters"]["l2_reg"] != 300.0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("max_tree_depth = HPARAM_CANDIDATES([0, 3])", "max_tree_depth"),
        ("learn_rate = HPARAM_RANGE(0.5, 0.1)", "HPARAM_RANGE"),
        ("num_trials = 2", "HPARAM_RANGE"),
        ("learn_rate = HPARAM_RANGE(0.1, 0.5)", "num_trials"),
        (
            "num_trials = 2, hparam_tuning_algorithm = 'GRID_SEARCH', learn_rate = HPARAM_RANGE(0.1, 0.5)",
            "GRID",
        ),
        (
            "num_trials = 2, hparam_tuning_objectives = ['roc_auc'], learn_rate = HPARAM_RANGE(0.1, 0.5)",
            "roc_auc",
        ),
        ("data_split_test_fraction = 0.2", "data_split_test_fraction"),
        ("num_trials = 101, learn_rate = HPARAM_RANGE(0.1, 0.5)", "num_trials"),
        (
            "num_trials = 2, data_split_method = 'NO_SPLIT', learn_rate = HPARAM_RANGE(0.1, 0.5)",
            "data_split_method",
        ),
    ],
)
def test_bad_tuning_options_name_the_option(engine: Engine, options: str, message: str) -> None:
    with pytest.raises(MLError, match=message):
        engine.execute(
            "CREATE MODEL demo.bad OPTIONS (model_type = 'boosted_tree_regressor', "
            f"input_label_cols = ['body_mass_g'], max_iterations = 2, {options}) AS {PENGUINS}"
        )


def test_trial_info_needs_a_tuned_model(engine: Engine) -> None:
    engine.execute(
        "CREATE MODEL demo.plain OPTIONS (model_type = 'linear_reg', input_label_cols = ['body_mass_g']) "
        f"AS {PENGUINS}"
    )
    with pytest.raises(MLError, match="TRIAL_INFO"):
        engine.execute("SELECT * FROM ML.TRIAL_INFO(MODEL demo.plain)")
