"""Shared fixture: the digits CNN trained once, the way users train it (the CLI in a subprocess)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cnn_helpers import run_training


@pytest.fixture(scope="session")
def digits_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The digits CNN trained with the defaults (30 epochs, seed 0) and exported."""
    out = tmp_path_factory.mktemp("digits-model")
    run_training(out, "--dataset", "digits")
    return out
