"""End to end: a plain `dbt build` on the local target classifies the digits seed through SQL."""

from __future__ import annotations

import base64
import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from remote_functions.local_services import REPO_ROOT
from training.export import ExportedModel


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_dbt_build_labels_agree_with_in_process_inference(tmp_path: Path) -> None:
    model_dir = tmp_path / "model"  # absent: the build must train it, start the services, stop them
    env = {
        **os.environ,
        "ANALYTICS_ML_DUCKDB": str(tmp_path / "warehouse.duckdb"),
        "DIGITS_MODEL_DIR": str(model_dir),
        "DBT_TARGET": "local",
    }
    dbt = Path(sys.executable).parent / "dbt"
    result = subprocess.run(
        [
            str(dbt),
            "build",
            "--select",
            "digits",
            "digit_predictions+",
            "+digit_predictions_three_ways",
            "--project-dir",
            str(REPO_ROOT),
            "--profiles-dir",
            str(REPO_ROOT),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-5000:]

    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        predicted = dict(
            con.execute("select digit_id, predicted_label from main_marts.digit_predictions").fetchall()
        )
        three_ways = con.execute(
            "select digit_id, remote_function_label, remote_model_label, onnx_label "
            "from main_marts.digit_predictions_three_ways"
        ).fetchall()
    with (REPO_ROOT / "seeds" / "digits.csv").open() as handle:
        seed = list(csv.DictReader(handle))
    in_process = ExportedModel(model_dir).predict([row["image_png_base64"] for row in seed])
    assert len(predicted) == len(seed) == 1797
    assert {
        int(row["digit_id"]): int(p["label"]) for row, p in zip(seed, in_process, strict=True)
    } == predicted

    # The held-out digits, labelled by the remote function, the remote model and the imported
    # ONNX model in the mart: the same label as in-process PyTorch on every one.
    assert len(three_ways) == sum(row["split"] == "test" for row in seed) == 360
    assert all(tuple(labels) == (predicted[digit_id],) * 3 for digit_id, *labels in three_ways)

    started = re.search(r"pids \[(\d+), (\d+)\]", (tmp_path / "logs" / "dbt.log").read_text())
    assert started, "the build did not start the local services"
    assert not any(_process_exists(int(pid)) for pid in started.groups())


def test_seed_images_are_the_digits_as_8_bit_pngs() -> None:
    from training.data import DIGITS_PREPROCESSING, digits_pixels, digits_split

    pixels, labels = digits_pixels()
    _, test = digits_split(labels)
    with (REPO_ROOT / "seeds" / "digits.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["label"]) for row in rows] == labels.tolist()
    assert {int(row["digit_id"]) for row in rows if row["split"] == "test"} == set(test.tolist())
    for row, image in zip(rows, pixels, strict=True):
        assert (DIGITS_PREPROCESSING.decode(row["image_png_base64"]) == image).all()
    assert base64.b64decode(rows[0]["image_png_base64"])[:8] == b"\x89PNG\r\n\x1a\n"
