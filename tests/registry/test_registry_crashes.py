"""SIGKILL during train and promote, at every named step and at random moments: the champion still
serves and the registry never holds a half-written version. Two promotions at once: one wins."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from registry_helpers import MODEL, ROOT, TRAIN_GOOD, TRAIN_WORSE, ml_cli, ok, predict, registry_on, train

from ml.registry.faults import KILL_AT_ENV

TRAIN_POINTS = ["train:begin", "train:trained", "train:registered", "train:before-commit"]
PROMOTE_POINTS = ["promote:begin", "promote:scored", "promote:aliased", "promote:before-commit"]
PROMOTE = ("promote", "demo.m", "--holdout", "raw.holdout", "--metric", "mean_absolute_error")


def killed_at(database: Path, point: str, *args: str) -> None:
    result = ml_cli(database, *args, env={**os.environ, KILL_AT_ENV: point})
    assert result.returncode == -signal.SIGKILL, (point, result.returncode, result.stderr)


def assert_consistent(database: Path, champion: int, versions: int) -> None:
    """The registry agrees with the engine, `champion` serves demo.m, `versions` are registered."""
    with registry_on(database) as registry:
        assert registry.problems(MODEL) == []
        assert registry.aliases(MODEL)["champion"] == champion
        assert [v["version"] for v in registry.versions(MODEL)] == list(range(1, versions + 1))
    assert predict(database, "demo.m") == predict(database, f"demo.m__v{champion}")


def test_sigkill_at_every_step_leaves_the_champion_serving(database: Path) -> None:
    with registry_on(database) as registry:
        registry.train(TRAIN_WORSE)
        registry.promote(MODEL, "raw.holdout", "r2_score")
    serving = predict(database, "demo.m")

    for point in TRAIN_POINTS:
        killed_at(database, point, "train", TRAIN_GOOD)
        assert_consistent(database, champion=1, versions=1)
    killed_at(database, "train:committed", "train", TRAIN_GOOD)  # after COMMIT: the version is whole
    assert_consistent(database, champion=1, versions=2)

    for point in PROMOTE_POINTS:
        killed_at(database, point, *PROMOTE)
        assert_consistent(database, champion=1, versions=2)
        assert predict(database, "demo.m") == serving
    with registry_on(database) as registry:
        assert registry.decisions(MODEL)[-1]["challenger_version"] == 1  # no decision of a killed run
    killed_at(database, "promote:committed", *PROMOTE)
    assert_consistent(database, champion=2, versions=2)


def test_sigkill_at_random_moments_of_training(database: Path) -> None:
    train(database, TRAIN_WORSE)
    ok(ml_cli(database, *PROMOTE))
    rng = random.Random(7)
    versions = 1
    for _ in range(2):
        process = subprocess.Popen(
            [sys.executable, "-m", "ml", "train", "--database", str(database), TRAIN_GOOD],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.3, 1.6))
        process.send_signal(signal.SIGKILL)
        finished = process.wait() == 0
        with registry_on(database) as registry:
            registered = len(registry.versions(MODEL))
        # A kill after the COMMIT (the process still exiting) leaves a whole version too.
        assert registered == versions + 1 if finished else registered in (versions, versions + 1)
        versions = registered
        assert_consistent(database, champion=1, versions=versions)


def test_two_promotions_at_once_cannot_both_win(database: Path) -> None:
    train(database, TRAIN_WORSE, TRAIN_GOOD, TRAIN_GOOD)
    with registry_on(database) as registry:
        registry.set_alias(MODEL, "champion", 1)
    # Both challengers beat the champion v1; each process scores against whatever champion it sees.
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ml",
                *PROMOTE[:1],
                "--database",
                str(database),
                *PROMOTE[1:],
                "--challenger",
                str(version),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for version in (2, 3)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs

    with registry_on(database) as registry:
        decisions = [d for d in registry.decisions(MODEL) if d["action"] == "promote"]
        champion = registry.aliases(MODEL)["champion"]
        assert registry.problems(MODEL) == []
    winners = [d for d in decisions if d["decision"] == "promoted"]
    # v2 and v3 are the same training, so the second to run ties with the first's winner: kept.
    assert len(winners) == 1 and winners[0]["champion_version"] == 1
    loser = next(d for d in decisions if d["decision"] == "kept")
    assert loser["champion_version"] == winners[0]["challenger_version"] == champion
