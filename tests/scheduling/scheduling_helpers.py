"""Helpers of the scheduled-retraining tests (a module of its own: `conftest` names collide)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import duckdb

from ml import Engine
from ml.registry import Registry, parse_model
from ml.registry.local import LocalBackend, connect
from ml.scheduling import declarations
from ml.scheduling.declarations import DEFAULT_PREFIX, Job
from ml.scheduling.runner import scheduler_headers

ROOT = Path(__file__).resolve().parents[2]
MODEL = "main_ml.penguins_body_mass"
RECENT = "main_staging.recent_penguins"
UNLABELLED = "main_staging.penguins_unlabelled"  # a holdout without the label column
TOKEN = "local-test-token"
JOBS = f"""
jobs:
  - name: penguins-http
    schedule: "*/10 * * * *"
    time_zone: Europe/Berlin
    models: penguins_body_mass
    holdout: stg_penguins__penguins
    metric: mean_absolute_error
    retry: {{retry_count: 2, min_backoff: 1s, max_backoff: 2s}}
  - name: penguins-pubsub
    schedule: "0 4 * * 1"
    target: pubsub
    models: penguins_body_mass
    holdout: stg_penguins__penguins
    metric: mean_absolute_error
  - name: penguins-drift
    schedule: "0 * * * *"
    models: penguins_body_mass
    holdout: stg_penguins__penguins
    metric: r2_score
    drift: {{relation: {RECENT}, threshold: 0.1, only: true}}
  - name: penguins-bad-holdout
    schedule: "0 5 * * *"
    models: penguins_body_mass
    holdout: {UNLABELLED}
    metric: mean_absolute_error
  - name: penguins-broken
    schedule: "0 6 * * *"
    models: penguins_broken
    holdout: stg_penguins__penguins
    metric: r2_score
"""
# A model that compiles but cannot train: its label column does not exist.
BROKEN_MODEL = """
{{ config(meta={'ml_config': {'model_type': 'linear_reg', 'input_label_cols': ['no_such_column']}}) }}
select bill_length_mm, body_mass_g from {{ ref('stg_penguins__penguins') }}
"""


def function_env(project: Path) -> dict[str, str]:
    """The retraining function's settings for a project copy."""
    return {
        "DBT_PROJECT_DIR": str(project),
        "DBT_PROFILES_DIR": str(project),
        "ANALYTICS_ML_DUCKDB": str(project / "build" / "analytics_ml.duckdb"),
        "RETRAIN_SCHEDULES": str(project / "schedules" / "jobs.yml"),
        "REMOTE_FUNCTION_TOKEN": TOKEN,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "PYTHONUNBUFFERED": "1",  # served functions' logs reach their files as dbt writes them
    }


def job(env: dict[str, str], name: str) -> Job:
    """A declared job of the test declarations."""
    return declarations.find(declarations.load(env["RETRAIN_SCHEDULES"]), name)


def database(env: dict[str, str]) -> Path:
    return Path(env["ANALYTICS_ML_DUCKDB"])


def dbt_helpers() -> ModuleType:
    """tests/dbt's project helpers (copy the project, run dbt), loaded by path: one implementation."""
    if "dbt_project_helpers" in sys.modules:  # tests/dbt imported it already
        return sys.modules["dbt_project_helpers"]
    path = ROOT / "tests" / "dbt" / "dbt_project_helpers.py"
    spec = importlib.util.spec_from_file_location("dbt_project_helpers", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def query(database: str | Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(database)) as con:
        return con.execute(sql, params or []).fetchall()


# The executions tests fire by hand fall on this day. `schedules run-local` fires the latest due
# time before now, so it can never fire one of them: a run on a day whose times a test hard-coded
# would be deduplicated as "already did this execution".
TEST_DAY = dt.datetime(2001, 1, 1, tzinfo=dt.UTC)


def execution_at(hour: int, minute: int = 0) -> dt.datetime:
    """A scheduled time on TEST_DAY."""
    return TEST_DAY.replace(hour=hour, minute=minute)


def scheduler_request(
    job: Job, schedule_time: dt.datetime, token: str = TOKEN
) -> tuple[dict[str, str], bytes]:
    """Headers and body exactly as a Cloud Scheduler HTTP job sends them."""
    return scheduler_headers(job, schedule_time, token, DEFAULT_PREFIX), json.dumps(job.body()).encode()


def kill_tree(pid: int) -> None:
    """SIGKILL a process and all its descendants (functions-framework's gunicorn master and worker)."""
    children_file = Path(f"/proc/{pid}/task/{pid}/children")
    children = children_file.read_text().split() if children_file.exists() else []
    os.kill(pid, signal.SIGKILL)
    for child in children:
        kill_tree(int(child))


@dataclass(frozen=True)
class RegistryView:
    versions: list[int]
    aliases: dict[str, int]
    problems: list[str]
    decisions: list[dict]


def registry_view(database: str | Path, model: str = MODEL) -> RegistryView:
    """The registry's record of `model`, read through the registry's own code."""
    with connect(str(database)) as con:
        registry = Registry(LocalBackend(con))
        name = parse_model(model)
        versions = [row["version"] for row in registry.versions(name)] if registry.aliases(name) else []
        return RegistryView(
            versions, registry.aliases(name), registry.problems(name), registry.decisions(name)
        )


def predictions(database: str | Path, rows: int = 5) -> list[dict]:
    """ML.PREDICT through the unversioned name: what SQL users get from the serving version."""
    with duckdb.connect(str(database)) as con:
        return (
            Engine(con)
            .execute(
                f"SELECT * FROM ML.PREDICT(MODEL {MODEL}, (SELECT * FROM main_staging.stg_penguins__penguins "
                f"WHERE body_mass_g IS NOT NULL LIMIT {rows}))"
            )
            .to_pylist()
        )
