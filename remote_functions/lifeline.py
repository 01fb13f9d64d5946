"""Run a local service that must not outlive the process that started it, however that one ends.

    python -m remote_functions.lifeline FD -- COMMAND [ARGS...]

FD is the read end of a pipe whose write end only the starting process holds. When that process
exits for any reason, SIGKILL included, the kernel closes the write end, the read here returns
end-of-file, and the lifeline stops COMMAND's whole process group (functions-framework's gunicorn
master and its worker, or the model server). SIGTERM or SIGINT to the lifeline stops it the same
way, which is how the starting process stops its services on a normal exit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence

GRACE_SECONDS = 10.0
POLL_SECONDS = 0.1


def stop(child: subprocess.Popen) -> None:
    """SIGTERM to the child's process group, then SIGKILL if it is still there after the grace."""
    for sig, wait in ((signal.SIGTERM, GRACE_SECONDS), (signal.SIGKILL, None)):
        try:
            os.killpg(child.pid, sig)
        except ProcessLookupError:
            return
        try:
            child.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def watch(fd: int, stopping: threading.Event) -> None:
    """Block until the starting process is gone (end-of-file on its pipe), then ask to stop."""
    while os.read(fd, 4096):
        pass
    stopping.set()


def main(argv: Sequence[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m remote_functions.lifeline FD -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    fd = int(argv[0])
    # A session of its own: the whole group (a server and its workers) is stopped at once.
    child = subprocess.Popen(list(argv[2:]), start_new_session=True)
    orphaned, signalled = threading.Event(), []
    for sig in (signal.SIGTERM, signal.SIGINT):
        # Only note it: waiting on the child (or taking a lock) inside a handler can deadlock
        # against the loop below, which the handler interrupts.
        signal.signal(sig, lambda number, _frame: signalled.append(number))
    threading.Thread(target=watch, args=(fd, orphaned), daemon=True).start()
    while child.poll() is None:
        if signalled or orphaned.wait(POLL_SECONDS):
            stop(child)
    return child.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
