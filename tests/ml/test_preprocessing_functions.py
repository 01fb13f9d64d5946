"""BigQuery ML's preprocessing functions in a plain SELECT: each reference page's example statement
as written, its printed output, NULLs, PARTITION BY, and agreement with the TRANSFORM form."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from ml import Engine, MLError
from ml.preprocessing.transform import compile_transform

PAGES = "https://cloud.google.com/bigquery/docs/reference/standard-sql/"


def rows(table: pa.Table) -> list[tuple]:
    return [tuple(r.values()) for r in table.to_pylist()]


def test_standard_scaler_page_example(engine: Engine) -> None:
    # PAGES + "bigqueryml-syntax-standard-scaler"
    result = engine.execute(
        """SELECT
  f, ML.STANDARD_SCALER(f) OVER() AS output
FROM
  UNNEST([1,2,3,4,5]) AS f;"""
    )
    assert result.schema.field("output").type == pa.float64()
    assert sorted(rows(result)) == [
        (1, -1.2649110640673518),
        (2, -0.6324555320336759),
        (3, 0.0),
        (4, 0.6324555320336759),
        (5, 1.2649110640673518),
    ]


def test_min_max_scaler_page_example(engine: Engine) -> None:
    # PAGES + "bigqueryml-syntax-min-max-scaler"
    result = engine.execute(
        """SELECT
  f, ML.MIN_MAX_SCALER(f) OVER() AS output
FROM
  UNNEST([1,2,3,4,5]) AS f;"""
    )
    assert result.schema.field("output").type == pa.float64()
    assert sorted(rows(result)) == [(1, 0.0), (2, 0.25), (3, 0.5), (4, 0.75), (5, 1.0)]


def test_scalers_keep_null_inputs_null(engine: Engine) -> None:
    result = engine.execute(
        "SELECT ML.STANDARD_SCALER(f) OVER () AS z, ML.MIN_MAX_SCALER(f) OVER () AS m, "
        "ML.QUANTILE_BUCKETIZE(f, 2) OVER () AS q FROM UNNEST([NULL, 1, 2]) AS f ORDER BY f"
    )
    assert rows(result)[0] == (None, None, None)


def test_max_abs_scaler_page_example(engine: Engine) -> None:
    # PAGES + "bigqueryml-syntax-max-abs-scaler"
    result = engine.execute(
        """SELECT f, ML.MAX_ABS_SCALER(f) OVER () AS output
FROM
  UNNEST([NULL, -3, 1, 2, 3, 4, 5]) AS f
ORDER BY f;"""
    )
    assert result.schema.field("output").type == pa.float64()
    assert rows(result) == [
        (None, None),
        (-3, -0.6),
        (1, 0.2),
        (2, 0.4),
        (3, 0.6),
        (4, 0.8),
        (5, 1.0),
    ]


def test_robust_scaler_page_example(engine: Engine) -> None:
    # PAGES + "bigqueryml-syntax-robust-scaler"
    result = engine.execute(
        """SELECT f, ML.ROBUST_SCALER(f) OVER () AS output
FROM
  UNNEST([NULL, -3, 1, 2, 3, 4, 5]) AS f
ORDER BY f;"""
    )
    assert result.schema.field("output").type == pa.float64()
    assert rows(result) == [
        (None, None),
        (-3, -1.6666666666666667),
        (1, -0.3333333333333333),
        (2, 0.0),
        (3, 0.3333333333333333),
        (4, 0.6666666666666666),
        (5, 1.0),
    ]


def test_robust_scaler_options(engine: Engine) -> None:
    # [-3, 1, 2, 3, 4, 5]: discrete quantiles 10% = -3, median 2, 90% = 5.
    result = engine.execute(
        "SELECT f, ML.ROBUST_SCALER(f, [10, 90]) OVER () AS wide, "
        "ML.ROBUST_SCALER(f, [25, 75], FALSE) OVER () AS uncentred, "
        "ML.ROBUST_SCALER(f, [25, 75], TRUE, FALSE) OVER () AS centred "
        "FROM UNNEST([-3, 1, 2, 3, 4, 5]) AS f ORDER BY f"
    )
    assert rows(result)[0] == (-3, -5 / 8, -1.0, -5.0)
    with pytest.raises(MLError, match="ROBUST_SCALER"):
        engine.execute("SELECT ML.ROBUST_SCALER(f, [75, 25]) OVER () FROM UNNEST([1, 2]) AS f")


def test_bucketize_page_example(engine: Engine) -> None:
    # PAGES + "bigqueryml-syntax-bucketize"
    result = engine.execute(
        """SELECT
  ML.BUCKETIZE(2.5, [1, 2, 3]) AS bucket,
  ML.BUCKETIZE(2.5, [1, 2, 3], TRUE) AS bucket_without_boundaries,
  ML.BUCKETIZE(2.5, [1, 2, 3], FALSE, "bucket_ranges") AS bucket_ranges,
  ML.BUCKETIZE(2.5, [1, 2, 3], FALSE, "bucket_ranges_json") AS bucket_ranges_json;"""
    )
    assert all(t == pa.string() for t in result.schema.types)
    assert rows(result) == [("bin_3", "bin_2", "[2, 3)", '{"start": "2", "end": "3"}')]


def test_bucketize_edges_and_nulls(engine: Engine) -> None:
    result = engine.execute(
        "SELECT f, ML.BUCKETIZE(f, [1.5, 3]) AS name, ML.BUCKETIZE(f, [1.5, 3], FALSE, 'bucket_ranges') AS r "
        "FROM UNNEST([NULL, 0, 1.5, 3, 7]) AS f ORDER BY f"
    )
    assert rows(result) == [
        (None, None, None),
        (0, "bin_1", "(-inf, 1.5)"),
        (1.5, "bin_2", "[1.5, 3)"),
        (3, "bin_3", "[3, +inf)"),
        (7, "bin_3", "[3, +inf)"),
    ]


def test_quantile_bucketize_page_example(engine: Engine) -> None:
    # PAGES + "bigqueryml-syntax-quantile-bucketize"
    result = engine.execute(
        """SELECT
  f,
  ML.QUANTILE_BUCKETIZE(f, 3) OVER() AS bucket,
  ML.QUANTILE_BUCKETIZE(f, 3, "bucket_ranges") OVER() AS bucket_ranges,
  ML.QUANTILE_BUCKETIZE(f, 3, "bucket_ranges_json") OVER() AS bucket_ranges_json
FROM
  UNNEST([1,2,3,4,5]) AS f
ORDER BY f;"""
    )
    assert rows(result) == [
        (1, "bin_1", "(-inf, 2)", '{"start": "-Infinity", "end": "2"}'),
        (2, "bin_2", "[2, 4)", '{"start": "2", "end": "4"}'),
        (3, "bin_2", "[2, 4)", '{"start": "2", "end": "4"}'),
        (4, "bin_3", "[4, +inf)", '{"start": "4", "end": "Infinity"}'),
        (5, "bin_3", "[4, +inf)", '{"start": "4", "end": "Infinity"}'),
    ]


def test_imputer_page_examples(engine: Engine) -> None:
    # PAGES + "bigqueryml-syntax-imputer"
    numbers = engine.execute(
        """SELECT f, ML.IMPUTER(f, 'mean') OVER () AS output
FROM
  UNNEST([NULL, -3, -3, -3, 1, 2, 3, 4, 5]) AS f
ORDER BY f;"""
    )
    assert numbers.schema.field("output").type == pa.float64()
    assert rows(numbers) == [
        (None, 0.75),
        (-3, -3.0),
        (-3, -3.0),
        (-3, -3.0),
        (1, 1.0),
        (2, 2.0),
        (3, 3.0),
        (4, 4.0),
        (5, 5.0),
    ]
    strings = engine.execute(
        """SELECT f, ML.IMPUTER(f, 'most_frequent') OVER () AS output
FROM
  UNNEST([NULL, NULL, NULL, NULL, 'a', 'a', 'b', 'b', 'c', 'c', 'c']) AS f
ORDER BY f;"""
    )
    assert rows(strings) == [(None, "c")] * 4 + [("a", "a")] * 2 + [("b", "b")] * 2 + [("c", "c")] * 3


def test_partition_by_scales_each_group_on_its_own(engine: Engine) -> None:
    result = engine.execute(
        "SELECT g, f, ML.STANDARD_SCALER(f) OVER (PARTITION BY g) AS z, "
        "ML.MIN_MAX_SCALER(f) OVER (PARTITION BY g) AS m, ML.IMPUTER(f, 'median') OVER (PARTITION BY g) AS i "
        "FROM (SELECT 'a' AS g, 1 AS f UNION ALL SELECT 'a', 3 UNION ALL SELECT 'a', NULL "
        "UNION ALL SELECT 'b', 10 UNION ALL SELECT 'b', 10) ORDER BY g, f"
    )
    assert rows(result) == [
        ("a", None, None, None, 2.0),
        ("a", 1, -1 / 2**0.5, 0.0, 1.0),
        ("a", 3, 1 / 2**0.5, 1.0, 3.0),
        # Zero variance and zero range: the values are only shifted, not turned into NaN.
        ("b", 10, 0.0, 0.0, 10.0),
        ("b", 10, 0.0, 0.0, 10.0),
    ]


def test_call_forms_are_checked(engine: Engine) -> None:
    with pytest.raises(MLError, match="needs an OVER"):
        engine.execute("SELECT ML.STANDARD_SCALER(f) FROM UNNEST([1, 2]) AS f")
    with pytest.raises(MLError, match="takes no OVER"):
        engine.execute("SELECT ML.BUCKETIZE(f, [1]) OVER () FROM UNNEST([1, 2]) AS f")
    with pytest.raises(MLError, match="without ORDER BY"):
        engine.execute("SELECT ML.MIN_MAX_SCALER(f) OVER (ORDER BY f) FROM UNNEST([1, 2]) AS f")
    with pytest.raises(MLError, match="ascending"):
        engine.execute("SELECT ML.BUCKETIZE(1, [3, 2])")


def test_standalone_form_equals_the_transform_form(engine: Engine, con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TABLE raw.small AS SELECT * FROM (VALUES (1.5), (2), (NULL), (7), (7), (-4)) AS t(f)")
    items = (
        "ML.STANDARD_SCALER(f) OVER () AS z, ML.MIN_MAX_SCALER(f) OVER () AS m, "
        "ML.MAX_ABS_SCALER(f) OVER () AS a, ML.ROBUST_SCALER(f, [20, 80]) OVER () AS r, "
        "ML.IMPUTER(f, 'median') OVER () AS i, ML.QUANTILE_BUCKETIZE(f, 4, 'bucket_ranges') OVER () AS q, "
        "ML.BUCKETIZE(f, [0, 2], TRUE, 'bucket_ranges_json') AS b"
    )
    source = "SELECT f FROM raw.small"
    compiled = compile_transform(items, source, ["f"], [], lambda sql: con.execute(sql).fetchall()[0])
    select = ", ".join(f'{expr} AS "{name}"' for name, expr in compiled.items)
    transformed = con.execute(f"SELECT f, {select} FROM ({source}) ORDER BY f NULLS FIRST").fetchall()
    standalone = rows(engine.execute(f"SELECT f, {items} FROM raw.small ORDER BY f"))
    assert standalone == [pytest.approx(row) for row in transformed]
