"""A DuckDB file with training data (`raw.points`) and a frozen holdout (`raw.holdout`).

y = 2.5 x + 1 + (x mod 7): a linear model on all rows fits it to about 1.7 mean absolute error;
one trained only on rows where x mod 7 = 0 misses the mean of the (x mod 7) term, so it scores
worse on the holdout. That gives promotions a known winner both ways.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from registry_helpers import make_database

# The dbt tests' project helpers (copy the project, run dbt), shared rather than copied; pytest puts
# tests/dbt on sys.path only when it collects a test there.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dbt"))


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return make_database(tmp_path)
