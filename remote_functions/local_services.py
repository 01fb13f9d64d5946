"""Run the remote function and its model server as local HTTP processes, as the cloud would.

``LocalServices.start()`` trains the digits model if its artifact is missing, starts the model server
(``python -m training.serve``) and the function (functions-framework, target ``classify_image``) on
free ports of 127.0.0.1, waits until both answer, and returns the function's URL. The function
demands a random bearer token, as the deployed one demands an ID token. ``stop()`` (also run at
interpreter exit) ends both.
"""

from __future__ import annotations

import atexit
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import requests

from training.export import is_exported

REPO_ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


class ServiceProcess:
    """A child process serving HTTP, its log file, and a readiness check.

    The service runs under a lifeline (remote_functions/lifeline.py) that holds the read end of a
    pipe only this process writes to: if this process dies, even by SIGKILL, the service stops
    too instead of staying on its port.
    """

    def __init__(self, name: str, command: Sequence[str], env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        read_end, self._lifeline = os.pipe()
        lifeline = [sys.executable, "-m", "remote_functions.lifeline", str(read_end), "--"]
        try:
            with self.log_path.open("wb") as log:
                self.process = subprocess.Popen(
                    [*lifeline, *command],
                    cwd=REPO_ROOT,
                    env={**os.environ, **env},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    pass_fds=(read_end,),
                )
        finally:
            os.close(read_end)

    def wait_until_answering(self, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                requests.get(url, timeout=1)
                return  # any HTTP answer means the server is up (the function answers GET with 400)
            except requests.ConnectionError:
                time.sleep(0.1)
        raise TimeoutError(f"{self.name} did not answer {url} within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # the lifeline stops the service's process group
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._lifeline >= 0:
            os.close(self._lifeline)
            self._lifeline = -1

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class LocalServices:
    """The local function + model server for one exported model directory."""

    def __init__(
        self, model_dir: Path, startup_timeout: float = 120.0, model_port: int | None = None
    ) -> None:
        self.model_dir = model_dir.resolve()
        # A fixed port gives the model server an address SQL can name before it starts (a remote
        # model's ENDPOINT); none takes a free one.
        self.model_port = model_port
        self.startup_timeout = startup_timeout
        self.token = secrets.token_urlsafe(24)
        self.function_url: str | None = None
        self.model_url: str | None = None
        self._processes: list[ServiceProcess] = []
        self._lock = threading.Lock()

    def start(self) -> str:
        """Start both services once (thread-safe) and return the function's URL."""
        with self._lock:
            if self.function_url is None:
                self._start()
            assert self.function_url is not None
            return self.function_url

    def _start(self) -> None:
        ensure_model(self.model_dir)
        log_dir = Path(tempfile.mkdtemp(prefix="analytics-ml-services-"))
        atexit.register(self.stop)
        model_port, function_port = self.model_port or free_port(), free_port()
        self.model_url = f"http://{LOOPBACK}:{model_port}/predict"
        server = self._spawn(
            "model-server",
            [
                sys.executable,
                "-m",
                "training.serve",
                "--model-dir",
                str(self.model_dir),
                "--host",
                LOOPBACK,
                "--port",
                str(model_port),
            ],
            {},
            log_dir,
        )
        function = self._spawn(
            "remote-function",
            [
                sys.executable,
                "-m",
                "functions_framework",
                "--target",
                "classify_image",
                "--source",
                str(REPO_ROOT / "remote_functions" / "main.py"),
                "--host",
                LOOPBACK,
                "--port",
                str(function_port),
            ],
            {"MODEL_ENDPOINT_URL": self.model_url, "REMOTE_FUNCTION_TOKEN": self.token},
            log_dir,
        )
        try:
            server.wait_until_answering(f"http://{LOOPBACK}:{model_port}/health", self.startup_timeout)
            function.wait_until_answering(f"http://{LOOPBACK}:{function_port}/", self.startup_timeout)
        except Exception:
            self.stop()
            raise
        self.function_url = f"http://{LOOPBACK}:{function_port}/"

    def _spawn(
        self, name: str, command: Sequence[str], env: Mapping[str, str], log_dir: Path
    ) -> ServiceProcess:
        process = ServiceProcess(name, command, {"PYTHONPATH": str(REPO_ROOT), **env}, log_dir)
        self._processes.append(process)
        return process

    def pids(self) -> list[int]:
        return [process.process.pid for process in self._processes]

    def stop(self) -> None:
        for process in reversed(self._processes):
            process.stop()
        self._processes.clear()
        self.function_url = self.model_url = None


def ensure_model(model_dir: Path, epochs: int | None = None) -> None:
    """Train and export the digits CNN into ``model_dir`` unless an artifact is already there
    (``epochs``: training.train's default when None)."""
    if is_exported(model_dir):
        return
    command = [
        sys.executable,
        "-m",
        "training.train",
        "--dataset",
        "digits",
        "--out",
        str(model_dir),
        "--no-progress",
        *(["--epochs", str(epochs)] if epochs is not None else []),
    ]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"training the digits model failed:\n{result.stderr[-3000:]}")
