"""docs/first-model.md, run as written on a copy of the project: each file it shows is written
(or appended, for schedules/jobs.yml), each shell block runs in order with the environment's
commands on PATH; only the block marked as needing Google Cloud credentials is left out."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from dbt_project_helpers import ROOT, copy_project

pytestmark = pytest.mark.slow

DOC = ROOT / "docs" / "first-model.md"
# "`path`:" or "Append to `path`:" on its own line, then a fenced block.
STEP = re.compile(r"^(?:(Append to )?`([\w./-]+)`:\n\n)?```(\w+)\n(.*?)^```$", re.M | re.S)
NEEDS_GOOGLE = "# needs Google Cloud credentials"


def steps() -> list[tuple[str, str, str]]:
    """(kind, path, text) per fenced block: kind 'write', 'append' or 'run' ('' for the rest)."""
    found = []
    for append, path, language, text in STEP.findall(DOC.read_text()):
        if path:
            found.append(("append" if append else "write", path, text))
        elif language == "sh":
            found.append(("run", "", text))
    return found


def test_the_page_has_the_steps_it_promises() -> None:
    kinds = [kind for kind, _, _ in steps()]
    assert kinds.count("write") == 3 and kinds.count("append") == 1 and kinds.count("run") >= 5


def test_first_model_runs_as_written(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "analytics_ml")
    shutil.copytree(ROOT / "schedules", project / "schedules")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    outputs = []
    for kind, path, text in steps():
        if kind == "write":
            (project / path).write_text(text)
        elif kind == "append":
            with (project / path).open("a") as file:
                file.write(text)
        elif not text.startswith(NEEDS_GOOGLE):
            command = ["bash", "-euo", "pipefail", "-c", text]
            ran = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=900)
            assert ran.returncode == 0, f"{text}\n{ran.stdout[-3000:]}\n{ran.stderr[-3000:]}"
            outputs.append(ran.stdout)
    printed = "\n".join(outputs)
    assert "no champion yet: promoted v1 to champion" in printed  # the first promote
    # The ridge challenger scores worse on the holdout: kept.
    assert "vs challenger v2 mean_absolute_error=" in printed and "kept v1 as champion" in printed
    assert "penguins-flipper-length-weekly: HTTP 200 succeeded run " in printed  # the scheduled run
    scheduler_job = "projects/my-project/locations/europe-west1/jobs/analytics-ml-retrain-penguins-flipper"
    assert f'"name": "{scheduler_job}-length-weekly"' in printed
    # The last runnable block printed the compiled BigQuery mart: the plain model name.
    assert "ML.EVALUATE(MODEL `my-project`.`analytics_ml_ml`.`penguins_flipper_length`)" in outputs[-1]
    with duckdb.connect(str(project / "build" / "analytics_ml.duckdb"), read_only=True) as con:
        versions = con.execute(
            "select version from ml_registry.model_versions "
            "where model = 'main_ml.penguins_flipper_length' order by version"
        ).fetchall()
        aliases = dict(
            con.execute(
                "select alias, version from ml_registry.model_aliases "
                "where model = 'main_ml.penguins_flipper_length'"
            ).fetchall()
        )
    # v1 from the first build, v2 the ridge challenger, v3 the scheduled retraining (v1's
    # definition again: it ties v1, so v1 stays champion).
    assert versions == [(1,), (2,), (3,)]
    assert aliases == {"champion": 1, "challenger": 3}
