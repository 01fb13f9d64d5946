"""`python -m ml report`: a self-contained HTML model card whose figures really render (headless
Chromium takes a screenshot of it)."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pytest
from palmerpenguins import load_penguins
from PIL import Image, ImageStat
from registry_helpers import ml_cli, ok, registry_on

from ml.registry import parse_model

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SEX = parse_model("demo.sex")
TRAIN = (
    "CREATE OR REPLACE MODEL demo.sex OPTIONS (model_type = 'logistic_reg', input_label_cols = ['sex']) AS "
    "SELECT bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g, species, sex FROM raw.penguins "
    "WHERE sex IS NOT NULL AND penguin_id % 4 <> 0"
)


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two versions of a binary classifier (the second without species), v2 promoted: the card of v2."""
    folder = tmp_path_factory.mktemp("report")
    database = folder / "warehouse.duckdb"
    penguins = load_penguins().reset_index(names="penguin_id")
    with duckdb.connect(str(database)) as con:
        con.execute("CREATE SCHEMA raw")
        con.register("penguins_frame", penguins)
        con.execute("CREATE TABLE raw.penguins AS SELECT * FROM penguins_frame")
        con.execute(
            "CREATE TABLE raw.holdout AS SELECT * FROM raw.penguins "
            "WHERE sex IS NOT NULL AND penguin_id % 4 = 0"
        )
    with registry_on(database) as registry:
        registry.train(TRAIN.replace("species, ", ""))
        registry.promote(SEX, "raw.holdout", "roc_auc")
        registry.train(TRAIN)
        registry.promote(SEX, "raw.holdout", "log_loss")
    out = folder / "card.html"
    assert f"model card written to {out}" in ok(ml_cli(database, "report", "demo.sex", "--out", str(out)))
    return out


def embedded_images(page: str) -> dict[str, Image.Image]:
    found = re.findall(r"<img alt='([^']+)' src='data:image/png;base64,([^']+)'>", page)
    return {alt: Image.open(io.BytesIO(base64.b64decode(data))) for alt, data in found}


def test_the_card_embeds_every_figure_of_a_binary_classifier(card: Path) -> None:
    page = card.read_text()
    images = embedded_images(page)
    assert sorted(images) == ["Confusion matrix", "Loss per iteration", "ROC curve", "Weights"]
    for alt, image in images.items():
        assert image.format == "PNG" and image.width > 300, alt
        assert max(ImageStat.Stat(image.convert("L")).stddev) > 10, f"{alt} is blank"
    assert "src='http" not in page and "<link" not in page and "<script" not in page  # self-contained


def test_the_card_shows_the_version_history_side_by_side(card: Path) -> None:
    page = card.read_text()
    assert "<h1>demo.sex <span class='muted'>version 2</span></h1>" in page
    history = page.split("<h2>Version history</h2>")[1].split("<h2>")[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", history)
    header = re.findall(r"<th[^>]*>(.*?)</th>", rows[0])
    assert header[:2] == ["version", "aliases"] and {"roc_auc", "log_loss", "accuracy"} <= set(header)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in rows[1:]]
    assert [c[:2] for c in cells] == [["1", ""], ["2", "champion"]]
    auc = header.index("roc_auc")
    assert all(0.5 < float(c[auc]) <= 1 for c in cells)
    assert "<tr class=current>" in history
    assert page.count("<td>promoted</td>") == 2


def saturated_pixels(screenshot: Path) -> int:
    """Pixels of strong colour: the plots have them, text and tables (black, grey, white) do not."""
    hsv = np.asarray(Image.open(screenshot).convert("RGB").convert("HSV"))
    return int(((hsv[..., 1] > 100) & (hsv[..., 2] > 60)).sum())


def screenshot(page: Path, out: Path) -> Path:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--screenshot={out}",
                "--window-size=1200,2600",
                page.resolve().as_uri(),
            ],
            capture_output=True,
            timeout=60,
            check=True,
        )
    return out


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_the_card_renders_its_images_in_headless_chromium(card: Path, tmp_path: Path) -> None:
    shot = screenshot(card, tmp_path / "card.png")
    assert Image.open(shot).size == (1200, 2600)
    # Text and tables paint black, grey, white and a pale highlight: only the four rendered figures
    # (blue curves and matrix, green and red bars) put tens of thousands of saturated pixels on it.
    assert saturated_pixels(shot) > 20_000
