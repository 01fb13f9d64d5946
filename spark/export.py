"""Export the titanic passengers that dbt seeded into the local warehouse as parquet for Spark.

    python -m spark.export --out build/spark/titanic_raw.parquet

The Spark jobs read files (local or gs://), not the warehouse, so this is the hand-over: the
``titanic`` table of ``build/analytics_ml.duckdb`` (found in whichever schema dbt put it), or, on a
fresh checkout where ``dbt seed`` has not run yet, the seed CSV itself. Column names are matched
without regard to case or underscores, so a seed renamed to ``passenger_id`` style still exports
with the book's names and types.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import duckdb

from spark.registry import DEFAULT_WAREHOUSE

DEFAULT_SEED_CSV = Path("seeds/titanic.csv")
DEFAULT_TABLE = "titanic"

# The book's column names and the types the Spark jobs expect.
TITANIC_COLUMNS: dict[str, str] = {
    "PassengerId": "integer",
    "Survived": "integer",
    "Pclass": "integer",
    "Name": "varchar",
    "Sex": "varchar",
    "Age": "double",
    "SibSp": "integer",
    "Parch": "integer",
    "Ticket": "varchar",
    "Fare": "double",
    "Cabin": "varchar",
    "Embarked": "varchar",
}


def _normalized(name: str) -> str:
    return name.replace("_", "").lower()


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def canonical_select(available: Sequence[str]) -> str:
    """A select list that renames and casts ``available`` columns to the book's titanic schema."""
    by_normalized = {_normalized(name): name for name in available}
    missing = [name for name in TITANIC_COLUMNS if _normalized(name) not in by_normalized]
    if missing:
        raise ValueError(f"the titanic data lacks columns {missing}; it has {list(available)}")
    return ", ".join(
        f"cast({_quoted(by_normalized[_normalized(name)])} as {sql_type}) as {name}"
        for name, sql_type in TITANIC_COLUMNS.items()
    )


def find_table(con: duckdb.DuckDBPyConnection, table: str) -> str | None:
    """The quoted ``schema.table`` of ``table`` (``name`` or ``schema.name``, any letter case), if any."""
    schema, _, name = table.rpartition(".")
    found = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where lower(table_name) = lower(?) and (? = '' or lower(table_schema) = lower(?)) "
        "order by table_schema",
        [name, schema, schema],
    ).fetchall()
    if len(found) > 1:
        raise LookupError(f"table {table!r} is in several schemas {[f'{s}.{t}' for s, t in found]}: "
                          "pass --table schema.name")
    return ".".join(_quoted(part) for part in found[0]) if found else None


def export_titanic(out: Path, database: Path = DEFAULT_WAREHOUSE, seed_csv: Path = DEFAULT_SEED_CSV,
                   table: str = DEFAULT_TABLE) -> str:
    """Write the passengers to the parquet file ``out``; returns what they were read from.

    The warehouse table is preferred; the seed CSV is read while the warehouse (or its titanic
    table) does not exist yet.
    """
    con = duckdb.connect(str(database), read_only=True) if database.is_file() else duckdb.connect()
    with con:
        source = find_table(con, table) if database.is_file() else None
        described = f"{database}:{source}"
        if source is None:
            if not seed_csv.is_file():
                raise FileNotFoundError(f"no table {table!r} in {database}, no seed {seed_csv}: run dbt seed")
            source = f"read_csv({_sql_string(str(seed_csv))}, header = true)"
            described = str(seed_csv)
        columns = [row[0] for row in con.execute(f"describe select * from {source}").fetchall()]
        out.parent.mkdir(parents=True, exist_ok=True)
        con.execute(
            f"copy (select {canonical_select(columns)} from {source} order by 1) "
            f"to {_sql_string(str(out))} (format parquet)"
        )
    return described


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the passengers are read from: the options of ``export_titanic``."""
    parser.add_argument("--database", type=Path, default=DEFAULT_WAREHOUSE, help="the local warehouse")
    parser.add_argument("--seed_csv", type=Path, default=DEFAULT_SEED_CSV,
                        help="read while the warehouse has no titanic table")
    parser.add_argument("--table", default=DEFAULT_TABLE, help="table name, or schema.table")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("build/spark/titanic_raw.parquet"))
    add_source_arguments(parser)
    args = parser.parse_args(argv)
    source = export_titanic(args.out, args.database, args.seed_csv, args.table)
    print(f"exported {source} -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
