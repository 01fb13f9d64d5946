"""`python -m ml train | versions | promote | rollback | alias | report`: the model registry's CLI.

Each subcommand opens the registry on a target (`--target local` on a DuckDB file, or `bigquery`),
makes one change in one transaction, and prints what it did.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa

from ml.cli_output import write_table
from ml.registry import CHAMPION, EXTERNAL, Registry, parse_model
from ml.registry.local import DEFAULT_DATABASE, LocalBackend, connect
from ml.registry.registry import DEFAULT_KEEP_VERSIONS, aliases_of, format_number


def add_registry_parsers(subparsers: argparse._SubParsersAction) -> None:
    target = argparse.ArgumentParser(add_help=False)
    target.add_argument(
        "--target", choices=("local", "bigquery"), default="local", help="where the registry is"
    )
    target.add_argument("--database", default=DEFAULT_DATABASE, help="DuckDB file (--target local)")
    target.add_argument(
        "--project",
        default=os.environ.get("BIGQUERY_PROJECT"),
        help="Google Cloud project (--target bigquery)",
    )
    target.add_argument(
        "--location", default=os.environ.get("BIGQUERY_LOCATION", "US"), help="BigQuery location"
    )
    target.add_argument(
        "--vertex-region",
        help="register versions in this Vertex AI region's Model Registry (--target bigquery)",
    )
    target.add_argument(
        "--triggered-by", default=f"cli:{getpass.getuser()}", help="recorded with every change"
    )
    target.add_argument(
        "--dbt-project-dir",
        default=".",
        help="dbt project (and profiles) that model and holdout names without a dataset are looked up in",
    )

    def command(name: str, help_text: str, func: Any) -> argparse.ArgumentParser:
        parser = subparsers.add_parser(
            name, help=help_text, parents=[target], formatter_class=argparse.ArgumentDefaultsHelpFormatter
        )
        parser.set_defaults(func=func)
        return parser

    train = command("train", "train a CREATE MODEL statement as the model's next version", run_train)
    train.add_argument("sql", nargs="?", default="-", help="the CREATE MODEL statement, or '-' for stdin")
    train.add_argument(
        "--keep-versions",
        type=int,
        default=DEFAULT_KEEP_VERSIONS,
        help="newest versions to keep; older ones no alias names are retired and their models dropped",
    )
    command(
        "versions",
        "list a model's versions, aliases and decisions, and what disagrees with the warehouse "
        "(exit status 1 when anything does)",
        run_versions,
    ).add_argument("model")
    promote = command(
        "promote", "score champion and challenger on a holdout; promote the better", run_promote
    )
    promote.add_argument("model", help="dataset.name, or the dbt model's name")
    promote.add_argument(
        "--holdout", required=True, help="dataset.table both versions are scored on, or a dbt model or seed"
    )
    promote.add_argument("--metric", required=True, help="an ML.EVALUATE column, e.g. roc_auc or log_loss")
    promote.add_argument("--min-gain", type=float, default=0.0, help="margin the challenger must beat")
    promote.add_argument("--challenger", type=int, help="version to promote (default: the challenger alias)")
    command("rollback", "make the previous champion champion again", run_rollback).add_argument("model")
    alias = command("alias", "point an alias at a version", run_alias)
    alias.add_argument("model")
    alias.add_argument("name", help="alias, e.g. champion, challenger, staging")
    alias.add_argument("version", type=int)
    report = command("report", "write a self-contained HTML model card", run_report)
    report.add_argument("model")
    report.add_argument("--version", type=int, help="version to describe (default: the one serving)")
    report.add_argument("--out", help="HTML file to write (default: build/reports/<model>__v<N>.html)")


@contextmanager
def open_registry(args: argparse.Namespace) -> Iterator[Registry]:
    if args.target == "bigquery":
        from ml.registry.bigquery import BigQueryBackend

        yield Registry(
            BigQueryBackend.connect(args.project, args.location, args.vertex_region), args.triggered_by
        )
        return
    Path(args.database).parent.mkdir(parents=True, exist_ok=True)
    con = connect(args.database)
    try:
        yield Registry(LocalBackend(con), args.triggered_by)
    finally:
        con.close()


def dbt_name_or_path(args: argparse.Namespace, name: str) -> str:
    """`dataset.name` as written; a bare name is a dbt model or seed of --dbt-project-dir, as
    schedules/jobs.yml names them, looked up on the dbt target of the same name as --target."""
    if "." in name:
        return name
    from ml.scheduling.dbt_project import DbtProject

    project_dir = Path(args.dbt_project_dir)
    return DbtProject(project_dir, project_dir, args.target).relation(name)


def run_train(args: argparse.Namespace) -> int:
    sql = sys.stdin.read() if args.sql == "-" else args.sql
    with open_registry(args) as registry:
        trained = registry.train(sql, args.keep_versions)
        if trained is None:
            print("skipped: the model already has versions (CREATE MODEL IF NOT EXISTS)")
            return 0
        serving = registry.resolve(trained.model)
    print(
        f"{trained.model}: trained version {trained.version} ({trained.model}__v{trained.version}), "
        f"alias challenger; {trained.model} serves version {serving}"
    )
    if trained.retired:
        print(f"retired versions {', '.join(map(str, trained.retired))} (keep_versions {args.keep_versions})")
    return 0


def run_versions(args: argparse.Namespace) -> int:
    model = parse_model(dbt_name_or_path(args, args.model))
    with open_registry(args) as registry:
        versions = registry.versions(model)
        aliases = registry.aliases(model)
        decisions = registry.decisions(model)
        serving = registry.default_version(model)
        problems = registry.problems(model)
    served = f"serves version {serving}" if serving is not None else "serves none (all trained outside)"
    print(f"{model}: {len(versions)} versions; {model} {served}")
    write_table(versions_table(versions, aliases), "table", sys.stdout)
    if decisions:
        print("decisions:")
        write_table(decisions_table(decisions), "table", sys.stdout)
    if problems:
        # Not an error of this command, but the on-call engineer's to look at (and a monitor's
        # to alert on): the exit status says so.
        print("problems:")
        for problem in problems:
            print(f"  {problem}")
        return 1
    return 0


def versions_table(versions: list[dict[str, Any]], aliases: dict[str, int]) -> pa.Table:
    """One row per version with its aliases and its training-time metrics side by side."""
    metrics = [json.loads(row["eval_metrics"] or "{}") for row in versions]
    names = sorted({name for row in metrics for name in row})
    columns: dict[str, list[Any]] = {
        "version": [row["version"] for row in versions],
        "aliases": [aliases_of(aliases, row["version"]) for row in versions],
        "status": [row["status"] for row in versions],
        "created_at": [str(row["created_at"])[:19] for row in versions],
        "triggered_by": [row["triggered_by"] for row in versions],
        "data": [row["data_fingerprint"] for row in versions],
    }
    if any(row["status"] == EXTERNAL for row in versions):
        # Trained outside the warehouse: where its model is, instead of a name__vN model.
        columns["artifact"] = [
            json.loads(row["options"] or "{}").get("artifact_uri", "") if row["status"] == EXTERNAL else ""
            for row in versions
        ]
    for name in names:
        columns[name] = [format_number(row.get(name)) for row in metrics]
    return pa.table(columns)


def decisions_table(decisions: list[dict[str, Any]]) -> pa.Table:
    names = ["decided_at", "action", "alias", "metric", "holdout", "champion_version", "challenger_version"]
    columns = {name: [_text(row[name]) for row in decisions] for name in names}
    columns["decided_at"] = [value[:19] for value in columns["decided_at"]]
    for name in ("champion_score", "challenger_score", "min_gain"):
        columns[name] = [format_number(row[name]) for row in decisions]
    columns["decision"] = [row["decision"] for row in decisions]
    return pa.table(columns)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def run_promote(args: argparse.Namespace) -> int:
    model = parse_model(dbt_name_or_path(args, args.model))
    holdout = dbt_name_or_path(args, args.holdout)  # before the registry holds the DuckDB file
    with open_registry(args) as registry:
        result = registry.promote(model, holdout, args.metric, args.min_gain, args.challenger)
    decision = result.decision
    scored = f"challenger v{result.challenger} {result.metric}={decision.challenger_score:.6g}"
    if result.champion is None:
        print(f"{model}: {scored}; no champion yet: promoted v{result.challenger} to champion")
        return 0
    scored = f"champion v{result.champion} {result.metric}={decision.champion_score:.6g} vs {scored}"
    outcome = (
        f"promoted v{result.challenger} to champion"
        if decision.promoted
        else f"kept v{result.champion} as champion"
    )
    print(
        f"{model}: {scored} on {holdout}; gain {decision.gain:.6g}, margin {args.min_gain:g}: {outcome}"
    )
    return 0


def run_rollback(args: argparse.Namespace) -> int:
    model = parse_model(dbt_name_or_path(args, args.model))
    with open_registry(args) as registry:
        demoted, restored = registry.rollback(model)
    print(f"{model}: rolled back the champion from v{demoted} to v{restored}; {model} serves v{restored}")
    return 0


def run_alias(args: argparse.Namespace) -> int:
    model = parse_model(dbt_name_or_path(args, args.model))
    with open_registry(args) as registry:
        before = registry.set_alias(model, args.name, args.version)
    was = "new alias" if before is None else f"was v{before}"
    serves = f"; {model} serves v{args.version}" if args.name == CHAMPION else ""
    print(f"{model}: alias {args.name} -> v{args.version} ({was}){serves}")
    return 0


def run_report(args: argparse.Namespace) -> int:
    from ml.report import write_report

    model = parse_model(dbt_name_or_path(args, args.model))
    with open_registry(args) as registry:
        path = write_report(registry, model, args.version, args.out)
    print(f"{model}: model card written to {path}")
    return 0
