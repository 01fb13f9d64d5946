"""Job declarations are validated before anything is deployed or run; errors name the job and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from scheduling_helpers import ROOT

from ml.errors import MLError
from ml.scheduling import declarations
from ml.scheduling.dbt_project import DbtProject
from ml.scheduling.declarations import DeclarationError, parse_job

VALID = {
    "name": "nightly",
    "schedule": "30 2 * * *",
    "time_zone": "Europe/Berlin",
    "models": "penguins_body_mass",
    "holdout": "stg_penguins__penguins",
    "metric": "mean_absolute_error",
}


def refused(**changes: object) -> DeclarationError:
    with pytest.raises(DeclarationError) as caught:
        parse_job({**VALID, **changes}, 0)
    return caught.value


def test_a_full_declaration_is_read_with_its_defaults() -> None:
    job = parse_job(
        {**VALID, "retry": {"retry_count": 3, "min_backoff": "30s"}, "drift": {"relation": "raw.penguins"}}, 0
    )
    assert (job.schedule, job.time_zone, job.target, job.attempt_deadline_s) == (
        "30 2 * * *",
        "Europe/Berlin",
        "http",
        1800,
    )
    assert (job.retry.retry_count, job.retry.min_backoff_s, job.retry.max_backoff_s) == (3, 30, 3600)
    assert (job.drift.relation, job.drift.threshold, job.drift.only) == ("raw.penguins", 0.2, True)
    assert job.body() == {"job": "nightly"}


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"schedule": "61 2 * * *"}, "schedule", "unix-cron"),
        ({"schedule": "0 0 2 * * *"}, "schedule", "five-field"),  # seconds field: not Cloud Scheduler's
        ({"schedule": "@daily"}, "schedule", "five-field"),
        ({"time_zone": "Europe/Atlantis"}, "time_zone", "unknown IANA time zone"),
        ({"metric": ""}, "metric", "required"),
        ({"holdout": "x; drop table y"}, "holdout", "dbt model or seed name"),
        ({"target": "email"}, "target", "http"),
        ({"attempt_deadline": "5s"}, "attempt_deadline", "15s to 1800s"),
        ({"retry": {"retry_count": 9}}, "retry.retry_count", "0..5"),
        ({"retry": {"min_backoff": "600s", "max_backoff": "60s"}}, "retry.min_backoff", "max_backoff"),
        ({"drift": {"relation": "raw.p", "only": "yes"}}, "drift.only", "true or false"),
        ({"min_gain": -1}, "min_gain", ">= 0"),
        ({"scheduel": "0 3 * * *"}, "scheduel", "unknown field"),
    ],
)
def test_bad_fields_are_refused_naming_job_and_field(changes: dict, field: str, words: str) -> None:
    error = refused(**changes)
    assert (error.job, error.field) == ("nightly", field)
    assert str(error).startswith(f"job 'nightly', field '{field}'")
    assert words in str(error)


def test_a_job_declared_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "jobs.yml"
    path.write_text(
        "jobs:\n"
        + "".join(
            "  - {name: twice, schedule: '0 3 * * *', models: m, holdout: h, metric: r2_score}\n"
            for _ in range(2)
        )
    )
    with pytest.raises(DeclarationError, match="job 'twice', field 'name': declared twice"):
        declarations.load(path)


def test_unknown_job_names_the_declared_ones() -> None:
    jobs = declarations.load(ROOT / "schedules" / "jobs.yml")
    with pytest.raises(MLError, match="unknown job 'nope'; declared: penguins-body-mass-nightly"):
        declarations.find(jobs, "nope")


def test_the_repository_declarations_resolve_on_the_dbt_project(project_copy: Path) -> None:
    dbt = DbtProject(project_copy, project_copy)
    resolved = dbt.validate(declarations.load(ROOT / "schedules" / "jobs.yml"))
    body_mass = resolved["penguins-body-mass-nightly"]
    assert [(m.relation, m.model_type) for m in body_mass.models] == [
        ("main_ml.penguins_body_mass", "LINEAR_REG")
    ]
    assert body_mass.holdout == body_mass.drift_relation == "main_staging.stg_penguins__penguins"
    assert [m.model_type for m in resolved["titanic-survival-weekly"].models] == ["LOGISTIC_REG"]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"models": "penguins_body_mas"}, "models", "no model named 'penguins_body_mas'"),
        ({"models": "+penguins_bogus"}, "models", "no model named 'penguins_bogus'"),
        ({"models": "stg_penguins__penguins"}, "models", "selects no bqml_model node"),
        ({"models": "tag:nothing_has_this_tag"}, "models", "selects no bqml_model node"),
        ({"metric": "roc_auc"}, "metric", "penguins_body_mass (LINEAR_REG) has no metric 'roc_auc'"),
        ({"holdout": "no_such_model"}, "holdout", "no dbt model or seed named 'no_such_model'"),
    ],
)
def test_selectors_metrics_and_relations_are_checked_against_the_project(
    project_copy: Path, changes: dict, field: str, words: str
) -> None:
    with pytest.raises(DeclarationError) as caught:
        DbtProject(project_copy, project_copy).resolve(parse_job({**VALID, **changes}, 0))
    assert caught.value.field == field
    assert words in str(caught.value)


def test_graph_selectors_go_through_dbt(project_copy: Path) -> None:
    job = parse_job({**VALID, "models": "+penguins_body_mass", "metric": "r2_score"}, 0)
    resolved = DbtProject(project_copy, project_copy).resolve(job)
    # the upstream staging view is selected too, but only bqml_model nodes are retrained models
    assert [m.name for m in resolved.models] == ["penguins_body_mass"]
