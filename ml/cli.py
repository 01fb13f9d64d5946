"""`python -m ml`: one argparse subcommand per job; `sql` runs BigQuery (ML) SQL on a DuckDB file.

Later subcommands (versions, promote, report, schedules, runs) register themselves the same way:
a `add_<name>_parser(subparsers)` that sets `func` on its parser.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import duckdb
import pyarrow as pa

from ml.cli_registry import add_registry_parsers
from ml.engine import Engine
from ml.errors import MLError
from ml.scheduling.cli import add_runs_parser, add_schedules_parser


def add_sql_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sql",
        help="run ';'-separated BigQuery (ML) statements, print the last result",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--database", required=True, help="DuckDB database file (created if missing)")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format")
    parser.add_argument("sql", nargs="?", default="-", help="the SQL text, or '-' to read it from stdin")
    parser.set_defaults(func=run_sql)


def run_sql(args: argparse.Namespace) -> int:
    sql = sys.stdin.read() if args.sql == "-" else args.sql
    with duckdb.connect(args.database) as con:
        con.execute("SET enable_progress_bar = false")  # it would draw on stdout, among the results
        result = Engine(con).execute(sql)
    write_table(result, args.format, sys.stdout)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ml", description="Local BigQuery ML engine on DuckDB")
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_sql_parser(subparsers)
    add_registry_parsers(subparsers)
    add_schedules_parser(subparsers)
    add_runs_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (MLError, duckdb.Error) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"Error: {message}", file=sys.stderr)
        return 1


def _cell(value: Any) -> str:
    """Scalars as text; ARRAY / STRUCT values as JSON, the way BigQuery's CLI shows them."""
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, default=str)
    return str(value)


def write_table(table: pa.Table, fmt: str, out: TextIO) -> None:
    """Print an Arrow table as an aligned text table, CSV, or JSON records."""
    rows = table.to_pylist()
    if fmt == "json":
        json.dump(rows, out, default=str, indent=2)
        out.write("\n")
        return
    header = table.column_names
    cells = [[_cell(row[name]) for name in header] for row in rows]
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(cells)
        return
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(header)]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    out.write(line + "\n")
    out.write("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |\n")
    out.write(line + "\n")
    for row in cells:
        out.write("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |\n")
    out.write(line + "\n")
