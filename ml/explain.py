"""ML.GLOBAL_EXPLAIN and the explain_predict templates, computed when a model is trained.

Tree models' attributions come from the tree SHAP UDF (ml/udf.py), GLMs' from exact SQL
(ml/compile/explain.py)."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from ml.compile.explain import TOP_K, global_explain
from ml.compile.layers import INPUT, THRESHOLD
from ml.compile.literals import float_literal


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


def explain_templates(
    con: duckdb.DuckDBPyConnection,
    explain_template: str,
    training_rows: str,
    feature_names: Sequence[str],
    predicted: str | None,
    enable_global_explain: bool,
) -> tuple[dict[str, str], dict[str, str]]:
    """The explain_predict template (input only) and, when enabled, the ML.GLOBAL_EXPLAIN
    relations computed now over `training_rows` (raw input rows of the training split)."""
    fixed: dict[str, str] = {}
    if enable_global_explain:
        every_feature = (
            explain_template.replace(INPUT, f"({training_rows})")
            .replace(TOP_K, str(len(feature_names)))
            .replace(THRESHOLD, float_literal(0.5))
        )
        rows, class_rows = global_attributions(con, every_feature, feature_names, predicted)
        fixed = global_explain(rows, class_rows)
    return {"explain_predict": explain_template}, fixed
