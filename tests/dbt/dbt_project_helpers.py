"""Helpers for the dbt project's tests: each test session works on a copy of the project in a
temporary folder, so runs never share `build/analytics_ml.duckdb` or `target/` with a developer."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ml.offline_key import OFFLINE_PROJECT, write_offline_key

ROOT = Path(__file__).resolve().parents[2]
DBT = Path(sys.executable).with_name("dbt")
PROJECT_ITEMS = (
    "dbt_project.yml",
    "profiles.yml",
    "models",
    "macros",
    "seeds",
    ".sqlfluff",
    ".sqlfluffignore",
)
# Owned and tested by the remote-function work (tests/remote_functions): they need the CNN and its
# services.
FOREIGN_MODELS = ("digit_predictions", "digit_predictions_three_ways", "digits_cnn_onnx", "digits_cnn_remote")


@dataclass
class DbtRun:
    """One dbt invocation: its exit code, output, wall time and run_results.json (when written)."""

    returncode: int
    output: str
    seconds: float
    results: dict | None

    def statuses(self) -> dict[str, str]:
        return {r["unique_id"]: r["status"] for r in (self.results or {}).get("results", [])}

    def messages(self) -> dict[str, str]:
        return {r["unique_id"]: r["message"] or "" for r in (self.results or {}).get("results", [])}


def copy_project(destination: Path, without_foreign_models: bool = True) -> Path:
    destination.mkdir(parents=True, exist_ok=True)
    for item in PROJECT_ITEMS:
        source = ROOT / item
        if source.is_dir():
            shutil.copytree(source, destination / item)
        elif source.exists():
            shutil.copy2(source, destination / item)
    for name in FOREIGN_MODELS if without_foreign_models else ():
        for path in (destination / "models").rglob(f"{name}.*"):
            path.unlink()
    # No build/ folder: a fresh clone has none, and the ml.dbt_plugin plugin makes it.
    return destination


def run_dbt(project: Path, *args: str, env: dict[str, str] | None = None) -> DbtRun:
    results_file = project / "target" / "run_results.json"
    results_file.unlink(missing_ok=True)
    started = time.perf_counter()
    completed = subprocess.run(
        [str(DBT), *args, "--project-dir", str(project), "--profiles-dir", str(project)],
        cwd=project,
        env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **(env or {})},
        capture_output=True,
        text=True,
        timeout=900,
    )
    seconds = time.perf_counter() - started
    results = json.loads(results_file.read_text()) if results_file.exists() else None
    return DbtRun(completed.returncode, completed.stdout + completed.stderr, seconds, results)


@dataclass
class OfflineBigQueryProject:
    """A project copy compiled for the bigquery target without credentials, plus a test macro."""

    project: Path
    env: dict[str, str]
    manifest: dict

    def models(self) -> list[dict]:
        return [n for n in self.manifest["nodes"].values() if n["resource_type"] == "model"]

    def ml_model_cases(self) -> list[dict]:
        """Each bqml_model node as the arguments the project's DDL macros take."""
        return [
            {
                "name": n["name"],
                "relation": {"database": n["database"], "schema": n["schema"], "identifier": n["alias"]},
                "sql": n["compiled_code"],
                "ml_config": n["config"]["meta"]["ml_config"],
                "transform": n["config"]["meta"].get("transform"),
                "remote": remote_clauses(n["config"]),
            }
            for n in self.models()
            if n["config"]["materialized"] == "bqml_model"
        ]

    def render(self, macro: str, arguments: dict) -> list[dict]:
        """Runs a test macro that prints one JSON object per line starting with `{"name"`."""
        operation = run_dbt(
            self.project,
            "--quiet",
            "run-operation",
            macro,
            "--args",
            json.dumps(arguments),
            env=self.env,
        )
        assert operation.returncode == 0, operation.output
        return [json.loads(line) for line in operation.output.splitlines() if line.startswith('{"name"')]


def remote_clauses(config: dict) -> dict | None:
    """A model's INPUT / OUTPUT / REMOTE WITH CONNECTION config as _ml_remote_clauses gives it."""
    clauses = {
        "connection": config.get("remote_with_connection"),
        "input": config.get("input"),
        "output": config.get("output"),
    }
    return clauses if any(v is not None for v in clauses.values()) else None


def compile_offline_for_bigquery(
    base: Path, test_macros: dict[str, str], env: dict[str, str] | None = None
) -> OfflineBigQueryProject:
    """`dbt compile --target bigquery` on a fresh copy of the whole project, with `test_macros`
    (file name -> text) added, as docs/bigquery-offline.md does it: a throwaway key, nothing sent;
    `env` adds to the environment dbt runs in."""
    project = copy_project(base / "analytics_ml", without_foreign_models=False)
    for name, text in test_macros.items():
        (project / "macros" / name).write_text(text)
    env = {
        "DBT_TARGET": "bigquery",
        "BIGQUERY_PROJECT": OFFLINE_PROJECT,
        "BIGQUERY_METHOD": "service-account",
        "BIGQUERY_KEYFILE": str(write_offline_key(base / "key.json")),
        **(env or {}),
    }
    compiled = run_dbt(project, "compile", "--no-populate-cache", env=env)
    assert compiled.returncode == 0, compiled.output
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    return OfflineBigQueryProject(project, env, manifest)
