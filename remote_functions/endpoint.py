"""A client for a prediction endpoint with the Vertex AI contract, local or on Vertex AI.

``POST {"instances": [...]}`` → ``{"predictions": [...]}``. Large batches are split so that no
request exceeds the 1.5 MB that Vertex AI public endpoints accept; transient failures (timeouts,
connection errors, 408/429/5xx) are retried with exponential backoff and full jitter.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

MAX_REQUEST_BYTES = 1_500_000
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
VERTEX_ENDPOINT_NAME = re.compile(r"^projects/[^/]+/locations/(?P<location>[a-z0-9-]+)/endpoints/[^/]+$")
_ENVELOPE_BYTES = len('{"instances": []}')


class EndpointUnavailable(RuntimeError):
    """The endpoint kept failing transiently: the caller should retry later (HTTP 503)."""


class EndpointRejected(RuntimeError):
    """The endpoint refused the request for good or answered nonsense.

    ``status`` is the endpoint's HTTP status; 400 means it judged an instance invalid.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RetryPolicy:
    """Up to ``attempts`` tries; before try n+1 sleep uniform(0, min(max_delay, base_delay · 2ⁿ)).
    ``timeout`` bounds one try and ``deadline`` all of them together (None: no bound), so a frozen
    endpoint is answered with 503 well inside the caller's own deadline (BigQuery's for a remote
    function) instead of after attempts × timeout."""

    attempts: int = 5
    base_delay: float = 0.2
    max_delay: float = 5.0
    timeout: float = 10.0
    deadline: float | None = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)

    def backoff(self, attempt: int) -> float:
        # Full jitter: concurrent callers that failed together do not retry together.
        return random.uniform(0.0, min(self.max_delay, self.base_delay * 2**attempt))


class PredictionEndpoint:
    """Sends instances to one predict URL; ``session`` carries the authentication if any."""

    def __init__(
        self,
        url: str,
        session: requests.Session,
        retry: RetryPolicy | None = None,
        max_request_bytes: int = MAX_REQUEST_BYTES,
        concurrency: int = 4,
        max_instances: int | None = None,
        labelled: bool = True,
    ) -> None:
        self.url = url
        self.session = session
        self.retry = retry or RetryPolicy()
        self.max_request_bytes = max_request_bytes
        self.max_instances = max_instances
        # The image classifier's predictions carry a label; a BigQuery remote model's are whatever
        # its OUTPUT clause names, checked by the caller.
        self.labelled = labelled
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="endpoint")

    def predict(self, instances: Sequence[Any]) -> list[Any]:
        """One prediction per instance, in order; the batches go out concurrently."""
        return self.predict_written([json.dumps(instance) for instance in instances])

    def predict_written(self, instances: Sequence[str]) -> list[Any]:
        """``predict`` for instances already written as JSON (a remote model's rows come so from
        DuckDB): each is measured and sent as it is, never parsed and written again."""
        batches = split_by_size(instances, self.max_request_bytes, self.max_instances, written=True)
        results = list(self._pool.map(self.predict_batch, batches))
        return [prediction for batch in results for prediction in batch]

    def predict_batch(self, instances: Sequence[str]) -> list[Any]:
        """One request of instances written as JSON (retried while the failure is transient)."""
        body = '{"instances": [' + ", ".join(instances) + "]}"
        response = post_with_retries(self.session, self.url, body, self.retry)
        return _predictions(response, len(instances), self.labelled)


def post_with_retries(
    session: requests.Session,
    url: str,
    body: str,
    retry: RetryPolicy,
    headers: Mapping[str, str] | None = None,
) -> requests.Response:
    """POST a JSON body; the first answer that is not transient, or ``EndpointUnavailable`` once
    the attempts or the deadline are used up."""
    problem, tried = "no attempt made", 0
    ends = None if retry.deadline is None else retry.clock() + retry.deadline
    for attempt in range(retry.attempts):
        if attempt:
            pause = retry.backoff(attempt - 1)
            if ends is not None and retry.clock() + pause >= ends:
                break
            retry.sleep(pause)
        timeout = retry.timeout if ends is None else min(retry.timeout, ends - retry.clock())
        if timeout <= 0:
            break
        tried += 1
        try:
            response = session.post(
                url,
                data=body,
                timeout=timeout,
                headers={"Content-Type": "application/json", **(headers or {})},
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            problem = f"{type(exc).__name__}: {exc}"
            continue
        if response.status_code not in RETRYABLE_STATUS:
            return response
        problem = f"HTTP {response.status_code}: {response.text[:200]}"
    within = "" if ends is None else f" within its {retry.deadline:g} s deadline"
    raise EndpointUnavailable(f"{url} failed {tried} times{within}, last: {problem}")


def split_by_size(
    instances: Sequence[Any], max_request_bytes: int, max_instances: int | None = None, written: bool = False
) -> list[list[Any]]:
    """Consecutive batches whose ``{"instances": [...]}`` bodies stay within ``max_request_bytes``
    (and hold at most ``max_instances`` each, when given); ``written``: the instances are JSON
    texts already."""
    batches: list[list[Any]] = []
    current: list[Any] = []
    size = _ENVELOPE_BYTES
    for index, instance in enumerate(instances):
        item = len(instance if written else json.dumps(instance)) + 2  # and the ", " between items
        if _ENVELOPE_BYTES + item > max_request_bytes:
            raise EndpointRejected(
                400, f"instance {index} alone is over the endpoint's {max_request_bytes}-byte request limit"
            )
        if current and (size + item > max_request_bytes or len(current) == max_instances):
            batches.append(current)
            current, size = [], _ENVELOPE_BYTES
        current.append(instance)
        size += item
    if current:
        batches.append(current)
    return batches


def _predictions(response: requests.Response, expected: int, labelled: bool) -> list[Any]:
    """The predictions of a final (non-retryable) response, checked before anyone relies on them."""
    if response.status_code != 200:
        raise EndpointRejected(
            response.status_code, f"endpoint answered HTTP {response.status_code}: {response.text[:300]}"
        )
    try:
        predictions = response.json()["predictions"]
    except (ValueError, KeyError, TypeError):
        raise EndpointRejected(502, "endpoint answered 200 without a JSON predictions list") from None
    if not isinstance(predictions, list) or len(predictions) != expected:
        count = len(predictions) if isinstance(predictions, list) else "no"
        raise EndpointRejected(502, f"endpoint answered {count} predictions for {expected} instances")
    if labelled and not all(isinstance(p, dict) and isinstance(p.get("label"), str) for p in predictions):
        raise EndpointRejected(502, "endpoint answered predictions without a label")
    return predictions


def local_endpoint(url: str, retry: RetryPolicy | None = None) -> PredictionEndpoint:
    """The model server at ``url`` (``python -m training.serve``), unauthenticated."""
    return PredictionEndpoint(url, requests.Session(), retry)


def vertex_predict_url(endpoint_name: str) -> str:
    """``projects/P/locations/L/endpoints/E`` → its REST ``:predict`` URL on the regional host."""
    match = VERTEX_ENDPOINT_NAME.match(endpoint_name)
    if not match:
        raise ValueError(f"VERTEX_ENDPOINT {endpoint_name!r} is not projects/P/locations/L/endpoints/E")
    return f"https://{match['location']}-aiplatform.googleapis.com/v1/{endpoint_name}:predict"


def vertex_endpoint(endpoint_name: str, retry: RetryPolicy | None = None) -> PredictionEndpoint:
    """A Vertex AI endpoint, called with the runtime's service-account credentials.

    Vertex AI's REST ``predict`` takes and returns the same JSON as the custom container, so one
    client serves both; ``AuthorizedSession`` adds and refreshes the OAuth access token.
    """
    import google.auth
    from google.auth.transport.requests import AuthorizedSession

    credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    return PredictionEndpoint(vertex_predict_url(endpoint_name), AuthorizedSession(credentials), retry)
