"""Socket-level faults and delays carried out by the server layer of a real ``facematch serve``
(one worker, one app thread: the mock's default per worker), seen by real clients."""

from __future__ import annotations

import http.client
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from facematch_contract.operation import OPERATION_PATH as OPERATION

from .client import image_files
from .conftest import fixture_path
from .live import ROOT, start_live_server, start_server
from .raw_http import address, connect, multipart, post_bytes, read_answer

pytestmark = pytest.mark.server

FACE = fixture_path("astronaut_a.jpg").read_bytes()
BODY, CONTENT_TYPE = multipart([("image1", "image1.jpg", FACE)])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with start_server("--workers", "1", "--quiet") as url:
        yield url


def raw_request(token: str, prefer: str | None = None) -> bytes:
    headers = {"Authorization": f"Bearer {token}"}
    if prefer:
        headers["Prefer"] = prefer
    return post_bytes(OPERATION, BODY, CONTENT_TYPE, headers)


def normal_answer(url: str, token: str) -> requests.Response:
    response = requests.post(
        url + OPERATION, files=image_files(FACE), headers={"Authorization": f"Bearer {token}"}, timeout=20
    )
    assert response.status_code == 200
    return response


def http_client(url: str, token: str, prefer: str) -> http.client.HTTPResponse:
    host, port = address(url)
    connection = http.client.HTTPConnection(host, port, timeout=20)
    connection.request(
        "POST",
        OPERATION,
        body=BODY,
        headers={"Authorization": f"Bearer {token}", "Prefer": prefer, "Content-Type": CONTENT_TYPE},
    )
    return connection.getresponse()


def test_reset_resets_the_connection(server: str, token: str) -> None:
    with connect(server) as sock:
        sock.sendall(raw_request(token, "fault=reset"))
        with pytest.raises(ConnectionResetError):
            sock.recv(65536)


def test_empty_closes_with_no_byte(server: str, token: str) -> None:
    with pytest.raises(http.client.RemoteDisconnected):
        http_client(server, token, "fault=empty")
    with connect(server) as sock:
        sock.sendall(raw_request(token, "fault=empty"))
        assert sock.recv(65536) == b""


def test_truncated_sends_the_head_and_half_the_body(server: str, token: str) -> None:
    full = normal_answer(server, token).content
    response = http_client(server, token, "fault=truncated")
    assert response.status == 200
    assert int(response.headers["Content-Length"]) == len(full)
    with pytest.raises(http.client.IncompleteRead) as caught:
        response.read()
    assert caught.value.partial == full[: len(full) // 2]


def test_slow_sends_the_whole_answer_bit_by_bit(server: str, token: str) -> None:
    full = normal_answer(server, token).content
    response = http_client(server, token, "fault=slow, fault-ms=400")
    assert response.status == 200
    assert response.read() == full


def test_hang_sends_nothing_then_closes_and_the_worker_serves_others(server: str, token: str) -> None:
    with connect(server) as hung:
        hung.sendall(raw_request(token, "fault=hang, fault-ms=1500"))
        normal_answer(server, token)  # the same (only) worker answers meanwhile
        readable, _, _ = select.select([hung], [], [], 0)
        assert not readable, "the hung connection got bytes while the other request was answered"
        assert hung.recv(65536) == b""  # closed, and nothing was ever sent


def test_a_delayed_answer_does_not_hold_up_a_concurrent_request(server: str, token: str) -> None:
    with connect(server) as delayed:
        delayed.sendall(raw_request(token, "delay=3000"))
        started = time.monotonic()
        normal_answer(server, token)
        readable, _, _ = select.select([delayed], [], [], 0)
        assert not readable, "the delayed answer came before the concurrent one"
        answer = read_answer(delayed, started)
        assert answer.status == 200 and answer.json()["image1"]["result"] == "real"


def test_fault_options_go_together() -> None:
    command = [sys.executable, "-m", "facematch", "serve", "--faults", "503,reset"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--faults and --fault-rate go together" in result.stderr
    result = subprocess.run([*command, "--fault-rate", "0.1,2"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "fault rate must be a number from 0 to 1" in result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "facematch", "serve", "--faults", "boom", "--fault-rate", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "choose from 503, 429" in result.stderr


def test_command_line_faults_and_a_graceful_stop_with_a_hung_connection(token: str) -> None:
    with start_live_server("--workers", "1", "--quiet", "--faults", "503", "--fault-rate", "1") as live:
        answer = requests.post(
            live.url + OPERATION, files=image_files(FACE), headers={"Authorization": f"Bearer {token}"}, timeout=20
        )
        assert answer.status_code == 503 and answer.headers["Retry-After"] == "2"
        assert requests.post(live.url + OPERATION, files=image_files(FACE), timeout=20).status_code == 401
        with connect(live.url) as hung:
            hung.sendall(raw_request(token, "fault=hang, fault-ms=60000"))  # the request's own fault wins
            normal = requests.get(live.url + "/healthz", timeout=20)
            assert normal.status_code == 200
            os.kill(live.pid, signal.SIGTERM)
            # The stop closes the hung connection instead of waiting out its minute.
            assert hung.recv(65536) == b""
            assert _exits(live.pid, within=30)


def _exits(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        stat = Path(f"/proc/{pid}/stat")
        try:
            state = stat.read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state == "Z":
            return True
        time.sleep(0.1)
    return False
