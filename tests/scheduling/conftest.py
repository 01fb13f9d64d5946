"""Fixtures of the scheduled-retraining tests: a copy of the dbt project with penguins_body_mass
trained once (shared by the session), job declarations pointing at it, the function's settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from scheduling_helpers import BROKEN_MODEL, JOBS, dbt_helpers, function_env, registry_view

from ml.scheduling.retrain import Retrainer, Settings


@pytest.fixture(scope="session")
def project_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = dbt_helpers().copy_project(tmp_path_factory.mktemp("scheduling") / "analytics_ml")
    (project / "schedules").mkdir()
    (project / "schedules" / "jobs.yml").write_text(JOBS)
    (project / "models" / "ml" / "penguins" / "penguins_broken.sql").write_text(BROKEN_MODEL)
    return project


@pytest.fixture(scope="session")
def project(project_copy: Path) -> Path:
    """The copy with seeds, staging views and the first version of penguins_body_mass built."""
    run = dbt_helpers().run_dbt(
        project_copy, "build", "--select", "+penguins_body_mass", "--exclude", "test_type:data"
    )
    assert run.returncode == 0, run.output[-3000:]
    # The bqml_model materialization trains through the registry: the first version exists.
    assert registry_view(project_copy / "build" / "analytics_ml.duckdb").versions == [1]
    return project_copy


@pytest.fixture
def env(project: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The function's settings for the project copy, also set in os.environ (restored afterwards)."""
    values = function_env(project)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("FUNCTION_AUDIENCE", raising=False)
    monkeypatch.delenv("K_SERVICE", raising=False)
    return values


@pytest.fixture
def retrainer(env: dict[str, str]) -> Retrainer:
    return Retrainer(Settings.from_env(env))
