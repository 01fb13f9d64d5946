"""Principal component analysis: eigendecomposition of the covariance of the processed features,
accumulated in batches."""

from __future__ import annotations

import numpy as np

from ml.errors import MLError
from ml.estimators.base import BaseModel
from ml.estimators.data import Dataset


class PCA(BaseModel):
    """BigQuery ML's principal component analysis.

    `fit` takes processed features (the engine's preprocessing applies scale_features). Every
    pca_solver computes the exact decomposition: the covariance matrix is only features x features.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
    components_ : ndarray of shape (n_features, n_components)
        Unit-length principal axes, each signed so that its largest loading is positive.
    explained_variance_ : ndarray of shape (n_components,)
        Eigenvalues of the sample covariance (denominator n - 1).
    explained_variance_ratio_ : ndarray of shape (n_components,)
    """

    def __init__(
        self,
        *,
        num_principal_components: int | None,
        pca_explained_variance_ratio: float | None,
        pca_solver: str,
    ) -> None:
        self.num_principal_components = num_principal_components
        self.pca_explained_variance_ratio = pca_explained_variance_ratio
        self.pca_solver = pca_solver

    def fit(self, train: Dataset) -> PCA:
        total, gram, n = np.zeros(train.width), np.zeros((train.width, train.width)), 0
        for X, _ in train.batches():
            total += X.sum(axis=0)
            gram += X.T @ X
            n += len(X)
        if n < 2:
            raise MLError(f"Principal component analysis needs at least 2 training rows, got {n}")
        self.mean_ = total / n
        covariance = (gram - n * np.outer(self.mean_, self.mean_)) / (n - 1)
        eigenvalues, eigenvectors = np.linalg.eigh(covariance)
        order = np.argsort(eigenvalues)[::-1]
        eigenvalues = np.clip(eigenvalues[order], 0.0, None)
        eigenvectors = eigenvectors[:, order]
        ratios = eigenvalues / eigenvalues.sum() if eigenvalues.sum() > 0 else np.zeros_like(eigenvalues)
        k = self._n_components(ratios)
        axes = eigenvectors[:, :k]
        largest = axes[np.argmax(np.abs(axes), axis=0), np.arange(k)]
        self.components_ = axes * np.where(largest < 0, -1.0, 1.0)
        self.explained_variance_ = eigenvalues[:k]
        self.explained_variance_ratio_ = ratios[:k]
        return self

    def _n_components(self, ratios: np.ndarray) -> int:
        if self.num_principal_components is not None:
            if self.num_principal_components > len(ratios):
                raise MLError(
                    f"Invalid value for option num_principal_components: {self.num_principal_components} "
                    f"exceeds the number of processed features ({len(ratios)})"
                )
            return self.num_principal_components
        reached = np.nonzero(np.cumsum(ratios) >= self.pca_explained_variance_ratio - 1e-12)[0]
        return int(reached[0]) + 1 if len(reached) else len(ratios)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Principal component scores of processed features `X`."""
        self._check_is_fitted()
        return (X - self.mean_) @ self.components_
