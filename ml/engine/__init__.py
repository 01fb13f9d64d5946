"""The local BigQuery ML engine on DuckDB: scripts in (`Engine`), models trained through the
model-type catalog, stored in the `_ml` schema (store.py), and ML.* calls expanded into their
stored templates (translate.py), some of which run in the engine's Arrow UDFs (udfs.py)."""

from ml.engine.engine import Engine

__all__ = ["Engine"]
