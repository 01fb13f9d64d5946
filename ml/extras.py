"""The optional parts of the install (pyproject's extras) and the one line a missing one gives.

A BigQuery-only user installs `analytics-ml[gcp]` and never downloads torch or Spark; the local
engine trains every model type but the neural networks without torch. `make build` installs all.
"""

from __future__ import annotations

import importlib.util

from ml.errors import MLError


def is_installed(module: str) -> bool:
    """Whether `module` can be imported (its parent packages too), without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ModuleNotFoundError, ValueError):
        return False


def missing(module: str, extra: str, needed_by: str) -> str | None:
    """The line to show when `module` is not installed (None when it is)."""
    if is_installed(module):
        return None
    install = f"pip install 'analytics-ml[{extra}]'"
    return f"{needed_by} needs the '{extra}' extra ({module} is not installed): {install}"


def require(module: str, extra: str, needed_by: str) -> None:
    """MLError naming the extra when `module` is not installed."""
    problem = missing(module, extra, needed_by)
    if problem:
        raise MLError(problem)
