"""The registry's tables: one column list, rendered for DuckDB (local) and BigQuery alike.

Both targets hold the same three tables in a schema / dataset of their own, so the registry code
reads and writes them with the same statements. JSON-valued columns are STRING on both: BigQuery's
JSON type and DuckDB's differ in what they accept, text is the same everywhere.
"""

from __future__ import annotations

from collections.abc import Callable

SCHEMA = "ml_registry"

# (column, kind); kind is one of string, int, float, timestamp.
TABLES: dict[str, list[tuple[str, str]]] = {
    "model_versions": [
        ("model", "string"),  # dataset.name, without the version suffix
        ("version", "int"),
        ("created_at", "timestamp"),
        ("ddl", "string"),  # the exact CREATE MODEL statement that trained this version (NULL: external)
        ("options", "string"),  # JSON object, the OPTIONS as written (external: params + artifact_uri)
        ("data_fingerprint", "string"),  # row count and a hash of the training rows
        ("eval_metrics", "string"),  # JSON object: ML.EVALUATE without input (external: the job's)
        ("triggered_by", "string"),
        ("status", "string"),  # ready | rolled_back | external (trained outside the warehouse)
    ],
    "model_aliases": [
        ("model", "string"),
        ("alias", "string"),
        ("version", "int"),
        ("updated_at", "timestamp"),
    ],
    "promotion_decisions": [
        ("model", "string"),
        ("decided_at", "timestamp"),
        ("action", "string"),  # promote | rollback | alias
        ("alias", "string"),  # the alias the action moved (or would have moved)
        ("metric", "string"),
        ("holdout", "string"),
        ("holdout_fingerprint", "string"),
        ("min_gain", "float"),
        ("champion_version", "int"),  # the champion before the decision
        ("challenger_version", "int"),
        ("champion_score", "float"),
        ("challenger_score", "float"),
        ("decision", "string"),  # promoted | kept | rolled_back | aliased
        ("triggered_by", "string"),
    ],
}

_TYPES = {
    "duckdb": {"string": "VARCHAR", "int": "BIGINT", "float": "DOUBLE", "timestamp": "TIMESTAMP"},
    "bigquery": {"string": "STRING", "int": "INT64", "float": "FLOAT64", "timestamp": "TIMESTAMP"},
}


def columns(table: str) -> list[str]:
    return [name for name, _ in TABLES[table]]


def typed_columns(dialect: str) -> dict[str, list[tuple[str, str]]]:
    """Every registry table's (column, SQL type) in `dialect` (what the dbt macros get too)."""
    types = _TYPES[dialect]
    return {table: [(name, types[kind]) for name, kind in spec] for table, spec in TABLES.items()}


def create_statements(dialect: str, schema_sql: str, table_sql: Callable[[str], str]) -> list[str]:
    """CREATE SCHEMA / CREATE TABLE IF NOT EXISTS for every registry table, with the names quoted
    by the target (`schema_sql`, `table_sql(table)`)."""
    statements = [f"CREATE SCHEMA IF NOT EXISTS {schema_sql}"]
    for table, columns in typed_columns(dialect).items():
        body = ", ".join(f"{name} {sql_type}" for name, sql_type in columns)
        statements.append(f"CREATE TABLE IF NOT EXISTS {table_sql(table)} ({body})")
    return statements


def column_kind(name: str) -> str | None:
    """The kind of a registry column of that name (query parameters are named after columns)."""
    return next((kind for spec in TABLES.values() for column, kind in spec if column == name), None)
