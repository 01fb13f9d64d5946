"""Versions, aliases, promotion, rollback and history through `python -m ml` (a process per call)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from registry_helpers import (
    MODEL,
    TRAIN_GOOD,
    TRAIN_WORSE,
    make_database,
    ml_cli,
    ok,
    predict,
    registry_on,
    registry_state,
    train,
)

from ml.cli import main


def test_retraining_adds_a_version_and_the_old_one_still_predicts(database: Path) -> None:
    assert "trained version 1 (demo.m__v1)" in ok(ml_cli(database, "train", TRAIN_WORSE))
    first = predict(database, "demo.m__v1")
    assert "trained version 2 (demo.m__v2)" in ok(ml_cli(database, "train", TRAIN_GOOD))

    assert predict(database, "demo.m__v1") == first
    assert predict(database, "demo.m__v2") != pytest.approx(first, abs=0.5)
    # No champion yet: the unversioned name serves the newest version.
    assert predict(database, "demo.m") == predict(database, "demo.m__v2")
    listing = ok(ml_cli(database, "versions", "demo.m"))
    assert "2 versions; demo.m serves version 2" in listing
    with registry_on(database) as registry:
        versions = registry.versions(MODEL)
        assert [v["version"] for v in versions] == [1, 2]
        assert versions[0]["ddl"] == TRAIN_WORSE and versions[1]["ddl"] == TRAIN_GOOD
        assert versions[0]["data_fingerprint"].startswith("rows=58;")  # 400 rows, 58 with x mod 7 = 0
        assert versions[1]["data_fingerprint"].startswith("rows=400;")
        assert registry.problems(MODEL) == []


def test_pinning_by_alias_and_by_version(database: Path) -> None:
    train(database, TRAIN_WORSE, TRAIN_GOOD)
    assert "alias staging -> v1 (new alias)" in ok(ml_cli(database, "alias", "demo.m", "staging", "1"))
    with registry_on(database) as registry:
        assert registry.resolve(MODEL, alias="staging") == 1
        assert registry.resolve(MODEL, alias="challenger") == 2
        assert registry.resolve(MODEL, version=1) == 1
        assert registry.resolve(MODEL) == 2
    out = ok(ml_cli(database, "alias", "demo.m", "champion", "1"))
    assert "alias champion -> v1 (new alias); demo.m serves v1" in out
    assert predict(database, "demo.m") == predict(database, "demo.m__v1")
    with registry_on(database) as registry:
        assert registry.aliases(MODEL) == {"challenger": 2, "champion": 1, "staging": 1}


PROMOTE = ("promote", "demo.m", "--holdout", "raw.holdout")


def test_promotion_wins_loses_and_ties_under_the_margin(database: Path) -> None:
    train(database, TRAIN_WORSE)
    out = ok(ml_cli(database, *PROMOTE, "--metric", "r2_score"))
    assert "no champion yet: promoted v1 to champion" in out

    train(database, TRAIN_GOOD)
    assert predict(database, "demo.m") == predict(database, "demo.m__v1")  # the champion still serves
    # An error metric: lower is better, the gain is champion minus challenger.
    out = ok(ml_cli(database, *PROMOTE, "--metric", "mean_absolute_error", "--min-gain", "50"))
    assert "kept v1 as champion" in out  # better, but not by the margin
    out = ok(ml_cli(database, *PROMOTE, "--metric", "mean_absolute_error", "--min-gain", "0.5"))
    assert "promoted v2 to champion" in out
    assert predict(database, "demo.m") == predict(database, "demo.m__v2")

    train(database, TRAIN_WORSE)  # v3: worse than v2 on every metric
    assert "kept v2 as champion" in ok(ml_cli(database, *PROMOTE, "--metric", "r2_score"))
    train(database, TRAIN_GOOD)  # v4: the same training as v2, an exact tie
    out = ok(ml_cli(database, *PROMOTE, "--metric", "mean_absolute_error"))
    assert "gain 0, margin 0: kept v2 as champion" in out

    with registry_on(database) as registry:
        decisions = registry.decisions(MODEL)
        assert registry.aliases(MODEL) == {"champion": 2, "challenger": 4}
        assert registry.problems(MODEL) == []
    outcomes = [(d["champion_version"], d["challenger_version"], d["decision"]) for d in decisions]
    assert outcomes == [
        (None, 1, "promoted"),
        (1, 2, "kept"),
        (1, 2, "promoted"),
        (2, 3, "kept"),
        (2, 4, "kept"),
    ]
    losing, winning = decisions[1], decisions[2]
    assert losing["champion_score"] == winning["champion_score"]  # the same frozen holdout, re-scored
    assert winning["challenger_score"] < winning["champion_score"]
    assert {d["holdout_fingerprint"] for d in decisions} == {decisions[0]["holdout_fingerprint"]}
    assert decisions[3]["challenger_score"] < decisions[3]["champion_score"]  # r2: higher is better
    assert decisions[4]["challenger_score"] == decisions[4]["champion_score"]


def test_rollback_follows_the_promotions_back_and_keeps_the_history(database: Path) -> None:
    with registry_on(database) as registry:
        for ddl in (TRAIN_WORSE, TRAIN_GOOD):
            registry.train(ddl)
            registry.promote(MODEL, "raw.holdout", "r2_score")
    assert "rolled back the champion from v2 to v1" in ok(ml_cli(database, "rollback", "demo.m"))
    assert predict(database, "demo.m") == predict(database, "demo.m__v1")
    with registry_on(database) as registry:
        registry.train(TRAIN_GOOD)
        assert registry.promote(MODEL, "raw.holdout", "r2_score").decision.promoted
    # v3 replaced v1 (v2 is rolled back): rolling back v3 returns to v1, not to v2.
    assert "rolled back the champion from v3 to v1" in ok(ml_cli(database, "rollback", "demo.m"))
    assert predict(database, "demo.m") == predict(database, "demo.m__v1")

    history = ok(ml_cli(database, "versions", "demo.m"))
    assert "demo.m serves version 1" in history
    assert history.count("| rollback |") == 2 and history.count("| promote  |") == 3
    with registry_on(database) as registry:
        assert [v["status"] for v in registry.versions(MODEL)] == ["ready", "rolled_back", "rolled_back"]
        assert registry.problems(MODEL) == []


def test_versions_names_a_model_left_unregistered_and_exits_1_until_it_is_dropped(database: Path) -> None:
    train(database, TRAIN_GOOD)
    # What a training that died between CREATE MODEL and its registry commit leaves (on BigQuery,
    # where the two cannot share a transaction).
    with registry_on(database) as registry:
        registry.backend.ml_rows(TRAIN_WORSE.replace("OR REPLACE MODEL demo.m ", "MODEL demo.m__v3 "))
    listing = ml_cli(database, "versions", "demo.m")
    assert listing.returncode == 1, listing.stderr
    assert "1 versions; demo.m serves version 1" in listing.stdout
    assert (
        "problems:\n  model demo.m__v3 exists but is not a registered version: a training stopped before "
        "registering it." in listing.stdout
    )
    assert "a dbt build on BigQuery that reaches version 3 fails to create it" in listing.stdout

    with registry_on(database) as registry:
        registry.backend.ml_rows("DROP MODEL demo.m__v3")
    assert "problems:" not in ok(ml_cli(database, "versions", "demo.m"))


def test_retention_keeps_the_newest_versions_and_every_aliased_one(database: Path) -> None:
    with registry_on(database) as registry:
        registry.train(TRAIN_WORSE)
        registry.promote(MODEL, "raw.holdout", "r2_score")  # v1 champion
        registry.train(TRAIN_GOOD)
        registry.set_alias(MODEL, "staging", 2)
        registry.train(TRAIN_GOOD)
        assert registry.train(TRAIN_GOOD, keep_versions=2).retired == ()  # v3 is the challenger
    out = ok(ml_cli(database, "train", TRAIN_GOOD, "--keep-versions", "2"))
    # v5 is the challenger now: v3 is past the newest two and unaliased; v1 and v2 are aliased.
    assert "retired versions 3 (keep_versions 2)" in out
    with registry_on(database) as registry:
        assert [v["status"] for v in registry.versions(MODEL)] == [
            "ready",
            "ready",
            "retired",
            "ready",
            "ready",
        ]
        assert registry.backend.version_models(MODEL) == [1, 2, 4, 5]
        assert registry.problems(MODEL) == []
        assert registry.resolve(MODEL) == 1  # the champion still serves
    listing = ok(ml_cli(database, "versions", "demo.m"))
    assert "| retired " in listing
    refused = ml_cli(database, "alias", "demo.m", "champion", "3")
    assert refused.returncode == 1
    assert "Version 3 of model demo.m was retired: its model was dropped (keep_versions)" in refused.stderr
    assert (
        "keep_versions must be a positive integer"
        in ml_cli(database, "train", TRAIN_GOOD, "--keep-versions", "0").stderr
    )


@pytest.fixture(scope="module")
def champion_and_challenger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """v1 champion, v2 challenger; each test gets a copy."""
    database = make_database(tmp_path_factory.mktemp("registry"))
    with registry_on(database) as registry:
        registry.train(TRAIN_WORSE)
        registry.promote(MODEL, "raw.holdout", "r2_score")
        registry.train(TRAIN_GOOD)
    return database


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("versions", "demo.nope"), "Not found: Model demo.nope has no registered versions"),
        ((*PROMOTE[:1], "demo.nope", *PROMOTE[2:], "--metric", "r2_score"), "Not found: Model demo.nope"),
        (("alias", "demo.m", "staging", "7"), "Not found: version 7 of model demo.m (versions: 1, 2)"),
        ((*PROMOTE, "--metric", "r2_score", "--challenger", "9"), "Not found: version 9 of model demo.m"),
        (
            ("promote", "demo.m", "--holdout", "raw.unlabelled", "--metric", "r2_score"),
            "Holdout raw.unlabelled has no column y, the label of version 1 of demo.m",
        ),
        (
            ("promote", "demo.m", "--holdout", "raw.missing", "--metric", "r2_score"),
            "Not found: Table raw.missing",
        ),
        (
            (*PROMOTE, "--metric", "roc_auc"),
            "Metric roc_auc is not one of ML.EVALUATE's for version 1 of demo.m (model_type LINEAR_REG)",
        ),
        ((*PROMOTE, "--metric", "r2_score", "--min-gain", "-1"), "--min-gain must be zero or positive"),
        (("alias", "demo.m", "Bad Alias!", "1"), "Invalid alias 'Bad Alias!'"),
        (("rollback", "demo.m"), "Version 1 of demo.m was the first champion"),
        (("versions", "demo.m__v1"), "demo.m__v1 is a version: name the model (m)"),
        (("train", "SELECT 1"), "Expected a CREATE [OR REPLACE] MODEL statement"),
        (("train", TRAIN_GOOD.replace("raw.points", "raw.nope")), "Table with name nope does not exist"),
    ],
)
def test_bad_input_is_a_clear_error_and_changes_nothing(
    champion_and_challenger: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    message: str,
) -> None:
    database = tmp_path / "copy.duckdb"
    shutil.copy(champion_and_challenger, database)
    before = registry_state(database)
    command, *rest = args

    status = main([command, "--database", str(database), *rest])  # the CLI's entry point, in-process

    error = capsys.readouterr().err
    assert status == 1
    assert error.startswith("Error: ") and message in error, error
    assert len(error.strip().splitlines()) == 1
    assert registry_state(database) == before
