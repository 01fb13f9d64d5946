"""Principal component analysis as SQL: each principal component is a linear function of the raw
columns (the centering, scaling and one-hot encoding folded into its weights), plus the fixed
ML.PRINCIPAL_COMPONENT_INFO relation."""

from __future__ import annotations

import numpy as np

from ml.compile.glm import linear_sql
from ml.compile.layers import FeatureLayer, Scoring
from ml.estimators.pca import PCA
from ml.literals import values_relation
from ml.preprocessing.automatic import Preprocessor


def pca_scoring(pre: Preprocessor, features: FeatureLayer, model: PCA) -> Scoring:
    """ML.PREDICT: principal_component_1..k, then every input column."""
    outputs = [
        (
            f"principal_component_{k + 1}",
            linear_sql(pre, features.refs, axis, -float(model.mean_ @ axis)),
        )
        for k, axis in enumerate(model.components_.T)
    ]
    return Scoring(features, [], outputs)


def principal_component_info(model: PCA) -> str:
    """ML.PRINCIPAL_COMPONENT_INFO: eigenvalue and explained variance ratio of each component."""
    columns = [
        ("principal_component_id", "BIGINT"),
        ("eigenvalue", "DOUBLE"),
        ("explained_variance_ratio", "DOUBLE"),
        ("cumulative_explained_variance_ratio", "DOUBLE"),
    ]
    cumulative = np.cumsum(model.explained_variance_ratio_)
    rows = [
        (k + 1, float(value), float(ratio), float(cumulative[k]))
        for k, (value, ratio) in enumerate(
            zip(model.explained_variance_, model.explained_variance_ratio_, strict=True)
        )
    ]
    return values_relation(columns, rows) + " ORDER BY principal_component_id"
