"""Real data in a fresh in-memory DuckDB for every test: penguins and titanic under schema `raw`."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from palmerpenguins import load_penguins

from ml import Engine

# The dbt seed is the book's train.csv as shipped in ../shared/data/titanic/, kept in the repository.
TITANIC_CSV = Path(__file__).resolve().parents[2] / "seeds" / "titanic.csv"


@pytest.fixture(scope="session")
def penguins() -> pa.Table:
    frame = load_penguins()
    frame.insert(0, "penguin_id", range(len(frame)))
    return pa.Table.from_pandas(frame, preserve_index=False)


@pytest.fixture
def con(penguins: pa.Table) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("CREATE SCHEMA raw")
    connection.execute("CREATE TABLE raw.penguins AS SELECT * FROM penguins ORDER BY penguin_id")
    connection.execute(
        f"CREATE TABLE raw.titanic AS SELECT * FROM read_csv_auto('{TITANIC_CSV}') ORDER BY PassengerId"
    )
    yield connection
    connection.close()


@pytest.fixture
def engine(con: duckdb.DuckDBPyConnection) -> Engine:
    return Engine(con)


@pytest.fixture
def describe(engine: Engine):
    """(name, DuckDB type) of every column a BigQuery query returns."""

    def column_types(query: str) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in engine.con.execute(f"DESCRIBE {engine.translate(query)}").fetchall()]

    return column_types
