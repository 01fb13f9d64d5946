"""Shared fixture: the digits CNN trained once, the way users train it (the CLI in a subprocess)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from cnn_helpers import run_training

# The registry tests' helpers (`python -m ml` in a subprocess), shared rather than copied; pytest
# puts tests/registry on sys.path only when it collects a test there.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))


@pytest.fixture(scope="session")
def digits_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The digits CNN trained with the defaults (30 epochs, seed 0) and exported."""
    out = tmp_path_factory.mktemp("digits-model")
    run_training(out, "--dataset", "digits")
    return out
