"""The local BigQuery ML engine: BigQuery ML statements and ML.* functions, trained and run on DuckDB."""

from ml.engine import Engine
from ml.errors import MLError
from ml.version import ENGINE_VERSION

__all__ = ["ENGINE_VERSION", "Engine", "MLError"]
