"""The local BigQuery ML engine: BigQuery ML statements and ML.* functions, trained and run on DuckDB."""

from ml.engine import Engine
from ml.errors import MLError

__all__ = ["Engine", "MLError"]
