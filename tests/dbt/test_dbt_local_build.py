"""`dbt build` on the local target, end to end: real seeds, models really trained by the local
engine in-process, predictions and metric tests. One project copy goes through a sequence of
builds (fixtures chained in order) so the expensive first build is paid once."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from dbt_project_helpers import DbtRun, run_dbt

from ml import Engine

pytestmark = pytest.mark.slow

ML_MODELS = {
    "model.analytics_ml.penguins_body_mass",
    "model.analytics_ml.penguins_clusters",
    "model.analytics_ml.titanic_survival",
}
BAD_MODELS = {
    # name: (config, option the message must name)
    "bad_unknown_model_type": ("{'model_type': 'linear_regression', 'input_label_cols': ['body_mass_g']}",
                               "model_type"),
    "bad_missing_label": ("{'model_type': 'logistic_reg'}", "input_label_cols"),
    "bad_option_typo": (
        "{'model_type': 'linear_reg', 'input_label_cols': ['body_mass_g'], 'max_iteration': 5}",
        "max_iteration",
    ),
    # Found only by the engine, at training: reaches dbt as the engine's one line, no traceback.
    "bad_label_column": ("{'model_type': 'linear_reg', 'input_label_cols': ['no_such_column']}",
                         "Label column no_such_column not found in the training data"),
}
# A model written the dbt_ml way (materialized='model', ml_config at the top level), and a mart
# evaluating it with the same macros.
DBT_ML_MODEL = """{{ config(materialized='model', ml_config={
    'model_type': 'linear_reg', 'input_label_cols': ['body_mass_g']}) }}
select species, island, flipper_length_mm, body_mass_g
from {{ ref('stg_penguins__penguins') }} where body_mass_g is not null
"""
DBT_ML_EVALUATION = "select * from {{ ml_evaluate(ref('dbt_ml_style_mass')) }}\n"

THRESHOLD_PROBE = """
{%- set first_hundred = 'select * from ' ~ ref('stg_titanic__passengers') ~ ' where passenger_id <= 100' -%}
with

strict as (

    select * from {{ ml_predict(ref('titanic_survival'), first_hundred, threshold=0.9) }}

),

strict_evaluation as (

    select * from {{ ml_evaluate(ref('titanic_survival'), first_hundred, threshold=0.9) }}

)

select
    (select count(*) from strict) as passengers,
    (select sum(predicted_survived) from strict) as predicted_survivors,
    (select recall from strict_evaluation) as recall
"""


ROC_AND_WEIGHTS_PROBE = """
with

roc as (

    select * from {{ ml_roc_curve(
        ref('titanic_survival'), ref('stg_titanic__passengers'), thresholds=[0.75, 0.25, 0.5]
    ) }}

),

standardized as (

    select * from {{ ml_weights(ref('penguins_body_mass'), standardize=true) }}

),

original as (

    select * from {{ ml_weights(ref('penguins_body_mass')) }}

)

select
    (select list(threshold order by threshold) from roc) as thresholds,
    (select sum(true_positives + false_positives + true_negatives + false_negatives) from roc) as counted,
    (select count(*) from standardized) as weights,
    (select count(*) from standardized inner join original using (processed_input)
        where standardized.weight is distinct from original.weight) as rescaled
"""


def query(project: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(project / "build" / "analytics_ml.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def ml_messages(run: DbtRun) -> dict[str, str]:
    return {k: v for k, v in run.messages().items() if k in ML_MODELS}


@pytest.fixture(scope="session")
def first_build(dbt_project_copy: Path) -> DbtRun:
    return run_dbt(dbt_project_copy, "build")


@pytest.fixture(scope="session")
def second_build(dbt_project_copy: Path, first_build: DbtRun) -> DbtRun:
    return run_dbt(dbt_project_copy, "build")


@pytest.fixture(scope="session")
def docs(dbt_project_copy: Path, second_build: DbtRun) -> DbtRun:
    return run_dbt(dbt_project_copy, "docs", "generate")


@pytest.fixture(scope="session")
def lint(dbt_project_copy: Path, second_build: DbtRun) -> subprocess.CompletedProcess:
    # Marts call the ml_* macros, which read the trained models' templates: lint after a build.
    return subprocess.run(
        [str(Path(sys.executable).with_name("sqlfluff")), "lint", "models", "macros"],
        cwd=dbt_project_copy, capture_output=True, text=True, timeout=600,
    )


@pytest.fixture(scope="session")
def changed_sql_build(dbt_project_copy: Path, docs: DbtRun, lint: subprocess.CompletedProcess) -> DbtRun:
    model = dbt_project_copy / "models" / "ml" / "penguins" / "penguins_clusters.sql"
    source = model.read_text()
    assert "and body_mass_g is not null" in source
    model.write_text(source.replace("and body_mass_g is not null", "and body_mass_g > 0"))
    # Same build: a mart calling the macros with a query as input and a threshold.
    probe = dbt_project_copy / "models" / "marts" / "titanic" / "titanic_threshold_probe.sql"
    probe.write_text(THRESHOLD_PROBE)
    (probe.parent / "titanic_roc_weights_probe.sql").write_text(ROC_AND_WEIGHTS_PROBE)
    return run_dbt(dbt_project_copy, "build")


@pytest.fixture(scope="session")
def full_refresh_run(dbt_project_copy: Path, changed_sql_build: DbtRun) -> DbtRun:
    return run_dbt(dbt_project_copy, "run", "--full-refresh", "--select", "titanic_survival")


@pytest.fixture(scope="session")
def changed_data_build(dbt_project_copy: Path, full_refresh_run: DbtRun) -> DbtRun:
    seed = dbt_project_copy / "seeds" / "penguins.csv"
    rows = seed.read_text().splitlines(keepends=True)
    seed.write_text("".join(rows[:-10]))
    return run_dbt(dbt_project_copy, "build", "--select", "penguins+", "stg_titanic__passengers+")


@pytest.fixture(scope="session")
def bad_config_build(dbt_project_copy: Path, changed_data_build: DbtRun) -> DbtRun:
    folder = dbt_project_copy / "models" / "ml" / "broken"
    folder.mkdir()
    for name, (ml_config, _) in BAD_MODELS.items():
        (folder / f"{name}.sql").write_text(
            f"{{{{ config(meta={{'ml_config': {ml_config}}}) }}}}\n"
            "select species, sex, body_mass_g from {{ ref('stg_penguins__penguins') }}\n"
        )
    (folder / "dbt_ml_style_mass.sql").write_text(DBT_ML_MODEL)
    (dbt_project_copy / "models" / "marts" / "dbt_ml_style_evaluation.sql").write_text(DBT_ML_EVALUATION)
    # Same build: a model asking to be retrained every time, with nothing else changed.
    model = dbt_project_copy / "models" / "ml" / "penguins" / "penguins_body_mass.sql"
    opening = "    config(meta={\n"
    model.write_text(model.read_text().replace(opening, opening + "        'retrain': 'always',\n"))
    return run_dbt(dbt_project_copy, "build")


def test_first_build_passes_every_node_and_test(first_build: DbtRun) -> None:
    assert first_build.returncode == 0, first_build.output
    statuses = first_build.statuses()
    assert statuses.keys() >= ML_MODELS
    assert len([k for k in statuses if k.startswith("test.")]) >= 20
    assert set(statuses.values()) <= {"success", "pass"}, statuses
    for node, message in ml_messages(first_build).items():
        assert message.startswith("trained (first build) in "), (node, message)
    assert "penguins_body_mass: trained (first build)" in first_build.output


# ML.EVALUATE of each demo model recorded before the model-type catalog moved the engine's code:
# the refactoring must not change a single figure.
RECORDED_METRICS = Path(__file__).with_name("demo_model_metrics.json")
EVALUATION_INPUTS = {
    "penguins": "main_staging.stg_penguins__penguins",
    "titanic": "main_staging.stg_titanic__passengers",
}


def demo_model_metrics(project: Path, models: list[str]) -> dict[str, dict[str, list[dict]]]:
    """ML.EVALUATE of each model, without input ('training') and on its staging table ('holdout')."""
    found: dict[str, dict[str, list[dict]]] = {}
    with duckdb.connect(str(project / "build" / "analytics_ml.duckdb"), read_only=True) as con:
        engine = Engine(con)
        for model in models:
            forms = {"training": f"SELECT * FROM ML.EVALUATE(MODEL main_ml.{model})"}
            table = next((t for prefix, t in EVALUATION_INPUTS.items() if model.startswith(prefix)), None)
            has_input = con.execute(
                "SELECT count(*) FROM _ml.model_functions "
                "WHERE model = ? AND function = 'evaluate' AND has_input", [model]
            ).fetchall()[0][0]
            if table and has_input:
                forms["holdout"] = f"SELECT * FROM ML.EVALUATE(MODEL main_ml.{model}, TABLE {table})"
            found[model] = {form: engine.execute(sql).to_pylist() for form, sql in forms.items()}
    return found


def same_figure(recorded: object, now: object) -> bool:
    if isinstance(recorded, float) and isinstance(now, float):
        return math.isclose(recorded, now, rel_tol=1e-12, abs_tol=1e-12)
    return recorded == now


def test_demo_models_evaluate_as_recorded_before_the_catalog(
    dbt_project_copy: Path, first_build: DbtRun,
) -> None:
    recorded = json.loads(RECORDED_METRICS.read_text())["metrics"]
    now = demo_model_metrics(dbt_project_copy, sorted(recorded))
    assert {m: sorted(forms) for m, forms in now.items()} == {m: sorted(f) for m, f in recorded.items()}
    for model, forms in recorded.items():
        for form, rows in forms.items():
            assert len(now[model][form]) == len(rows), (model, form)
            for old, new in zip(rows, now[model][form], strict=True):
                assert old.keys() == new.keys(), (model, form)
                differ = {k: (old[k], new[k]) for k in old if not same_figure(old[k], new[k])}
                assert not differ, (model, form, differ)


def test_models_are_really_trained_and_used_inside_duckdb(
    dbt_project_copy: Path, first_build: DbtRun,
) -> None:
    [(r2, mae)] = query(dbt_project_copy,
                        "select r2_score, mean_absolute_error from main_marts.penguins_body_mass_evaluation")
    assert 0.85 < r2 < 1 and 200 < mae < 300
    [(rows, predicted, mean_residual)] = query(dbt_project_copy, """
        select count(*), count(predicted_body_mass_g), avg(residual_g)
        from main_marts.penguins_body_mass_predictions""")
    assert rows == predicted == 344
    assert abs(mean_residual) < 1e-6, "least squares with an intercept has zero mean residual"
    [(clusters,)] = query(dbt_project_copy,
                          "select count(distinct centroid_id) from main_marts.penguins_cluster_assignments")
    assert clusters == 3
    [(auc,)] = query(dbt_project_copy, "select roc_auc from main_marts.titanic_survival_evaluation")
    assert 0.78 < auc < 1
    [(holdout_accuracy,)] = query(dbt_project_copy, """
        select avg(case when predicted_survived = survived then 1.0 else 0.0 end)
        from main_marts.titanic_survival_predictions where is_holdout""")
    assert 0.75 < holdout_accuracy < 0.9


COMPILED_MARTS = Path("target", "compiled", "analytics_ml", "models", "marts", "penguins")
SPECIES_PROBS = "select penguin_id, [p.prob for p in predicted_species_probs] from {} order by penguin_id"


def species_probabilities(project: Path, relation: str = "main_marts.penguins_species_predictions") -> list:
    return query(project, SPECIES_PROBS.format(relation))


def test_dbt_scores_dnn_and_explains_trees_in_the_engines_udfs(
    dbt_project_copy: Path, first_build: DbtRun,
) -> None:
    """Through ml.dbt_plugin, dbt runs the DNN's `predict_udf` template (torch in an Arrow UDF)
    and tree SHAP on its own connection; the DNN's predictions equal its pure-SQL template's."""
    compiled = dbt_project_copy / COMPILED_MARTS
    assert "__ml_dnn_forward(" in (compiled / "penguins_species_predictions.sql").read_text()
    assert "__ml_tree_shap(" in (compiled / "penguins_species_explanations.sql").read_text()
    [(template,)] = query(dbt_project_copy, """
        select sql_template from _ml.model_functions
        where model = 'penguins_species_dnn' and function = 'predict' and has_input""")
    assert "__ml_dnn_forward(" not in template
    pure_sql = f"({template.replace('__ML_INPUT__', 'main_staging.stg_penguins__penguins')})"
    via_udf = species_probabilities(dbt_project_copy)
    via_sql = species_probabilities(dbt_project_copy, pure_sql)
    assert len(via_udf) == 344 and [r[0] for r in via_udf] == [r[0] for r in via_sql]
    for (_, udf_probs), (_, sql_probs) in zip(via_udf, via_sql, strict=True):
        assert udf_probs == pytest.approx(sql_probs, abs=1e-12)
    [(rows, gap, k)] = query(dbt_project_copy, """
        select count(*),
            max(abs(list_sum([a.attribution for a in top_feature_attributions])
                + baseline_prediction_value - prediction_value)),
            min(len(top_feature_attributions))
        from main_marts.penguins_species_explanations""")
    assert rows == 344 and k == 6 and gap < 1e-5, "tree SHAP attributions sum to margin - baseline"


@pytest.fixture(scope="session")
def pure_sql_run(dbt_project_copy: Path, first_build: DbtRun) -> tuple[list, DbtRun, DbtRun]:
    """The UDF path's predictions, then the same mart rebuilt with var ml_local_udfs false, and a
    compile of the tree explanations under the same var."""
    via_udf = species_probabilities(dbt_project_copy)
    no_udfs = ("--vars", "{ml_local_udfs: false}")
    rebuilt = run_dbt(dbt_project_copy, "run", "--select", "penguins_species_predictions", *no_udfs)
    explain = run_dbt(dbt_project_copy, "compile", "--select", "penguins_species_explanations", *no_udfs)
    return via_udf, rebuilt, explain


def test_without_the_udfs_dbt_runs_the_pure_sql_templates(
    dbt_project_copy: Path, pure_sql_run: tuple[list, DbtRun, DbtRun],
) -> None:
    via_udf, rebuilt, explain = pure_sql_run
    assert rebuilt.returncode == 0, rebuilt.output
    compiled = (dbt_project_copy / COMPILED_MARTS / "penguins_species_predictions.sql").read_text()
    assert "__ml_" in compiled and "__ml_dnn_forward(" not in compiled
    via_sql = species_probabilities(dbt_project_copy)
    assert [r[0] for r in via_sql] == [r[0] for r in via_udf]
    for (_, sql_probs), (_, udf_probs) in zip(via_sql, via_udf, strict=True):
        assert sql_probs == pytest.approx(udf_probs, abs=1e-12)
    assert explain.returncode != 0
    assert "ML.EXPLAIN_PREDICT of" in explain.output and "ml.dbt_plugin" in explain.output


def test_second_build_retrains_nothing_and_is_faster(first_build: DbtRun, second_build: DbtRun) -> None:
    assert second_build.returncode == 0, second_build.output
    assert set(second_build.statuses().values()) <= {"success", "pass"}
    assert set(ml_messages(second_build).values()) == {"skipped (unchanged)"}
    assert "penguins_body_mass: skipped (unchanged)" in second_build.output
    assert second_build.seconds < first_build.seconds


def test_docs_generate_works(dbt_project_copy: Path, docs: DbtRun) -> None:
    assert docs.returncode == 0, docs.output
    catalog = (dbt_project_copy / "target" / "catalog.json").read_text()
    assert '"model.analytics_ml.titanic_survival"' in catalog
    assert '"model.analytics_ml.titanic_survival_predictions"' in catalog


def test_sqlfluff_lints_models_and_macros_clean(lint: subprocess.CompletedProcess) -> None:
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_changing_one_models_sql_retrains_just_that_model(changed_sql_build: DbtRun) -> None:
    assert changed_sql_build.returncode == 0, changed_sql_build.output
    messages = ml_messages(changed_sql_build)
    assert messages.pop("model.analytics_ml.penguins_clusters").startswith("trained (definition changed) in ")
    assert messages == {
        "model.analytics_ml.penguins_body_mass": "skipped (unchanged)",
        "model.analytics_ml.titanic_survival": "skipped (unchanged)",
    }


def test_ml_macros_take_a_query_and_a_threshold_locally(
    dbt_project_copy: Path, changed_sql_build: DbtRun,
) -> None:
    [(passengers, strict_survivors, strict_recall)] = query(
        dbt_project_copy, "select * from main_marts.titanic_threshold_probe")
    [(survivors, actual, caught)] = query(dbt_project_copy, """
        select sum(predicted_survived), sum(survived), sum(predicted_survived * survived)
        from main_marts.titanic_survival_predictions where passenger_id <= 100""")
    assert passengers == 100
    assert 0 < strict_survivors < survivors, "a 0.9 threshold predicts fewer survivors than 0.5"
    assert strict_recall < caught / actual


def test_ml_macros_take_roc_thresholds_and_standardize_locally(
    dbt_project_copy: Path, changed_sql_build: DbtRun,
) -> None:
    [(thresholds, counted, weights, rescaled)] = query(
        dbt_project_copy, "select * from main_marts.titanic_roc_weights_probe")
    [(passengers,)] = query(dbt_project_copy, "select count(*) from main_staging.stg_titanic__passengers")
    assert thresholds == [0.25, 0.5, 0.75]
    assert counted == 3 * passengers
    assert weights > 2 and 0 < rescaled < weights  # numeric weights rescaled, categorical ones as they were


def test_full_refresh_retrains(full_refresh_run: DbtRun) -> None:
    assert full_refresh_run.returncode == 0, full_refresh_run.output
    assert ml_messages(full_refresh_run)["model.analytics_ml.titanic_survival"].startswith(
        "trained (full refresh) in ")


def test_new_training_data_retrains_the_models_reading_it(changed_data_build: DbtRun) -> None:
    assert changed_data_build.returncode == 0, changed_data_build.output
    messages = ml_messages(changed_data_build)
    for name in ("penguins_body_mass", "penguins_clusters"):
        assert messages[f"model.analytics_ml.{name}"].startswith("trained (training data changed) in ")
    assert messages["model.analytics_ml.titanic_survival"] == "skipped (unchanged)"


def test_bad_config_fails_that_node_naming_model_and_option(bad_config_build: DbtRun) -> None:
    assert bad_config_build.returncode != 0
    statuses, messages = bad_config_build.statuses(), bad_config_build.messages()
    for name, (_, option) in BAD_MODELS.items():
        node = f"model.analytics_ml.{name}"
        assert statuses[node] == "error"
        assert f"bqml_model '{name}'" in messages[node] and option in messages[node], messages[node]
        assert "Traceback" not in messages[node] and "Python model failed" not in messages[node]
    assert "Traceback" not in bad_config_build.output


def test_a_dbt_ml_style_model_builds_and_evaluates(dbt_project_copy: Path, bad_config_build: DbtRun) -> None:
    statuses = bad_config_build.statuses()
    assert statuses["model.analytics_ml.dbt_ml_style_mass"] == "success"
    assert statuses["model.analytics_ml.dbt_ml_style_evaluation"] == "success"
    [(r2,)] = query(dbt_project_copy, "select r2_score from main_marts.dbt_ml_style_evaluation")
    assert 0.7 < r2 < 1
    others = {k: v for k, v in statuses.items() if not any(name in k for name in BAD_MODELS)}
    assert set(others.values()) <= {"success", "pass"}, others
    assert others.keys() >= ML_MODELS


def test_retrain_always_retrains_an_unchanged_model(bad_config_build: DbtRun) -> None:
    messages = ml_messages(bad_config_build)
    assert messages["model.analytics_ml.penguins_body_mass"].startswith("trained (retrain: always) in ")
    assert messages["model.analytics_ml.titanic_survival"] == "skipped (unchanged)"
