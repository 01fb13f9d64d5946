"""pca: principal components of the standardized (scale_features), one-hot design matrix,
predicted in plain SQL; ML.EVALUATE is the explained variance ratio of the kept components."""

from __future__ import annotations

from typing import Any

from ml.compile import info
from ml.compile.pca import pca_scoring, principal_component_info
from ml.errors import MLError
from ml.estimators.pca import PCA
from ml.literals import values_relation
from ml.model_types.model_type import DIMENSIONALITY_REDUCTION, Fitted, ModelType
from ml.model_types.option import BOOL_TRUE, Constraint, enum
from ml.model_types.options import COMMON_OPTIONS
from ml.model_types.training_data import TrainingData, refuse_empty_features
from ml.preprocessing.automatic import Preprocessor

OPTIONS: dict[str, Constraint] = {
    **COMMON_OPTIONS,
    "num_principal_components": Constraint("int", None, low=1, high=10_000),
    "pca_explained_variance_ratio": Constraint("float", None, low=0.0, high=1.0, open_low=True),
    "scale_features": BOOL_TRUE,
    "pca_solver": enum("AUTO", "FULL", "RANDOMIZED", "AUTO"),
}


def check(options: dict[str, Any], raw: dict[str, Any]) -> None:
    given = [n for n in ("num_principal_components", "pca_explained_variance_ratio") if n in raw]
    if len(given) != 1:
        raise MLError(
            "Exactly one of the options num_principal_components and pca_explained_variance_ratio "
            "must be set for a pca model"
        )
    ratio = options["pca_explained_variance_ratio"]
    if ratio is not None and ratio >= 1.0:
        raise MLError(
            f"Invalid value for option pca_explained_variance_ratio: {ratio} is out of range (0, 1)"
        )


def fit(data: TrainingData) -> Fitted:
    pre = Preprocessor(data.features, standardize=True)
    train, _ = data.datasets(pre, "0")
    refuse_empty_features(pre, data.model_type)
    if not pre.varying_features():
        raise MLError(
            "Every feature column is constant over the training rows: pca finds no direction of variance "
            f"({', '.join(f.name for f in pre.features)})"
        )
    feature_info = info.feature_info(pre)
    if not data.options["scale_features"]:
        # Numeric features are always centered; without scale_features they keep their units.
        for feature in pre.numeric:
            feature.stddev = 1.0
    model = PCA.from_options(data.options).fit(train)
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
        "transform": data.transform_items,
    }
    return Fitted(pca_scoring(pre, data.feature_layer(), model), {}, fixed, state)


MODEL_TYPES = (
    ModelType(
        "PCA",
        DIMENSIONALITY_REDUCTION,
        OPTIONS,
        fit,
        frozenset({"predict", "evaluate", "principal_component_info", "feature_info"}),
        check,
    ),
)
