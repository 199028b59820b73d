"""Hostile HTTP against a real gunicorn: slow and stalled clients, malformed requests,
oversized headers and bodies, a client's SCRIPT_NAME. Every answer is JSON in the
contract's error shape with a 4xx status, within a generous time bound."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from facematch_contract.operation import DEV_JWT_SECRET
from facematch_contract.tokens import mint_token

from .conftest import fixture_path
from .live import start_live_server, start_server
from .raw_http import assert_json_error, connect, exchange, multipart, peak_rss_kb, post_bytes, read_answer, worker_pids

pytestmark = pytest.mark.server

#: The short timeouts this server runs with, in seconds.
IDLE, HEADERS, BODY = 2, 2, 2
#: How long any answer may take on a loaded 2-core CI machine.
BOUND = 10.0
FACE = fixture_path("astronaut_a.jpg").read_bytes()
TOKEN = mint_token(DEV_JWT_SECRET)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with start_server(
        "--workers", "2", "--idle-timeout", str(IDLE), "--header-timeout", str(HEADERS), "--body-timeout", str(BODY)
    ) as base_url:
        yield base_url


def normal_request() -> bytes:
    body, content_type = multipart([("image1", "a.jpg", FACE)])
    return post_bytes("/advanced_facematch", body, content_type, {"Authorization": f"Bearer {TOKEN}"})


MALFORMED = {
    "bad request line": b"BAD\r\n\r\n",
    "unknown transfer coding": b"POST /advanced_facematch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: foo\r\n\r\n",
    "malformed content length": b"POST /advanced_facematch HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n",
    "conflicting content lengths": b"POST /advanced_facematch HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
    b"Content-Length: 2\r\n\r\nab",
    "bad chunk size": b"POST /advanced_facematch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "header without a colon": b"GET /healthz HTTP/1.1\r\nHost: x\r\nnocolon\r\n\r\n",
    "space before the colon": b"GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n",
    "no host in HTTP/1.1": b"GET /healthz HTTP/1.1\r\n\r\n",
    "unsupported HTTP version": b"GET /healthz HTTP/2.7\r\nHost: x\r\n\r\n",
    "target not a path": b"GET healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    "control byte in a header": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_http_gets_a_json_400(url: str, name: str) -> None:
    assert_json_error(exchange(url, MALFORMED[name]), 400, BOUND)


def test_oversized_headers_get_a_json_431_whether_they_arrive_whole_or_in_pieces(url: str) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40_000 + b"\r\n\r\n"
    assert_json_error(exchange(url, request), 431, BOUND)
    with connect(url) as sock:
        started = time.monotonic()
        for start in range(0, len(request), 4096):
            sock.sendall(request[start : start + 4096])
            time.sleep(0.001)
        assert_json_error(read_answer(sock, started), 431, BOUND)


def test_a_10kb_bearer_token_is_judged_by_the_app(url: str) -> None:
    body, content_type = multipart([("image1", "a.jpg", FACE)])
    request = post_bytes("/advanced_facematch", body, content_type, {"Authorization": "Bearer " + "a" * 10_240})
    answer = assert_json_error(exchange(url, request), 401, BOUND)
    assert "token" in answer["msg"]


def test_a_declared_body_over_the_limit_is_refused_before_it_is_sent(url: str) -> None:
    request = b"POST /advanced_facematch HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n"
    assert "too large" in assert_json_error(exchange(url, request), 400, BOUND)["msg"]


def test_a_chunked_body_over_the_limit_is_cut_while_it_arrives(url: str) -> None:
    chunk = b"a" * 1024 * 1024
    with connect(url) as sock:
        started = time.monotonic()
        sock.sendall(
            b"POST /advanced_facematch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\n\r\n"
        )
        try:
            for _ in range(40):
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed while we were still sending
        assert_json_error(read_answer(sock, started), 400, BOUND)


def test_a_client_script_name_is_ignored(url: str) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nSCRIPT_NAME: /healthz\r\nScript-Name: /healthz\r\n\r\n"
    answer = exchange(url, request)
    assert answer.status == 200 and answer.json()["status"] == "ok", answer


def test_expect_100_continue_refuses_an_oversized_body_without_a_100(url: str) -> None:
    request = (
        b"POST /advanced_facematch HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 999999999\r\n\r\n"
    )
    with connect(url) as sock:
        started = time.monotonic()
        sock.sendall(request)
        head = sock.recv(65536)
        assert not head.startswith(b"HTTP/1.1 100"), head
        assert head.startswith(b"HTTP/1.1 400"), head
        assert time.monotonic() - started < BOUND


def test_expect_100_continue_refuses_a_missing_token_before_the_body_is_sent(url: str) -> None:
    body, content_type = multipart([("image1", "a.jpg", FACE)])
    head = (
        f"POST /advanced_facematch HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    ).encode()
    with connect(url) as sock:
        started = time.monotonic()
        sock.sendall(head + b"\r\n")
        raw = _read_all(sock)  # the server answers and closes without asking for the body
    assert raw.startswith(b"HTTP/1.1 401 ") and b"100 Continue" not in raw, raw[:200]
    assert b"application/json" in raw and b'{"msg":"missing bearer token' in raw, raw[:300]
    assert time.monotonic() - started < BOUND
    with connect(url) as sock:
        started = time.monotonic()
        sock.sendall(head + f"Authorization: Bearer {TOKEN}\r\n\r\n".encode())
        interim = sock.recv(65536)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), interim
        sock.sendall(body)
        final = read_answer(sock, started)
    assert final.status == 200, final.body


def test_pipelined_requests_are_answered_in_order(url: str) -> None:
    with connect(url) as sock:
        sock.sendall(
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        raw = _read_all(sock)
    first, second = raw.split(b"HTTP/1.1 ")[1:]
    assert first.startswith(b"200 ") and b'"status":"ok"' in first, raw
    assert second.startswith(b"404 ") and b"application/json" in second and b'{"msg":' in second, raw


def _slow_headers(url: str) -> bytes:
    with connect(url) as sock:
        sock.sendall(b"POST /advanced_facematch HTTP/1.1\r\nHost: x\r\n")
        try:
            for _ in range(int(BOUND * 2)):
                sock.sendall(b"X")
                time.sleep(0.5)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return _read_all(sock)


def _slow_body(url: str) -> bytes:
    with connect(url) as sock:
        sock.sendall(
            b"POST /advanced_facematch HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\n\r\n"
        )
        try:
            for _ in range(int(BOUND * 2)):
                sock.sendall(b"a")
                time.sleep(0.5)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return _read_all(sock)


def _idle(url: str) -> bytes:
    with connect(url) as sock:
        return _read_all(sock)


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return data


def test_slow_and_stalled_clients_cost_no_worker_and_get_a_json_408(url: str) -> None:
    """Twelve of each kind (six times the workers) at once: normal requests still pass
    quickly, and each slow client is cut with a 408 once its timeout is over."""
    kinds = [_slow_headers, _slow_body, _idle]
    with ThreadPoolExecutor(max_workers=36) as pool:
        slow = [pool.submit(kind, url) for kind in kinds for _ in range(12)]
        time.sleep(0.5)  # they are all connected and holding their requests open
        timings = []
        for _ in range(5):
            answer = exchange(url, normal_request())
            assert answer.status == 200, answer.body
            timings.append(answer.seconds)
        health = requests.get(url + "/healthz", timeout=BOUND)
        assert health.status_code == 200
        started = time.monotonic()
        answers = [future.result(timeout=BOUND * 3) for future in slow]
        waited = time.monotonic() - started
    assert max(timings) < BOUND, timings
    for raw in answers:
        assert raw.startswith(b"HTTP/1.1 408 "), raw[:200]
        assert b"application/json" in raw and b'{"msg":"request timed out' in raw, raw[:300]
    assert waited < BOUND * 2


def test_a_stalled_connection_holds_no_thread_while_another_is_served(url: str) -> None:
    """With both workers' single app threads free, a stalled body leaves the app idle."""
    events = []

    def stall() -> None:
        events.append(_slow_body(url))

    thread = threading.Thread(target=stall)
    thread.start()
    time.sleep(0.3)
    answer = exchange(url, normal_request())
    assert answer.status == 200 and answer.seconds < BOUND
    thread.join(BOUND * 3)
    assert events and events[0].startswith(b"HTTP/1.1 408 ")


def test_many_fast_uploads_at_once_are_buffered_within_the_worker_budget() -> None:
    """Twenty clients send 9 MB bodies at once to one worker: the worker buffers at most
    its budget (32 MiB) plus the bodies of the leading connections, the others wait (paused), and every upload is
    answered."""
    image = fixture_path("astronaut_a.jpg").read_bytes()
    padding = b"p" * (9 * 1024 * 1024)
    big, big_type = multipart([("image1", "a.jpg", image + padding)])
    request = post_bytes("/advanced_facematch", big, big_type, {"Authorization": f"Bearer {TOKEN}"})
    with start_live_server("--workers", "1") as live:
        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(pool.map(lambda _: exchange(live.url, request, timeout=60), range(20)))
        peaks = peak_rss_kb(worker_pids(live.pid))
    for answer in answers:
        assert answer.status == 200, answer.body[:200]  # the padding rides after the JPEG's end
    # The 300 MB target is for one upload (test_hostile_images, test_hostile_multipart); twenty
    # at once may add the 32 MiB buffer budget and the leading bodies in flight: 400 MB bounds it.
    assert peaks and max(peaks.values()) < 400 * 1024, peaks
    print(f"worker peak RSS with 20 concurrent 9 MB uploads: {max(peaks.values()) // 1024} MB")
