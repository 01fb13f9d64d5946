"""`python -m ml schedules deploy|run-local` and `python -m ml runs`.

Heavy imports (dbt, google-cloud-scheduler) happen inside the commands, so the other subcommands of
`python -m ml` start as fast as before.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from ml.cli_output import write_table
from ml.errors import MLError
from ml.extras import require
from ml.scheduling import declarations

if TYPE_CHECKING:  # imported inside the commands at run time: dbt and Google's clients are slow to import
    from ml.scheduling.dbt_project import DbtProject
    from ml.scheduling.runner import Firing, LocalScheduler


def add_schedules_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("schedules", help="scheduled retraining jobs (schedules/jobs.yml)")
    commands = parser.add_subparsers(dest="schedules_command", required=True)
    _add_deploy(commands)
    _add_run_local(commands)


def _common(parser: argparse.ArgumentParser) -> None:
    # Relative to where the command runs, like dbt: the project at hand, wherever ml is installed.
    parser.add_argument(
        "--schedules", type=Path, default=Path(declarations.DEFAULT_PATH), help="job declarations"
    )
    parser.add_argument(
        "--project-dir", type=Path, default=Path("."), help="dbt project (models are checked)"
    )
    parser.add_argument("--profiles-dir", type=Path, default=None, help="dbt profiles (default: project dir)")
    parser.add_argument("--target", default="local", help="dbt target the selectors are resolved on")
    parser.add_argument("--job", action="append", help="only this job (repeatable)")


def _add_deploy(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "deploy",
        help="create/update the Cloud Scheduler jobs, delete undeclared ones",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _common(parser)
    parser.add_argument("--project", required=True, help="Google Cloud project")
    parser.add_argument("--location", required=True, help="Cloud Scheduler region, e.g. europe-west1")
    parser.add_argument(
        "--uri",
        default=os.environ.get("RETRAIN_FUNCTION_URL", ""),
        help="the retraining function's URL (HTTP jobs)",
    )
    parser.add_argument(
        "--service-account",
        default=os.environ.get("RETRAIN_SERVICE_ACCOUNT", ""),
        help="service account whose OIDC token Cloud Scheduler sends",
    )
    parser.add_argument("--audience", default="", help="OIDC audience (default: the URI)")
    parser.add_argument("--topic", default="", help="projects/P/topics/T for Pub/Sub jobs")
    parser.add_argument(
        "--prefix", default=declarations.DEFAULT_PREFIX, help="job ID prefix that marks our jobs"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the Job objects, send nothing")
    parser.set_defaults(func=run_deploy)


def _add_run_local(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "run-local",
        help="fire jobs by their cron at the locally served retraining function",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _common(parser)
    parser.add_argument("--url", default="", help="an already running function (default: start one)")
    parser.add_argument(
        "--token", default=os.environ.get("REMOTE_FUNCTION_TOKEN", ""), help="bearer token for --url"
    )
    when = parser.add_mutually_exclusive_group(required=True)
    when.add_argument(
        "--once", action="store_true", help="fire every job once, for its latest scheduled time"
    )
    when.add_argument(
        "--until",
        type=dt.datetime.fromisoformat,
        help="fire jobs at their scheduled times until this time (ISO 8601, UTC if naive)",
    )
    parser.set_defaults(func=run_local)


def _jobs(args: argparse.Namespace) -> list[declarations.Job]:
    jobs = declarations.load(args.schedules)
    return [declarations.find(jobs, name) for name in args.job] if args.job else jobs


def _project(args: argparse.Namespace) -> DbtProject:
    from ml.scheduling.dbt_project import DbtProject

    return DbtProject(
        args.project_dir.resolve(), (args.profiles_dir or args.project_dir).resolve(), args.target
    )


def run_deploy(args: argparse.Namespace) -> int:
    require("google.cloud.scheduler_v1", "gcp", "schedules deploy")
    from ml.scheduling import cloud

    jobs = _jobs(args)
    _project(args).validate(jobs)  # unknown models and metrics are refused before any request
    target = cloud.DeployTarget(
        args.project, args.location, args.uri, args.service_account, args.audience, args.topic, args.prefix
    )
    if args.dry_run:
        json.dump([cloud.describe(job) for job in cloud.build_jobs(jobs, target)], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    from google.cloud import scheduler_v1

    for change in cloud.deploy(scheduler_v1.CloudSchedulerClient(), jobs, target):
        print(f"{change.action:9} {change.name}")
    return 0


def run_local(args: argparse.Namespace) -> int:
    from ml.scheduling.runner import LocalScheduler, served_function

    jobs = _jobs(args)
    _project(args).validate(jobs)
    env = {
        "DBT_PROJECT_DIR": str(args.project_dir.resolve()),
        "DBT_PROFILES_DIR": str((args.profiles_dir or args.project_dir).resolve()),
        "DBT_TARGET": args.target,
        "RETRAIN_SCHEDULES": str(args.schedules.resolve()),
    }
    if args.url:
        return _fire(LocalScheduler(args.url, args.token or None), jobs, args)
    with served_function(env) as served:
        return _fire(LocalScheduler(served.url, served.token), jobs, args)


def _fire(scheduler: LocalScheduler, jobs: list[declarations.Job], args: argparse.Namespace) -> int:
    now = dt.datetime.now(dt.UTC)
    if args.once:
        firings = scheduler.once(jobs, now)
        for firing in firings:
            _print_firing(firing)
    else:
        end = args.until if args.until.tzinfo else args.until.replace(tzinfo=dt.UTC)
        firings = scheduler.until(jobs, end, _print_firing)
    failed = [f for f in firings if f.status_code is None or f.status_code >= 300]
    return 1 if failed else 0


def _print_firing(firing: Firing) -> None:
    payload = firing.payload
    print(
        f"{firing.schedule_time:%Y-%m-%dT%H:%M:%SZ} {firing.job}: HTTP {firing.status_code} "
        f"{payload.get('status')} run {payload.get('run_id')} "
        f"{payload.get('errorMessage') or payload.get('reason') or ''}".rstrip(),
        flush=True,
    )


def add_runs_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "runs",
        help="retraining run history, newest first",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--database",
        type=Path,
        default=Path(os.environ.get("ANALYTICS_ML_DUCKDB", "build/analytics_ml.duckdb")),
        help="DuckDB file of the local target",
    )
    parser.add_argument("--target", choices=("local", "bigquery"), default="local", help="where runs are")
    parser.add_argument(
        "--project", default=os.environ.get("BIGQUERY_PROJECT"), help="BigQuery project (target bigquery)"
    )
    parser.add_argument(
        "--location", default=os.environ.get("BIGQUERY_LOCATION", "US"), help="BigQuery location"
    )
    parser.add_argument("--job", default=None, help="only this job")
    parser.add_argument("--limit", type=int, default=20, help="at most this many runs")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format")
    parser.set_defaults(func=run_runs)


def run_runs(args: argparse.Namespace) -> int:
    from ml.scheduling.store import RunRecords, RunStore, StoreError

    store: RunRecords
    if args.target == "bigquery":
        from ml.scheduling.store_bigquery import BigQueryRunStore

        store = BigQueryRunStore.connect(args.project, args.location)
    elif not args.database.exists():  # connecting would create an empty database there
        raise MLError(f"no database at {args.database} (the local target's DuckDB file; see --database)")
    else:
        store = RunStore(args.database)
    try:
        runs = store.runs(args.job, args.limit)
    except StoreError as exc:  # one line on stderr, like every CLI error
        raise MLError(str(exc)) from exc
    if args.format == "json":
        json.dump(runs, sys.stdout, default=str, indent=2)
        sys.stdout.write("\n")
        return 0
    write_table(pa.Table.from_pylist([summary(run) for run in runs], schema=SUMMARY), args.format, sys.stdout)
    return 0


SUMMARY = pa.schema(
    [
        (name, pa.string())
        for name in (
            "run_id",
            "job",
            "trigger",
            "status",
            "started_at",
            "finished_at",
            "versions_trained",
            "decision",
            "error",
        )
    ]
)


def _decision(model: str, d: dict) -> str:
    challenger = f"v{d['challenger_version']} {d['decision']} ({d['metric']} {_score(d['challenger_score'])}"
    return (
        f"{model}: {challenger} vs champion {_version(d['champion_version'])} {_score(d['champion_score'])})"
    )


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _version(value: int | None) -> str:
    return "none" if value is None else f"v{value}"


def summary(run: dict) -> dict[str, str | None]:
    """One line per run: versions as `model: v3`, decisions as
    `model: v3 promoted (mean_absolute_error 227.1 vs champion v2 231.4)`."""
    decisions = run.get("decision") or {}
    if "reason" in decisions:
        decided = decisions["reason"]
    else:
        decided = "; ".join(_decision(model, d) for model, d in decisions.items())
    versions = "; ".join(
        f"{model}: {', '.join(f'v{v}' for v in found)}"
        for model, found in (run.get("versions_trained") or {}).items()
    )
    return {
        "run_id": run["run_id"][:12],
        "job": run["job"],
        "trigger": run["trigger"],
        "status": run["status"],
        "started_at": f"{run['started_at']:%Y-%m-%d %H:%M:%S}",
        "finished_at": f"{run['finished_at']:%Y-%m-%d %H:%M:%S}" if run["finished_at"] else None,
        "versions_trained": versions or None,
        "decision": decided or None,
        "error": run["error"],
    }
