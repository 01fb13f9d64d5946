"""ML.GLOBAL_EXPLAIN, computed when a model is trained: the mean absolute attribution of each
feature (and per predicted class) over the training split, from the model's own ML.EXPLAIN_PREDICT
template, as constant relations."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from ml.compile.placeholders import INPUT, THRESHOLD, TOP_K
from ml.literals import float_literal, values_relation


def global_attributions(
    con: duckdb.DuckDBPyConnection, explain_rows: str, feature_names: Sequence[str], predicted: str | None
) -> tuple[list[tuple[str, float]], list[tuple[str, str, float]] | None]:
    """Mean |attribution| per feature over `explain_rows` (an ML.EXPLAIN_PREDICT result listing
    every feature); per predicted class too when `predicted` names the class column. One pass:
    the explanation runs once, both groupings come out of GROUPING SETS."""
    rows = con.execute(
        f"""WITH __ml_u AS (SELECT {predicted or "NULL"} AS __ml_class,
    unnest(top_feature_attributions) AS __ml_a FROM ({explain_rows}) AS __ml_e)
SELECT CAST(__ml_class AS VARCHAR), __ml_a.feature, avg(abs(__ml_a.attribution)), grouping(__ml_class)
FROM __ml_u GROUP BY GROUPING SETS ((__ml_a.feature), (__ml_class, __ml_a.feature))"""
    ).fetchall()
    overall = {f: a for _, f, a, rolled_up in rows if rolled_up}
    features = [(f, float(overall.get(f, 0.0))) for f in feature_names]
    if not predicted:
        return features, None
    return features, [(c, f, float(a)) for c, f, a, rolled_up in rows if not rolled_up]


def global_explain_templates(
    con: duckdb.DuckDBPyConnection,
    explain_template: str,
    training_rows: str,
    feature_names: Sequence[str],
    predicted: str | None,
) -> dict[str, str]:
    """The ML.GLOBAL_EXPLAIN relations, computed now by running `explain_template` (every feature,
    default threshold) over `training_rows` (raw input rows of the training split)."""
    every_feature = (
        explain_template.replace(INPUT, f"({training_rows})")
        .replace(TOP_K, str(len(feature_names)))
        .replace(THRESHOLD, float_literal(0.5))
    )
    rows, class_rows = global_attributions(con, every_feature, feature_names, predicted)
    return global_explain(rows, class_rows)


def global_explain(
    rows: Sequence[tuple[str, float]], class_rows: Sequence[tuple[str, str, float]] | None
) -> dict[str, str]:
    """ML.GLOBAL_EXPLAIN relations: mean |attribution| per feature (and per class), descending."""
    templates = {
        "global_explain": values_relation([("feature", "VARCHAR"), ("attribution", "DOUBLE")], rows)
        + " ORDER BY attribution DESC"
    }
    if class_rows is not None:
        templates["global_explain_class_level"] = (
            values_relation(
                [("class_label", "VARCHAR"), ("feature", "VARCHAR"), ("attribution", "DOUBLE")], class_rows
            )
            + " ORDER BY class_label, attribution DESC"
        )
    return templates
