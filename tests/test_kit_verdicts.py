"""No failure mode of the kit reads as PASS: each gets ERROR (exit 3), its cause first, and
every report file is still written, with the JUnit file red.

The kit runs as a vendor runs it: ``facematch check`` in its own process (forked from one
with the kit imported: tests/kit_process.py), from an empty folder, against real servers
on free ports (the mock; a server that answers nothing; a proxy that makes the mock never
detect a spoof). The pytest entry point runs as a plain subprocess.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from . import kit_process
from .kit_commands import PLUGIN_ARGS, check_command, report_options
from .live import free_port

pytestmark = pytest.mark.server


@dataclass(frozen=True)
class Outcome:
    code: int
    output: str
    markdown: str
    junit: ET.Element
    evidence: dict[str, Any]

    @property
    def summary_line(self) -> str:
        return next(line for line in self.output.splitlines() if line.startswith("facematch check:"))


def check(base_url: str, folder: Path, *extra: str) -> Outcome:
    command = [
        *check_command(base_url, "--max-examples", "3"),
        *report_options(Path("out")),
        *extra,
    ]
    done = kit_process.run(command, folder, timeout=600)
    out = folder / "out"
    return Outcome(
        done.returncode,
        done.stdout + done.stderr,
        (out / "report.md").read_text(),
        ET.parse(out / "junit.xml").getroot(),
        json.loads((out / "report.json").read_text()),
    )


def assert_not_judged(outcome: Outcome, cause: str) -> None:
    assert outcome.code == 3, outcome.output[-3000:]
    assert outcome.summary_line.startswith(f"facematch check: ERROR: not judged - {cause}"), outcome.summary_line
    assert f"**Verdict: ERROR: not judged** - {cause}" in outcome.markdown
    assert "PASS" not in outcome.markdown.split("\n\n")[1]
    assert int(outcome.junit.get("errors", "0")) >= 1, "a run that was not judged must not give a green JUnit file"
    assert outcome.evidence["verdict"] == "ERROR" and outcome.evidence["exit_code"] == 3
    assert outcome.evidence["cause"].startswith(cause)


def test_an_unreachable_url_is_not_judged_and_says_so(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    outcome = check(url, tmp_path)  # no token either: unreachability is named first
    assert_not_judged(outcome, f"could not connect to {url}/advanced_facematch")
    assert "pass --token" not in outcome.summary_line


def test_a_token_the_server_refuses_is_named(mock_url: str, tmp_path: Path) -> None:
    outcome = check(mock_url, tmp_path, "--jwt-secret", "not-the-mocks-secret-at-all-0123456789")
    assert_not_judged(outcome, "the token was refused: every request got 401")


class _Refusing(BaseHTTPRequestHandler):
    """Not the mock: answers every request with 401 JSON and has no /healthz."""

    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall per answer

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = b'{"msg": "invalid token"}'
        self.send_response(401 if self.path.startswith("/advanced_facematch") else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def refusing_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_no_token_for_a_server_that_is_not_the_mock(refusing_server: str, tmp_path: Path) -> None:
    outcome = check(refusing_server, tmp_path)
    assert_not_judged(outcome, f"no token for {refusing_server}: pass --token TOKEN")


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and reads, but never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_a_server_that_never_answers_is_a_timeout(silent_server: str, tmp_path: Path) -> None:
    outcome = check(silent_server, tmp_path, "--token", "t", "--timeout", "2")
    assert_not_judged(outcome, f"{silent_server}/advanced_facematch did not answer within 2 s")


def test_a_kit_that_crashes_is_not_judged(mock_url: str, tmp_path: Path) -> None:
    broken = tmp_path / "fixtures"
    broken.mkdir()
    (broken / "manifest.json").write_text('{"fixtures": [')  # the kit cannot read its own fixtures
    outcome = check(mock_url, tmp_path, "--fixtures-dir", str(broken))
    assert outcome.code == 3, outcome.output[-3000:]
    assert "crashed" in outcome.evidence["cause"] and "JSONDecodeError" in outcome.evidence["cause"]
    assert outcome.summary_line.startswith("facematch check: ERROR: not judged - the kit crashed")
    assert outcome.evidence["verdict"] == "ERROR" and int(outcome.junit.get("errors", "0")) >= 1


class _NeverFake(BaseHTTPRequestHandler):
    """A proxy in front of the mock that turns every spoof verdict into "real": a service that
    keeps every rule but never detects a spoof, so LIVE-1 can never be exercised."""

    upstream = ""
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall per answer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        answer = requests.request(self.command, self.upstream + self.path, data=body, headers=headers, timeout=60)
        content = answer.content
        if self.command == "POST" and answer.status_code == 200:
            doc = answer.json()
            gates = [doc["image1"]]
            if doc["image2"]["input_provided"] == "True":
                gates.append(doc["image2"])
            for block in gates:
                if block["result"] == "fake":
                    block["result"], block["confidence"] = "real", block["prediction_confidence"]
            passed = all(b["result"] == "real" for b in gates) and doc["image1_image2_facematch"]["result"] != "False"
            doc["overall_result"] = "True" if passed else "False"
            scores = [b["confidence"] for b in gates] + (
                [doc["image1_image2_facematch"]["confidence"]] if len(gates) == 2 else []
            )
            doc["overall_confidence"] = round(sum(scores) / len(scores), 2) if passed else 0
            content = json.dumps(doc).encode()
        self.send_response(answer.status_code)
        for name in ("Content-Type", "X-Correlation-ID", "Allow"):
            if name in answer.headers:
                self.send_header(name, answer.headers[name])
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(content)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):  # every method (TRACE, QUERY, ...) is forwarded as it is
            return self.do_POST
        raise AttributeError(name)

    def log_message(self, *args: object) -> None:
        pass


def test_a_rule_no_response_exercised_is_not_a_pass(mock_url: str, tmp_path: Path) -> None:
    handler = type("NeverFake", (_NeverFake,), {"upstream": mock_url})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        from facematch_contract.operation import DEV_JWT_SECRET

        outcome = check(f"http://127.0.0.1:{server.server_address[1]}", tmp_path, "--jwt-secret", DEV_JWT_SECRET)
    finally:
        server.shutdown()
        server.server_close()
    assert_not_judged(outcome, "no response exercised LIVE-1")
    live_1 = next(rule for rule in outcome.evidence["rules"] if rule["id"] == "LIVE-1")
    assert live_1 == {**live_1, "status": "not exercised", "checked": 0}
    assert all(rule["status"] in ("pass", "warn", "not exercised") for rule in outcome.evidence["rules"])


def test_the_pytest_plugin_gives_the_same_verdict_from_an_empty_folder(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    command = [
        sys.executable,
        *PLUGIN_ARGS,
        "--facematch-base-url",
        url,
        "--facematch-json",
        "evidence.json",
    ]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 3, done.stdout[-3000:] + done.stderr[-2000:]
    evidence = json.loads((tmp_path / "evidence.json").read_text())
    assert evidence["verdict"] == "ERROR" and evidence["cause"].startswith(f"could not connect to {url}")
