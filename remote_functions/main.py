"""BigQuery remote function ``classify_image(image BYTES) RETURNS STRING``.

    functions-framework --target classify_image --source remote_functions/main.py

BigQuery POSTs ``{"requestId", "caller", "sessionUser", "userDefinedContext", "calls": [[image], ...]}``
with BYTES as base64; the function answers ``{"replies": [...]}``, one per call, in order. Each reply
is the predicted label, or with ``userDefinedContext = {"output": "json"}`` a JSON string
``{"label": ..., "probabilities": {label: p}}``; a NULL image gives a NULL reply.

Status codes follow what BigQuery does with them: 400 for a malformed request or image (the query
fails at once), 503 when the model endpoint stays unavailable after our own retries (BigQuery retries
the batch), 401/403 for callers that are not allowed.

The model endpoint is ``MODEL_ENDPOINT_URL`` (a server started by ``python -m training.serve``) or
the Vertex AI endpoint ``VERTEX_ENDPOINT`` (``projects/P/locations/L/endpoints/E``);
``ENDPOINT_RETRY_ATTEMPTS`` (default 5) and ``ENDPOINT_DEADLINE_SECONDS`` (default 30, all
attempts together) bound how long a batch waits for it before the answer is 503.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import json
import os
from collections.abc import Mapping
from typing import Any

import flask
import functions_framework

try:
    from remote_functions.endpoint import (
        EndpointRejected,
        EndpointUnavailable,
        PredictionEndpoint,
        RetryPolicy,
        local_endpoint,
        vertex_endpoint,
    )
    from remote_functions.json_body import InvalidBody, parse_json_body
except ModuleNotFoundError:  # deployed: this folder is the Cloud Function's source root
    from endpoint import (
        EndpointRejected,
        EndpointUnavailable,
        PredictionEndpoint,
        RetryPolicy,
        local_endpoint,
        vertex_endpoint,
    )
    from json_body import InvalidBody, parse_json_body

OUTPUT_MODES = ("label", "json")
MAX_ERROR_MESSAGE = 900  # BigQuery wants errorMessage under 1 KB


class BadRequest(ValueError):
    """The caller's request is malformed: HTTP 400."""


class AuthError(Exception):
    """The caller may not call the function: HTTP 401 (no credentials) or 403 (wrong ones)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def classify_images(calls: Any, context: Any, endpoint: PredictionEndpoint) -> list[str | None]:
    """The remote function over one batch: BigQuery ``calls`` in, the same number of replies out.

    Pure in the sense BigQuery needs: the replies depend only on the inputs (and the model), so a
    duplicated request gets the same answer.
    """
    output = _output_mode(context)
    images = [_image_argument(index, call) for index, call in enumerate(_calls(calls))]
    wanted = [index for index, image in enumerate(images) if image is not None]
    try:
        predictions = endpoint.predict([{"b64": images[index]} for index in wanted])
    except EndpointRejected as exc:
        if exc.status == 400:  # the endpoint judged one of the images invalid: the caller's fault
            raise BadRequest(str(exc)) from None
        raise
    replies: list[str | None] = [None] * len(images)
    for index, prediction in zip(wanted, predictions, strict=True):
        replies[index] = _reply(prediction, output)
    return replies


def _calls(calls: Any) -> list[Any]:
    if not isinstance(calls, list):
        raise BadRequest('"calls" must be a list of argument lists')
    return calls


def _output_mode(context: Any) -> str:
    if context is None:
        return "label"
    if not isinstance(context, dict):
        raise BadRequest('"userDefinedContext" must be an object')
    output = context.get("output", "label")
    if output not in OUTPUT_MODES:
        raise BadRequest(f'userDefinedContext "output" must be one of {list(OUTPUT_MODES)}, got {output!r}')
    return output


def _image_argument(index: int, call: Any) -> str | None:
    """The base64 image of one call, checked to be base64 (None for SQL NULL)."""
    if not isinstance(call, list) or len(call) != 1:
        raise BadRequest(f"call {index}: expected one argument (image BYTES), got {json.dumps(call)[:80]}")
    image = call[0]
    if image is None:
        return None
    if not isinstance(image, str):
        raise BadRequest(
            f"call {index}: the image must be BYTES (base64 in JSON), got {type(image).__name__}"
        )
    try:
        base64.b64decode(image, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"call {index}: the image is not valid base64") from None
    return image


def _reply(prediction: Mapping[str, Any], output: str) -> str:
    if output == "json":
        return json.dumps({"label": prediction["label"], "probabilities": prediction.get("probabilities")})
    return prediction["label"]


def authenticate(authorization: str | None, env: Mapping[str, str]) -> None:
    """Let the caller through or raise ``AuthError``.

    In production (``FUNCTION_AUDIENCE`` set, or running on Cloud Run / Cloud Functions where
    ``K_SERVICE`` is set) only a Google-signed ID token for that audience passes. Locally, with
    ``REMOTE_FUNCTION_TOKEN`` set, only ``Authorization: Bearer <that token>`` passes.
    """
    audience = env.get("FUNCTION_AUDIENCE")
    local_token = env.get("REMOTE_FUNCTION_TOKEN")
    if not (audience or env.get("K_SERVICE") or local_token):
        return  # local development without a token: open, as the docs of the local target say
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise AuthError(401, "missing Authorization: Bearer token")
    if audience or env.get("K_SERVICE"):
        _verify_google_id_token(token, audience)
    elif not hmac.compare_digest(token.encode(), local_token.encode()):
        raise AuthError(403, "wrong bearer token")


def _verify_google_id_token(token: str, audience: str | None) -> None:
    from google.auth import exceptions as google_exceptions
    from google.auth import jwt
    from google.auth.transport import requests as google_requests
    from google.oauth2 import id_token

    if not audience:
        raise AuthError(403, "FUNCTION_AUDIENCE is not configured: refusing every caller")
    try:
        jwt.decode(token, verify=False)  # refuse what is not even a JWT before fetching Google's certs
    except (ValueError, google_exceptions.GoogleAuthError) as exc:
        raise AuthError(403, f"invalid ID token: {exc}") from None
    try:
        id_token.verify_oauth2_token(token, google_requests.Request(), audience=audience)
    except google_exceptions.TransportError as exc:
        # Google's certificates could not be fetched: our problem, and a passing one.
        raise EndpointUnavailable(f"cannot verify ID tokens right now: {exc}") from None
    except ValueError as exc:
        raise AuthError(403, f"invalid ID token: {exc}") from None


@functools.cache
def _endpoint(url: str | None, vertex_name: str | None, attempts: int, deadline: float) -> PredictionEndpoint:
    # One client (and its connection pool) per configuration, created on first use, as
    # functions-framework samples create clients once per instance.
    retry = RetryPolicy(attempts=attempts, deadline=deadline)
    if url:
        return local_endpoint(url, retry)
    if vertex_name:
        return vertex_endpoint(vertex_name, retry)
    raise RuntimeError("set MODEL_ENDPOINT_URL (local model server) or VERTEX_ENDPOINT (Vertex AI endpoint)")


def endpoint_from_env(env: Mapping[str, str]) -> PredictionEndpoint:
    return _endpoint(
        env.get("MODEL_ENDPOINT_URL"),
        env.get("VERTEX_ENDPOINT"),
        int(env.get("ENDPOINT_RETRY_ATTEMPTS", "5")),
        float(env.get("ENDPOINT_DEADLINE_SECONDS", str(RetryPolicy.deadline))),
    )


def handle(body: Any, authorization: str | None, env: Mapping[str, str]) -> tuple[dict[str, Any], int]:
    """The HTTP semantics of the function, independent of the web framework."""
    try:
        authenticate(authorization, env)
        if not isinstance(body, dict) or "calls" not in body:
            raise BadRequest('expected a JSON object with "calls" (BigQuery remote-function request)')
        replies = classify_images(body["calls"], body.get("userDefinedContext"), endpoint_from_env(env))
    except AuthError as exc:
        return _error(str(exc)), exc.status
    except BadRequest as exc:
        return _error(str(exc)), 400
    except EndpointUnavailable as exc:
        return _error(str(exc)), 503
    except EndpointRejected as exc:
        # Not retryable and not the caller's fault (wrong endpoint, permissions, bad answer):
        # 502 makes BigQuery fail the query now rather than retry a call that cannot succeed.
        return _error(str(exc)), 502
    return {"replies": replies}, 200


def _error(message: str) -> dict[str, str]:
    return {"errorMessage": message[:MAX_ERROR_MESSAGE]}


@functions_framework.http
def classify_image(request: flask.Request) -> tuple[flask.Response, int]:
    """functions-framework entry point: parse, delegate to ``handle``, serialise."""
    body = None
    if request.method == "POST":
        try:
            body = parse_json_body(request.get_data(cache=False))
        except InvalidBody as exc:
            return flask.jsonify(_error(str(exc))), 400
    payload, status = handle(body, request.headers.get("Authorization"), os.environ)
    return flask.jsonify(payload), status
