"""`schedules deploy`: the Job objects sent to Cloud Scheduler, field by field; the upsert plan; refusals
before any request; `--dry-run` through the CLI; a live smoke test only with credentials."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from google.cloud import scheduler_v1
from scheduling_helpers import ROOT

from ml.cli import main
from ml.scheduling import cloud, declarations
from ml.scheduling.dbt_project import DbtProject
from ml.scheduling.declarations import DeclarationError

TARGET = cloud.DeployTarget(
    project="demo-project",
    location="europe-west1",
    uri="https://europe-west1-demo-project.cloudfunctions.net/retrain",
    service_account="retrain@demo-project.iam.gserviceaccount.com",
    topic="projects/demo-project/topics/retrain",
)
PARENT = "projects/demo-project/locations/europe-west1"


@pytest.fixture(scope="module")
def repo_jobs() -> list[declarations.Job]:
    return declarations.load(ROOT / "schedules" / "jobs.yml")


class RecordingClient:
    """CloudSchedulerClient's four calls, recorded, over an in-memory location."""

    def __init__(self, existing: list[scheduler_v1.Job] | None = None) -> None:
        self.jobs = {job.name: job for job in existing or []}
        self.calls: list[tuple[str, str]] = []

    def list_jobs(self, *, parent: str) -> list[scheduler_v1.Job]:
        self.calls.append(("list", parent))
        return [job for name, job in self.jobs.items() if name.startswith(parent)]

    def create_job(self, *, parent: str, job: scheduler_v1.Job) -> scheduler_v1.Job:
        self.calls.append(("create", job.name))
        self.jobs[job.name] = job
        return job

    def update_job(self, *, job: scheduler_v1.Job) -> scheduler_v1.Job:
        self.calls.append(("update", job.name))
        self.jobs[job.name] = job
        return job

    def delete_job(self, *, name: str) -> None:
        self.calls.append(("delete", name))
        del self.jobs[name]


def test_http_job_fields(repo_jobs: list[declarations.Job]) -> None:
    job = cloud.build_job(declarations.find(repo_jobs, "penguins-body-mass-nightly"), TARGET)
    assert job.name == f"{PARENT}/jobs/analytics-ml-retrain-penguins-body-mass-nightly"
    assert job.schedule == "30 2 * * *"
    assert job.time_zone == "Europe/Berlin"
    assert job.http_target.uri == TARGET.uri
    assert job.http_target.http_method == scheduler_v1.HttpMethod.POST
    assert job.http_target.headers == {"Content-Type": "application/json"}
    assert json.loads(job.http_target.body) == {"job": "penguins-body-mass-nightly"}
    assert job.http_target.oidc_token.service_account_email == "retrain@demo-project.iam.gserviceaccount.com"
    assert job.http_target.oidc_token.audience == TARGET.uri  # what Cloud Functions / Run check
    assert not job.http_target.oauth_token.service_account_email
    retry = job.retry_config
    assert retry.retry_count == 3
    assert retry.max_retry_duration.total_seconds() == 3600
    assert retry.min_backoff_duration.total_seconds() == 60
    assert retry.max_backoff_duration.total_seconds() == 900
    assert retry.max_doublings == 3
    assert job.attempt_deadline.total_seconds() == 1800
    assert "pubsub_target" not in job


def test_pubsub_job_fields_and_explicit_audience(repo_jobs: list[declarations.Job]) -> None:
    job = cloud.build_job(declarations.find(repo_jobs, "titanic-survival-weekly"), TARGET)
    assert (job.schedule, job.time_zone) == ("0 4 * * 1", "Etc/UTC")
    assert job.pubsub_target.topic_name == "projects/demo-project/topics/retrain"
    assert json.loads(job.pubsub_target.data) == {"job": "titanic-survival-weekly"}
    assert dict(job.pubsub_target.attributes) == {"job": "titanic-survival-weekly"}
    assert "http_target" not in job
    assert (job.retry_config.retry_count, job.retry_config.min_backoff_duration.total_seconds()) == (2, 300)
    audience = cloud.DeployTarget(**{**TARGET.__dict__, "audience": "https://retrain.example"})
    http = cloud.build_job(declarations.find(repo_jobs, "penguins-body-mass-nightly"), audience)
    assert http.http_target.oidc_token.audience == "https://retrain.example"


def test_missing_target_settings_are_refused_before_sending(repo_jobs: list[declarations.Job]) -> None:
    client = RecordingClient()
    no_topic = cloud.DeployTarget(**{**TARGET.__dict__, "topic": ""})
    with pytest.raises(ValueError, match=r"titanic-survival-weekly.*--topic"):
        cloud.deploy(client, repo_jobs, no_topic)
    assert client.calls == []


def test_deploy_creates_updates_and_deletes_only_our_jobs(repo_jobs: list[declarations.Job]) -> None:
    stale = scheduler_v1.Job(name=f"{PARENT}/jobs/analytics-ml-retrain-retired", schedule="0 1 * * *")
    foreign = scheduler_v1.Job(name=f"{PARENT}/jobs/someone-elses-job", schedule="0 1 * * *")
    changed = cloud.build_job(declarations.find(repo_jobs, "titanic-survival-weekly"), TARGET)
    changed.schedule = "0 5 * * 1"
    changed.state = scheduler_v1.Job.State.ENABLED  # server-side fields never count as a change
    client = RecordingClient([stale, foreign, changed])

    done = cloud.deploy(client, repo_jobs, TARGET)

    nightly = f"{PARENT}/jobs/analytics-ml-retrain-penguins-body-mass-nightly"
    weekly = f"{PARENT}/jobs/analytics-ml-retrain-titanic-survival-weekly"
    assert client.calls == [("list", PARENT), ("create", nightly), ("update", weekly), ("delete", stale.name)]
    assert [c.action for c in done] == ["create", "update", "delete"]
    assert client.jobs[weekly].schedule == "0 4 * * 1"
    assert foreign.name in client.jobs
    client.calls.clear()
    assert [c.action for c in cloud.deploy(client, repo_jobs, TARGET)] == ["unchanged", "unchanged"]
    assert client.calls == [("list", PARENT)]


def test_bad_declarations_are_refused_before_anything_is_sent(tmp_path: Path, project_copy: Path) -> None:
    bad_cron = tmp_path / "bad_cron.yml"
    bad_cron.write_text(
        "jobs:\n  - {name: j, schedule: '0 25 * * *', models: penguins_body_mass, holdout: h, "
        "metric: r2_score}\n"
    )
    with pytest.raises(DeclarationError, match="job 'j', field 'schedule'"):
        declarations.load(bad_cron)
    unknown = tmp_path / "unknown.yml"
    unknown.write_text(
        "jobs:\n  - {name: j, schedule: '0 3 * * *', models: penguin_mass, holdout: h, metric: r2_score}\n"
    )
    jobs = declarations.load(unknown)
    with pytest.raises(DeclarationError, match="job 'j', field 'models': no model named 'penguin_mass'"):
        DbtProject(project_copy, project_copy).validate(jobs)


def _deploy_cli(project: Path, schedules: Path, *extra: str) -> int:
    return main(
        [
            "schedules", "deploy", "--project", "demo-project", "--location", "europe-west1",
            "--uri", TARGET.uri, "--service-account", TARGET.service_account, "--topic", TARGET.topic,
            "--schedules", str(schedules), "--project-dir", str(project), *extra,
        ]
    )  # fmt: skip


def test_cli_dry_run_prints_the_jobs(project_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _deploy_cli(project_copy, ROOT / "schedules" / "jobs.yml", "--dry-run") == 0
    printed = json.loads(capsys.readouterr().out)
    assert [job["name"].rsplit("/", 1)[1] for job in printed] == [
        "analytics-ml-retrain-penguins-body-mass-nightly",
        "analytics-ml-retrain-titanic-survival-weekly",
    ]
    assert printed[0]["http_target"]["oidc_token"]["audience"] == TARGET.uri
    assert printed[0]["http_target"]["body"] == '{"job": "penguins-body-mass-nightly"}'
    assert printed[1]["pubsub_target"]["topic_name"] == TARGET.topic


def test_cli_refuses_an_unknown_model_without_contacting_google(
    project_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schedules = tmp_path / "jobs.yml"
    schedules.write_text(
        "jobs:\n  - {name: j, schedule: '0 3 * * *', models: nope, holdout: h, metric: r2_score}\n"
    )
    # Not a dry run: had validation passed, the client would need credentials this machine lacks.
    assert _deploy_cli(project_copy, schedules) == 1
    assert "Error: job 'j', field 'models': no model named 'nope'" in capsys.readouterr().err


@pytest.mark.gcp
@pytest.mark.skipif(
    not os.environ.get("GOOGLE_APPLICATION_CREDENTIALS") or not os.environ.get("SCHEDULER_TEST_LOCATION"),
    reason="needs GOOGLE_APPLICATION_CREDENTIALS and SCHEDULER_TEST_LOCATION (projects/P/locations/L)",
)
def test_live_deploy_round_trip(repo_jobs: list[declarations.Job]) -> None:
    _, project, _, location = os.environ["SCHEDULER_TEST_LOCATION"].split("/")
    target = cloud.DeployTarget(**{**TARGET.__dict__, "project": project, "location": location,
                                   "prefix": "analytics-ml-smoke-"})  # fmt: skip
    client = scheduler_v1.CloudSchedulerClient()
    try:
        cloud.deploy(client, repo_jobs, target)
        assert [c.action for c in cloud.deploy(client, repo_jobs, target)] == ["unchanged", "unchanged"]
    finally:
        assert [c.action for c in cloud.deploy(client, [], target)] == ["delete", "delete"]
