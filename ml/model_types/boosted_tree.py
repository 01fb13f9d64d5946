"""boosted_tree_regressor / boosted_tree_classifier: gradient-boosted trees (the booster library), as BigQuery
ML trains them; the shared tree machinery is ml/model_types/trees.py."""

from __future__ import annotations

from ml.model_types import trees
from ml.model_types.option import Constraint, enum

ENSEMBLE_OPTIONS: dict[str, Constraint] = {
    **trees.TREE_OPTIONS,
    "booster_type": enum("GBTREE", "GBTREE", "DART"),
    "dart_normalize_type": enum("TREE", "TREE", "FOREST"),
    "num_parallel_tree": Constraint("int", 1, low=1),
    "colsample_bynode": Constraint("float", 1.0, low=0.0, high=1.0, open_low=True),
    "subsample": Constraint("float", 1.0, low=0.0, high=1.0, open_low=True),
    "learn_rate": Constraint("float", 0.3, low=0.0, open_low=True),
    "max_iterations": Constraint("int", 20, low=1, high=10_000),
}


MODEL_TYPES = (
    trees.tree_model_type("BOOSTED_TREE_REGRESSOR", ENSEMBLE_OPTIONS, forest=False, classifier=False),
    trees.tree_model_type("BOOSTED_TREE_CLASSIFIER", ENSEMBLE_OPTIONS, forest=False, classifier=True),
)
