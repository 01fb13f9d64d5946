"""pca as SQL: each principal component is a linear function of the raw columns (the centering,
scaling and one-hot encoding folded into its weights), plus the fixed ML.EVALUATE and
ML.PRINCIPAL_COMPONENT_INFO relations."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ml.compile import info
from ml.compile.glm import linear_sql
from ml.compile.layers import FeatureLayer, Scoring
from ml.compile.literals import values_relation
from ml.models.pca import PCA
from ml.preprocessing import Preprocessor

if TYPE_CHECKING:
    from ml.training import Fitted, Trainer


def pca_scoring(pre: Preprocessor, features: FeatureLayer, model: PCA) -> Scoring:
    """ML.PREDICT of pca: principal_component_1..k, then every input column."""
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


def fit_pca(trainer: Trainer) -> Fitted:
    from ml.training import Fitted

    options = trainer.options
    pre = Preprocessor(trainer.features, standardize=True)
    train, _ = trainer._datasets(pre, "0")
    feature_info = info.feature_info(pre)
    if not options["scale_features"]:
        # Numeric features are always centered; without scale_features they keep their units.
        for feature in pre.numeric:
            feature.stddev = 1.0
    model = PCA(
        num_principal_components=options["num_principal_components"],
        pca_explained_variance_ratio=options["pca_explained_variance_ratio"],
        pca_solver=options["pca_solver"],
    ).fit(train)
    total = values_relation(
        [("total_explained_variance_ratio", "DOUBLE")], [(float(model.explained_variance_ratio_.sum()),)]
    )
    fixed = {
        "evaluate": total,
        "principal_component_info": principal_component_info(model),
        "feature_info": feature_info,
    }
    state = {
        "features": [vars(f) for f in pre.features],
        "mean": model.mean_.tolist(),
        "components": model.components_.tolist(),
        "explained_variance": model.explained_variance_.tolist(),
        "transform": trainer.transform.items if trainer.transform else None,
    }
    return Fitted(pca_scoring(pre, trainer._feature_layer(), model), {}, fixed, state)
