"""The data an estimator trains on: design-matrix batches and labels, streamed or in memory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import numpy as np


class Dataset(Protocol):
    """Rows of a design matrix (no intercept column) with their labels."""

    n_rows: int
    width: int

    def batches(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(X, y) blocks covering every row once; bounded memory."""
        ...

    def arrays(self, dtype: type = np.float64) -> tuple[np.ndarray, np.ndarray]:
        """All rows at once, the design matrix as `dtype`."""
        ...


class ArrayDataset:
    """A `Dataset` over numpy arrays already in memory."""

    def __init__(self, X: np.ndarray, y: np.ndarray | None = None) -> None:
        self.X = np.asarray(X, dtype=np.float64)
        self.y = np.zeros(len(self.X)) if y is None else np.asarray(y)
        self.n_rows, self.width = self.X.shape

    def batches(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        yield self.X, self.y

    def arrays(self, dtype: type = np.float64) -> tuple[np.ndarray, np.ndarray]:
        return self.X.astype(dtype, copy=False), self.y


def with_intercept(X: np.ndarray, fit_intercept: bool) -> np.ndarray:
    """Prepend a column of ones when the model has an intercept."""
    return np.hstack([np.ones((len(X), 1)), X]) if fit_intercept else X
