"""Fixtures of the dbt project's tests (helpers in dbt_project_helpers)."""

from __future__ import annotations

from pathlib import Path

import pytest
from dbt_project_helpers import copy_project


@pytest.fixture(scope="session")
def dbt_project_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(tmp_path_factory.mktemp("dbt") / "analytics_ml")
