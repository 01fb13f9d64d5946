"""TIMESTAMP, STRUCT and ARRAY features, expanded as BigQuery ML does, in training and ML.PREDICT."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from ml import Engine, MLError

TS_PARTS = {
    "_TS_DOM_": lambda t: t.day,
    "_TS_DOW_": lambda t: (t.weekday() + 1) % 7 + 1,  # BigQuery: Sunday = 1
    "_TS_MOY_": lambda t: t.month,
    "_TS_HOD_": lambda t: t.hour,
    "_TS_MOH_": lambda t: t.minute,
    "_TS_WOY_": lambda t: int(t.strftime("%U")),
    "_TS_YEAR_": lambda t: t.year,
}


@pytest.fixture
def events(engine: Engine) -> pd.DataFrame:
    """400 rows of (ts, x, y): y depends on x, the hour of ts and its unix time, plus noise."""
    rng = np.random.default_rng(7)
    start = dt.datetime(2023, 3, 1)
    ts = [
        start + dt.timedelta(days=int(d), hours=int(h), minutes=int(m))
        for d, h, m in zip(
            rng.integers(0, 500, 400), rng.choice([0, 6, 12, 18], 400), rng.choice([0, 30], 400), strict=True
        )
    ]
    x = rng.normal(size=400)
    unix = np.array([t.replace(tzinfo=dt.UTC).timestamp() for t in ts])
    hour = np.array([t.hour for t in ts])
    y = 3 + 2 * x + 0.1 * hour + 1e-7 * (unix - unix.mean()) + rng.normal(scale=0.3, size=400)
    frame = pd.DataFrame({"ts": ts, "x": x, "y": y})
    engine.con.execute(
        "CREATE TABLE raw.events AS SELECT row_number() OVER () AS id, ts::TIMESTAMP AS ts, x, y FROM frame"
    )
    return frame


def timestamp_design(frame: pd.DataFrame, categories: dict[str, list] | None = None):
    """BigQuery's TIMESTAMP transformation written out by hand: standardized x and unix seconds,
    one indicator per seen value of each timestamp component (`categories` from training)."""
    unix = np.array([t.replace(tzinfo=dt.UTC).timestamp() for t in frame["ts"]])
    columns = [np.ones(len(frame))]
    stats = (
        categories.pop("__stats__")
        if categories
        else {
            "x": (frame["x"].mean(), frame["x"].std(ddof=1)),
            "ts": (unix.mean(), unix.std(ddof=1)),
        }
    )
    columns += [(frame["x"] - stats["x"][0]) / stats["x"][1], (unix - stats["ts"][0]) / stats["ts"][1]]
    seen = {"__stats__": stats}
    for prefix, part in TS_PARTS.items():
        values = np.array([part(t) for t in frame["ts"]])
        seen[prefix] = sorted(set(values), key=str) if categories is None else categories[prefix]
        columns += [(values == v).astype(float) for v in seen[prefix]]
    return np.column_stack(columns), seen


def test_timestamp_linear_reg_equals_least_squares_on_the_expanded_design(
    engine: Engine, events: pd.DataFrame
) -> None:
    engine.execute(
        "CREATE MODEL demo.ts OPTIONS (model_type = 'linear_reg', input_label_cols = ['y'], "
        "optimize_strategy = 'NORMAL_EQUATION', data_split_method = 'NO_SPLIT') AS "
        "SELECT ts, x, y FROM raw.events"
    )
    X, seen = timestamp_design(events)
    coef, *_ = np.linalg.lstsq(X, events["y"].to_numpy(), rcond=None)

    predicted = engine.execute(
        "SELECT predicted_y FROM ML.PREDICT(MODEL demo.ts, TABLE raw.events) ORDER BY id"
    )
    np.testing.assert_allclose(predicted["predicted_y"].to_numpy(), X @ coef, rtol=0, atol=1e-6)

    # Rows never seen in training (all their components seen): the same linear predictor applies.
    new = pd.DataFrame(
        {"ts": [dt.datetime(2023, 5, 14, 6, 30), dt.datetime(2024, 7, 1, 18, 0)], "x": [0.5, -1.0]}
    )
    X_new, _ = timestamp_design(new, {**seen})
    rows = engine.execute(
        "SELECT predicted_y FROM ML.PREDICT(MODEL demo.ts, (SELECT TIMESTAMP '2023-05-14 06:30:00' AS ts, "
        "0.5 AS x UNION ALL SELECT TIMESTAMP '2024-07-01 18:00:00', -1.0) ) ORDER BY x DESC"
    )
    np.testing.assert_allclose(rows["predicted_y"].to_numpy(), X_new @ coef, rtol=0, atol=1e-6)

    weights = {
        r["processed_input"]: r
        for r in engine.execute(
            "SELECT * FROM ML.WEIGHTS(MODEL demo.ts, STRUCT(TRUE AS standardize))"
        ).to_pylist()
    }
    assert {"ts", *(f"{p}ts" for p in TS_PARTS), "x", "__INTERCEPT__"} <= weights.keys()
    # The unix-seconds weight is identified (one-hot groups only trade off with the intercept).
    assert weights["ts"]["weight"] == pytest.approx(coef[2], abs=1e-6)
    assert {c["category"] for c in weights["_TS_HOD_ts"]["category_weights"]} == {"0", "6", "12", "18"}


def test_timestamp_components_are_utc_and_bigquery_numbered(engine: Engine) -> None:
    engine.con.execute(
        "CREATE TABLE raw.tz AS SELECT * FROM (VALUES (TIMESTAMPTZ '2024-01-06 23:30:00-02', 1.0), "
        "(TIMESTAMPTZ '2024-01-08 00:15:00+00', 2.0), (TIMESTAMPTZ '2024-03-09 12:00:00+00', 4.0), "
        "(NULL, 3.0)) AS t(ts, y)"
    )
    engine.con.execute("SET TimeZone = 'America/New_York'")  # components must not follow the session
    engine.execute(
        "CREATE MODEL demo.tz OPTIONS (model_type = 'linear_reg', input_label_cols = ['y'], "
        "data_split_method = 'NO_SPLIT') AS SELECT * FROM raw.tz"
    )
    info = {r["input"]: r for r in engine.execute("SELECT * FROM ML.FEATURE_INFO(MODEL demo.tz)").to_pylist()}
    categories = {
        r["processed_input"]: [c["category"] for c in r["category_weights"]]
        for r in engine.execute("SELECT * FROM ML.WEIGHTS(MODEL demo.tz)").to_pylist()
        if r["category_weights"]
    }
    # In UTC: 2024-01-07 01:30 (a Sunday: BigQuery day 1, first Sunday: week 1), 2024-01-08 00:15
    # (Monday, week 1), 2024-03-09 12:00 (Saturday, week 9); NULL a category of its own (last).
    assert categories["_TS_DOW_ts"] == ["1", "2", "7", None]
    assert categories["_TS_DOM_ts"] == ["7", "8", "9", None]
    assert categories["_TS_WOY_ts"] == ["1", "9", None]
    assert categories["_TS_HOD_ts"] == ["0", "1", "12", None]
    assert categories["_TS_MOH_ts"] == ["0", "15", "30", None]
    assert categories["_TS_MOY_ts"] == ["1", "3", None]
    assert categories["_TS_YEAR_ts"] == ["2024", None]
    # The unix seconds: NULL imputed with the training mean, like any numeric feature.
    assert info["ts"]["null_count"] == 1
    assert info["ts"]["mean"] == pytest.approx((1704591000 + 1704672900 + 1709985600) / 3)


def test_struct_fields_and_array_values_become_features(engine: Engine) -> None:
    engine.con.execute(
        """CREATE TABLE raw.shop AS SELECT * FROM (VALUES
            ({'price': 10.0, 'brand': 'a'}, ['red', 'blue'], 12.0),
            ({'price': 20.0, 'brand': 'b'}, ['red'], 21.0),
            ({'price': 30.0, 'brand': 'a'}, ['green'], 35.0),
            ({'price': 40.0, 'brand': NULL}, NULL, 39.0),
            ({'price': 50.0, 'brand': 'b'}, ['blue', 'green'], 56.0),
            ({'price': 60.0, 'brand': 'a'}, [], 61.0)) AS t(item, tags, y)"""
    )
    engine.execute(
        "CREATE MODEL demo.shop OPTIONS (model_type = 'linear_reg', input_label_cols = ['y'], "
        "data_split_method = 'NO_SPLIT', l2_reg = 0.1) AS SELECT * FROM raw.shop"
    )
    info = engine.execute("SELECT input FROM ML.FEATURE_INFO(MODEL demo.shop)")["input"].to_pylist()
    assert sorted(info) == ["item_brand", "item_price", "tags_blue", "tags_green", "tags_red"]
    weights = {
        r["processed_input"]: r["weight"]
        for r in engine.execute("SELECT * FROM ML.WEIGHTS(MODEL demo.shop)").to_pylist()
    }
    stored = engine.con.execute(
        "SELECT feature_columns, state FROM _ml.models WHERE model = 'shop'"
    ).fetchone()
    assert json.loads(stored[0]) == ["item", "tags"]  # the input columns, as the contract says
    expanded = [c["name"] for c in json.loads(stored[1])["feature_expansion"]]
    assert expanded == ["item_price", "item_brand", "tags_blue", "tags_green", "tags_red"]

    # ML.PREDICT reads the raw STRUCT and ARRAY columns: the prediction is the weights' linear
    # predictor on the original scale, an unseen tag adding nothing.
    row = engine.execute(
        "SELECT * FROM ML.PREDICT(MODEL demo.shop, (SELECT {'price': 25.0, 'brand': 'zzz'} AS item, "
        "['green', 'purple'] AS tags))"
    ).to_pylist()[0]
    expected = weights["__INTERCEPT__"] + 25.0 * weights["item_price"] + weights["tags_green"]
    assert row["predicted_y"] == pytest.approx(expected, abs=1e-9)
    assert list(row)[:3] == ["predicted_y", "item", "tags"]  # input columns unchanged, nothing internal
    assert row["tags"] == ["green", "purple"]


def test_multi_hot_indicators_are_not_standardized(engine: Engine) -> None:
    """A one-feature multi-hot model: its weight is the mean difference between rows with and
    without the value, on the 0/1 scale (no centering or scaling)."""
    engine.con.execute(
        "CREATE TABLE raw.flags AS SELECT CASE WHEN i % 3 = 0 THEN ['on'] ELSE [] END AS flags, "
        "CASE WHEN i % 3 = 0 THEN 5.0 ELSE 1.0 END AS y FROM range(30) AS r(i)"
    )
    engine.execute(
        "CREATE MODEL demo.flags OPTIONS (model_type = 'linear_reg', input_label_cols = ['y'], "
        "data_split_method = 'NO_SPLIT') AS SELECT * FROM raw.flags"
    )
    weights = {
        r["processed_input"]: r["weight"]
        for r in engine.execute(
            "SELECT * FROM ML.WEIGHTS(MODEL demo.flags, STRUCT(TRUE AS standardize))"
        ).to_pylist()
    }
    assert weights["flags_on"] == pytest.approx(4.0) and weights["__INTERCEPT__"] == pytest.approx(1.0)


def test_struct_and_array_features_in_logistic_reg_with_transform(engine: Engine) -> None:
    engine.execute(
        "CREATE MODEL demo.penguin_struct TRANSFORM (STRUCT(bill_length_mm AS bill, island AS island) AS s, "
        "[species, sex] AS words, heavy) "
        "OPTIONS (model_type = 'logistic_reg', input_label_cols = ['heavy'], data_split_method = 'NO_SPLIT') "
        "AS SELECT bill_length_mm, island, species, sex, body_mass_g > 4000 AS heavy FROM raw.penguins "
        "WHERE body_mass_g IS NOT NULL"
    )
    names = set(
        engine.execute("SELECT input FROM ML.FEATURE_INFO(MODEL demo.penguin_struct)")["input"].to_pylist()
    )
    assert {"s_bill", "s_island", "words_Adelie", "words_Gentoo", "words_female", "words_male"} <= names
    evaluation = engine.execute("SELECT accuracy FROM ML.EVALUATE(MODEL demo.penguin_struct)").to_pylist()[0]
    assert evaluation["accuracy"] > 0.8
    predicted = engine.execute(
        "SELECT * FROM ML.PREDICT(MODEL demo.penguin_struct, (SELECT 50.0 AS bill_length_mm, "
        "'Biscoe' AS island, 'Gentoo' AS species, 'male' AS sex))"
    ).to_pylist()[0]
    assert predicted["predicted_heavy"] is True


@pytest.mark.parametrize(
    ("select", "message"),
    [
        ("[1.0, 2.0] AS v", "Feature column v has type DECIMAL(2,1)[]"),
        ("{'a': {'b': 1}} AS s", "nested STRUCT"),
        ("{'b': 1} AS a, 2 AS a_b", "clashes"),
    ],
)
def test_unsupported_shapes_name_the_column(engine: Engine, select: str, message: str) -> None:
    with pytest.raises(MLError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        engine.execute(
            f"CREATE MODEL demo.bad OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) "
            f"AS SELECT {select}, 1.0 AS y"
        )


@pytest.mark.parametrize(
    ("model_type", "options"),
    [
        ("kmeans", "num_clusters = 2"),
        ("boosted_tree_regressor", "input_label_cols = ['y'], max_iterations = 3"),
    ],
)
def test_other_model_types_take_struct_and_array_features(
    engine: Engine, model_type: str, options: str
) -> None:
    """Only GLMs get the TIMESTAMP transformation; STRUCT and ARRAY expand for every model type.
    Internal columns of the expansion and of the model's own layers do not collide, and an input
    column named like a template's lambda parameter (`s`) is harmless."""
    engine.con.execute(
        "CREATE TABLE raw.mixed AS SELECT TIMESTAMP '2024-01-01' + INTERVAL (i * 7) HOUR AS ts, "
        "{'a': i % 5, 'b': CASE WHEN i % 2 = 0 THEN 'x' ELSE 'y' END} AS st, "
        "CASE WHEN i % 3 = 0 THEN ['p', 'q'] ELSE ['q'] END AS tags, (i % 7) / 7 AS s, "
        "(i % 5) * 1.5 + (i % 3 = 0)::INT * 2.0 AS y FROM range(120) AS r(i)"
    )
    columns = "ts, st, tags, s" + (", y" if "input_label_cols" in options else "")
    engine.execute(
        f"CREATE MODEL demo.mixed OPTIONS (model_type = '{model_type}', {options}) AS "
        f"SELECT {columns} FROM raw.mixed"
    )
    names = set(engine.execute("SELECT input FROM ML.FEATURE_INFO(MODEL demo.mixed)")["input"].to_pylist())
    assert names == {"ts", "st_a", "st_b", "tags_p", "tags_q", "s"}
    predicted = engine.execute("SELECT * FROM ML.PREDICT(MODEL demo.mixed, TABLE raw.mixed)")
    assert predicted.num_rows == 120
    assert predicted.column_names[-5:] == ["ts", "st", "tags", "s", "y"]
