"""The unversioned name on BigQuery: serving a version sends a copy job and then a label, only
after the registry's transaction (and its compare-and-set) committed; each crash in between
leaves a state `python -m ml versions` reports, and the next promote or rollback repairs it.
What is sent is recorded, not run (recording_client.py); the registry's own reads are given."""

from __future__ import annotations

from typing import Any

import pytest
import sqlglot
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery
from recording_client import RecordingClient, SimulatedCrash

from ml.errors import MLError
from ml.names import ModelName
from ml.registry import CHAMPION, Registry
from ml.registry.bigquery import SERVING_LABEL, BigQueryBackend

PROJECT = "analytics-prod"
MODEL = ModelName("ml", "penguin_mass")
NAME = f"{PROJECT}.ml.penguin_mass"
LABEL = f"ALTER MODEL `{NAME}` SET OPTIONS (labels = [('{SERVING_LABEL}', '{{}}')])"


def versions_rows(*versions: int) -> list[dict[str, Any]]:
    return [{"version": v, "status": "ready"} for v in versions]


def registry_with(
    client: RecordingClient,
    monkeypatch: pytest.MonkeyPatch,
    aliases: dict[str, int],
    decisions: list | None = None,
) -> Registry:
    """A registry on `client` whose reads of its own tables return what the test says."""
    registry = Registry(BigQueryBackend(client, PROJECT), "test")
    monkeypatch.setattr(registry, "_versions", lambda model: versions_rows(6, 7))
    monkeypatch.setattr(registry, "aliases", lambda model: dict(aliases))
    monkeypatch.setattr(registry, "decisions", lambda model: decisions or [])
    return registry


def models(serving_label: int) -> dict[str, dict[str, str]]:
    return {f"{NAME}__v6": {}, f"{NAME}__v7": {}, NAME: {SERVING_LABEL: str(serving_label)}}


def make_champion(registry: Registry, version: int) -> None:
    with registry.backend.transaction():
        registry._move_champion(MODEL, version - 1, version)


def copy_request(call: Any) -> dict[str, Any]:
    """The copy job as the client library sends it to jobs.insert."""
    offline = bigquery.Client(project=PROJECT, credentials=AnonymousCredentials())
    job = bigquery.CopyJob(
        "job",
        [bigquery.TableReference.from_string(call.source)],
        bigquery.TableReference.from_string(call.destination),
        offline,
        call.job_config,
    )
    return job.to_api_repr()["configuration"]["copy"]


def test_a_new_champion_is_copied_to_the_plain_name_after_the_registry_commits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = RecordingClient(PROJECT, models(6))
    make_champion(registry_with(client, monkeypatch, {CHAMPION: 6}), 7)

    script, copy, label = client.calls
    assert [script.kind, copy.kind, label.kind] == ["query", "copy", "query"]
    statements = sqlglot.parse(script.sql, read="bigquery")
    assert type(statements[-1]).__name__ == "Commit"
    assert "version = @s0_expected" in statements[1].sql("bigquery")  # the compare-and-set
    request = copy_request(copy)
    assert request["sourceTables"] == [
        {"projectId": PROJECT, "datasetId": "ml", "tableId": "penguin_mass__v7"}
    ]
    assert request["destinationTable"] == {"projectId": PROJECT, "datasetId": "ml", "tableId": "penguin_mass"}
    assert request["writeDisposition"] == "WRITE_TRUNCATE"
    assert request["createDisposition"] == "CREATE_IF_NEEDED"
    assert label.sql == LABEL.format(7)


def test_a_change_whose_compare_and_set_fails_copies_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    client = RecordingClient(PROJECT, models(6), rejects="COMMIT TRANSACTION")
    with pytest.raises(MLError, match="Query error"):
        make_champion(registry_with(client, monkeypatch, {CHAMPION: 6}), 7)
    assert [call.kind for call in client.calls] == ["query"]


@pytest.mark.parametrize("crash_after", [0, 1, 2, 3])
def test_each_crash_between_commit_copy_and_label_is_reported_then_repaired(
    monkeypatch: pytest.MonkeyPatch, crash_after: int
) -> None:
    client = RecordingClient(PROJECT, models(6), crash_after=crash_after)
    try:
        make_champion(registry_with(client, monkeypatch, {CHAMPION: 6}), 7)
    except SimulatedCrash:
        assert crash_after < 3
    went_out = [call.kind for call in client.calls]
    assert went_out == ["query", "copy", "query"][:crash_after]
    # What BigQuery holds after the calls that went out: the registry says 7 once the script ran;
    # the plain name's label says 7 once the ALTER ran (a copy without it still reads as 6).
    committed, labelled = crash_after >= 1, crash_after >= 3
    after = RecordingClient(PROJECT, models(7 if labelled else 6))
    registry = registry_with(after, monkeypatch, {CHAMPION: 7 if committed else 6})

    disagree = committed and not labelled
    assert registry.problems(MODEL) == ([f"{MODEL} serves version 6, expected 7"] if disagree else [])
    with registry.backend.transaction():
        registry._repair_serving(MODEL)
    repaired = [(call.kind, call.source or call.sql) for call in after.calls]
    assert repaired == ([("copy", f"{NAME}__v7"), ("query", LABEL.format(7))] if disagree else [])


def test_a_rollback_after_a_crash_serves_its_own_version(monkeypatch: pytest.MonkeyPatch) -> None:
    # The registry says champion 7 (promoted over 6), the name still serves 6: a crash after the
    # promotion's commit. Rolling back makes 6 champion and serves it, whatever the name held.
    promoted = {"decision": "promoted", "alias": CHAMPION, "champion_version": 6, "challenger_version": 7}
    client = RecordingClient(PROJECT, models(6))
    registry = registry_with(client, monkeypatch, {CHAMPION: 7}, [promoted])
    assert registry.rollback(MODEL) == (7, 6)
    script, copy, label = client.calls
    assert "SET status = 'rolled_back'" in script.sql
    assert (copy.source, copy.destination, label.sql) == (f"{NAME}__v6", NAME, LABEL.format(6))


def test_retired_versions_are_dropped_after_the_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    client = RecordingClient(PROJECT, models(7))
    registry = registry_with(client, monkeypatch, {CHAMPION: 7})
    with registry.backend.transaction():
        registry._retire(MODEL, [6])
    script, drop = client.calls
    assert "SET status = 'retired'" in script.sql and script.sql.endswith("COMMIT TRANSACTION;")
    (parsed,) = sqlglot.parse(drop.sql, read="bigquery")
    assert parsed.key == "drop" and parsed.args["kind"] == "MODEL" and parsed.args["exists"]
    (table,) = parsed.args["tables"]
    assert (table.catalog, table.db, table.name) == (PROJECT, "ml", "penguin_mass__v6")
