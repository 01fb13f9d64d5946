"""Random forest regressors and classifiers: the booster library's random forest mode.

The booster library grows a random forest as one boosting round of `num_parallel_tree` trees
with learning rate 1, rows and columns subsampled per tree and per node (BigQuery's defaults: 100
trees, subsample 0.8, colsample_bynode 0.8): the same thing as its `XGBRFRegressor`.
"""

from __future__ import annotations

from typing import Any

from ml.estimators.boosted_tree import BoostedTree


class RandomForest(BoostedTree):
    """BigQuery ML's random forest regressor (n_classes None) or classifier.

    It takes the boosted trees' options except those a forest fixes (one round of plain trees at
    learning rate 1). Attributes are those of `BoostedTree`; the forest is its single round.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(
            booster_type="GBTREE", dart_normalize_type="TREE", learn_rate=1.0, max_iterations=1, **options
        )
