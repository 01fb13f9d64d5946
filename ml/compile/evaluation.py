"""Evaluation templates in SQL: metrics, confusion matrix and ROC curve over a scored relation.

Each function takes the scored relation (a predict template keeping its internal columns) and SQL
expressions over it; the result reads the template's input through it and returns BigQuery's columns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ml.compile.placeholders import ROC_THRESHOLDS
from ml.literals import float_literal, typed_literal, values_relation
from ml.names import quote_ident

ROC_QUANTILES = 100
LOG_LOSS_EPSILON = 1e-15
# ML.EVALUATE columns where smaller is better; every other metric is better when larger.
LOWER_IS_BETTER = frozenset(
    {
        "mean_absolute_error",
        "mean_squared_error",
        "mean_squared_log_error",
        "median_absolute_error",
        "log_loss",
        "davies_bouldin_index",
        "mean_squared_distance",
    }
)


@dataclass
class Classes:
    """A classifier's labels as SQL: the label column, its type, and the class values ascending."""

    label: str
    duck_type: str
    values: list[Any]

    def literal(self, index: int) -> str:
        return typed_literal(self.values[index], self.duck_type)


def regression_metrics(scored: str, label: str, predicted: str) -> str:
    """ML.EVALUATE of a regression model."""
    y, p = "__ml_y", "__ml_p"
    msle = (
        f"CASE WHEN min(least({y}, {p})) > -1 THEN avg(pow(ln(greatest(1 + {y}, 1e-300)) - "
        f"ln(greatest(1 + {p}, 1e-300)), 2)) END"
    )
    return (
        f"SELECT avg(abs({y} - {p})) AS mean_absolute_error, avg(pow({y} - {p}, 2)) AS mean_squared_error, "
        f"{msle} AS mean_squared_log_error, median(abs({y} - {p})) AS median_absolute_error, "
        f"1 - avg(pow({y} - {p}, 2)) / nullif(var_pop({y}), 0) AS r2_score, "
        f"1 - var_pop({y} - {p}) / nullif(var_pop({y}), 0) AS explained_variance "
        f"FROM (SELECT CAST({quote_ident(label)} AS DOUBLE) AS {y}, "
        f"CAST({quote_ident(predicted)} AS DOUBLE) AS {p} "
        f"FROM ({scored}) AS __ml_eval WHERE {quote_ident(label)} IS NOT NULL) AS __ml_pairs"
    )


def _rows_cte(scored: str, classes: Classes, predicted: str, probs: Sequence[str]) -> str:
    columns = ", ".join(f"{expr} AS __ml_p{k}" for k, expr in enumerate(probs))
    return (
        f"__ml_rows AS (SELECT {quote_ident(classes.label)} AS __ml_label, "
        f"{predicted} AS __ml_pred, {columns} "
        f"FROM ({scored}) AS __ml_eval WHERE {quote_ident(classes.label)} IS NOT NULL)"
    )


def classification_metrics(
    scored: str, classes: Classes, predicted: str, probs: Sequence[str], threshold: str | None
) -> str:
    """ML.EVALUATE of a classifier: positive-class metrics when binary, macro averages otherwise.

    `probs[k]` is the probability of class k; a binary model (given its `threshold`) predicts
    the positive class when its probability is above the threshold.
    """
    metric_classes = [len(classes.values) - 1] if threshold else range(len(classes.values))
    long_rows = " UNION ALL ".join(
        f"SELECT {k} AS __ml_class, __ml_label = {classes.literal(k)} AS __ml_y, __ml_p{k} AS __ml_p, "
        f"{f'__ml_p{k} > {threshold}' if threshold else f'__ml_pred = {classes.literal(k)}'} "
        f"AS __ml_hit FROM __ml_rows"
        for k in metric_classes
    )
    true_prob = (
        "CASE __ml_label "
        + " ".join(f"WHEN {classes.literal(k)} THEN __ml_p{k}" for k in range(len(classes.values)))
        + " END"
    )
    low, high = float_literal(LOG_LOSS_EPSILON), float_literal(1 - LOG_LOSS_EPSILON)
    clipped = f"greatest(least({true_prob}, {high}), {low})"
    return f"""WITH {_rows_cte(scored, classes, predicted, probs)},
__ml_long AS ({long_rows}),
__ml_ranked AS (SELECT *, rank() OVER (PARTITION BY __ml_class ORDER BY __ml_p)
    + (count(*) OVER (PARTITION BY __ml_class, __ml_p) - 1) / 2.0 AS __ml_rank FROM __ml_long),
__ml_counts AS (SELECT __ml_class,
    CAST(count(*) FILTER (__ml_y AND __ml_hit) AS DOUBLE) AS tp,
    CAST(count(*) FILTER (NOT __ml_y AND __ml_hit) AS DOUBLE) AS fp,
    CAST(count(*) FILTER (__ml_y) AS DOUBLE) AS pos,
    CAST(count(*) FILTER (NOT __ml_y) AS DOUBLE) AS neg,
    sum(__ml_rank) FILTER (__ml_y) AS rank_sum
  FROM __ml_ranked GROUP BY __ml_class),
__ml_scores AS (SELECT
    CASE WHEN tp + fp > 0 THEN tp / (tp + fp) ELSE 0 END AS precision,
    CASE WHEN pos > 0 THEN tp / pos ELSE 0 END AS recall,
    CASE WHEN pos > 0 AND neg > 0 THEN (rank_sum - pos * (pos + 1) / 2) / (pos * neg) END AS auc
  FROM __ml_counts)
SELECT avg(precision) AS precision, avg(recall) AS recall,
  (SELECT avg(CAST(__ml_label = __ml_pred AS DOUBLE)) FROM __ml_rows) AS accuracy,
  avg(CASE WHEN precision + recall > 0 THEN 2 * precision * recall / (precision + recall) ELSE 0 END)
    AS f1_score,
  (SELECT -avg(ln({clipped})) FROM __ml_rows) AS log_loss,
  avg(auc) AS roc_auc
FROM __ml_scores"""


def sanitize_column(label: Any) -> str:
    """BigQuery's column name for a class: non-word characters become `_`, a digit gets a `_` prefix."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", str(label).lower() if isinstance(label, bool) else str(label))
    return f"_{name}" if not name or name[0].isdigit() else name


def confusion_matrix(scored: str, classes: Classes, predicted: str, probs: Sequence[str]) -> str:
    """ML.CONFUSION_MATRIX: one row per actual label, one count column per class."""
    counts = ", ".join(
        f"count(*) FILTER (__ml_pred = {classes.literal(k)}) AS {quote_ident(sanitize_column(v))}"
        for k, v in enumerate(classes.values)
    )
    return (
        f"WITH {_rows_cte(scored, classes, predicted, probs)} "
        f"SELECT __ml_label AS expected_label, {counts} "
        "FROM __ml_rows GROUP BY __ml_label ORDER BY __ml_label"
    )


def roc_curve(scored: str, classes: Classes, positive_prob: str) -> str:
    """ML.ROC_CURVE of a binary classifier, at the caller's thresholds (ROC_THRESHOLDS) or,
    when that is NULL, at percentiles of the positive-class probability."""
    quantiles = ", ".join(float_literal(q / ROC_QUANTILES) for q in range(ROC_QUANTILES + 1))
    return f"""WITH __ml_rows AS (SELECT {quote_ident(classes.label)} = {classes.literal(1)} AS __ml_y,
    {positive_prob} AS __ml_p FROM ({scored}) AS __ml_eval WHERE {quote_ident(classes.label)} IS NOT NULL),
__ml_thresholds AS (SELECT DISTINCT unnest(coalesce(CAST({ROC_THRESHOLDS} AS DOUBLE[]),
    quantile_disc(__ml_p, [{quantiles}]))) AS threshold FROM __ml_rows),
__ml_points AS (SELECT threshold,
    count(*) FILTER (__ml_y AND __ml_p > threshold) AS true_positives,
    count(*) FILTER (NOT __ml_y AND __ml_p > threshold) AS false_positives,
    count(*) FILTER (NOT __ml_y AND __ml_p <= threshold) AS true_negatives,
    count(*) FILTER (__ml_y AND __ml_p <= threshold) AS false_negatives
  FROM __ml_thresholds CROSS JOIN __ml_rows GROUP BY threshold)
SELECT threshold,
  CAST(true_positives AS DOUBLE) / nullif(true_positives + false_negatives, 0) AS recall,
  CAST(false_positives AS DOUBLE) / nullif(false_positives + true_negatives, 0) AS false_positive_rate,
  true_positives, false_positives, true_negatives, false_negatives
FROM __ml_points ORDER BY threshold"""


def kmeans_metrics(scored: str, nearest: str, centroid_distances: Sequence[tuple[int, int, float]]) -> str:
    """ML.EVALUATE of k-means: Davies-Bouldin index and mean squared distance to the nearest centroid."""
    between = values_relation([("k", "BIGINT"), ("l", "BIGINT"), ("d", "DOUBLE")], centroid_distances)
    return f"""WITH __ml_rows AS (
    SELECT CENTROID_ID AS __ml_c, {nearest} AS __ml_d FROM ({scored}) AS __ml_eval),
__ml_spread AS (SELECT __ml_c, avg(__ml_d) AS s FROM __ml_rows GROUP BY __ml_c),
__ml_between AS ({between}),
__ml_ratios AS (SELECT a.__ml_c, max((a.s + b.s) / nullif(m.d, 0)) AS r FROM __ml_spread AS a
    JOIN __ml_between AS m ON m.k = a.__ml_c JOIN __ml_spread AS b ON b.__ml_c = m.l GROUP BY a.__ml_c)
SELECT (SELECT avg(r) FROM __ml_ratios) AS davies_bouldin_index,
  (SELECT avg(__ml_d * __ml_d) FROM __ml_rows) AS mean_squared_distance"""
