"""ML.ROC_CURVE at the caller's thresholds: GENERATE_ARRAY(...) or an array of numbers."""

from __future__ import annotations

import numpy as np
import pytest

from ml import Engine, MLError

QUERY = (
    "SELECT species, bill_length_mm, bill_depth_mm, body_mass_g > 4000 AS heavy FROM raw.penguins "
    "WHERE body_mass_g IS NOT NULL"
)


@pytest.fixture
def heavy(engine: Engine) -> Engine:
    engine.execute(
        "CREATE MODEL demo.heavy OPTIONS (model_type = 'logistic_reg', input_label_cols = ['heavy'], "
        f"data_split_method = 'NO_SPLIT') AS {QUERY}"
    )
    return engine


def expected_curve(engine: Engine, thresholds: list[float]) -> list[dict]:
    """Counts at each threshold from ML.PREDICT's probabilities ("prob > threshold" is positive)."""
    rows = engine.execute(
        # Probabilities come in ascending label order: OFFSET(1) is TRUE's.
        f"SELECT heavy, predicted_heavy_probs[OFFSET(1)].prob AS p "
        f"FROM ML.PREDICT(MODEL demo.heavy, ({QUERY}))"
    )
    y, p = rows["heavy"].to_numpy(zero_copy_only=False), rows["p"].to_numpy()
    curve = []
    for t in thresholds:
        tp, fp = int(np.sum(y & (p > t))), int(np.sum(~y & (p > t)))
        tn, fn = int(np.sum(~y & (p <= t))), int(np.sum(y & (p <= t)))
        curve.append(
            {
                "threshold": pytest.approx(t),
                "recall": pytest.approx(tp / (tp + fn)),
                "false_positive_rate": pytest.approx(fp / (fp + tn)),
                "true_positives": tp,
                "false_positives": fp,
                "true_negatives": tn,
                "false_negatives": fn,
            }
        )
    return curve


def test_generate_array_thresholds_give_one_row_each(heavy: Engine) -> None:
    got = heavy.execute(
        f"SELECT * FROM ML.ROC_CURVE(MODEL demo.heavy, ({QUERY}), GENERATE_ARRAY(0.1, 0.9, 0.1))"
    ).to_pylist()
    # Exactly 0.1 .. 0.9: the end is reached, as BigQuery's GENERATE_ARRAY does.
    assert got == expected_curve(heavy, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])


def test_array_thresholds_and_the_default_percentiles(heavy: Engine) -> None:
    got = heavy.execute(
        f"SELECT * FROM ML.ROC_CURVE(MODEL demo.heavy, ({QUERY}), [0.75, 0.25, 0.25])"
    ).to_pylist()
    assert got == expected_curve(heavy, [0.25, 0.75])  # ordered, each threshold once
    default = heavy.execute(f"SELECT count(*) AS n FROM ML.ROC_CURVE(MODEL demo.heavy, ({QUERY}))")
    assert default["n"][0].as_py() > 50  # percentiles of the probabilities, as before


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("ML.ROC_CURVE(MODEL demo.heavy, GENERATE_ARRAY(0.1, 0.9, 0.1))", "needs an input"),
        (f"ML.ROC_CURVE(MODEL demo.heavy, ({QUERY}), [0.5, 1.5])", "between 0 and 1"),
        (f"ML.ROC_CURVE(MODEL demo.heavy, ({QUERY}), ['a'])", "must be numbers"),
        (f"ML.ROC_CURVE(MODEL demo.heavy, ({QUERY}), GENERATE_ARRAY(0.1, 0.9, 0))", "step must not be 0"),
        (f"ML.EVALUATE(MODEL demo.heavy, ({QUERY}), [0.5])", "Unsupported argument to ML.EVALUATE"),
    ],
)
def test_threshold_errors(heavy: Engine, call: str, message: str) -> None:
    with pytest.raises(MLError, match=message):
        heavy.execute(f"SELECT * FROM {call}")


def test_a_model_compiled_without_the_placeholder_asks_for_a_retrain(heavy: Engine) -> None:
    heavy.con.execute(
        "UPDATE _ml.model_functions SET sql_template = replace(sql_template, "
        "'coalesce(CAST(__ML_ROC_THRESHOLDS__ AS DOUBLE[]),', 'coalesce(') "
        "WHERE model = 'heavy' AND function = 'roc_curve'"
    )
    with pytest.raises(MLError, match="retrain"):
        heavy.execute(f"SELECT * FROM ML.ROC_CURVE(MODEL demo.heavy, ({QUERY}), [0.5])")
