"""The hand-over from the warehouse to Spark: the seeded titanic table exported as parquet."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from spark.export import TITANIC_COLUMNS, export_titanic, main


def seed_warehouse(database: Path, csv: Path, schema: str, rename: dict[str, str] | None = None) -> None:
    """What `dbt seed` leaves: the CSV as a table ``schema.titanic`` (optionally with renamed columns)."""
    select = ", ".join(f'"{c}" as "{(rename or {}).get(c, c)}"' for c in TITANIC_COLUMNS)
    with duckdb.connect(str(database)) as con:
        con.execute(f"create schema if not exists {schema}")
        con.execute(f"create table {schema}.titanic as select {select} from read_csv('{csv}', header = true)")


def test_reads_the_seeded_table_whatever_its_schema_and_column_style(
    tmp_path: Path, titanic_csv: Path
) -> None:
    database = tmp_path / "warehouse.duckdb"
    snake = {"PassengerId": "passenger_id", "SibSp": "sib_sp", "Pclass": "pclass", "Survived": "SURVIVED"}
    seed_warehouse(database, titanic_csv, "main_seeds", snake)
    out = tmp_path / "raw.parquet"

    source = export_titanic(out, database, seed_csv=tmp_path / "absent.csv")

    assert source == f'{database}:"main_seeds"."titanic"'
    table = pq.read_table(out)
    assert table.column_names == list(TITANIC_COLUMNS)
    assert table.num_rows == 891
    assert str(table.schema.field("Age").type) == "double"
    assert table.column("PassengerId").to_pylist()[:3] == [1, 2, 3]
    assert table.column("Age").null_count == 177


def test_falls_back_to_the_seed_csv_while_there_is_no_warehouse(tmp_path: Path, titanic_csv: Path) -> None:
    out = tmp_path / "raw.parquet"
    assert (
        main(["--out", str(out), "--database", str(tmp_path / "none.duckdb"), "--seed_csv", str(titanic_csv)])
        == 0
    )
    assert pq.read_table(out).num_rows == 891


def test_falls_back_to_the_seed_csv_while_the_warehouse_has_no_titanic(
    tmp_path: Path, titanic_csv: Path
) -> None:
    database = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("create table penguins as select 1 as id")
    assert export_titanic(tmp_path / "raw.parquet", database, titanic_csv) == str(titanic_csv)


def test_a_table_in_two_schemas_must_be_named(tmp_path: Path, titanic_csv: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    seed_warehouse(database, titanic_csv, "main")
    seed_warehouse(database, titanic_csv, "main_seeds")
    with pytest.raises(LookupError, match="several schemas"):
        export_titanic(tmp_path / "raw.parquet", database)
    assert export_titanic(tmp_path / "raw.parquet", database, table="main_seeds.titanic").endswith(
        '"main_seeds"."titanic"'
    )


def test_missing_columns_are_named(tmp_path: Path) -> None:
    csv = tmp_path / "titanic.csv"
    csv.write_text("PassengerId,Survived\n1,0\n")
    with pytest.raises(ValueError, match=r"lacks columns.*'Pclass'"):
        export_titanic(tmp_path / "raw.parquet", tmp_path / "none.duckdb", csv)


def test_nothing_to_read_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="dbt seed"):
        export_titanic(tmp_path / "raw.parquet", tmp_path / "none.duckdb", tmp_path / "none.csv")
