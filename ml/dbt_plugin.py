"""dbt-duckdb plugin: the local engine's version as SQL, `ml_engine_version() -> VARCHAR`, and the
engine's Arrow UDFs (ml/engine/udfs.py) and image functions (ml/engine/image_functions.py: the
ml_decode_image and ml_resize_image macros call them) on dbt's connection.

Enabled in ``profiles.yml`` under the local output::

    plugins:
      - module: ml.dbt_plugin
        alias: ml_engine

The dbt retrain policy (macros/retrain/ml_engine_version.sql) folds it into each model's training
fingerprint, so upgrading the engine retrains the models the previous engine trained. It is the
version of the engine dbt itself imports, the one the bqml_model materialization trains with.

With the UDFs, the ml_* macros run a tree model's or DNN's `<function>_udf` templates (the booster
library and torch scoring whole vectors) instead of their pure-SQL form, and ml_explain_predict
explains tree models (tree SHAP); macros/ml_functions/_ml_local_udfs_ready.sql loads each model
first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb.sqltypes import VARCHAR

from ml.engine import image_functions, udfs
from ml.version import ENGINE_VERSION


def engine_version() -> str:
    return ENGINE_VERSION


class Plugin(BasePlugin):
    """Registers ml_engine_version() and the engine's UDFs on dbt's DuckDB connection (its cursors
    see them too), and makes the warehouse file's folder, which DuckDB does not, so that a plain
    `dbt build` on a fresh clone works."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        path = getattr(self.creds, "path", None)
        if path and path != ":memory:" and ":" not in path.split("/")[0]:  # a file, not md: / s3:
            Path(path).parent.mkdir(parents=True, exist_ok=True)

    def configure_connection(self, conn: duckdb.DuckDBPyConnection) -> None:
        conn.create_function("ml_engine_version", engine_version, [], VARCHAR, side_effects=False)
        udfs.register(conn)
        image_functions.register(conn)

    def configure_cursor(self, cursor: duckdb.DuckDBPyConnection) -> None:
        # ML.RESIZE_IMAGE's TEMP macros belong to one connection, and each dbt cursor is another.
        image_functions.register(cursor)
