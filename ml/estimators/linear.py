"""Linear regression: least squares by the normal equation (streamed X'X) or batch gradient descent."""

from __future__ import annotations

import time

import numpy as np

from ml.estimators.data import Dataset, with_intercept
from ml.estimators.glm import GeneralizedLinearModel
from ml.estimators.optim import Iteration, minimize

# Relative eigenvalue cut-off of X'X: one-hot columns plus an intercept are exactly collinear, and
# the minimum-norm solution (what least squares gives) ignores those directions.
EIGENVALUE_CUTOFF = 1e-10


class LinearRegression(GeneralizedLinearModel):
    """BigQuery ML's linear regression.

    Minimises mean squared error + (l1_reg |w|_1 + l2_reg |w|^2) / n over the processed features.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    strategy_ : str
        NORMAL_EQUATION or BATCH_GRADIENT_DESCENT, as AUTO_STRATEGY resolved.
    history_ : list of Iteration
        What ML.TRAINING_INFO reports.
    """

    def fit(self, train: Dataset, eval: Dataset | None = None) -> LinearRegression:
        """Fit on `train`; `eval` only feeds the eval loss of each iteration."""
        self.strategy_ = self._strategy(train)
        if self.strategy_ == "NORMAL_EQUATION":
            self._fit_normal_equation(train, eval)
        else:
            self._fit_gradient_descent(train, eval)
        return self

    def _fit_normal_equation(self, train: Dataset, eval: Dataset | None) -> None:
        started = time.perf_counter()
        width = train.width + int(self.fit_intercept)
        gram, moment, yy, n = np.zeros((width, width)), np.zeros(width), 0.0, 0
        for X, y in train.batches():
            Xa = with_intercept(X, self.fit_intercept)
            gram += Xa.T @ Xa
            moment += Xa.T @ y
            yy += float(y @ y)
            n += len(y)
        gram[self._penalized(width), self._penalized(width)] += self.l2_reg
        w = _min_norm_solve(gram, moment)
        self._split_intercept(w)
        train_loss = (
            yy - 2 * w @ moment + w @ gram @ w - self.l2_reg * np.sum(w[self._penalized(width)] ** 2)
        ) / n
        eval_loss = self._mse(eval) if eval is not None and eval.n_rows else None
        duration = round((time.perf_counter() - started) * 1000)
        self.history_ = [Iteration(0, max(float(train_loss), 0.0), eval_loss, None, duration)]

    def _fit_gradient_descent(self, train: Dataset, eval: Dataset | None) -> None:
        X, y = train.arrays()
        Xa = with_intercept(X, self.fit_intercept)
        eval_arrays = None
        if eval is not None and eval.n_rows:
            eval_X, eval_y = eval.arrays()
            eval_arrays = (with_intercept(eval_X, self.fit_intercept), eval_y)

        def loss_grad(w: np.ndarray) -> tuple[float, np.ndarray]:
            residual = Xa @ w - y
            return float(residual @ residual) / len(y), 2.0 * (Xa.T @ residual) / len(y)

        def data_loss(w: np.ndarray) -> float:
            residual = Xa @ w - y
            return float(residual @ residual) / len(y)

        def eval_loss(w: np.ndarray) -> float:
            residual = eval_arrays[0] @ w - eval_arrays[1]
            return float(residual @ residual) / len(residual)

        w, self.history_ = minimize(
            loss_grad,
            data_loss,
            eval_loss if eval_arrays else None,
            np.zeros(Xa.shape[1]),
            self._penalized(Xa.shape[1]),
            len(y),
            self._schedule(),
        )
        self._split_intercept(w)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions for processed features `X`."""
        self._check_is_fitted()
        return X @ self.coef_ + self.intercept_

    def _mse(self, data: Dataset) -> float:
        total, n = 0.0, 0
        for X, y in data.batches():
            residual = self.predict(X) - y
            total += float(residual @ residual)
            n += len(y)
        return total / n


def _min_norm_solve(gram: np.ndarray, moment: np.ndarray) -> np.ndarray:
    """Minimum-norm solution of gram @ w = moment for a symmetric positive semi-definite gram."""
    values, vectors = np.linalg.eigh(gram)
    keep = values > EIGENVALUE_CUTOFF * max(values.max(), 0.0)
    basis = vectors[:, keep]
    return basis @ ((basis.T @ moment) / values[keep])
