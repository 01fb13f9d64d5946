"""k-means as SQL: distances to every centroid over the processed features, then the nearest."""

from __future__ import annotations

import numpy as np

from ml.compile import evaluation
from ml.compile.layers import FeatureLayer, Scoring
from ml.estimators.kmeans import KMeans
from ml.literals import float_literal
from ml.preprocessing.automatic import Preprocessor, categorical_case


def _distance_sql(pre: Preprocessor, refs: dict[str, str], centroid: np.ndarray, cosine: bool) -> str:
    numeric = [f"__ml_x{j}" for j in range(len(pre.numeric))]
    offset, blocks = len(numeric), []
    for feature in pre.categorical:
        width = len(feature.encoded)
        blocks.append((feature, centroid[offset : offset + width]))
        offset += width
    if cosine:
        dot = [f"{x} * {float_literal(c)}" for x, c in zip(numeric, centroid, strict=False)]
        dot += [categorical_case(f, refs[f.name], values) for f, values in blocks]
        norm = [f"{x} * {x}" for x in numeric]
        norm += [categorical_case(f, refs[f.name], np.ones(len(f.encoded))) for f, _ in blocks]
        length = float(np.linalg.norm(centroid)) or 1.0
        lengths = f"sqrt({' + '.join(norm)}) * {float_literal(length)}"
        cos = f"coalesce(({' + '.join(dot)}) / nullif({lengths}, 0), 0)"
        return f"sqrt(greatest(0e0, 1 - {cos}))"
    squares = [f"pow({x} - {float_literal(c)}, 2)" for x, c in zip(numeric, centroid, strict=False)]
    for feature, values in blocks:
        # |onehot - c|^2 = sum(c^2) + (1 - 2 c_x) for the row's category x (just sum(c^2) if unseen).
        squares.append(
            f"({float_literal(float(values @ values))} + "
            f"{categorical_case(feature, refs[feature.name], 1.0 - 2.0 * values)})"
        )
    return f"sqrt(greatest(0e0, {' + '.join(squares)}))"


def kmeans_scoring(pre: Preprocessor, features: FeatureLayer, model: KMeans) -> Scoring:
    """ML.PREDICT of k-means: CENTROID_ID and NEAREST_CENTROIDS_DISTANCE (all centroids, nearest first)."""
    processed = [(f"__ml_x{j}", pre.numeric_sql(f, features.refs[f.name])) for j, f in enumerate(pre.numeric)]
    cosine = model.distance_type == "COSINE"
    distances = [
        (f"__ml_d{k + 1}", _distance_sql(pre, features.refs, c, cosine))
        for k, c in enumerate(model.cluster_centers_)
    ]
    names = [name for name, _ in distances]
    nearest = (
        f"CAST(CASE least({', '.join(names)}) "
        + " ".join(f"WHEN {name} THEN {k + 1}" for k, name in enumerate(names))
        + " END AS BIGINT)"
    )
    pairs = ", ".join(f"{{'d': {name}, 'c': CAST({k + 1} AS BIGINT)}}" for k, name in enumerate(names))
    # The lambda's parameter must not be a name an input column could have: a column wins over it.
    listing = (
        f"list_transform(list_sort([{pairs}]), "
        f"lambda __ml_e: {{'CENTROID_ID': __ml_e.c, 'DISTANCE': __ml_e.d}})"
    )
    layers = [processed, distances] if processed else [distances]
    return Scoring(features, layers, [("CENTROID_ID", nearest), ("NEAREST_CENTROIDS_DISTANCE", listing)])


def kmeans_templates(scoring: Scoring, model: KMeans) -> dict[str, str]:
    """evaluate over an input."""
    centers = model.cluster_centers_
    between = model.distances(centers, centers)
    pairs = [
        (k + 1, m + 1, float(between[k, m]))
        for k in range(len(centers))
        for m in range(len(centers))
        if k != m
    ]
    nearest = f"least({', '.join(f'__ml_d{k + 1}' for k in range(len(centers)))})"
    return {"evaluate": evaluation.kmeans_metrics(scoring.scored_sql(), nearest, pairs)}
