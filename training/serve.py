"""The model server, following Vertex AI's custom-container contract.

    python -m training.serve --model-dir build/models/digits

- listens on ``AIP_HTTP_PORT`` (default 8080);
- ``GET $AIP_HEALTH_ROUTE`` (default ``/health``) → 200 once the model is loaded;
- ``POST $AIP_PREDICT_ROUTE`` (default ``/predict``) with ``{"instances": [...], "parameters": {...}}``
  → ``{"predictions": [...]}``, one ``{"label", "probabilities": {label: p}}`` per instance (for
  a BigQuery remote model's row, ``{"label", "scores": [p, ...]}``: the probabilities in label
  order), all instances of a request in one forward pass;
- an instance is base64 image bytes (a string or ``{"b64": ...}``), a pixel array, or an object
  whose one field holds one of those, as a BigQuery remote model sends a row (``{"image": ...}``,
  keyed by its INPUT clause); one that is not an image of the model's shape, or an object with
  other than one field, → 400 naming the instance;
- artifacts from ``--model-dir``, else from ``AIP_STORAGE_URI`` (a local path or ``gs://`` URI that
  Vertex AI fills with the model's ``artifactUri``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import gunicorn.app.base
from flask import Flask, Response, jsonify, request

from training.export import ExportedModel, is_exported
from training.preprocess import InvalidInstance

# Vertex AI public endpoints refuse requests over 1.5 MB; refusing them here too keeps callers honest
# when they only ever talk to the local server.
MAX_REQUEST_BYTES = 1_500_000


def create_app(model_dir: Path, health_route: str = "/health", predict_route: str = "/predict") -> Flask:
    """A Flask app serving the exported model in ``model_dir``."""
    model = ExportedModel(model_dir)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES

    @app.get(health_route)
    def health() -> Response:
        return jsonify(status="ok", labels=model.labels)

    @app.post(predict_route)
    def predict() -> tuple[Response, int]:
        body = request.get_json(silent=True)
        instances = body.get("instances") if isinstance(body, dict) else None
        if not isinstance(instances, list) or not instances:
            return jsonify(error='expected a JSON body {"instances": [...]} with at least one instance'), 400
        try:
            return jsonify(predictions=model.predict(instances)), 200
        except InvalidInstance as exc:
            return jsonify(error=str(exc)), 400

    return app


def resolve_model_dir(model_dir: Path | None, storage_uri: str | None) -> Path:
    """``--model-dir`` wins; else ``AIP_STORAGE_URI``, downloading a ``gs://`` one first."""
    if model_dir is None and not storage_uri:
        raise SystemExit("no model: pass --model-dir or set AIP_STORAGE_URI")
    if model_dir is None and storage_uri.startswith("gs://"):
        model_dir = download_gcs(storage_uri, Path(tempfile.mkdtemp(prefix="model-")))
    path = model_dir if model_dir is not None else Path(storage_uri)
    if not is_exported(path):
        raise SystemExit(f"{path} holds no exported model (run python -m training.train first)")
    return path


def download_gcs(uri: str, destination: Path) -> Path:
    """Copy every object under a ``gs://bucket/prefix`` into ``destination``."""
    from google.cloud import storage  # only the deployed container reads from Cloud Storage

    bucket_name, _, prefix = uri.removeprefix("gs://").partition("/")
    prefix = prefix.rstrip("/") + "/" if prefix else ""
    for blob in storage.Client().list_blobs(bucket_name, prefix=prefix):
        relative = blob.name[len(prefix) :]
        if relative and not relative.endswith("/"):
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            blob.download_to_filename(str(target))
    return destination


class _Server(gunicorn.app.base.BaseApplication):
    """gunicorn with threads; the app (and torch) is built in the worker, not before the fork."""

    def __init__(self, model_dir: Path, host: str, port: int, health_route: str, predict_route: str) -> None:
        self.model_dir, self.routes = model_dir, (health_route, predict_route)
        self.options = {
            "bind": f"{host}:{port}",
            "workers": 1,
            "threads": int(os.environ.get("THREADS", "4")),
            "loglevel": os.environ.get("GUNICORN_LOG_LEVEL", "warning"),
            "timeout": 0,
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return create_app(self.model_dir, *self.routes)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve an exported CNN (Vertex AI container contract).")
    parser.add_argument("--model-dir", type=Path, help="exported model (default: $AIP_STORAGE_URI)")
    parser.add_argument("--host", default="0.0.0.0", help="address to bind (Vertex AI needs 0.0.0.0)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("AIP_HTTP_PORT", "8080")))
    args = parser.parse_args(argv)
    model_dir = resolve_model_dir(args.model_dir, os.environ.get("AIP_STORAGE_URI"))
    routes = os.environ.get("AIP_HEALTH_ROUTE", "/health"), os.environ.get("AIP_PREDICT_ROUTE", "/predict")
    _Server(model_dir, args.host, args.port, *routes).run()


if __name__ == "__main__":
    main()
