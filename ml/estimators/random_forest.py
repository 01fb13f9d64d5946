"""Random forest regressors and classifiers: XGBoost's random forest mode.

XGBoost grows a random forest as one boosting round of `num_parallel_tree` trees with learning
rate 1, rows and columns subsampled per tree and per node (BigQuery's defaults: 100 trees,
subsample 0.8, colsample_bynode 0.8): the same thing as `xgboost.XGBRFRegressor`.
"""

from __future__ import annotations

from ml.estimators.boosted_tree import BoostedTree


class RandomForest(BoostedTree):
    """BigQuery ML's random forest regressor (n_classes None) or classifier.

    Attributes are those of `BoostedTree`; the forest is its single boosting round.
    """

    def __init__(
        self,
        *,
        num_parallel_tree: int,
        max_tree_depth: int,
        subsample: float,
        min_split_loss: float,
        l1_reg: float,
        l2_reg: float,
        min_tree_child_weight: int,
        colsample_bytree: float,
        colsample_bylevel: float,
        colsample_bynode: float,
        tree_method: str,
        early_stop: bool,
        min_rel_progress: float,
        # Classifiers only: a regressor has no classes to weigh.
        auto_class_weights: bool = False,
        class_weights: dict[str, float] | None = None,
    ) -> None:
        super().__init__(
            booster_type="GBTREE",
            dart_normalize_type="TREE",
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
