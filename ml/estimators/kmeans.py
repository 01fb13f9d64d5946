"""k-means: Lloyd's algorithm with random, k-means++ or custom initial centroids."""

from __future__ import annotations

import time

import numpy as np

from ml.errors import MLError
from ml.estimators.base import BaseModel
from ml.estimators.data import Dataset

# Deterministic seeding: BigQuery picks its own random centroids; locally a rerun must agree.
SEED = 42


class KMeans(BaseModel):
    """BigQuery ML's k-means.

    Parameters follow the CREATE MODEL options. `fit` takes processed features (standardized or
    not, per standardize_features, which the preprocessing applies).

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (num_clusters, n_features)
    history_ : list of dict
        iteration, loss (mean squared distance), duration_ms and per-cluster radius and size.
    """

    def __init__(
        self,
        *,
        num_clusters: int | None,
        kmeans_init_method: str,
        distance_type: str,
        max_iterations: int,
        early_stop: bool,
        min_rel_progress: float,
        warm_start: bool,
    ) -> None:
        self.num_clusters = num_clusters
        self.kmeans_init_method = kmeans_init_method
        self.distance_type = distance_type
        self.max_iterations = max_iterations
        self.early_stop = early_stop
        self.min_rel_progress = min_rel_progress
        self.warm_start = warm_start

    def fit(self, train: Dataset, init_centroids: np.ndarray | None = None) -> KMeans:
        """Cluster the rows of `train`; CUSTOM init takes `init_centroids` (processed features)."""
        X, _ = train.arrays()
        k = self.num_clusters or max(2, min(100, int(np.log10(max(len(X), 1)))))
        if len(X) < k:
            raise MLError(f"Cannot fit {k} clusters to {len(X)} training rows")
        distinct = len(np.unique(X, axis=0))
        if distinct < k:
            # More clusters than points: some centroids would coincide (or stay empty).
            raise MLError(
                f"Invalid value for option num_clusters: {k} clusters, but the training data has only "
                f"{distinct} distinct points"
            )
        centroids = self._initial_centroids(X, k, init_centroids)
        self.history_ = []
        previous = None
        labels, distances = self._assign(X, centroids)
        for iteration in range(self.max_iterations):
            started = time.perf_counter()
            centroids = np.array(
                [X[labels == c].mean(axis=0) if np.any(labels == c) else centroids[c] for c in range(k)]
            )
            labels, distances = self._assign(X, centroids)
            loss = float(np.mean(distances**2))
            self.history_.append(
                {
                    "iteration": iteration,
                    "loss": loss,
                    "duration_ms": round((time.perf_counter() - started) * 1000),
                    "clusters": [
                        (
                            c + 1,
                            float(np.sqrt(np.mean(distances[labels == c] ** 2)))
                            if np.any(labels == c)
                            else 0.0,
                            int(np.sum(labels == c)),
                        )
                        for c in range(k)
                    ],
                }
            )
            # The first iteration has nothing to compare with; a zero loss cannot improve.
            progress = 1.0 if previous is None else (previous - loss) / previous if previous else 0.0
            previous = loss
            if self.early_stop and progress < self.min_rel_progress:
                break
        self.cluster_centers_ = centroids
        return self

    def _initial_centroids(self, X: np.ndarray, k: int, init: np.ndarray | None) -> np.ndarray:
        if self.kmeans_init_method == "CUSTOM":
            if init is None or len(init) != k:
                found = 0 if init is None else len(init)
                raise MLError(
                    f"kmeans_init_col marks {found} rows as initial centroids, but num_clusters is {k}"
                )
            return np.asarray(init, dtype=np.float64)
        rng = np.random.default_rng(SEED)
        if self.kmeans_init_method == "RANDOM":
            return X[rng.choice(len(X), size=k, replace=False)].copy()
        centroids = [X[rng.integers(len(X))]]
        for _ in range(1, k):
            _, distances = self._assign(X, np.array(centroids))
            weights = distances**2
            total = weights.sum()
            pick = rng.choice(len(X), p=weights / total) if total > 0 else rng.integers(len(X))
            centroids.append(X[pick])
        return np.array(centroids)

    def distances(self, X: np.ndarray, centroids: np.ndarray | None = None) -> np.ndarray:
        """Distance of each row to each centroid, shape (n_rows, num_clusters)."""
        centroids = self.cluster_centers_ if centroids is None else centroids
        if self.distance_type == "COSINE":
            norms = np.linalg.norm(X, axis=1)[:, None] * np.linalg.norm(centroids, axis=1)[None, :]
            cosine = np.divide(
                X @ centroids.T, norms, out=np.zeros((len(X), len(centroids))), where=norms > 0
            )
            return np.sqrt(np.clip(1.0 - cosine, 0.0, None))
        squared = (X**2).sum(axis=1)[:, None] - 2 * X @ centroids.T + (centroids**2).sum(axis=1)[None, :]
        return np.sqrt(np.clip(squared, 0.0, None))

    def _assign(self, X: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        all_distances = self.distances(X, centroids)
        labels = np.argmin(all_distances, axis=1)
        return labels, all_distances[np.arange(len(X)), labels]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Nearest centroid (0-based) of each row."""
        self._check_is_fitted()
        return np.argmin(self.distances(X), axis=1)
