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

ROOT = Path(__file__).resolve().parents[2]
DBT = Path(sys.executable).with_name("dbt")
PROJECT_ITEMS = (
    "dbt_project.yml", "profiles.yml", "models", "macros", "seeds", ".sqlfluff", ".sqlfluffignore",
)
# Owned and tested by the remote-function work (tests/remote_functions); it needs its own services.
FOREIGN_MODELS = ("digit_predictions",)


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


def copy_project(destination: Path) -> Path:
    destination.mkdir(parents=True, exist_ok=True)
    for item in PROJECT_ITEMS:
        source = ROOT / item
        if source.is_dir():
            shutil.copytree(source, destination / item)
        elif source.exists():
            shutil.copy2(source, destination / item)
    for name in FOREIGN_MODELS:
        for path in (destination / "models").rglob(f"{name}.*"):
            path.unlink()
    (destination / "build").mkdir()
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
