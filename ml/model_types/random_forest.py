"""random_forest_regressor / random_forest_classifier: the booster library's random forest mode (one boosting
round of num_parallel_tree trees, rows and columns subsampled), as BigQuery ML trains them; the
shared tree machinery is ml/model_types/trees.py."""

from __future__ import annotations

from ml.model_types import trees
from ml.model_types.option import Constraint

ENSEMBLE_OPTIONS: dict[str, Constraint] = {
    **trees.TREE_OPTIONS,
    "num_parallel_tree": Constraint("int", 100, low=2),
    "colsample_bynode": Constraint("float", 0.8, low=0.0, high=1.0, open_low=True),
    "subsample": Constraint("float", 0.8, low=0.0, high=1.0, open_low=True),
}


MODEL_TYPES = (
    trees.tree_model_type("RANDOM_FOREST_REGRESSOR", ENSEMBLE_OPTIONS, forest=True, classifier=False),
    trees.tree_model_type("RANDOM_FOREST_CLASSIFIER", ENSEMBLE_OPTIONS, forest=True, classifier=True),
)
