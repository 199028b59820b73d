"""Shared state over a real Redis: two ``facematch serve`` instances on one store see one
journal and one sequence state, and a Redis restart mid-run loses no sequence definition
and never breaks the operation."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from .conftest import fixture_path
from .live import LiveServer, start_live_server
from .redis_server import PASSWORD, RedisServer

FACE = fixture_path("hopper_a.jpg").read_bytes()
OTHER = fixture_path("astronaut_a.jpg").read_bytes()
TIMEOUT = 15


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def sequences_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("flows") / "flows.yaml"
    path.write_text("sequences:\n  - name: fake-then-real\n    steps: [{example: one_image_fake}, normal]\n")
    return path


@pytest.fixture(scope="module")
def pair(redis_server: RedisServer, sequences_file: Path) -> Iterator[tuple[str, str]]:
    """Instance A (with a --sequences file) and instance B, one worker each, on one Redis."""
    common = ("--state", redis_server.url, "--workers", "1", "--quiet")
    with start_live_server(*common, "--sequences", str(sequences_file)) as a, start_live_server(*common) as b:
        yield _url(a), _url(b)


def _url(server: LiveServer) -> str:
    return server.url


def call(url: str, token: str, unique_id: str | None = None, two: bool = False, **headers: str) -> requests.Response:
    files = {"image1": ("a.jpg", FACE, "image/jpeg")}
    if two:
        files["image2"] = ("b.jpg", OTHER, "image/jpeg")
    data = {"unique_id": unique_id} if unique_id else {}
    return requests.post(
        url + "/advanced_facematch",
        files=files,
        data=data,
        headers={"Authorization": f"Bearer {token}", **headers},
        timeout=TIMEOUT,
    )


def test_two_instances_share_one_journal_and_one_sequence_state(pair: tuple[str, str], token: str) -> None:
    a, b = pair
    requests.delete(a + "/__mock/requests", timeout=TIMEOUT)
    results = [call(url, token, "shared-key").json()["image1"]["result"] for url in (a, b, a)]
    assert results == ["fake", "real", "real"]  # the --sequences file of A, walked across A and B
    call(b, token, "other", two=True)
    for url in (a, b):
        assert requests.get(url + "/__mock/requests/count", params={"image2": "true"}, timeout=TIMEOUT).json() == {
            "count": 1
        }
        listing = requests.get(url + "/__mock/requests", timeout=TIMEOUT).json()
        assert [entry["unique_id"] for entry in listing["requests"]] == ["shared-key"] * 3 + ["other"]
    flaky = {"key": {"header": "X-Session-ID"}, "steps": [{"fault": "503"}, {"fault": "503"}, "normal"]}
    assert requests.put(b + "/__mock/sequences/flaky", json=flaky, timeout=TIMEOUT).status_code == 200
    statuses = [call(url, token, **{"X-Session-ID": "s"}).status_code for url in (a, b, a)]
    assert statuses == [503, 503, 200]
    assert requests.put(a + "/__mock/settings", json={"default_scenario": "no_face"}, timeout=TIMEOUT).ok
    assert call(b, token).status_code == 400  # A's runtime setting, seen by B
    assert requests.delete(b + "/__mock/settings", timeout=TIMEOUT).status_code == 204
    positions = requests.get(a + "/__mock/sequences/fake-then-real", timeout=TIMEOUT).json()["positions"]
    assert positions == {"shared-key": 3, "other": 1}


def test_a_redis_restart_loses_no_definition_and_never_breaks_the_operation(
    pair: tuple[str, str], token: str, redis_server: RedisServer
) -> None:
    a, b = pair
    flaky = {"key": {"header": "X-Session-ID"}, "steps": [{"fault": "503"}, "normal"]}
    assert requests.put(b + "/__mock/sequences/flaky", json=flaky, timeout=TIMEOUT).status_code == 200
    call(a, token)  # A reads the definitions B made
    redis_server.stop()
    try:
        for url in (a, b):
            answer = call(url, token, "during-outage")
            assert answer.status_code == 200, (url, answer.text)
            for path in ("/__mock/sequences", "/__mock/requests", "/__mock/settings"):
                refused = requests.get(url + path, timeout=TIMEOUT)
                assert refused.status_code == 503, (path, refused.text)
                message = refused.json()["msg"]
                assert f"redis://127.0.0.1:{redis_server.port}/0" in message and "unreachable" in message
                assert PASSWORD not in message
    finally:
        redis_server.start()  # the same port, empty
    names = _wait_for_definitions(a)
    assert {"fake-then-real", "flaky"} <= names
    assert _wait_for_definitions(b) == names  # each worker waits a second after a failure
    # positions restarted: a key walks its sequence from the first step again
    assert [call(url, token, **{"X-Session-ID": "after"}).status_code for url in (a, b)] == [503, 200]
    call(a, token)
    call(b, token)  # each worker reports what it dropped on its next successful write
    dropped = requests.get(a + "/__mock/requests", timeout=TIMEOUT).json()["dropped"]
    assert dropped >= 2


def _wait_for_definitions(url: str) -> set[str]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        answer = requests.get(url + "/__mock/sequences", timeout=TIMEOUT)
        if answer.status_code == 200:
            return {sequence["name"] for sequence in answer.json()["sequences"]}
        time.sleep(0.2)
    raise AssertionError(f"{url} did not reach Redis again: {answer.text}")


def test_a_socket_level_fault_step_is_carried_out_by_the_server_layer(pair: tuple[str, str], token: str) -> None:
    a, b = pair
    steps = {"key": {"header": "X-Drop-Session"}, "steps": [{"fault": "reset"}, "normal"]}
    assert requests.put(a + "/__mock/sequences/drop", json=steps, timeout=TIMEOUT).status_code == 200
    assert "drop" in _wait_for_definitions(b)
    with pytest.raises(requests.ConnectionError):
        call(b, token, **{"X-Drop-Session": "socket"})
    assert call(a, token, **{"X-Drop-Session": "socket"}).status_code == 200
    journal = requests.get(b + "/__mock/requests", params={"limit": 2}, timeout=TIMEOUT).json()["requests"]
    assert [entry["fault"] for entry in journal] == ["reset", None]
