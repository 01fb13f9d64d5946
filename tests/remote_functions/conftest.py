"""Real services for the remote-function tests: a trained model, its server, a scriptable endpoint."""

from __future__ import annotations

import base64
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from remote_functions.local_services import LOOPBACK, ServiceProcess, ensure_model, free_port
from training.data import digits_pixels
from training.export import ExportedModel
from training.preprocess import encode_png


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A digits CNN trained briefly: these tests need a real model, not an accurate one."""
    out = tmp_path_factory.mktemp("model")
    ensure_model(out, epochs=4)
    return out


@pytest.fixture(scope="session")
def exported(model_dir: Path) -> ExportedModel:
    """The same model in process: the reference every remote answer is compared with."""
    return ExportedModel(model_dir)


@pytest.fixture(scope="session")
def model_server(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m training.serve`` on 127.0.0.1; yields its predict URL."""
    port = free_port()
    server = ServiceProcess(
        "model-server",
        [sys.executable, "-m", "training.serve", "--model-dir", str(model_dir), "--host", LOOPBACK],
        {"AIP_HTTP_PORT": str(port)},
        tmp_path_factory.mktemp("logs"),
    )
    server.wait_until_answering(f"http://{LOOPBACK}:{port}/health", timeout=120)
    yield f"http://{LOOPBACK}:{port}/predict"
    server.stop()


@pytest.fixture(scope="session")
def digit_pngs() -> list[str]:
    """The first 40 digits as base64 8-bit grey PNGs, as BigQuery sends BYTES."""
    pixels, _ = digits_pixels()
    return [base64.b64encode(encode_png(image)).decode() for image in pixels[:40]]


class ScriptedEndpoint:
    """A real HTTP endpoint on 127.0.0.1 that answers as scripted, then forwards to the model server.

    ``failures`` scripts the first requests: an HTTP status to answer with, ``"hang"`` (answer too
    late) or ``"short"`` (forward, then drop the last prediction). Every request body is recorded.
    """

    def __init__(self, forward_to: str | None, failures: list[int | str], hang_seconds: float = 3.0) -> None:
        self.forward_to = forward_to
        self.failures = list(failures)
        self.hang_seconds = hang_seconds
        self.bodies: list[dict] = []
        self._lock = threading.Lock()
        self._server = make_server(LOOPBACK, 0, self._app, threaded=True)
        self.url = f"http://{LOOPBACK}:{self._server.server_port}/predict"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @Request.application
    def _app(self, request: Request) -> Response:
        body = request.get_data()
        with self._lock:
            self.bodies.append(json.loads(body))
            failure = self.failures.pop(0) if self.failures else None
        if failure == "hang":
            time.sleep(self.hang_seconds)
            return Response("too late", status=200)
        if failure not in (None, "short"):
            return Response(json.dumps({"error": "scripted failure"}), status=failure)
        forwarded = requests.post(self.forward_to, data=body, headers={"Content-Type": "application/json"})
        content = forwarded.content
        if failure == "short":
            content = json.dumps({"predictions": forwarded.json()["predictions"][:-1]}).encode()
        return Response(content, status=forwarded.status_code, content_type="application/json")

    def close(self) -> None:
        self._server.shutdown()


@pytest.fixture
def scripted_endpoint(model_server: str) -> Iterator[Callable[..., ScriptedEndpoint]]:
    endpoints: list[ScriptedEndpoint] = []

    def start(failures: list[int | str], **kwargs: float) -> ScriptedEndpoint:
        endpoints.append(ScriptedEndpoint(model_server, failures, **kwargs))
        return endpoints[-1]

    yield start
    for endpoint in endpoints:
        endpoint.close()
