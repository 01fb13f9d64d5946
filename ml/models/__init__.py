"""Estimators behind BigQuery ML model types, scikit-learn style (options in, learned `attr_` out)."""

from ml.models.kmeans import KMeans
from ml.models.linear import LinearRegression
from ml.models.logistic import LogisticRegression

__all__ = ["KMeans", "LinearRegression", "LogisticRegression"]
