"""Named crash points in the registry's write paths.

The crash tests (tests/registry) set ML_REGISTRY_KILL_AT to one point's name and the process kills
itself there with SIGKILL, as a machine failure would: no `finally`, no rollback, no flush. That
proves each transaction's atomicity at every step, not only at the steps a timer happens to hit.
"""

from __future__ import annotations

import os
import signal

KILL_AT_ENV = "ML_REGISTRY_KILL_AT"


def crash_point(name: str) -> None:
    if os.environ.get(KILL_AT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
