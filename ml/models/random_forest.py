"""random_forest_regressor / random_forest_classifier: XGBoost's random forest mode.

XGBoost grows a random forest as one boosting round of `num_parallel_tree` trees with learning
rate 1, rows and columns subsampled per tree and per node (BigQuery's defaults: 100 trees,
subsample 0.8, colsample_bynode 0.8): the same thing as `xgboost.XGBRFRegressor`.
"""

from __future__ import annotations

from typing import ClassVar

from ml.models.boosted_tree import BoostedTree
from ml.sql.options import CLASS_WEIGHT_PARAMS, RANDOM_FOREST_PARAMS, Constraint


class RandomForest(BoostedTree):
    """BigQuery ML `random_forest_regressor` (n_classes None) or `random_forest_classifier`.

    Attributes are those of `BoostedTree`; the forest is its single boosting round.
    """

    _parameter_constraints: ClassVar[dict[str, Constraint]] = {**RANDOM_FOREST_PARAMS, **CLASS_WEIGHT_PARAMS}

    def __init__(
        self,
        *,
        num_parallel_tree: int = 100,
        max_tree_depth: int = 6,
        subsample: float = 0.8,
        min_split_loss: float = 0.0,
        l1_reg: float = 0.0,
        l2_reg: float = 1.0,
        min_tree_child_weight: int = 1,
        colsample_bytree: float = 1.0,
        colsample_bylevel: float = 1.0,
        colsample_bynode: float = 0.8,
        tree_method: str = "AUTO",
        early_stop: bool = True,
        min_rel_progress: float = 0.01,
        auto_class_weights: bool = False,
        class_weights: dict[str, float] | None = None,
    ) -> None:
        super().__init__(
            num_parallel_tree=num_parallel_tree,
            max_tree_depth=max_tree_depth,
            learn_rate=1.0,
            subsample=subsample,
            min_split_loss=min_split_loss,
            l1_reg=l1_reg,
            l2_reg=l2_reg,
            min_tree_child_weight=min_tree_child_weight,
            colsample_bytree=colsample_bytree,
            colsample_bylevel=colsample_bylevel,
            colsample_bynode=colsample_bynode,
            tree_method=tree_method,
            max_iterations=1,
            early_stop=early_stop,
            min_rel_progress=min_rel_progress,
            auto_class_weights=auto_class_weights,
            class_weights=class_weights,
        )
