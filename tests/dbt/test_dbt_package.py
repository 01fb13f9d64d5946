"""This project installed as a dbt package: a consumer project with its own profile lists it in
packages.yml (a local path here; a git URL works the same), runs `dbt deps` and `dbt build`, and
gets the materializations, the ml_* macros and the generic tests, without the demo's models and
seeds (enabled only under this project's own profile)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from dbt_project_helpers import ROOT, run_dbt

pytestmark = pytest.mark.slow

FILES = {
    "dbt_project.yml": """
name: consumer
version: "1.0.0"
config-version: 2
profile: consumer
# The local engine reads model SQL in BigQuery's dialect, where "x" is a string: render DuckDB
# relations unquoted, as analytics_ml's own dbt_project.yml does (docs/first-model.md).
quoting:
  database: "{{ target.type == 'bigquery' }}"
  schema: "{{ target.type == 'bigquery' }}"
  identifier: "{{ target.type == 'bigquery' }}"
""",
    "packages.yml": f"packages:\n  - local: {ROOT}\n",
    "profiles.yml": """
consumer:
  target: local
  outputs:
    local:
      type: duckdb
      path: build/consumer.duckdb
      threads: 1
      plugins:
        - module: ml.dbt_plugin
          alias: ml_engine
""",
    "seeds/points.csv": "x,y\n" + "".join(f"{x},{2.5 * x + 1 + x % 7}\n" for x in range(200)),
    # dbt_ml's spelling: materialized='model' and ml_config at the top of the config.
    "models/point_line.sql": """
{{ config(materialized='model', ml_config={'model_type': 'linear_reg', 'input_label_cols': ['y']}) }}
select x, y from {{ ref('points') }}
""",
    "models/point_line.yml": """
version: 2
models:
  - name: point_line
    data_tests:
      - analytics_ml.ml_metric_at_least:
          arguments: {metric: r2_score, value: 0.99}
""",
    "models/line_predictions.sql": (
        "select x, predicted_y from {{ analytics_ml.ml_predict(ref('point_line'), 'select 100 as x') }}\n"
    ),
}


@pytest.fixture(scope="module")
def consumer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("consumer")
    for path, text in FILES.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text.lstrip())
    deps = run_dbt(root, "deps")
    assert deps.returncode == 0, deps.output
    return root


def test_a_consumer_project_builds_with_the_package_alone(consumer: Path) -> None:
    built = run_dbt(consumer, "build")
    assert built.returncode == 0, built.output
    assert set(built.statuses().values()) <= {"success", "pass"}
    assert sorted(uid.split(".")[2] for uid in built.statuses()) == [
        "analytics_ml_ml_metric_at_least_point_line_r2_score__0_99",
        "line_predictions",
        "point_line",
        "points",
    ]
    assert {uid.split(".")[1] for uid in built.statuses()} == {"consumer"}  # none of the demo's
    with duckdb.connect(str(consumer / "build" / "consumer.duckdb"), read_only=True) as con:
        [(x, predicted)] = con.execute("select x, predicted_y from main.line_predictions").fetchall()
    assert x == 100 and predicted == pytest.approx(2.5 * 100 + 4, abs=0.5)  # y = 2.5 x + 1 + (x mod 7)


def test_the_demo_models_and_seeds_stay_disabled_in_the_consumer(consumer: Path) -> None:
    listed = run_dbt(
        consumer, "ls", "--resource-type", "model", "--resource-type", "seed", "--output", "name", "--quiet"
    )
    assert listed.returncode == 0, listed.output
    names = {line.split()[-1] for line in listed.output.splitlines() if line.strip()}
    assert {"point_line", "line_predictions", "points"} <= names
    assert not names & {"penguins", "stg_penguins__penguins", "penguins_body_mass", "titanic_survival"}
