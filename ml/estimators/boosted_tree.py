"""Boosted tree regressors and classifiers: XGBoost, as BigQuery ML trains them.

The estimator works on an already encoded float32 matrix (numeric features as they are, NULL as
NaN so XGBoost learns a default direction; categoricals label-encoded by the engine). BigQuery's
option names map onto XGBoost parameters in `xgboost_params`; early stopping follows BigQuery's
rule (stop after the first round whose relative loss improvement is below min_rel_progress).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import xgboost as xgb

from ml.errors import MLError
from ml.estimators.base import BaseModel
from ml.estimators.logistic import MAX_CLASSES
from ml.estimators.optim import Iteration

SEED = 0
TREE_METHODS = {"AUTO": "hist", "EXACT": "exact", "APPROX": "approx", "HIST": "hist"}


class _RelativeProgress(xgb.callback.TrainingCallback):
    """BigQuery's early stop: after each round, stop when the loss (eval split if any, else
    training) improved by less than `min_rel_progress` relative to the previous round."""

    def __init__(self, min_rel_progress: float, enabled: bool) -> None:
        super().__init__()
        self.min_rel_progress, self.enabled = min_rel_progress, enabled
        self.durations: list[int] = []
        self._start = time.perf_counter()

    def after_iteration(self, model: Any, epoch: int, evals_log: dict) -> bool:
        now = time.perf_counter()
        self.durations.append(int((now - self._start) * 1000))
        self._start = now
        if not self.enabled or epoch == 0:
            return False
        losses = next(iter(evals_log["eval" if "eval" in evals_log else "train"].values()))
        previous, current = losses[-2], losses[-1]
        return previous > 0 and (previous - current) / previous < self.min_rel_progress


class BoostedTree(BaseModel):
    """BigQuery ML's boosted tree regressor (n_classes None) or classifier.

    Attributes
    ----------
    booster_ : xgboost.Booster
    n_classes_ : int or None
        None for regression; 2 (binary:logistic) or more (multi:softprob) for classification.
    class_weight_ : ndarray of shape (n_classes,) or None
    history_ : list of Iteration
        One per boosting round (ML.TRAINING_INFO), loss being the objective's default metric.
    """

    def __init__(
        self,
        *,
        booster_type: str,
        dart_normalize_type: str,
        num_parallel_tree: int,
        max_tree_depth: int,
        learn_rate: float,
        subsample: float,
        min_split_loss: float,
        l1_reg: float,
        l2_reg: float,
        min_tree_child_weight: int,
        colsample_bytree: float,
        colsample_bylevel: float,
        colsample_bynode: float,
        tree_method: str,
        max_iterations: int,
        early_stop: bool,
        min_rel_progress: float,
        # Classifiers only: a regressor has no classes to weigh.
        auto_class_weights: bool = False,
        class_weights: dict[str, float] | None = None,
    ) -> None:
        self.booster_type = booster_type
        self.dart_normalize_type = dart_normalize_type
        self.num_parallel_tree = num_parallel_tree
        self.max_tree_depth = max_tree_depth
        self.learn_rate = learn_rate
        self.subsample = subsample
        self.min_split_loss = min_split_loss
        self.l1_reg = l1_reg
        self.l2_reg = l2_reg
        self.min_tree_child_weight = min_tree_child_weight
        self.colsample_bytree = colsample_bytree
        self.colsample_bylevel = colsample_bylevel
        self.colsample_bynode = colsample_bynode
        self.tree_method = tree_method
        self.max_iterations = max_iterations
        self.early_stop = early_stop
        self.min_rel_progress = min_rel_progress
        self.auto_class_weights = auto_class_weights
        self.class_weights = class_weights

    def xgboost_params(self, n_classes: int | None) -> dict[str, Any]:
        """The XGBoost training parameters these options stand for."""
        params: dict[str, Any] = {
            "booster": self.booster_type.lower(),
            "num_parallel_tree": self.num_parallel_tree,
            "max_depth": self.max_tree_depth,
            "eta": self.learn_rate,
            "subsample": self.subsample,
            "gamma": self.min_split_loss,
            "alpha": self.l1_reg,
            "lambda": self.l2_reg,
            "min_child_weight": self.min_tree_child_weight,
            "colsample_bytree": self.colsample_bytree,
            "colsample_bylevel": self.colsample_bylevel,
            "colsample_bynode": self.colsample_bynode,
            "tree_method": TREE_METHODS[self.tree_method],
            "seed": SEED,
            **objective_params(n_classes),
        }
        if self.booster_type == "DART":
            params["normalize_type"] = self.dart_normalize_type.lower()
        return params

    def num_rounds(self) -> int:
        return self.max_iterations

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        eval_set: tuple[np.ndarray, np.ndarray] | None = None,
        n_classes: int | None = None,
        classes: list[str] | None = None,
    ) -> BoostedTree:
        """Fit on encoded features `X`; `y` is the label (regression) or the class index, with
        `classes` naming the indices (class_weights refer to them)."""
        self.n_classes_ = n_classes
        self.class_weight_ = None
        weights = None
        if n_classes is not None:
            self._check_classes(y, n_classes)
            index = y.astype(np.int64)
            self.class_weight_ = self._class_weights(index, classes or [str(c) for c in range(n_classes)])
            weights = self.class_weight_[index]
        matrix = xgb.QuantileDMatrix if self._quantile() else xgb.DMatrix
        train = matrix(X, y, weight=weights, missing=np.nan)
        evals = [(train, "train")]
        if eval_set is not None and len(eval_set[0]):
            evals.append((xgb.DMatrix(eval_set[0], eval_set[1], missing=np.nan), "eval"))
        progress = _RelativeProgress(self.min_rel_progress, self.early_stop)
        log: dict[str, dict[str, list[float]]] = {}
        self.booster_ = xgb.train(
            self.xgboost_params(n_classes),
            train,
            num_boost_round=self.num_rounds(),
            evals=evals,
            evals_result=log,
            verbose_eval=False,
            callbacks=[progress],
        )
        self.history_ = _history(log, progress.durations, self.learn_rate)
        return self

    def _quantile(self) -> bool:
        # QuantileDMatrix skips the copy XGBoost makes for hist; exact/approx need a plain DMatrix.
        return TREE_METHODS[self.tree_method] == "hist"

    def _check_classes(self, y: np.ndarray, n_classes: int) -> None:
        present = len(np.unique(y))
        if present < 2 or n_classes < 2:
            raise MLError(
                f"Classification requires at least 2 unique labels, but the label column had {present} "
                f"unique label"
            )
        if n_classes > MAX_CLASSES:
            raise MLError(
                f"Classification model currently only supports up to {MAX_CLASSES} unique labels, "
                f"but the label column had {n_classes} unique labels"
            )

    def _class_weights(self, y: np.ndarray, classes: list[str]) -> np.ndarray:
        counts = np.bincount(y, minlength=len(classes)).astype(np.float64)
        if self.auto_class_weights:
            return len(y) / (np.maximum(counts, 1) * len(classes))
        if self.class_weights:
            missing = [c for c in classes if c not in self.class_weights]
            unknown = [c for c in self.class_weights if c not in classes]
            if missing or unknown:
                raise MLError(
                    f"class_weights must give a weight to every label and only to labels: "
                    f"missing {missing}, unknown {unknown}"
                )
            return np.array([self.class_weights[c] for c in classes])
        return np.ones(len(classes))

    def predict_margin(self, X: np.ndarray) -> np.ndarray:
        """Raw scores (before the link function), shape (n_rows,) or (n_rows, n_classes)."""
        self._check_is_fitted()
        return self.booster_.predict(xgb.DMatrix(X, missing=np.nan), output_margin=True)


def objective_params(n_classes: int | None) -> dict[str, Any]:
    """XGBoost objective for a regression (None), binary or multiclass model."""
    if n_classes is None:
        return {"objective": "reg:squarederror"}
    if n_classes == 2:
        return {"objective": "binary:logistic"}
    return {"objective": "multi:softprob", "num_class": n_classes}


def _history(log: dict, durations: list[int], learn_rate: float) -> list[Iteration]:
    train = next(iter(log["train"].values()))
    evaluation = next(iter(log["eval"].values())) if "eval" in log else [None] * len(train)
    return [
        Iteration(i, float(loss), None if e is None else float(e), learn_rate, durations[i])
        for i, (loss, e) in enumerate(zip(train, evaluation, strict=True))
    ]
