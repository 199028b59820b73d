"""Shared state over a real Redis: two ``facematch serve`` instances on one store see one
journal and one sequence state, and a Redis restart mid-run loses no sequence definition
and never breaks the operation. A call waits for no round trip to Redis, yet a setting
made through one instance holds for the next call to any other, and an answered call is in
every instance's journal (the change channel and the journal writer, state/redis_links.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
import requests

from mock_server.journal import JournalEntry
from mock_server.runtime import RuntimeOverrides
from mock_server.state import JournalQuery
from mock_server.state.redis_links import RETRY_AFTER_S
from mock_server.state.redis_store import RedisStore

from .conftest import fixture_path
from .live import LiveServer, start_live_server
from .redis_server import PASSWORD, RedisServer

FACE = fixture_path("hopper_a.jpg").read_bytes()
OTHER = fixture_path("astronaut_a.jpg").read_bytes()
TIMEOUT = 15


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


# -- what keeps Redis off the operation's path: the change channel and the journal writer


@pytest.fixture(scope="module")
def wide(redis_server: RedisServer) -> Iterator[str]:
    """A third instance on the same Redis with two workers: each has its own subscription."""
    with start_live_server("--state", redis_server.url, "--workers", "2", "--quiet") as server:
        yield server.url


def test_a_setting_made_through_one_instance_is_seen_by_the_next_call_to_another(
    pair: tuple[str, str], wide: str, token: str
) -> None:
    a, b = pair
    for _ in range(3):
        call(b, token)
        call(wide, token)  # subscribed, with the documents read: calls now ask only their socket
    try:
        for round_number in range(12):
            writer, reader = (a, b) if round_number % 2 == 0 else (b, wide)
            assert requests.put(writer + "/__mock/settings", json={"default_scenario": "no_face"}, timeout=TIMEOUT).ok
            assert call(reader, token).status_code == 400, round_number
            assert call(wide, token).status_code == 400, round_number  # either of its workers
            assert requests.delete(writer + "/__mock/settings", timeout=TIMEOUT).status_code == 204
            assert call(reader, token).status_code == 200, round_number
            assert call(wide, token).status_code == 200, round_number
    finally:
        requests.delete(a + "/__mock/settings", timeout=TIMEOUT)


def test_every_answered_call_is_in_the_journal_of_every_instance(pair: tuple[str, str], wide: str, token: str) -> None:
    a, b = pair
    requests.delete(a + "/__mock/requests", timeout=TIMEOUT)
    for number in range(1, 7):  # one at a time: each answer, then the count elsewhere
        call((a, b, wide)[number % 3], token, f"one-{number}")
        for url in (a, b, wide):
            assert requests.get(url + "/__mock/requests/count", timeout=TIMEOUT).json() == {"count": number}
    burst = [(a, b, wide)[number % 3] for number in range(45)]
    with ThreadPoolExecutor(max_workers=9) as pool:
        statuses = list(pool.map(lambda url: call(url, token, "burst").status_code, burst))
    assert statuses == [200] * len(burst)
    for url in (a, b, wide):
        counted = requests.get(url + "/__mock/requests/count", params={"unique_id": "burst"}, timeout=TIMEOUT).json()
        assert counted == {"count": len(burst)}
        assert requests.get(url + "/__mock/requests", timeout=TIMEOUT).json()["dropped"] == 0


def _store(url: str, prefix: str, limit: int = 1000, max_bytes: int = 4 << 20) -> RedisStore:
    return RedisStore(f"{url}?prefix={prefix}", ["no_face"], limit, max_bytes)


def _entry(number: int) -> JournalEntry:
    return JournalEntry("2026-12-07T05:00:00.000Z", "POST", "/advanced_facematch", 200, f"id-{number}")


def test_stores_on_one_redis_read_each_others_writes_at_once(redis_server: RedisServer) -> None:
    """Two stores stand for two processes: no flush, no wait between a write and a read."""
    one, two = _store(redis_server.url, "rw:"), _store(redis_server.url, "rw:")
    one.clear_requests()
    assert two.snapshot().overrides == RuntimeOverrides()  # subscribed from here on
    for number in range(150):
        one.record(_entry(number))
        assert two.count(JournalQuery()) == number + 1
    for number in range(20):
        scenario = "no_face" if number % 2 == 0 else None
        (one if number % 3 else two).set_overrides(RuntimeOverrides(default_scenario=scenario))
        assert one.snapshot().overrides.default_scenario == scenario
        assert two.snapshot().overrides.default_scenario == scenario


def test_a_broken_subscription_falls_back_to_reading_the_store(redis_server: RedisServer) -> None:
    one, two = _store(redis_server.url, "sub:"), _store(redis_server.url, "sub:")
    two.snapshot()
    admin = redis.Redis.from_url(redis_server.url)
    assert admin.client_kill_filter(_type="pubsub") >= 1  # every subscriber, this test's and the servers'
    one.set_overrides(RuntimeOverrides(default_scenario="no_face"))
    assert two.snapshot().overrides.default_scenario == "no_face"
    one.set_overrides(RuntimeOverrides())
    assert two.snapshot().overrides == RuntimeOverrides()
    assert two._listener.subscribed  # subscribed again on the way


def test_the_journal_stays_bounded_and_counts_what_it_could_not_store(tmp_path: Path) -> None:
    server = RedisServer(tmp_path)
    server.start()
    try:
        store = _store(server.url, "bounds:", limit=5)
        for number in range(20):
            store.record(_entry(number))
        page = store.requests(JournalQuery(), 100)
        assert [entry.correlation_id for entry in page.entries] == [f"id-{n}" for n in range(15, 20)]
        small = _store(server.url, "bytes:", max_bytes=3 * len(_entry(0).json_line()))
        for number in range(10):
            small.record(_entry(number))
        assert small.count(JournalQuery()) == 3
        server.stop()
        for number in range(7):
            store.record(_entry(100 + number))  # never raises, never waits long
        server.start()  # the same port, empty
        time.sleep(RETRY_AFTER_S + 0.2)
        store.record(_entry(200))
        page = store.requests(JournalQuery(), 100)
        assert [entry.correlation_id for entry in page.entries] == ["id-200"]
        assert page.dropped == 7
        redis.Redis.from_url(server.url).script_flush()  # a script flushed under the writer
        for number in range(6):
            store.record(_entry(300 + number))
        page = store.requests(JournalQuery(), 100)
        stored = [entry for entry in page.entries if entry.correlation_id.startswith("id-30")]
        assert len(stored) + page.dropped - 7 == 6  # each entry stored or counted
    finally:
        server.stop()
