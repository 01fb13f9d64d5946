"""`python -m ml`: one argparse subcommand per job; `sql` runs BigQuery (ML) SQL on a DuckDB file.

Later subcommands (versions, promote, report, schedules, runs) register themselves the same way:
a `add_<name>_parser(subparsers)` that sets `func` on its parser.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import duckdb

from ml import dbt_contract, offline_key
from ml.cli_output import write_table
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


def add_dbt_contract_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "dbt-contract",
        help="write the contract the dbt macros read from the engine (model types, options, registry, UDFs)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=dbt_contract.CONTRACT_FILE, help="macros file to write")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the file is stale")
    parser.set_defaults(func=run_dbt_contract)


def run_dbt_contract(args: argparse.Namespace) -> int:
    if args.check:
        stale = dbt_contract.is_stale(args.out)
        print(f"{args.out} is {'stale: run python -m ml dbt-contract' if stale else 'up to date'}")
        return 1 if stale else 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(dbt_contract.render())
    print(f"wrote {args.out}")
    return 0


def add_offline_key_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "offline-key",
        help="write a throwaway service-account key: dbt compile --target bigquery renders with it, offline",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "out", type=Path, nargs="?", default=Path("build", "offline-key.json"), help="file to write"
    )
    parser.add_argument("--project", default=offline_key.OFFLINE_PROJECT, help="project the key names")
    parser.set_defaults(func=run_offline_key)


def run_offline_key(args: argparse.Namespace) -> int:
    offline_key.write_offline_key(args.out, args.project)
    print(f"wrote {args.out} (authenticates nobody: for rendering only)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="analytics-ml", description="Local BigQuery ML engine on DuckDB (also: python -m ml)"
    )
    parser.add_argument("--debug", action="store_true", help="show the Python traceback of an error")
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_sql_parser(subparsers)
    add_registry_parsers(subparsers)
    add_schedules_parser(subparsers)
    add_runs_parser(subparsers)
    add_dbt_contract_parser(subparsers)
    add_offline_key_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except Exception as exc:
        if args.debug:
            raise
        print(f"Error: {one_line(exc)}", file=sys.stderr)
        return 1


def one_line(exc: Exception) -> str:
    """What the user is told: the engine's own one-line message, or for anything unexpected its
    kind and first line (the traceback is what --debug is for)."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    if isinstance(exc, MLError | duckdb.Error):
        return first or type(exc).__name__
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
