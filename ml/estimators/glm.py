"""Shared by linear and logistic regression: the GLM options and the optimize-strategy choice."""

from __future__ import annotations

import numpy as np

from ml.estimators.base import BaseModel
from ml.estimators.data import Dataset
from ml.estimators.optim import Schedule

# AUTO_STRATEGY switches to gradient descent past this many processed features.
MAX_NORMAL_EQUATION_CARDINALITY = 10_000


class GeneralizedLinearModel(BaseModel):
    """Options common to BigQuery ML's linear and logistic regression (the CREATE MODEL reference's)."""

    def __init__(
        self,
        *,
        optimize_strategy: str,
        l1_reg: float,
        l2_reg: float,
        max_iterations: int,
        learn_rate_strategy: str,
        learn_rate: float | None,
        ls_init_learn_rate: float | None,
        early_stop: bool,
        min_rel_progress: float,
        fit_intercept: bool,
        warm_start: bool,
    ) -> None:
        self.optimize_strategy = optimize_strategy
        self.l1_reg = l1_reg
        self.l2_reg = l2_reg
        self.max_iterations = max_iterations
        self.learn_rate_strategy = learn_rate_strategy
        self.learn_rate = learn_rate
        self.ls_init_learn_rate = ls_init_learn_rate
        self.early_stop = early_stop
        self.min_rel_progress = min_rel_progress
        self.fit_intercept = fit_intercept
        self.warm_start = warm_start

    def _strategy(self, train: Dataset) -> str:
        if self.optimize_strategy != "AUTO_STRATEGY":
            return self.optimize_strategy
        cardinality = train.width
        wide = cardinality > MAX_NORMAL_EQUATION_CARDINALITY or train.n_rows < 10 * cardinality
        return "BATCH_GRADIENT_DESCENT" if self.l1_reg or self.warm_start or wide else "NORMAL_EQUATION"

    def _schedule(self) -> Schedule:
        line_search = self.learn_rate_strategy == "LINE_SEARCH"
        rate = self.ls_init_learn_rate if line_search else self.learn_rate
        return Schedule(
            self.max_iterations,
            line_search,
            0.1 if rate is None else rate,
            self.early_stop,
            self.min_rel_progress,
            self.l1_reg,
            self.l2_reg,
        )

    def _penalized(self, width: int) -> np.ndarray:
        """Which coordinates of [intercept, coef...] regularisation applies to: not the intercept."""
        mask = np.ones(width, dtype=bool)
        if self.fit_intercept:
            mask[0] = False
        return mask

    def _split_intercept(self, w: np.ndarray) -> None:
        self.intercept_ = w[0] if self.fit_intercept else np.zeros(w.shape[1:]) if w.ndim > 1 else 0.0
        self.coef_ = w[1:] if self.fit_intercept else w
