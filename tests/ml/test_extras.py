"""A part of the install that is missing (an extra of pyproject.toml) is one line naming it, not an
ImportError traceback. The modules are hidden from the import system, as on a machine without them."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ml.cli import main
from ml.engine import Engine
from ml.errors import MLError
from ml.extras import is_installed
from ml.registry.bigquery import BigQueryBackend

ROOT = Path(__file__).resolve().parents[2]
DNN = (
    "CREATE MODEL d.net OPTIONS (model_type = 'dnn_regressor', input_label_cols = ['y']) AS "
    "SELECT x, 2 * x AS y FROM UNNEST(GENERATE_ARRAY(1, 50)) AS x"
)


@pytest.fixture
def without(monkeypatch: pytest.MonkeyPatch):
    """Hide top-level packages from importlib.util.find_spec, as if not installed."""
    real = importlib.util.find_spec

    def hide(*packages: str) -> None:
        def find_spec(name: str, package: str | None = None):
            if name.split(".")[0] in packages or name in packages:
                return None
            return real(name, package)

        monkeypatch.setattr(importlib.util, "find_spec", find_spec)

    return hide


def test_a_dnn_without_torch_names_the_extra(
    without, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    without("torch")
    assert not is_installed("torch") and is_installed("duckdb")
    with pytest.raises(MLError, match=r"Training a DNN_REGRESSOR model needs the 'torch' extra"):
        Engine(duckdb.connect()).execute(DNN)
    assert main(["sql", "--database", str(tmp_path / "w.duckdb"), DNN]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        "Error: Training a DNN_REGRESSOR model needs the 'torch' extra (torch is not installed): "
        "pip install 'analytics-ml[torch]'"
    )


def test_the_bigquery_target_without_the_gcp_extra_names_it(without) -> None:
    without("google.cloud.bigquery")
    with pytest.raises(MLError, match=r"--target bigquery needs the 'gcp' extra .*analytics-ml\[gcp\]"):
        BigQueryBackend.connect("analytics-prod", "US")


def test_the_spark_side_job_without_pyspark_is_one_line(tmp_path: Path) -> None:
    # A process where `import pyspark` finds nothing: a path entry that shadows it with no module.
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text(
        "import sys\n"
        "class Hide:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'pyspark':\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Hide())\n"
    )
    ran = subprocess.run(
        [sys.executable, "-m", "spark.run_local"], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert ran.returncode == 1, ran.stderr
    assert ran.stderr.strip() == (
        "python -m spark.run_local needs the 'spark' extra (pyspark is not installed): "
        "pip install 'analytics-ml[spark]'"
    )
