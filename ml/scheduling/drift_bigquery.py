"""The drift gate on BigQuery: BigQuery ML's own ML.VALIDATE_DATA_SKEW.

BigQuery keeps the training data's statistics in the model itself (ML.FEATURE_INFO shows a part)
and ML.VALIDATE_DATA_SKEW compares recent data with them, per feature. The local gate's PSI needs
per-category training counts the engine keeps and BigQuery does not expose, so on BigQuery the
figure is BigQuery's: the Jensen-Shannon divergence for every feature (asked for explicitly, so
categorical and numeric features are on one scale), and the job's threshold is BigQuery's, in
[0, 1). The gate's verdict is the same: the largest feature figure against the threshold.
"""

from __future__ import annotations

from typing import Any

from ml.errors import MLError
from ml.names import parse_model_path
from ml.registry.bigquery import BigQueryBackend
from ml.registry.registry import parse_model
from ml.scheduling.drift import DriftReport

METRIC = "JENSEN_SHANNON_DIVERGENCE"


def check_threshold(job: str, threshold: float) -> None:
    """BigQuery takes thresholds in [0, 1) only; a job's PSI threshold may be larger."""
    if not 0.0 <= threshold < 1.0:
        raise MLError(
            f"job {job!r}: drift.threshold {threshold} is not in [0, 1): on BigQuery it is "
            "ML.VALIDATE_DATA_SKEW's Jensen-Shannon divergence threshold"
        )


def skew_query(model_sql: str, relation_sql: str, threshold: float) -> str:
    """ML.VALIDATE_DATA_SKEW of the model's serving data `relation_sql`, one row per feature."""
    return (
        f"SELECT input, metric, threshold, value, is_anomaly FROM ML.VALIDATE_DATA_SKEW(MODEL {model_sql}, "
        f"TABLE {relation_sql}, STRUCT({threshold!r} AS categorical_default_threshold, "
        f"'{METRIC}' AS categorical_metric_type, {threshold!r} AS numerical_default_threshold, "
        f"'{METRIC}' AS numerical_metric_type))"
    )


def skew_report(model: str, rows: list[dict[str, Any]]) -> DriftReport:
    """The gate's report from ML.VALIDATE_DATA_SKEW's rows (a feature without a value: not compared)."""
    report = DriftReport(model, None, metric="divergence")
    for row in rows:
        if row["value"] is None:
            report.not_compared.append(row["input"])
            continue
        report.features[row["input"]] = {
            "kind": row["metric"].lower(),
            "divergence": float(row["value"]),
            "is_anomaly": bool(row["is_anomaly"]),
        }
    return report


def measure(backend: BigQueryBackend, model: str, relation: str, threshold: float) -> DriftReport:
    """Score every feature of `model` (dataset.name, the champion's plain name) on `relation`."""
    recent = backend.relation_sql(parse_model_path(relation.split(".")))
    query = skew_query(backend.model_sql(parse_model(model)), recent, threshold)
    return skew_report(model, backend.ml_rows(query))
