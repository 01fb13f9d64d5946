"""Logistic regression: binary (sigmoid) or multinomial (softmax) cross-entropy by batch gradient descent."""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_softmax

from ml.errors import MLError
from ml.estimators.data import Dataset, with_intercept
from ml.estimators.glm import GeneralizedLinearModel
from ml.estimators.optim import minimize

MAX_CLASSES = 50


class LogisticRegression(GeneralizedLinearModel):
    """BigQuery ML's logistic regression.

    Labels arrive as class indices into `classes` (ascending label order); with two classes the
    greater label is the positive class. Minimises the (class-)weighted mean log loss +
    (l1_reg |w|_1 + l2_reg |w|^2) / total weight.

    Attributes
    ----------
    classes_ : list of str
    coef_ : ndarray of shape (n_features,) for two classes, (n_features, n_classes) otherwise
    intercept_ : float or ndarray of shape (n_classes,)
    class_weight_ : ndarray of shape (n_classes,)
    history_ : list of Iteration
    """

    def __init__(
        self,
        *,
        auto_class_weights: bool,
        class_weights: dict[str, float] | None,
        **glm_options: object,
    ) -> None:
        super().__init__(**glm_options)
        self.auto_class_weights = auto_class_weights
        self.class_weights = class_weights

    def fit(
        self, train: Dataset, eval: Dataset | None = None, classes: list[str] | None = None
    ) -> LogisticRegression:
        """Fit on `train` (y = class index); `classes` names the indices, as strings."""
        X, y = train.arrays()
        y = y.astype(np.int64)
        self.classes_ = list(classes) if classes is not None else [str(c) for c in range(int(y.max()) + 1)]
        self._check_classes(y)
        self.strategy_ = "BATCH_GRADIENT_DESCENT"
        self.class_weight_ = self._class_weights(y)
        Xa = with_intercept(X, self.fit_intercept)
        loss = _BinaryLoss if len(self.classes_) == 2 else _SoftmaxLoss
        objective = loss(Xa, y, self.class_weight_[y], len(self.classes_))
        eval_objective = None
        if eval is not None and eval.n_rows:
            eval_X, eval_y = eval.arrays()
            eval_y = eval_y.astype(np.int64)
            eval_objective = loss(
                with_intercept(eval_X, self.fit_intercept), eval_y, np.ones(len(eval_y)), len(self.classes_)
            )
        shape = (Xa.shape[1],) if len(self.classes_) == 2 else (Xa.shape[1], len(self.classes_))
        w, self.history_ = minimize(
            lambda w: objective.loss_grad(w.reshape(shape)),
            lambda w: objective.loss(w.reshape(shape)),
            (lambda w: eval_objective.loss(w.reshape(shape))) if eval_objective else None,
            np.zeros(int(np.prod(shape))),
            self._penalized_flat(shape),
            float(objective.weights.sum()),
            self._schedule(),
        )
        self._split_intercept(w.reshape(shape))
        return self

    def _check_classes(self, y: np.ndarray) -> None:
        present = len(np.unique(y))
        if present < 2 or len(self.classes_) < 2:
            raise MLError(
                f"Logistic regression requires at least 2 unique labels, but the label column had "
                f"{present} unique label"
            )
        if len(self.classes_) > MAX_CLASSES:
            raise MLError(
                f"Classification model currently only supports up to {MAX_CLASSES} unique labels, "
                f"but the label column had {len(self.classes_)} unique labels"
            )

    def _class_weights(self, y: np.ndarray) -> np.ndarray:
        counts = np.bincount(y, minlength=len(self.classes_)).astype(np.float64)
        if self.auto_class_weights:
            return len(y) / (counts * len(self.classes_))
        if self.class_weights:
            missing = [c for c in self.classes_ if c not in self.class_weights]
            unknown = [c for c in self.class_weights if c not in self.classes_]
            if missing or unknown:
                raise MLError(
                    f"class_weights must give a weight to every label and only to labels: "
                    f"missing {missing}, unknown {unknown}"
                )
            return np.array([self.class_weights[c] for c in self.classes_])
        return np.ones(len(self.classes_))

    def _penalized_flat(self, shape: tuple[int, ...]) -> np.ndarray:
        mask = np.broadcast_to(self._penalized(shape[0]).reshape(-1, *([1] * (len(shape) - 1))), shape)
        return mask.reshape(-1).copy()

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (n_rows, n_classes), for processed features `X`."""
        self._check_is_fitted()
        scores = X @ self.coef_ + self.intercept_
        if scores.ndim == 1:
            positive = expit(scores)
            return np.column_stack([1.0 - positive, positive])
        return np.exp(log_softmax(scores, axis=1))


class _BinaryLoss:
    """Weighted mean log loss of a sigmoid model; y = 1 marks the positive class."""

    def __init__(self, X: np.ndarray, y: np.ndarray, weights: np.ndarray, _: int) -> None:
        self.X, self.y, self.weights = X, y.astype(np.float64), weights
        self.total = float(weights.sum())

    def loss(self, w: np.ndarray) -> float:
        z = self.X @ w
        return float(self.weights @ (np.logaddexp(0.0, z) - self.y * z)) / self.total

    def loss_grad(self, w: np.ndarray) -> tuple[float, np.ndarray]:
        z = self.X @ w
        value = float(self.weights @ (np.logaddexp(0.0, z) - self.y * z)) / self.total
        return value, self.X.T @ (self.weights * (expit(z) - self.y)) / self.total


class _SoftmaxLoss:
    """Weighted mean multinomial cross-entropy over all classes (no reference class)."""

    def __init__(self, X: np.ndarray, y: np.ndarray, weights: np.ndarray, n_classes: int) -> None:
        self.X, self.y, self.weights = X, y, weights
        self.total = float(weights.sum())
        self.onehot = np.eye(n_classes)[y]

    def _log_probs(self, W: np.ndarray) -> np.ndarray:
        return log_softmax(self.X @ W, axis=1)

    def loss(self, W: np.ndarray) -> float:
        picked = self._log_probs(W)[np.arange(len(self.y)), self.y]
        return float(-(self.weights @ picked)) / self.total

    def loss_grad(self, W: np.ndarray) -> tuple[float, np.ndarray]:
        log_probs = self._log_probs(W)
        value = float(-(self.weights @ log_probs[np.arange(len(self.y)), self.y])) / self.total
        grad = self.X.T @ (self.weights[:, None] * (np.exp(log_probs) - self.onehot)) / self.total
        return value, grad.reshape(-1)
