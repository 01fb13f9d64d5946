"""The remote function and its model server as real processes on 127.0.0.1, under bad requests and
bad luck: bodies that cannot be parsed are 400 (never 500, which BigQuery would retry), a frozen
model server is 503 within the function's deadline, and when the process that started the
services is SIGKILLed they stop too instead of staying on their ports."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from remote_functions.local_services import LOOPBACK, LocalServices

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
DEADLINE_SECONDS = 3.0


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie waiting to be reaped."""
    status = Path(f"/proc/{pid}/status")
    try:
        return "\tZ (zombie)" not in status.read_text()
    except FileNotFoundError:
        return False


def answering(url: str) -> bool:
    """Whether anything accepts a connection on the URL's port."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, int(port))) == 0


@pytest.fixture(scope="module")
def services(model_dir: Path) -> Iterator[LocalServices]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ENDPOINT_DEADLINE_SECONDS", str(DEADLINE_SECONDS))
        started = LocalServices(model_dir)
        started.start()
    yield started
    started.stop()


def post(services: LocalServices, body: bytes) -> requests.Response:
    return requests.post(
        services.function_url,
        data=body,
        headers={"Authorization": f"Bearer {services.token}", "Content-Type": "application/json"},
        timeout=60,
    )


def one_call(png: str) -> bytes:
    return json.dumps({"calls": [[png]]}).encode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"calls": [' + b"[" * 2000 + b"]" * 2000 + b"]}", "nests JSON arrays or objects too deeply"),
        (b'{"calls": [["\xff\xfe"]]}', "not UTF-8 (byte 13 is 0xff)"),
        (b'{"calls": [[', "not JSON"),
        (b'{"calls": [["' + b"A" * (33 * 1024 * 1024) + b'"]]}', "over the 33,554,432 accepted"),
    ],
    ids=["2000-levels-deep", "not-utf8", "truncated", "over-32-MiB"],
)
def test_a_body_that_cannot_be_parsed_is_a_400_with_its_reason(
    services: LocalServices, body: bytes, message: str
) -> None:
    response = post(services, body)
    assert response.status_code == 400
    assert message in response.json()["errorMessage"]


def test_a_frozen_model_server_is_a_503_within_the_deadline(services: LocalServices, digit_pngs) -> None:
    model_server = children(services.pids()[0])[0]  # under its lifeline
    os.killpg(model_server, signal.SIGSTOP)
    try:
        started = time.monotonic()
        response = post(services, one_call(digit_pngs[0]))
        waited = time.monotonic() - started
    finally:
        os.killpg(model_server, signal.SIGCONT)
    assert response.status_code == 503
    assert f"within its {DEADLINE_SECONDS:g} s deadline" in response.json()["errorMessage"]
    assert DEADLINE_SECONDS <= waited < DEADLINE_SECONDS + 5
    assert post(services, one_call(digit_pngs[0])).status_code == 200, "thawed, it answers again"


STARTER = """
import sys, time
from pathlib import Path
from remote_functions.local_services import LocalServices
services = LocalServices(Path(sys.argv[1]))
print(services.start(), services.model_url, flush=True)
time.sleep(600)
"""


def test_services_stop_when_the_process_that_started_them_is_killed(model_dir: Path) -> None:
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTER, str(model_dir)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        function_url, model_url = starter.stdout.readline().split()
        lifelines = children(starter.pid)
        services = [pid for lifeline in lifelines for pid in children(lifeline)]
        assert len(lifelines) == 2 and len(services) == 2
        assert answering(function_url) and answering(model_url)
        os.kill(starter.pid, signal.SIGKILL)
        starter.wait(timeout=10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (
            answering(function_url) or answering(model_url) or any(map(alive, lifelines + services))
        ):
            time.sleep(0.2)
        assert not answering(function_url) and not answering(model_url), "a service outlived its starter"
        assert not [pid for pid in lifelines + services if alive(pid)]
    finally:
        if starter.poll() is None:
            starter.kill()


def test_the_services_listen_on_loopback_only(services: LocalServices) -> None:
    assert services.function_url.startswith(f"http://{LOOPBACK}:")
