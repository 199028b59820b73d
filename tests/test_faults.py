"""Faults and delays on request, through the app alone (Flask test client, no socket):
parsing, the 422s, the HTTP-level faults' answers, where faults sit in the request order,
the precedence of the layers, seeded determinism, the journal, and what the app hands
to the server layer."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import EnvironBuilder

from contract_tests.st_hooks import drop_mock_extensions
from facematch_contract import SPEC_PATH
from facematch_contract.operation import OPERATION_PATH as OPERATION
from mock_server.app import create_app
from mock_server.config import Settings
from mock_server.faults import (
    DEFAULT_HANG_MS,
    DEFAULT_SLOW_MS,
    DELAY_KEY,
    FRONT_KEY,
    MAX_DELAY_MS,
    SOCKET_FAULT_KEY,
    Delay,
    DelayKind,
    Fault,
    FaultPolicy,
    SocketFault,
    parse_delay,
)
from mock_server.runtime import RuntimeOverrides
from mock_server.scenarios import parse_prefer
from mock_server.steering import PLAIN, Steering, combine, from_prefer

from .conftest import fixture_path

FACE = fixture_path("astronaut_a.jpg").read_bytes()


@pytest.fixture(scope="module")
def app() -> Flask:
    return create_app(Settings(strict=True))


@pytest.fixture(scope="module")
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def form() -> dict[str, Any]:
    return {"image1": (io.BytesIO(FACE), "image1.jpg", "image/jpeg")}


def call(client: FlaskClient, token: str | None, **headers: str) -> Any:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.post(OPERATION, data=form(), headers=headers)


# -- the request's own layer -----------------------------------------------------------------


def test_prefer_is_read_into_one_steering() -> None:
    assert from_prefer(parse_prefer(None)) is PLAIN
    assert from_prefer(parse_prefer("example=both_fake")) is PLAIN
    assert from_prefer(parse_prefer("fault=503")) == Steering(fault=Fault.UNAVAILABLE)
    assert from_prefer(parse_prefer("fault=hang")) == Steering(fault=Fault.HANG, fault_ms=DEFAULT_HANG_MS)
    assert from_prefer(parse_prefer("fault=slow")) == Steering(fault=Fault.SLOW, fault_ms=DEFAULT_SLOW_MS)
    assert from_prefer(parse_prefer("Fault=HANG; Fault-MS=250")) == Steering(fault=Fault.HANG, fault_ms=250)
    assert from_prefer(parse_prefer("example=x, delay=tail:100-900")) == Steering(
        delay=Delay(DelayKind.LONG_TAIL, 100, 900)
    )
    assert from_prefer(parse_prefer("fault-ms=300")) == PLAIN  # checked, no effect without a fault


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("200", Delay(DelayKind.FIXED, 200, 200)),
        ("100-400", Delay(DelayKind.UNIFORM, 100, 400)),
        ("tail:200-3000", Delay(DelayKind.LONG_TAIL, 200, 3000)),
    ],
)
def test_three_delay_forms(text: str, expected: Delay) -> None:
    delay = parse_delay(text)
    assert delay == expected
    rng = random.Random(1)
    draws = [delay.draw_ms(rng) for _ in range(2000)]
    assert all(0 <= value <= MAX_DELAY_MS for value in draws)
    if expected.kind is not DelayKind.LONG_TAIL:
        assert expected.low_ms <= min(draws) and max(draws) <= expected.high_ms
    else:  # median near 200, about 1 % over 3000
        assert 150 < sorted(draws)[1000] < 260
        assert 0.002 < sum(value > 3000 for value in draws) / len(draws) < 0.03


@pytest.mark.parametrize(
    ("prefer", "kind", "words"),
    [
        ("fault=explode", "unknown_fault", "choose from 503, 429, 502, 504, reset, empty, truncated, hang, slow"),
        ("fault=hang, fault-ms=soon", "invalid_fault_ms", "from 0 to 60000"),
        ("fault=hang, fault-ms=60001", "invalid_fault_ms", "from 0 to 60000"),
        ("delay=later", "invalid_delay", "MS, LOW-HIGH or tail:MEDIAN-P99"),
        ("delay=400-100", "invalid_delay", "0 <= LOW <= HIGH"),
        ("delay=tail:300", "invalid_delay", "tail:MEDIAN-P99"),
        ("delay=90000", "invalid_delay", "at most 60000"),
    ],
)
def test_bad_values_get_a_422_naming_the_choices(
    client: FlaskClient, token: str, prefer: str, kind: str, words: str
) -> None:
    response = call(client, token, Prefer=prefer)
    assert response.status_code == 422, response.data
    body = response.get_json()
    assert body["detail"]["error"] == kind and body["detail"]["field"] == "Prefer"
    assert words in body["message"]
    assert "X-Contract-Violation" not in response.headers
    if kind == "unknown_fault":
        assert body["detail"]["available"] == [fault.value for fault in Fault]


# -- HTTP-level faults -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["503", "429"])
def test_overload_faults_answer_json_with_retry_after(client: FlaskClient, token: str, name: str) -> None:
    response = call(client, token, Prefer=f"fault={name}", **{"X-Correlation-ID": "f-1"})
    assert response.status_code == int(name)
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Retry-After"] == "2"
    assert response.headers["X-Correlation-ID"] == "f-1"
    assert "X-Contract-Violation" not in response.headers  # outside the contract on purpose, not a violation
    assert isinstance(response.get_json()["msg"], str)


@pytest.mark.parametrize(("name", "reason"), [("502", "Bad Gateway"), ("504", "Gateway Time-out")])
def test_gateway_faults_answer_an_html_page(client: FlaskClient, token: str, name: str, reason: str) -> None:
    response = call(client, token, Prefer=f"fault={name}")
    assert response.status_code == int(name)
    assert response.mimetype == "text/html"
    assert f"<title>{name} {reason}</title>" in response.get_data(as_text=True)


def test_faults_come_after_the_token_check(client: FlaskClient, token: str) -> None:
    assert call(client, None, Prefer="fault=503").status_code == 401
    assert call(client, "not-a-token", Prefer="fault=explode").status_code == 401
    assert call(client, token, Prefer="fault=503", **{"X-Correlation-ID": "bad id"}).status_code == 422


def test_a_fault_wins_over_a_named_example(client: FlaskClient, token: str) -> None:
    assert call(client, token, Prefer="example=both_fake, fault=429").status_code == 429
    assert call(client, token, Prefer="example=both_fake").get_json()["image1"]["result"] == "fake"


# -- what the app hands to the server layer -------------------------------------------------


def run_in_front(app: Flask, token: str, prefer: str) -> tuple[str, dict[str, Any]]:
    """Call the app as the server layer does (its marker in the environ); return the status
    and the environ the app handed back."""
    builder = EnvironBuilder(
        path=OPERATION, method="POST", data=form(), headers={"Authorization": f"Bearer {token}", "Prefer": prefer}
    )
    environ = builder.get_environ()
    environ[FRONT_KEY] = True
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        statuses.append(status)
        return lambda data: None

    b"".join(app(environ, start_response))
    builder.close()
    return statuses[0], environ


def test_socket_faults_and_delays_are_handed_to_the_server_layer(app: Flask, token: str) -> None:
    status, environ = run_in_front(app, token, "fault=hang, fault-ms=1200, delay=40000")
    assert status.startswith("200")  # the answer the server layer withholds
    assert environ[SOCKET_FAULT_KEY] == SocketFault(Fault.HANG, 1200)
    assert environ[DELAY_KEY] == 40.0  # seconds; the front waits, the app did not sleep
    status, environ = run_in_front(app, token, "fault=truncated, delay=100-300")
    assert environ[SOCKET_FAULT_KEY] == SocketFault(Fault.TRUNCATED, 0)
    assert 0.1 <= environ[DELAY_KEY] <= 0.3
    status, environ = run_in_front(app, token, "fault=503")
    assert status.startswith("503") and SOCKET_FAULT_KEY not in environ and DELAY_KEY not in environ
    _, environ = run_in_front(app, token, "example=both_fake")
    assert SOCKET_FAULT_KEY not in environ and DELAY_KEY not in environ


# -- layers, precedence, determinism ---------------------------------------------------------


def test_precedence_request_over_lower_layers() -> None:
    rng = random.Random(0)
    always_503 = RuntimeOverrides(latency=parse_delay("50"), faults=FaultPolicy(1.0, (Fault.UNAVAILABLE,)))
    never = RuntimeOverrides(
        default_scenario="both_fake", latency=parse_delay("900"), faults=FaultPolicy(0.0, (Fault.RESET,))
    )
    # The request's own fault and delay win; the lower layers fill what it leaves out.
    own = Steering(fault=Fault.HANG, fault_ms=10, delay=parse_delay("7"))
    assert combine((own,), (always_503,), "k", rng) == own
    assert combine((PLAIN,), (always_503,), "k", rng) == Steering(fault=Fault.UNAVAILABLE, delay=parse_delay("50"))
    # A sequence step sits between the request and the settings.
    step = Steering(example="faces_mismatch", fault=Fault.EMPTY)
    assert combine((PLAIN, step), (always_503,), "k", rng) == Steering(
        example="faces_mismatch", fault=Fault.EMPTY, delay=parse_delay("50")
    )
    # The first settings layer with a fault policy decides, even when it draws no fault.
    assert combine((PLAIN,), (never, always_503), "k", rng) == Steering(example="both_fake", delay=parse_delay("900"))
    assert combine((PLAIN,), (), "k", rng) is PLAIN


def test_seeded_policy_is_a_function_of_seed_and_key() -> None:
    policy = FaultPolicy(0.5, (Fault.UNAVAILABLE, Fault.RESET, Fault.HANG), seed=11)
    keys = [f"req-{number}" for number in range(200)]
    first = [policy.choose(key, random.Random()) for key in keys]
    again = [policy.choose(key, random.Random()) for key in keys]
    other = [FaultPolicy(0.5, policy.faults, seed=12).choose(key, random.Random()) for key in keys]
    assert first == again and first != other
    assert 60 < sum(fault is not None for fault in first) < 140
    assert {fault for fault in first if fault} == set(policy.faults)


def test_command_line_faults_are_drawn_per_request(token: str) -> None:
    settings = Settings(faults=FaultPolicy(0.5, (Fault.UNAVAILABLE, Fault.RATE_LIMITED), seed=5))

    def statuses(client: FlaskClient, ids: list[str]) -> list[int]:
        return [call(client, token, **{"X-Correlation-ID": value}).status_code for value in ids]

    ids = [f"case-{number}" for number in range(30)]
    first = statuses(create_app(settings).test_client(), ids)
    again = statuses(create_app(settings).test_client(), list(reversed(ids)))
    assert first == list(reversed(again))  # keyed by the correlation id, not by the order
    assert set(first) == {200, 503, 429}
    # Without a correlation id the key is the request number: a fresh process repeats itself.
    runs = []
    for _ in range(2):
        client = create_app(settings).test_client()
        runs.append([call(client, token).status_code for _ in range(12)])
    assert runs[0] == runs[1] and len(set(runs[0])) > 1
    # The request's own Prefer wins over the command line.
    always = create_app(Settings(faults=FaultPolicy(1.0, (Fault.UNAVAILABLE,)))).test_client()
    assert call(always, token).status_code == 503
    assert call(always, token, Prefer="fault=429").status_code == 429


# -- the journal ----------------------------------------------------------------------------


@pytest.fixture
def journaled(tmp_path: Path) -> tuple[FlaskClient, Path]:
    path = tmp_path / "journal.jsonl"
    return create_app(Settings(journal_path=path)).test_client(), path


def test_faulted_requests_are_journaled_with_the_fault(journaled: tuple[FlaskClient, Path], token: str) -> None:
    client, path = journaled
    call(client, token, Prefer="fault=503")
    call(client, token, Prefer="fault=reset")
    call(client, token)
    call(client, None, Prefer="fault=503")
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(entry["status"], entry["fault"]) for entry in entries] == [
        (503, "503"),
        (200, "reset"),
        (200, None),
        (401, None),
    ]


# -- the contract-test kit never sends them --------------------------------------------------


def test_the_kit_drops_the_mock_prefer_parameter() -> None:
    raw = yaml.safe_load(SPEC_PATH.read_text())
    drop_mock_extensions(raw)
    operation = raw["paths"][OPERATION]["post"]
    names = [param.get("name") or param.get("$ref", "").rsplit("/", 1)[-1] for param in operation["parameters"]]
    assert names and "MockPrefer" not in names and "Prefer" not in names
