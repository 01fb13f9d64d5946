"""Inspection functions whose answer is fixed at training time, as constant relations with
BigQuery's columns: ML.TRAINING_INFO, ML.FEATURE_INFO, ML.WEIGHTS, ML.CENTROIDS."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ml.estimators.kmeans import KMeans
from ml.estimators.optim import Iteration
from ml.literals import values_relation
from ml.preprocessing.automatic import CategoricalFeature, NumericFeature, Preprocessor

CATEGORY_WEIGHTS = "STRUCT(category VARCHAR, weight DOUBLE)[]"
CLUSTER_INFO = "STRUCT(centroid_id BIGINT, cluster_radius DOUBLE, cluster_size BIGINT)[]"
INTERCEPT = "__INTERCEPT__"


def training_info(history: Sequence[Iteration]) -> str:
    """ML.TRAINING_INFO of a GLM: one row per iteration."""
    columns = [
        ("training_run", "BIGINT"),
        ("iteration", "BIGINT"),
        ("loss", "DOUBLE"),
        ("eval_loss", "DOUBLE"),
        ("learning_rate", "DOUBLE"),
        ("duration_ms", "BIGINT"),
    ]
    rows = [(0, h.iteration, h.loss, h.eval_loss, h.learning_rate, h.duration_ms) for h in history]
    return values_relation(columns, rows) + " ORDER BY iteration"


def kmeans_training_info(history: Sequence[dict[str, Any]]) -> str:
    """ML.TRAINING_INFO of k-means: loss is the mean squared distance; cluster_info per iteration."""
    columns = [
        ("training_run", "BIGINT"),
        ("iteration", "BIGINT"),
        ("loss", "DOUBLE"),
        ("eval_loss", "DOUBLE"),
        ("duration_ms", "BIGINT"),
        ("cluster_info", CLUSTER_INFO),
    ]
    rows = [
        (
            0,
            h["iteration"],
            h["loss"],
            None,
            h["duration_ms"],
            [{"centroid_id": c, "cluster_radius": r, "cluster_size": s} for c, r, s in h["clusters"]],
        )
        for h in history
    ]
    return values_relation(columns, rows) + " ORDER BY iteration"


def feature_info(pre: Preprocessor) -> str:
    """ML.FEATURE_INFO: statistics of every input feature over the training rows."""
    columns = [
        ("input", "VARCHAR"),
        ("min", "DOUBLE"),
        ("max", "DOUBLE"),
        ("mean", "DOUBLE"),
        ("median", "DOUBLE"),
        ("stddev", "DOUBLE"),
        ("category_count", "BIGINT"),
        ("null_count", "BIGINT"),
        ("dimension", "BIGINT"),
    ]
    rows = []
    for f in pre.features:
        if isinstance(f, NumericFeature):
            rows.append((f.name, f.min, f.max, f.mean, f.median, f.stddev, None, f.null_count, 1))
        else:
            rows.append(
                (
                    f.name,
                    None,
                    None,
                    None,
                    None,
                    None,
                    len([c for c in f.categories if c is not None]),
                    f.null_count,
                    1,
                )
            )
    return values_relation(columns, rows)


def _feature_weights(pre: Preprocessor, coef: np.ndarray, intercept: float, standardize: bool) -> list[tuple]:
    """(processed_input, weight, category_weights) rows for one weight vector."""
    rows, j, constant = [], 0, float(intercept)
    for feature in pre.numeric:
        weight = float(coef[j]) if standardize else float(coef[j]) / feature.stddev
        if not standardize:
            constant -= weight * feature.mean
        rows.append((feature.name, weight, []))
        j += 1
    for feature in pre.categorical:
        rows.append((feature.name, None, _category_weights(feature, coef[j : j + len(feature.encoded)])))
        j += len(feature.encoded)
    rows.append((INTERCEPT, constant, []))
    return rows


def _category_weights(feature: CategoricalFeature, values: np.ndarray) -> list[dict[str, Any]]:
    by_category = dict(zip(feature.encoded, values.tolist(), strict=True))
    return [{"category": c, "weight": float(by_category.get(c, 0.0))} for c in feature.categories]


def weights(
    pre: Preprocessor,
    coef: np.ndarray,
    intercept: Any,
    standardize: bool,
    class_labels: Sequence[str] | None = None,
) -> str:
    """ML.WEIGHTS; `standardize` gives the weights of the standardized features (BigQuery's
    STRUCT(TRUE AS standardize)). Multiclass models get a class_label column, one row per class."""
    base = [("processed_input", "VARCHAR"), ("weight", "DOUBLE"), ("category_weights", CATEGORY_WEIGHTS)]
    if class_labels is None:
        return values_relation(base, _feature_weights(pre, coef, float(intercept), standardize))
    rows = [
        (name, label, weight, cats)
        for c, label in enumerate(class_labels)
        for name, weight, cats in _feature_weights(pre, coef[:, c], float(intercept[c]), standardize)
    ]
    return values_relation([base[0], ("class_label", "VARCHAR"), *base[1:]], rows)


def centroids(pre: Preprocessor, model: KMeans) -> str:
    """ML.CENTROIDS: one row per centroid and feature, numeric values on the original scale."""
    columns = [
        ("centroid_id", "BIGINT"),
        ("feature", "VARCHAR"),
        ("numerical_value", "DOUBLE"),
        ("categorical_value", "STRUCT(category VARCHAR, value DOUBLE)[]"),
    ]
    rows = []
    for k, center in enumerate(model.cluster_centers_):
        j = 0
        for f in pre.numeric:
            value = center[j] * f.stddev + f.mean if pre.standardize else center[j]
            rows.append((k + 1, f.name, float(value), []))
            j += 1
        for f in pre.categorical:
            block = center[j : j + len(f.encoded)]
            rows.append(
                (
                    k + 1,
                    f.name,
                    None,
                    [{"category": c, "value": float(v)} for c, v in zip(f.encoded, block, strict=True)],
                )
            )
            j += len(f.encoded)
    return values_relation(columns, rows) + " ORDER BY centroid_id, feature"
