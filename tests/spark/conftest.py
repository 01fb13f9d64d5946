"""One local[2] SparkSession for the Spark tests, and the titanic data they run on."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from spark.run_local import QUIET_CONF

# The registry tests' helpers (`python -m ml` in a subprocess), shared rather than copied; pytest
# puts tests/registry on sys.path only when it collects a test there.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))
ROOT = Path(__file__).resolve().parents[2]
SHARED_TITANIC = ROOT.parent / "shared" / "data" / "titanic"
# The dbt seed once it exists; until then the same raw file it is made from.
TITANIC_CSV = next(
    (p for p in (ROOT / "seeds" / "titanic.csv", SHARED_TITANIC / "train.csv") if p.is_file()), None
)
BOOK_PROCESSED = SHARED_TITANIC / "data_processed_titanic_part.snappy.parquet"


@pytest.fixture(scope="session")
def titanic_csv() -> Path:
    if TITANIC_CSV is None:
        pytest.skip("no titanic data: neither seeds/titanic.csv nor ../shared/data/titanic/train.csv")
    return TITANIC_CSV


@pytest.fixture(scope="session")
def book_processed() -> Path:
    if not BOOK_PROCESSED.is_file():
        pytest.skip("the book's processed parquet is not in ../shared/data/titanic")
    return BOOK_PROCESSED


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    builder = SparkSession.builder.master("local[2]").appName("analytics-ml-tests")
    for key, value in QUIET_CONF.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
