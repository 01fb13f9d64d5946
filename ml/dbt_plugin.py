"""dbt-duckdb plugin: the local engine's version as SQL, `ml_engine_version() -> VARCHAR`.

Enabled in ``profiles.yml`` under the local output::

    plugins:
      - module: ml.dbt_plugin
        alias: ml_engine

The dbt retrain policy (macros/retrain/ml_engine_version.sql) folds it into each model's training
fingerprint, so upgrading the engine retrains the models the previous engine trained. It is the
version of the engine dbt itself imports, the one the bqml_model materialization trains with.
"""

from __future__ import annotations

import duckdb
from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb.sqltypes import VARCHAR

from ml.version import ENGINE_VERSION


def engine_version() -> str:
    return ENGINE_VERSION


class Plugin(BasePlugin):
    """Registers ml_engine_version() on dbt's DuckDB connection (its cursors see it too)."""

    def configure_connection(self, conn: duckdb.DuckDBPyConnection) -> None:
        conn.create_function("ml_engine_version", engine_version, [], VARCHAR, side_effects=False)
