"""kmeans: Lloyd's algorithm with RANDOM, KMEANS++ or CUSTOM initial centroids; CENTROID_ID and
the distances to every centroid predicted in plain SQL."""

from __future__ import annotations

from typing import Any

from ml.compile import info
from ml.compile import kmeans as kmeans_sql
from ml.errors import MLError
from ml.estimators.kmeans import KMeans
from ml.model_types.model_type import CLUSTERING, Fitted, ModelType
from ml.model_types.option import BOOL_FALSE, BOOL_TRUE, Constraint, enum
from ml.model_types.options import COMMON_OPTIONS, ITERATION_OPTIONS, check_no_warm_start
from ml.model_types.training_data import SqlDataset, TrainingData, refuse_empty_features
from ml.names import quote_ident
from ml.preprocessing.automatic import Preprocessor

OPTIONS: dict[str, Constraint] = {
    **COMMON_OPTIONS,
    **ITERATION_OPTIONS,
    "num_clusters": Constraint("int", None, low=2, high=100),
    "kmeans_init_method": enum("RANDOM", "RANDOM", "KMEANS++", "CUSTOM"),
    "distance_type": enum("EUCLIDEAN", "EUCLIDEAN", "COSINE"),
    "warm_start": BOOL_FALSE,
    "kmeans_init_col": Constraint("string"),
    "standardize_features": BOOL_TRUE,
}


def check(options: dict[str, Any], raw: dict[str, Any]) -> None:
    custom = options["kmeans_init_method"] == "CUSTOM"
    if custom != bool(options["kmeans_init_col"]):
        raise MLError("kmeans_init_col must be set exactly when kmeans_init_method is 'CUSTOM'")
    check_no_warm_start(options)


def _initial_centroids(data: TrainingData, pre: Preprocessor) -> Any:
    """The processed features of the rows kmeans_init_col marks (CUSTOM init), else None."""
    init_col = data.options["kmeans_init_col"]
    if not init_col:
        return None
    if data.column_types.get(init_col) != "BOOLEAN":
        raise MLError(f"kmeans_init_col {init_col} must be a BOOL column of the training data")
    marked = f"SELECT * FROM ({data.train_sql}) AS __ml_t WHERE {quote_ident(init_col)}"
    return SqlDataset(data.con, marked, pre, "0").arrays()[0]


def fit(data: TrainingData) -> Fitted:
    pre = Preprocessor(data.features, standardize=data.options["standardize_features"])
    train, _ = data.datasets(pre, "0")
    refuse_empty_features(pre, data.model_type)
    init = _initial_centroids(data, pre)
    options = dict(data.options)
    if options["num_clusters"] is None and init is not None:
        options["num_clusters"] = len(init)
    model = KMeans.from_options(options).fit(train, init)
    scoring = kmeans_sql.kmeans_scoring(pre, data.feature_layer(), model)
    fixed = {
        "training_info": info.kmeans_training_info(model.history_),
        "feature_info": info.feature_info(pre),
        "centroids": info.centroids(pre, model),
    }
    state = {
        "features": [vars(f) for f in pre.features],
        "centroids": model.cluster_centers_.tolist(),
        "transform": data.transform_items,
    }
    return Fitted(scoring, kmeans_sql.kmeans_templates(scoring, model), fixed, state)


MODEL_TYPES = (
    ModelType(
        "KMEANS",
        CLUSTERING,
        OPTIONS,
        fit,
        frozenset({"predict", "evaluate", "training_info", "feature_info", "centroids"}),
        check,
        column_options=("kmeans_init_col",),
    ),
)
