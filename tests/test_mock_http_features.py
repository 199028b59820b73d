"""HTTP features a frontend relies on: correlation ids, CORS, latency, the journal, the
contract download, health, the gateway path and an extra mount prefix; through the app in
this process (none of them is the server layer's)."""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from facematch_contract import SPEC_PATH
from mock_server.cli import parse_latency, parse_origins

from .client import http, image_files, post
from .conftest import app_url_with, fixture_path

FACE = fixture_path("astronaut_a.jpg").read_bytes()
OTHER = fixture_path("hopper_a.jpg").read_bytes()


def test_correlation_id_is_echoed_on_success_and_errors(app_url: str, auth: dict[str, str]) -> None:
    for headers, files in (
        ({**auth}, image_files(FACE)),
        ({**auth}, image_files(b"")),
        ({}, image_files(FACE)),
        ({**auth}, image_files(None, FACE)),
    ):
        response = post(app_url, files, headers={**headers, "X-Correlation-ID": "req-42.abc"})
        assert response.headers["X-Correlation-ID"] == "req-42.abc"


def test_correlation_id_is_generated_when_absent(app_url: str, auth: dict[str, str]) -> None:
    first = post(app_url, image_files(FACE), headers=auth).headers["X-Correlation-ID"]
    second = post(app_url, image_files(FACE), headers=auth).headers["X-Correlation-ID"]
    assert first and second and first != second


def test_cors_preflight_and_simple_requests(app_url: str, auth: dict[str, str]) -> None:
    preflight = http(app_url).options(
        app_url + "/advanced_facematch",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, prefer, x-correlation-id",
        },
        timeout=10,
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    allowed = preflight.headers["Access-Control-Allow-Headers"].lower()
    assert {"authorization", "prefer", "x-correlation-id"} <= {h.strip() for h in allowed.split(",")}
    response = post(app_url, image_files(FACE), headers={**auth, "Origin": "http://localhost:3000"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "X-Correlation-ID" in response.headers["Access-Control-Expose-Headers"]


def test_cors_can_be_limited_or_turned_off(token: str, tmp_path: Path) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    url = app_url_with(tmp_path / "limited", cors_origins=("http://app.test",))
    ok = post(url, image_files(FACE), headers={**auth, "Origin": "http://app.test"})
    assert ok.headers["Access-Control-Allow-Origin"] == "http://app.test"
    assert "Origin" in ok.headers["Vary"]
    other = post(url, image_files(FACE), headers={**auth, "Origin": "http://evil.test"})
    assert "Access-Control-Allow-Origin" not in other.headers
    url = app_url_with(tmp_path / "off", cors_origins=parse_origins("none"))
    response = post(url, image_files(FACE), headers={**auth, "Origin": "http://app.test"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_latency_injection_and_prefix(token: str, tmp_path: Path) -> None:
    """The configured latency, as the app waits it out without the server layer (the server
    layer's own wait: tests/test_faults_http.py), and the extra mount prefix."""
    auth = {"Authorization": f"Bearer {token}"}
    url = app_url_with(tmp_path, latency=parse_latency("300-400"), prefix="/api")
    started = time.monotonic()
    body = post(url, image_files(FACE), headers=auth, path="/api/advanced_facematch").json()
    assert time.monotonic() - started >= 0.3
    assert body["image1"]["result"] == "real"
    assert post(url, image_files(FACE), headers=auth, path="/api/sumi/v1/advanced_facematch").status_code == 200
    assert post(url, image_files(FACE), headers=auth).status_code == 200  # root still served
    assert http(url).get(url + "/api/healthz", timeout=10).status_code == 200


def test_gateway_prefixed_path_gives_the_same_answer(app_url: str, auth: dict[str, str]) -> None:
    root = post(app_url, image_files(FACE, OTHER), headers=auth)
    gateway = post(app_url, image_files(FACE, OTHER), headers=auth, path="/sumi/v1/advanced_facematch")
    assert root.content == gateway.content


def test_journal_records_metadata_never_bytes_or_tokens(app_url: str, auth: dict[str, str], token: str) -> None:
    assert http(app_url).delete(app_url + "/__mock/requests", timeout=10).status_code == 204
    post(app_url, image_files(FACE, OTHER, unique_id="case-7"), headers={**auth, "X-Correlation-ID": "j-1"})
    post(app_url, image_files(FACE), headers={**auth, "Prefer": "example=both_fake"})
    post(app_url, image_files(FACE))
    listing = http(app_url).get(app_url + "/__mock/requests", timeout=10)
    assert listing.status_code == 200
    entries = listing.json()["requests"]
    assert [entry["status"] for entry in entries] == [200, 200, 401]
    first = entries[0]
    assert first["correlation_id"] == "j-1" and first["unique_id"] == "case-7"
    assert [(p["name"], p["fixture"]) for p in first["parts"]] == [
        ("image1", "images/astronaut_a.jpg"),
        ("image2", "images/hopper_a.jpg"),
        ("unique_id", None),
    ]
    assert first["parts"][0]["bytes"] == len(FACE)
    assert entries[1]["example"] == "both_fake"
    assert token not in listing.text
    assert http(app_url).get(app_url + "/__mock/requests?limit=1", timeout=10).json()["requests"] == entries[-1:]
    http(app_url).delete(app_url + "/__mock/requests", timeout=10)
    assert http(app_url).get(app_url + "/__mock/requests", timeout=10).json() == {"requests": [], "dropped": 0}


def test_contract_and_health_are_served(app_url: str) -> None:
    contract = http(app_url).get(app_url + "/openapi.yaml", timeout=10)
    assert contract.status_code == 200
    assert yaml.safe_load(contract.content) == yaml.safe_load(SPEC_PATH.read_text())
    health = http(app_url).get(app_url + "/healthz", timeout=10)
    assert health.json()["status"] == "ok" and health.json()["mode"] == "mock"


def test_strict_mode_reports_a_response_that_breaks_the_contract(tmp_path, token: str) -> None:
    """The session mock runs with --strict and `post` asserts it reports nothing. Here a
    contract variant that caps overall_confidence at 50 makes a real answer break it."""
    spec = yaml.safe_load(SPEC_PATH.read_text())
    spec["components"]["schemas"]["AdvancedFacematchResult"]["properties"]["overall_confidence"] = {
        "type": "number",
        "minimum": 0,
        "maximum": 50,
    }
    variant = tmp_path / "openapi.yaml"
    variant.write_text(yaml.safe_dump(spec))
    auth = {"Authorization": f"Bearer {token}"}
    url = app_url_with(tmp_path / "app", strict=True, spec_path=variant)
    photo = fixture_path("recapture.jpg").read_bytes()
    good = http(url).post(url + "/advanced_facematch", files=image_files(photo), headers=auth, timeout=10)
    assert good.json()["overall_confidence"] == 0 and "X-Contract-Violation" not in good.headers
    bad = http(url).post(url + "/advanced_facematch", files=image_files(FACE), headers=auth, timeout=10)
    assert bad.json()["overall_confidence"] > 50
    assert bad.headers["X-Contract-Violation"] == "SPEC"
