"""Training through its CLI: accuracy, the exported artifact, checkpoints and exact resume."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from cnn_helpers import REPO_ROOT, random_cifar, run_training, write_cifar_batch

from training.data import load_digits_data
from training.export import ExportedModel
from training.model import build_model
from training.preprocess import encode_png
from training.train import CHECKPOINT_FILE

PROGRESS = re.compile(r"epoch (\d+)/\d+:\s+\d+%\|[^|\r\n]*\|\s*(\d+)/(\d+)")


def held_out_instances() -> tuple[list[str], np.ndarray]:
    data = load_digits_data()
    pixels = data.test_x.permute(0, 2, 3, 1).numpy()
    return [base64.b64encode(encode_png(p)).decode() for p in pixels], data.test_y.numpy()


def test_held_out_digits_accuracy_is_at_least_97_percent(digits_model: Path) -> None:
    instances, labels = held_out_instances()
    predicted = [int(p["label"]) for p in ExportedModel(digits_model).predict(instances)]
    accuracy = float(np.mean(np.array(predicted) == labels))
    assert accuracy >= 0.97
    assert json.loads((digits_model / "metrics.json").read_text())["test_accuracy"] == pytest.approx(accuracy)


def test_exported_torchscript_matches_the_checkpointed_weights(digits_model: Path) -> None:
    model, _ = build_model("digits")
    model.load_state_dict(torch.load(digits_model / CHECKPOINT_FILE, weights_only=True)["model"])
    exported = ExportedModel(digits_model)
    inputs = exported.preprocessing.normalize(load_digits_data().test_x[:50])
    with torch.no_grad():
        torch.testing.assert_close(exported.module(inputs), model.eval()(inputs))
    assert exported.labels == [str(d) for d in range(10)]


def test_probabilities_are_a_distribution_over_the_labels(digits_model: Path) -> None:
    instances, _ = held_out_instances()
    prediction = ExportedModel(digits_model).predict(instances[:1])[0]
    assert list(prediction["probabilities"]) == [str(d) for d in range(10)]
    assert sum(prediction["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    assert prediction["label"] == max(prediction["probabilities"], key=prediction["probabilities"].get)


def _kill_mid_epoch(command: list[str], out: Path) -> tuple[int, int]:
    """Run training, SIGKILL it in the first half of an epoch after the first checkpoint.

    Returns (the epoch it was in, its return code). The progress bar on stderr says where it is.
    """
    # tqdm reads TQDM_* defaults from the environment: redraw on every step, so no step goes unseen.
    env = {**os.environ, "TQDM_MININTERVAL": "0", "TQDM_MINITERS": "1"}
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: process.stderr.read1(4096), b"")))
    reader.start()
    deadline = time.monotonic() + 120
    killed_in = None
    while killed_in is None and process.poll() is None and time.monotonic() < deadline:
        for epoch, done, total in PROGRESS.findall(b"".join(chunks).decode(errors="replace")[-4000:]):
            if int(epoch) >= 2 and 0 < int(done) < int(total) // 2 and (out / CHECKPOINT_FILE).exists():
                process.send_signal(signal.SIGKILL)
                killed_in = int(epoch)
                break
        time.sleep(0.005)
    process.wait()
    reader.join()
    assert killed_in is not None, "training ended before it could be interrupted mid-epoch"
    return killed_in, process.returncode


def test_killed_mid_epoch_then_resumed_ends_with_the_same_weights(tmp_path: Path) -> None:
    args = ["--dataset", "digits", "--epochs", "2", "--batch-size", "16"]
    run_training(tmp_path / "straight", *args)

    interrupted = tmp_path / "interrupted"
    command = [sys.executable, "-m", "training.train", "--out", str(interrupted), *args]
    epoch, returncode = _kill_mid_epoch(command, interrupted)
    assert returncode == -signal.SIGKILL
    assert not (interrupted / "model.pt").exists()
    saved = torch.load(interrupted / CHECKPOINT_FILE, weights_only=True)
    assert saved["epochs_run"] == epoch - 1  # killed inside the epoch after the last checkpoint

    resumed = run_training(interrupted, *args)
    assert f"after epoch {epoch - 1}" in resumed.stderr

    straight = torch.load(tmp_path / "straight" / CHECKPOINT_FILE, weights_only=True)
    final = torch.load(interrupted / CHECKPOINT_FILE, weights_only=True)
    assert straight["epochs_run"] == final["epochs_run"] == 2
    for name, weights in straight["model"].items():
        assert torch.equal(weights, final["model"][name]), name
    for index, state in straight["optimizer"]["state"].items():
        assert torch.equal(state["momentum_buffer"], final["optimizer"]["state"][index]["momentum_buffer"])


def test_resuming_with_another_batch_size_is_refused(digits_model: Path, tmp_path: Path) -> None:
    shutil.copy(digits_model / CHECKPOINT_FILE, tmp_path / CHECKPOINT_FILE)
    with pytest.raises(subprocess.CalledProcessError) as failure:
        run_training(tmp_path, "--dataset", "digits", "--epochs", "40", "--batch-size", "32")
    assert "resume with the same, or pass --no-resume" in failure.value.stderr


def test_bf16_autocast_and_channels_last_train_a_usable_model(tmp_path: Path) -> None:
    run_training(
        tmp_path,
        "--dataset",
        "digits",
        "--epochs",
        "3",
        "--lr",
        "0.05",
        "--device",
        "cpu",
        "--amp",
        "bf16",
        "--channels-last",
    )
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.5  # well above the 0.1 of guessing
    assert len(metrics["images_per_second"]) == 3


def test_cifar10_trains_from_binary_batches_and_exports_an_rgb_model(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    data_dir = tmp_path / "cifar"
    data_dir.mkdir()
    write_cifar_batch(data_dir / "data_batch_1.bin", *random_cifar(rng, 64))
    test_images, test_labels = random_cifar(rng, 16)
    write_cifar_batch(data_dir / "test_batch.bin", test_images, test_labels)

    run_training(
        tmp_path / "model",
        "--dataset",
        "cifar10",
        "--data-dir",
        str(data_dir),
        "--epochs",
        "1",
        "--batch-size",
        "16",
    )

    exported = ExportedModel(tmp_path / "model")
    assert exported.preprocessing.mode == "RGB" and exported.labels[0] == "airplane"
    predictions = exported.predict(
        [base64.b64encode(encode_png(image)).decode() for image in test_images[:3]]
    )
    assert [p["label"] in exported.labels for p in predictions] == [True] * 3
