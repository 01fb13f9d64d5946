"""The prediction-endpoint client: 1.5 MB batches, retries with backoff and jitter, checked answers;
and the model server taking rows as a BigQuery remote model sends them."""

from __future__ import annotations

import json
import os

import google.auth
import pytest
import requests
from google.oauth2.credentials import Credentials
from hypothesis import given
from hypothesis import strategies as st

from remote_functions.endpoint import (
    MAX_REQUEST_BYTES,
    EndpointRejected,
    EndpointUnavailable,
    PredictionEndpoint,
    RetryPolicy,
    local_endpoint,
    split_by_size,
    vertex_endpoint,
    vertex_predict_url,
)
from remote_functions.local_services import LOOPBACK, free_port

FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, timeout=5)


def labels_of(predictions: list[dict]) -> list[str]:
    return [p["label"] for p in predictions]


def fits_alone(instance: str, limit: int) -> bool:
    return len(json.dumps({"instances": [instance]})) + 2 <= limit


@given(st.lists(st.text(max_size=300)), st.integers(min_value=400, max_value=5000))
def test_batches_keep_order_and_stay_under_the_limit(instances: list[str], limit: int) -> None:
    # Escaped control characters can make a 300-character text several times longer once in JSON;
    # such an instance can never be sent and must be refused rather than silently dropped or split.
    if not all(fits_alone(instance, limit) for instance in instances):
        with pytest.raises(EndpointRejected, match="alone is over the endpoint's"):
            split_by_size(instances, limit)
        return
    batches = split_by_size(instances, limit)
    assert [item for batch in batches for item in batch] == instances
    assert all(batch and len(json.dumps({"instances": batch})) <= limit for batch in batches)


def test_an_instance_over_the_limit_on_its_own_is_a_client_error() -> None:
    with pytest.raises(EndpointRejected, match="over the endpoint's") as error:
        split_by_size(["a" * 100, "b" * MAX_REQUEST_BYTES], MAX_REQUEST_BYTES)
    assert error.value.status == 400


def test_many_small_requests_give_the_in_process_answers_in_order(model_server, exported, digit_pngs) -> None:
    instances = [{"b64": png} for png in digit_pngs]
    endpoint = PredictionEndpoint(model_server, requests.Session(), FAST, max_request_bytes=1500)
    assert len(split_by_size(instances, 1500)) >= 4
    assert labels_of(endpoint.predict(instances)) == labels_of(exported.predict(digit_pngs))


def test_an_endpoint_that_fails_then_recovers_is_retried_to_success(scripted_endpoint, exported, digit_pngs):
    server = scripted_endpoint([503, 429, 500])
    predictions = local_endpoint(server.url, FAST).predict(digit_pngs[:5])
    assert labels_of(predictions) == labels_of(exported.predict(digit_pngs[:5]))
    assert len(server.bodies) == 4 and all(body == server.bodies[0] for body in server.bodies)


def test_timeouts_are_retried(scripted_endpoint, exported, digit_pngs) -> None:
    server = scripted_endpoint(["hang"], hang_seconds=2)
    retry = RetryPolicy(attempts=3, base_delay=0.01, timeout=0.5)
    assert labels_of(local_endpoint(server.url, retry).predict(digit_pngs[:3])) == labels_of(
        exported.predict(digit_pngs[:3])
    )
    assert len(server.bodies) == 2


def test_an_endpoint_that_stays_down_is_unavailable_after_every_attempt(
    scripted_endpoint, digit_pngs
) -> None:
    server = scripted_endpoint([503] * 10)
    sleeps: list[float] = []
    retry = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.02, sleep=sleeps.append)
    with pytest.raises(EndpointUnavailable, match="failed 4 times within its 30 s deadline, last: HTTP 503"):
        local_endpoint(server.url, retry).predict(digit_pngs[:2])
    assert len(server.bodies) == 4
    assert len(sleeps) == 3 and all(0 <= s <= 0.02 for s in sleeps)


def test_nobody_listening_is_unavailable() -> None:
    with pytest.raises(EndpointUnavailable, match="ConnectionError"):
        local_endpoint(f"http://{LOOPBACK}:{free_port()}/predict", FAST).predict(["x"])


def test_a_refusal_is_not_retried(scripted_endpoint, digit_pngs) -> None:
    server = scripted_endpoint([403])
    with pytest.raises(EndpointRejected, match="HTTP 403") as error:
        local_endpoint(server.url, FAST).predict(digit_pngs[:2])
    assert error.value.status == 403 and len(server.bodies) == 1


def test_an_invalid_instance_is_the_endpoints_400(model_server) -> None:
    with pytest.raises(EndpointRejected, match="instance 1") as error:
        local_endpoint(model_server, FAST).predict([[[0] * 8] * 8, {"b64": "bm90IGFuIGltYWdl"}])
    assert error.value.status == 400


def post_instances(model_server: str, instances: list) -> requests.Response:
    return requests.post(model_server, json={"instances": instances}, timeout=60)


def test_a_remote_models_keyed_row_gets_the_label_of_the_plain_image(model_server, digit_pngs) -> None:
    # A BigQuery remote model sends each row as an object keyed by its INPUT clause's field names.
    plain = post_instances(model_server, digit_pngs[:5])
    keyed = post_instances(model_server, [{"image": png} for png in digit_pngs[:5]])
    assert plain.status_code == keyed.status_code == 200
    assert labels_of(keyed.json()["predictions"]) == labels_of(plain.json()["predictions"])


def test_a_rows_scores_are_the_probabilities_in_label_order(model_server, exported, digit_pngs) -> None:
    images = [{"b64": png} for png in digit_pngs[:3]]
    plain = post_instances(model_server, images).json()["predictions"]
    keyed = post_instances(model_server, [{"image": image} for image in images]).json()["predictions"]
    assert [set(p) for p in plain] == [{"label", "probabilities"}] * 3
    assert [set(p) for p in keyed] == [{"label", "scores"}] * 3
    for row, image in zip(keyed, plain, strict=True):
        assert row["scores"] == [image["probabilities"][label] for label in exported.labels]


@pytest.mark.parametrize(
    ("fields", "named"), [(["image", "id"], "it has 'image', 'id'"), ([], "it has none")], ids=["two", "none"]
)
def test_a_row_with_other_than_one_field_is_a_400_naming_its_fields(
    model_server, digit_pngs, fields: list[str], named: str
) -> None:
    response = post_instances(model_server, [{"image": digit_pngs[0]}, dict.fromkeys(fields, digit_pngs[1])])
    assert response.status_code == 400
    error = response.json()["error"]
    assert error.startswith("instance 1:") and named in error


def test_a_wrong_number_of_predictions_is_never_passed_on(scripted_endpoint, digit_pngs) -> None:
    server = scripted_endpoint(["short"])
    with pytest.raises(EndpointRejected, match="answered 2 predictions for 3 instances"):
        local_endpoint(server.url, FAST).predict(digit_pngs[:3])


def test_backoff_grows_exponentially_with_full_jitter() -> None:
    retry = RetryPolicy(base_delay=0.1, max_delay=1.0)
    for attempt, cap in [(0, 0.1), (1, 0.2), (2, 0.4), (5, 1.0)]:
        delays = [retry.backoff(attempt) for _ in range(200)]
        assert all(0 <= d <= cap for d in delays)
        assert max(delays) > cap * 0.8 and len(set(delays)) > 150  # spread over the range, not fixed


def test_vertex_endpoint_names_map_to_the_regional_rest_url() -> None:
    name = "projects/my-project/locations/europe-west4/endpoints/1234567890"
    assert vertex_predict_url(name) == f"https://europe-west4-aiplatform.googleapis.com/v1/{name}:predict"
    for bad in ("1234567890", "projects/p/locations/us-central1/models/1", "projects/p/endpoints/1"):
        with pytest.raises(ValueError, match="projects/P/locations/L/endpoints/E"):
            vertex_predict_url(bad)


class RecordingAdapter(requests.adapters.BaseAdapter):
    """Keeps what would go on the wire and sends nothing: no answer is ever made up."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        self.sent.append(request)
        raise requests.ConnectionError("recorded, not sent")

    def close(self) -> None:
        pass


def test_what_a_vertex_request_carries(digit_pngs) -> None:
    from google.auth.transport.requests import AuthorizedSession

    name = "projects/p/locations/us-central1/endpoints/42"
    session = AuthorizedSession(Credentials(token="ya29.recorded-token"))
    adapter = RecordingAdapter()
    session.mount("https://", adapter)
    with pytest.raises(EndpointUnavailable):
        PredictionEndpoint(vertex_predict_url(name), session, RetryPolicy(attempts=1)).predict(
            [{"b64": digit_pngs[0]}]
        )
    (sent,) = adapter.sent
    assert (sent.method, sent.url) == (
        "POST",
        f"https://us-central1-aiplatform.googleapis.com/v1/{name}:predict",
    )
    assert sent.headers["Authorization"] == "Bearer ya29.recorded-token"
    assert json.loads(sent.body) == {"instances": [{"b64": digit_pngs[0]}]}


def _has_google_credentials() -> bool:
    try:
        google.auth.default()
    except google.auth.exceptions.DefaultCredentialsError:
        return False
    return True


@pytest.mark.gcp
@pytest.mark.skipif(
    not os.environ.get("VERTEX_ENDPOINT") or not _has_google_credentials(),
    reason="needs VERTEX_ENDPOINT and Google credentials",
)
def test_live_vertex_endpoint_classifies_a_digit(digit_pngs) -> None:
    (prediction,) = vertex_endpoint(os.environ["VERTEX_ENDPOINT"]).predict([{"b64": digit_pngs[0]}])
    assert prediction["label"] in [str(d) for d in range(10)]
