"""The registry under `dbt build` (local target): each training a build makes is a new version,
`ml_predict` pins a version or an alias, the unversioned model serves the champion, and dbt's own
model versions (`versions:` in YAML) work for a bqml_model's SQL."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from dbt_project_helpers import DbtRun, copy_project, run_dbt
from registry_helpers import ml_cli, ok

from ml.registry import Registry, parse_model
from ml.registry.local import LocalBackend

pytestmark = pytest.mark.slow

LINE = parse_model("main_ml.point_line")
CONFIG = "{{ config(meta={'ml_config': {'model_type': 'linear_reg', 'input_label_cols': ['y']}}) }}\n"
FILES = {
    "models/ml/point_line.sql": CONFIG + "select x, y from {{ ref('points') }}\n",
    # dbt model versions of a bqml_model: two definitions side by side, each its own model.
    "models/ml/point_shape.yml": (
        "models:\n  - name: point_shape\n    latest_version: 1\n    versions:\n      - v: 1\n      - v: 2\n"
    ),
    "models/ml/point_shape_v1.sql": CONFIG + "select x, y from {{ ref('points') }}\n",
    "models/ml/point_shape_v2.sql": CONFIG + "select x, y from {{ ref('points') }} where x < 50\n",
    "models/marts/line_predictions.sql": (
        "{% set one = 'select 100 as x' %}\n"
        "select 'default' as pinned, predicted_y from {{ ml_predict(ref('point_line'), one) }}\n"
        "union all\n"
        "select 'version 1', predicted_y from {{ ml_predict(ref('point_line'), one, version=1) }}\n"
        "union all\n"
        "select 'challenger', predicted_y from {{ ml_predict(ref('point_line'), one, alias='challenger') }}\n"
        "union all\n"
        "select 'shape latest', predicted_y from {{ ml_predict(ref('point_shape'), one) }}\n"
        "union all\n"
        "select 'shape v2', predicted_y from {{ ml_predict(ref('point_shape', v=2), one) }}\n"
    ),
}
CHAMPION_MART = (
    "select predicted_y from {{ ml_predict(ref('point_line'), 'select 100 as x', alias='champion') }}\n"
)


def points(every: int = 1) -> str:
    """The seed: y = 2.5 x + 1 + (x mod 7) for every `every`-th x of 0..199."""
    return "x,y\n" + "".join(f"{x},{2.5 * x + 1 + x % 7}\n" for x in range(0, 200, every))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_project(tmp_path_factory.mktemp("registry_dbt") / "analytics_ml")
    for folder in ("models", "seeds"):
        shutil.rmtree(root / folder)
    for path, text in {**FILES, "seeds/points.csv": points(), "seeds/holdout.csv": points()}.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def predictions(project: Path) -> dict[str, float]:
    with duckdb.connect(str(project / "build" / "analytics_ml.duckdb"), read_only=True) as con:
        return dict(con.execute("select pinned, predicted_y from main_marts.line_predictions").fetchall())


@pytest.fixture(scope="module")
def builds(project: Path) -> list[tuple[DbtRun, dict[str, float]]]:
    """Build, promote v1 from the CLI, retrain on worse data (a new seed), build again."""
    first = run_dbt(project, "build")
    assert first.returncode == 0, first.output
    runs = [(first, predictions(project))]
    database = project / "build" / "analytics_ml.duckdb"
    # dbt names, as schedules/jobs.yml takes them: the model and the seed, looked up in the project.
    promoted = ok(
        ml_cli(database, "promote", "point_line", "--holdout", "holdout", "--metric", "r2_score",
               "--dbt-project-dir", str(project))
    )  # fmt: skip
    assert f"{LINE}: challenger v1 r2_score=" in promoted and "promoted v1 to champion" in promoted
    (project / "seeds" / "points.csv").write_text(points(every=7))
    (project / "models" / "marts" / "line_champion.sql").write_text(CHAMPION_MART)
    second = run_dbt(project, "build")
    assert second.returncode == 0, second.output
    runs.append((second, predictions(project)))
    return runs


def test_each_training_build_is_a_new_version_and_the_old_one_still_predicts(
    project: Path, builds: list[tuple[DbtRun, dict[str, float]]]
) -> None:
    (_, first), (_, second) = builds
    assert first["default"] == first["version 1"] == first["challenger"]
    assert second["version 1"] == first["version 1"]  # v1 is immutable
    assert second["challenger"] != pytest.approx(first["version 1"], abs=0.5)  # v2: other data
    with duckdb.connect(str(project / "build" / "analytics_ml.duckdb"), read_only=True) as con:
        registry = Registry(LocalBackend(con))
        versions = registry.versions(LINE)
        assert [v["version"] for v in versions] == [1, 2]
        assert all(v["triggered_by"].startswith("dbt:") for v in versions)
        assert versions[0]["data_fingerprint"].startswith("rows=200;")
        assert versions[1]["data_fingerprint"].startswith("rows=29;")
        assert registry.aliases(LINE) == {"champion": 1, "challenger": 2}
        assert registry.problems(LINE) == []


def test_the_champion_serves_by_default_and_by_alias(
    project: Path, builds: list[tuple[DbtRun, dict[str, float]]]
) -> None:
    (_, second) = builds[1]
    assert second["default"] == second["version 1"]  # v1 was promoted before v2 was trained
    with duckdb.connect(str(project / "build" / "analytics_ml.duckdb"), read_only=True) as con:
        [(champion,)] = con.execute("select predicted_y from main_marts.line_champion").fetchall()
    assert champion == second["version 1"]
    out = ok(
        ml_cli(
            project / "build" / "analytics_ml.duckdb",
            "promote",
            str(LINE),
            "--holdout",
            "main_raw.holdout",
            "--metric",
            "mean_absolute_error",
        )
    )
    assert "kept v1 as champion" in out  # v2 learned from every 7th point only: worse on the holdout


def test_dbt_model_versions_of_a_bqml_model_are_models_of_their_own(
    project: Path, builds: list[tuple[DbtRun, dict[str, float]]]
) -> None:
    (_, first) = builds[0]
    assert first["shape latest"] == pytest.approx(first["version 1"])  # v=1 is latest: the same SQL
    assert first["shape v2"] != pytest.approx(first["shape latest"], abs=1e-6)
    with duckdb.connect(str(project / "build" / "analytics_ml.duckdb"), read_only=True) as con:
        registry = Registry(LocalBackend(con))
        # Each dbt version is a model with a registry history of its own; both read the seed, so
        # the second build's new seed retrained both.
        for name in ("main_ml.point_shape_v1", "main_ml.point_shape_v2"):
            assert [v["version"] for v in registry.versions(parse_model(name))] == [1, 2]
            assert registry.problems(parse_model(name)) == []


def test_pinning_an_unknown_version_is_a_compile_error(project: Path, builds: list) -> None:
    mart = project / "models" / "marts" / "line_missing.sql"
    mart.write_text("select * from {{ ml_predict(ref('point_line'), 'select 1 as x', version=9) }}\n")
    try:
        run = run_dbt(project, "compile", "--select", "line_missing")
    finally:
        mart.unlink()
    assert run.returncode != 0
    assert "Not found: version 9 of model main_ml.point_line in the registry" in run.output


def test_a_name_that_is_no_dbt_node_is_one_clear_line(
    project: Path, builds: list[tuple[DbtRun, dict[str, float]]]
) -> None:
    database = project / "build" / "analytics_ml.duckdb"
    refused = ml_cli(database, "versions", "no_such_model", "--dbt-project-dir", str(project))
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        f"Error: no_such_model is neither dataset.name nor a dbt model or seed of {project} "
        "(--dbt-project-dir)"
    )
