"""The classify_image remote function at three depths, fuzzed, and served for real on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import flask
import functions_framework
import google.auth
import pytest
import requests
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from remote_functions.endpoint import RetryPolicy, local_endpoint
from remote_functions.local_services import REPO_ROOT, LocalServices
from remote_functions.main import AuthError, BadRequest, authenticate, classify_image, classify_images, handle
from training.data import digits_pixels
from training.preprocess import encode_png

SOURCE = str(REPO_ROOT / "remote_functions" / "main.py")
FAST = RetryPolicy(attempts=3, base_delay=0.01, timeout=10)


def labels(exported, pngs: list[str]) -> list[str]:
    return [p["label"] for p in exported.predict(pngs)]


@pytest.fixture
def function_env(model_server: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The deployed function's configuration, locally: the model server, no caller token."""
    for name in ("REMOTE_FUNCTION_TOKEN", "FUNCTION_AUDIENCE", "K_SERVICE", "VERTEX_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MODEL_ENDPOINT_URL", model_server)
    monkeypatch.setenv("ENDPOINT_RETRY_ATTEMPTS", "3")
    return dict(os.environ)


# -- depth 1: the pure batch function -------------------------------------------------------------


def test_one_label_per_call_in_order_as_in_process(model_server, exported, digit_pngs) -> None:
    calls = [[png] for png in digit_pngs]
    assert classify_images(calls, None, local_endpoint(model_server, FAST)) == labels(exported, digit_pngs)


def test_null_images_get_null_replies_in_place(model_server, exported, digit_pngs) -> None:
    replies = classify_images([[None], [digit_pngs[3]], [None]], {}, local_endpoint(model_server, FAST))
    assert replies == [None, *labels(exported, digit_pngs[3:4]), None]


def test_json_output_carries_label_and_probabilities(model_server, exported, digit_pngs) -> None:
    (reply,) = classify_images([[digit_pngs[0]]], {"output": "json"}, local_endpoint(model_server, FAST))
    parsed = json.loads(reply)
    assert parsed["label"] == labels(exported, digit_pngs[:1])[0]
    assert sum(parsed["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)


def test_calling_twice_gives_the_same_replies(model_server, digit_pngs) -> None:
    endpoint = local_endpoint(model_server, FAST)
    calls = [[png] for png in digit_pngs[:10]]
    assert classify_images(calls, None, endpoint) == classify_images(calls, None, endpoint)


def test_no_calls_no_replies(model_server) -> None:
    assert classify_images([], None, local_endpoint(model_server, FAST)) == []


@pytest.mark.parametrize(
    ("calls", "context", "message"),
    [
        ({"0": ["x"]}, None, "must be a list"),
        (["iVBO"], None, "call 0: expected one argument"),
        ([["aGk="], ["aGk=", "aGk="]], None, "call 1: expected one argument"),
        ([[42]], None, "must be BYTES"),
        ([["not base64!"]], None, "not valid base64"),
        ([["aGk="]], {"output": "probabilities"}, "must be one of"),
        ([["aGk="]], ["output"], "must be an object"),
        ([["aGVsbG8gd29ybGQ="]], None, "not a readable base64 image"),  # base64, but not an image
    ],
)
def test_malformed_calls_are_bad_requests(model_server, calls, context, message) -> None:
    with pytest.raises(BadRequest, match=message):
        classify_images(calls, context, local_endpoint(model_server, FAST))


# -- authentication -------------------------------------------------------------------------------


def test_local_token_is_required_when_set() -> None:
    env = {"REMOTE_FUNCTION_TOKEN": "s3cret"}
    authenticate("Bearer s3cret", env)
    for header, status in [(None, 401), ("Basic s3cret", 401), ("Bearer wrong", 403), ("Bearer ", 401)]:
        with pytest.raises(AuthError) as error:
            authenticate(header, env)
        assert error.value.status == status


def test_production_refuses_what_is_not_a_google_id_token() -> None:
    env = {"FUNCTION_AUDIENCE": "https://region-project.cloudfunctions.net/classify_image"}
    with pytest.raises(AuthError) as missing:
        authenticate(None, env)
    with pytest.raises(AuthError, match="invalid ID token") as garbage:
        authenticate("Bearer not-a-jwt", env)
    assert (missing.value.status, garbage.value.status) == (401, 403)


def test_on_cloud_run_without_an_audience_every_caller_is_refused() -> None:
    with pytest.raises(AuthError, match="FUNCTION_AUDIENCE is not configured") as error:
        authenticate("Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln", {"K_SERVICE": "classify-image"})
    assert error.value.status == 403


def _id_token(audience: str) -> str | None:
    from google.auth.transport.requests import Request
    from google.oauth2 import id_token

    try:
        return id_token.fetch_id_token(Request(), audience)
    except google.auth.exceptions.GoogleAuthError:
        return None


@pytest.mark.gcp
def test_live_google_id_token_for_the_audience_is_accepted() -> None:
    audience = "https://example-region-project.cloudfunctions.net/classify_image"
    token = _id_token(audience)
    if token is None:
        pytest.skip("needs Google credentials that can mint ID tokens")
    authenticate(f"Bearer {token}", {"FUNCTION_AUDIENCE": audience})
    with pytest.raises(AuthError):
        authenticate(f"Bearer {token}", {"FUNCTION_AUDIENCE": audience + "-other"})


def test_handler_maps_auth_failures_to_401_and_403(function_env) -> None:
    env = {**function_env, "REMOTE_FUNCTION_TOKEN": "s3cret"}
    body = {"calls": []}
    assert handle(body, None, env)[1] == 401
    assert handle(body, "Bearer nope", env)[1] == 403
    assert handle(body, "Bearer s3cret", env) == ({"replies": []}, 200)


# -- depth 2: the handler under a Flask request context -------------------------------------------


def test_handler_in_a_request_context(function_env, exported, digit_pngs) -> None:
    app = flask.Flask(__name__)
    body = {"requestId": "r1", "caller": "//bigquery", "calls": [[png] for png in digit_pngs[:5]]}
    with app.test_request_context("/", method="POST", json=body):
        response, status = classify_image(flask.request)
    assert status == 200 and response.get_json() == {"replies": labels(exported, digit_pngs[:5])}


def test_handler_refuses_a_body_that_is_not_json(function_env) -> None:
    app = flask.Flask(__name__)
    with app.test_request_context("/", method="POST", data=b"\x00garbage", content_type="application/json"):
        response, status = classify_image(flask.request)
    assert status == 400 and "not JSON" in response.get_json()["errorMessage"]


# -- depth 3: wired by functions-framework --------------------------------------------------------


@pytest.fixture
def client(function_env) -> flask.testing.FlaskClient:
    return functions_framework.create_app("classify_image", SOURCE).test_client()


def test_functions_framework_app_answers_the_protocol(client, exported, digit_pngs) -> None:
    response = client.post("/", json={"calls": [[png] for png in digit_pngs], "userDefinedContext": {}})
    assert response.status_code == 200
    assert response.get_json()["replies"] == labels(exported, digit_pngs)


def test_get_is_a_bad_request(client) -> None:
    response = client.get("/")
    assert response.status_code == 400 and "errorMessage" in response.get_json()


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
BASE64_BLOBS = st.binary(max_size=120).map(lambda raw: base64.b64encode(raw).decode())
DIGIT_PNGS = st.sampled_from(
    [base64.b64encode(encode_png(image)).decode() for image in digits_pixels()[0][:10]]
)
ARGUMENTS = st.none() | DIGIT_PNGS | BASE64_BLOBS | JSON_VALUES
CALLS = st.lists(st.lists(ARGUMENTS, max_size=2) | st.lists(DIGIT_PNGS, min_size=1, max_size=1), max_size=6)
CONTEXTS = (
    st.none() | st.just({"output": "json"}) | st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=2)
)
BODIES = st.fixed_dictionaries({"calls": CALLS}, optional={"userDefinedContext": CONTEXTS}) | JSON_VALUES


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=BODIES)
def test_fuzzed_requests_never_get_a_server_error(client, body) -> None:
    response = client.post("/", data=json.dumps(body), content_type="application/json")
    event(f"HTTP {response.status_code}")
    assert response.status_code in (200, 400), response.get_data(as_text=True)
    payload = response.get_json()
    if response.status_code == 200:
        assert len(payload["replies"]) == len(body["calls"])
    else:
        assert set(payload) == {"errorMessage"} and len(payload["errorMessage"]) < 1024


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200))
def test_fuzzed_raw_bodies_are_bad_requests(client, raw) -> None:
    assert client.post("/", data=raw, content_type="application/json").status_code == 400


def test_endpoint_down_then_up_is_retried_to_success(
    client, scripted_endpoint, monkeypatch, exported, digit_pngs
):
    monkeypatch.setenv("MODEL_ENDPOINT_URL", scripted_endpoint([503, 504]).url)
    response = client.post("/", json={"calls": [[png] for png in digit_pngs[:4]]})
    assert response.status_code == 200 and response.get_json()["replies"] == labels(exported, digit_pngs[:4])


def test_endpoint_that_stays_down_gives_503_and_no_replies(
    client, scripted_endpoint, monkeypatch, digit_pngs
):
    server = scripted_endpoint([503] * 20)
    monkeypatch.setenv("MODEL_ENDPOINT_URL", server.url)
    response = client.post("/", json={"calls": [[png] for png in digit_pngs[:4]]})
    assert response.status_code == 503
    assert set(response.get_json()) == {"errorMessage"} and len(server.bodies) == 3


# -- a real function server on 127.0.0.1 ----------------------------------------------------------


def test_served_function_over_real_http(model_dir: Path, exported, digit_pngs) -> None:
    services = LocalServices(model_dir)
    url = services.start()
    try:
        calls = {"calls": [[png] for png in digit_pngs[:8]]}
        ok = requests.post(url, json=calls, headers={"Authorization": f"Bearer {services.token}"}, timeout=30)
        assert ok.status_code == 200 and ok.json()["replies"] == labels(exported, digit_pngs[:8])
        assert requests.post(url, json=calls, timeout=30).status_code == 401
        assert (
            requests.post(url, json=calls, headers={"Authorization": "Bearer x"}, timeout=30).status_code
            == 403
        )
    finally:
        services.stop()
    with pytest.raises(requests.ConnectionError):
        requests.post(url, json=calls, timeout=5)
