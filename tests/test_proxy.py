"""``facematch proxy`` end to end: a real proxy process in front of real upstreams.

Upstreams: the mock itself (gunicorn), the kit's broken servers (each breaks one rule, see
test_kit_broken_servers.py), real-model mode when the shared models are here, and places
where nothing answers properly (refused, silent, not TLS). Traffic is real multipart with
real images, sent with ``requests``; the proxy's verdicts are read from its
``X-Contract-Violation`` headers and from the reports it writes when it gets SIGTERM.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from facematch_contract.operation import DEV_JWT_SECRET
from facematch_contract.operation import OPERATION_PATH as OPERATION
from facematch_contract.rules import RULE_IDS
from facematch_contract.tokens import mint_token
from facematch_proxy.multipart import FormScanner
from mock_server.launch import free_port

from .conftest import fixture_path
from .live import ROOT, start_server
from .shared_data import FACES, MODELS
from .test_kit_broken_servers import BREAKAGES, BrokenProxy

pytestmark = pytest.mark.server

VIOLATION = "X-Contract-Violation"
#: A gateway credential some deployments add: forwarded, never shown in a report.
API_KEY = "gateway-key-5f2d9c"


# --- running the proxy ------------------------------------------------------------------


@dataclass
class ProxyRun:
    url: str
    out: Path
    exit_code: int | None = None
    log: str = ""

    def report(self) -> dict[str, Any]:
        return json.loads((self.out / "report.json").read_text())

    def markdown(self) -> str:
        return (self.out / "report.md").read_text()

    def junit_failing(self) -> set[str]:
        root = ET.parse(self.out / "junit.xml").getroot()
        return {case.get("name", "").split()[0] for case in root.iter("testcase") if case.find("failure") is not None}


@contextmanager
def run_proxy(upstream: str, out: Path, *extra: str, stop: signal.Signals = signal.SIGTERM) -> Iterator[ProxyRun]:
    """``facematch proxy`` in a subprocess; stopped with ``stop`` on leaving (reports written)."""
    port = free_port()
    out.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "facematch",
        "proxy",
        "--upstream",
        upstream,
        "--port",
        str(port),
        "--json",
        str(out / "report.json"),
        "--report",
        str(out / "report.md"),
        "--junit",
        str(out / "junit.xml"),
        *extra,
    ]
    log = tempfile.NamedTemporaryFile(prefix="facematch-proxy-", suffix=".log", delete=False)
    process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    run = ProxyRun(f"http://127.0.0.1:{port}", out)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"proxy exited with {process.returncode}:\n{Path(log.name).read_text()}")
            try:
                if requests.get(run.url + "/__proxy/report", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"proxy did not start:\n{Path(log.name).read_text()}")
            time.sleep(0.1)
        yield run
    finally:
        if process.poll() is None:
            process.send_signal(stop)
        try:
            run.exit_code = process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            run.exit_code = process.wait()
        log.close()
        run.log = Path(log.name).read_text()
        os.unlink(log.name)


# --- the traffic a backend might send -----------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One request: what it is, and what each image part holds."""

    what: str
    images: tuple[tuple[str, bytes], ...] = ()
    token: str | None = None
    raw: bytes | None = None  # a body that is not multipart

    def send(
        self, base_url: str, session: requests.Session, prefix: str = "", stream: bool = False
    ) -> requests.Response:
        headers = {"X-Correlation-ID": f"proxy-test-{abs(hash(self.what)) % 10_000}", "X-Api-Key": API_KEY}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        url = base_url + prefix + OPERATION
        if self.raw is not None:
            headers["Content-Type"] = "application/json"
            return session.post(url, data=self.raw, headers=headers, timeout=60, stream=stream)
        files = [(name, (f"{name}.jpg", data, "image/jpeg")) for name, data in self.images]
        return session.post(url, files=files, headers=headers, timeout=60, stream=stream)


def photo(name: str) -> bytes:
    return fixture_path(name).read_bytes()


def traffic(token: str, expired: str) -> list[Call]:
    """Enough kinds of request that every one of the kit's broken servers shows its fault."""
    return [
        Call("two photos, same person", (("image1", photo("hopper_a.jpg")), ("image2", photo("hopper_b.jpg"))), token),
        Call(
            "two photos, different people",
            (("image1", photo("hopper_a.jpg")), ("image2", photo("astronaut_a.jpg"))),
            token,
        ),
        Call("one real photo", (("image1", photo("astronaut_a.jpg")),), token),
        Call("one photo off a screen", (("image1", photo("recapture.jpg")),), token),
        Call("an empty image1", (("image1", b""),), token),
        Call("an expired token", (("image1", photo("hopper_a.jpg")),), expired),
        Call("a JSON body", raw=b'{"image1": "not a file"}', token=token),
    ]


@pytest.fixture(scope="module")
def tokens() -> tuple[str, str]:
    return mint_token(DEV_JWT_SECRET), mint_token(DEV_JWT_SECRET, expires_in=-3600)


def noise_jpeg(seed: int, side: int = 260) -> bytes:
    """A real JPEG of random noise (every byte value, CRLFs, dashes: hard for a proxy)."""
    rng = random.Random(seed)
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3)).save(out, "JPEG", quality=92)
    return out.getvalue()


def journal_digests(mock_url: str, correlation_id: str) -> list[str | None]:
    entries = requests.get(mock_url + "/__mock/requests", params={"limit": 50}, timeout=10).json()["requests"]
    entry = next(e for e in entries if e["correlation_id"] == correlation_id)
    return [part["sha256"] for part in entry["parts"]]


# --- the mock as upstream: conforming, and bytes unchanged ------------------------------------


def test_conforming_upstream_gets_no_violation_and_bytes_arrive_unchanged(
    mock_url: str, tokens: tuple[str, str], tmp_path: Path
) -> None:
    token, expired = tokens
    calls = traffic(token, expired)
    big = (noise_jpeg(1), noise_jpeg(2))
    with run_proxy(mock_url, tmp_path / "out", "--record", str(tmp_path / "cassette")) as proxy:
        session = requests.Session()
        answers = [call.send(proxy.url, session) for call in calls]
        direct = [call.send(mock_url, requests.Session()) for call in calls]
        # A two-image request of noise photos, through the proxy and with a chunked body.
        for cid, chunked in (("bytes-plain", False), ("bytes-chunked", True)):
            headers = {"Authorization": f"Bearer {token}", "X-Correlation-ID": cid}
            if chunked:
                prepared = requests.Request(
                    "POST",
                    proxy.url + OPERATION,
                    headers=headers,
                    files=[("image1", ("a.jpg", big[0], "image/jpeg")), ("image2", ("b.jpg", big[1], "image/jpeg"))],
                ).prepare()
                body = prepared.body
                assert isinstance(body, bytes)
                headers["Content-Type"] = prepared.headers["Content-Type"]
                response = session.post(
                    proxy.url + OPERATION,
                    headers=headers,
                    data=(body[i : i + 7001] for i in range(0, len(body), 7001)),
                    timeout=60,
                )
            else:
                response = session.post(
                    proxy.url + OPERATION,
                    headers=headers,
                    timeout=60,
                    files=[("image1", ("a.jpg", big[0], "image/jpeg")), ("image2", ("b.jpg", big[1], "image/jpeg"))],
                )
            assert response.status_code == 200, response.text
            assert VIOLATION not in response.headers
            assert journal_digests(mock_url, cid) == [hashlib.sha256(b).hexdigest() for b in big]
        running = requests.get(proxy.url + "/__proxy/report", timeout=10).json()
        # Other paths are passed on unjudged, byte for byte.
        contract = session.get(proxy.url + "/openapi.yaml", timeout=10)
        straight_contract = requests.get(mock_url + "/openapi.yaml", timeout=10)
        assert contract.content == straight_contract.content
        assert contract.headers.get(VIOLATION) == straight_contract.headers.get(VIOLATION)  # the upstream's own
    for call, through, straight in zip(calls, answers, direct, strict=True):
        assert VIOLATION not in through.headers, f"{call.what}: {through.headers[VIOLATION]}"
        assert through.status_code == straight.status_code, call.what
        assert through.content == straight.content, call.what
        assert through.headers["Content-Type"] == "application/json"
        assert through.headers["X-Correlation-ID"] == straight.headers["X-Correlation-ID"]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 400, 401, 422]
    assert running["judged"] == len(calls) + 2 and running["verdict"] == "PASS"
    assert proxy.exit_code == 0, proxy.log
    report = proxy.report()
    assert report["verdict"] == "PASS" and report["failing_rules"] == []
    assert {row["id"]: row["checked"] > 0 for row in report["rules"]} == dict.fromkeys(RULE_IDS, True)
    assert "**Verdict: PASS**" in proxy.markdown() and proxy.junit_failing() == set()
    # Tokens are passed through (the mock accepted them) and never written anywhere.
    for text in (
        proxy.log,
        proxy.markdown(),
        json.dumps(report),
        *(p.read_text() for p in (tmp_path / "cassette").glob("*.json")),
    ):
        assert token not in text and expired not in text
    assert not (tmp_path / "cassette" / "images").exists(), "image bytes recorded without --record-images"
    # One entry per distinct image pair answered (the noise pair went twice: one entry); the
    # 401 and the body without images are not recorded.
    assert len(list((tmp_path / "cassette").glob("*.json"))) == 6


def test_many_parallel_clients_each_get_their_own_answer(
    mock_url: str, tokens: tuple[str, str], tmp_path: Path
) -> None:
    """A burst of clients connecting at once (more than the mock has workers) through one proxy."""
    token, _ = tokens
    names = ["hopper_a.jpg", "hopper_b.jpg", "astronaut_a.jpg", "astronaut_b.jpg", "recapture.jpg", "collage.jpg"]
    calls = [Call(f"{a} + {b}", (("image1", photo(a)), ("image2", photo(b))), token) for a in names for b in names]
    expected = {call.what: call.send(mock_url, requests.Session()).content for call in calls}
    clients = 48
    barrier = threading.Barrier(clients)
    with run_proxy(mock_url, tmp_path / "out", "--quiet") as proxy:

        def client(index: int) -> list[tuple[str, int, bytes, str | None]]:
            session = requests.Session()
            barrier.wait()
            mine = [calls[(index * 5 + i) % len(calls)] for i in range(3)]
            return [
                (c.what, (r := c.send(proxy.url, session)).status_code, r.content, r.headers.get(VIOLATION))
                for c in mine
            ]

        with ThreadPoolExecutor(max_workers=clients) as pool:
            results = [item for batch in pool.map(client, range(clients)) for item in batch]
    assert len(results) == clients * 3
    for what, status, content, violation in results:
        assert status == 200 and violation is None, (what, status, content[:200])
        assert content == expected[what], what
    assert proxy.exit_code == 0 and proxy.report()["judged"] == clients * 3


class CompressingUpstream:
    """An upstream in front of the mock that answers with a content coding, as gateways do:
    real gzip, or bytes labelled ``br`` (a coding the proxy cannot undo)."""

    def __init__(self, mock_url: str, coding: str) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                answer = requests.post(mock_url + self.path, data=body, headers=headers, timeout=60)
                coded = gzip.compress(answer.content, mtime=0)
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers["Content-Type"])
                self.send_header("X-Correlation-ID", answer.headers["X-Correlation-ID"])
                self.send_header("Content-Encoding", outer.coding)
                self.send_header("Content-Length", str(len(coded)))
                self.end_headers()
                self.wfile.write(coded)

        self.coding = coding
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> CompressingUpstream:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_compressed_answers_are_judged_decoded_and_passed_on_as_sent(
    mock_url: str, tokens: tuple[str, str], tmp_path: Path
) -> None:
    token, _ = tokens
    call = Call("one real photo", (("image1", photo("astronaut_a.jpg")),), token)
    canned = call.send(mock_url, requests.Session()).content
    for coding in ("gzip", "br"):
        with (
            CompressingUpstream(mock_url, coding) as upstream,
            run_proxy(upstream.url, tmp_path / coding, "--quiet") as proxy,
        ):
            raw = call.send(proxy.url, requests.Session(), stream=True)
            sent = raw.raw.read(decode_content=False)
        assert raw.status_code == 200 and raw.headers["Content-Encoding"] == coding
        assert sent == gzip.compress(canned, mtime=0), "the coded body was changed on the way"
        assert VIOLATION not in raw.headers
        report = proxy.report()
        if coding == "gzip":
            assert report["judged"] == 1 and report["verdict"] == "PASS", report
        else:
            assert report["judged"] == 0 and report["unjudged"] == {"unknown_content_encoding": 1}, report


# --- the kit's broken servers as upstreams ------------------------------------------------


def test_each_broken_upstream_is_named_by_its_rule_in_the_header_and_the_report(
    mock_url: str, tokens: tuple[str, str], tmp_path: Path
) -> None:
    token, expired = tokens
    calls = traffic(token, expired)
    with BrokenProxy(mock_url) as broken, run_proxy(broken.url, tmp_path / "out", "--quiet") as proxy:

        def named(rule: str) -> tuple[str, set[str]]:
            session = requests.Session()
            found: set[str] = set()
            for call in calls:
                response = call.send(proxy.url, session, prefix=f"/{rule}")
                header = response.headers.get(VIOLATION)
                found |= set(header.split(",")) if header else set()
            return rule, found

        with ThreadPoolExecutor(max_workers=4) as pool:
            seen = dict(pool.map(named, BREAKAGES))
    for rule, found in seen.items():
        assert found == {rule}, f"upstream that {BREAKAGES[rule].what}: header named {sorted(found)}, expected {rule}"
    assert proxy.exit_code == 1, proxy.log
    report = proxy.report()
    assert report["verdict"] == "FAIL"
    assert sorted(report["failing_rules"]) == sorted(RULE_IDS)
    for row in report["rules"]:
        first = row["first_failure"]
        assert f"/{row['id']}{OPERATION}" in first["url"], (row["id"], first["url"])
        assert first["curl"].startswith("curl ") and token not in first["curl"] and expired not in first["curl"]
    markdown = proxy.markdown()
    assert API_KEY not in markdown and API_KEY not in json.dumps(report) and "$X_API_KEY" in markdown
    assert "**Verdict: FAIL**" in markdown
    assert all(f"### {rule} fails" in markdown for rule in RULE_IDS)
    assert proxy.junit_failing() == set(RULE_IDS)


# --- recording and replay --------------------------------------------------------------------


def test_replay_of_a_recording_gives_the_recorded_bodies(
    mock_url: str, tokens: tuple[str, str], tmp_path: Path
) -> None:
    """Recorded from an upstream whose answers differ from the canned engine's (LIVE-2's
    broken server), so a replay that fell back to the engine would be caught."""
    token, expired = tokens
    calls = [c for c in traffic(token, expired) if c.images and c.token == token]
    cassette = tmp_path / "cassette"
    with BrokenProxy(mock_url) as broken:
        with run_proxy(
            broken.url + "/LIVE-2", tmp_path / "out", "--quiet", "--record", str(cassette), "--record-images"
        ) as proxy:
            session = requests.Session()
            recorded = [call.send(proxy.url, session) for call in calls]
    canned = [call.send(mock_url, requests.Session()) for call in calls]
    assert [r.status_code for r in recorded] == [200, 200, 200, 200, 400]
    assert any(r.content != c.content for r, c in zip(recorded, canned, strict=True)), (
        "the recording equals the canned answers"
    )
    images = {p.name: p.read_bytes() for p in (cassette / "images").iterdir()}
    for call in calls:
        for _, data in call.images:
            if data:
                assert images[hashlib.sha256(data).hexdigest()] == data
    stranger = noise_jpeg(7)
    with start_server("--replay", str(cassette), "--workers", "1") as replay_url:
        replayed = [call.send(replay_url, requests.Session()) for call in calls]
        fallback = Call("not recorded", (("image1", stranger),), token).send(replay_url, requests.Session())
    for call, first, again in zip(calls, recorded, replayed, strict=True):
        assert (again.status_code, again.content) == (first.status_code, first.content), call.what
        assert again.headers["Content-Type"] == first.headers["Content-Type"]
    canned_stranger = Call("not recorded", (("image1", stranger),), token).send(mock_url, requests.Session())
    assert (fallback.status_code, fallback.content) == (canned_stranger.status_code, canned_stranger.content)
    with start_server("--replay", str(cassette), "--replay-strict", "--workers", "1") as strict_url:
        hit = calls[0].send(strict_url, requests.Session())
        miss = Call("not recorded", (("image1", stranger),), token).send(strict_url, requests.Session())
    assert hit.content == recorded[0].content
    assert miss.status_code == 404 and miss.headers["Content-Type"] == "application/json"
    assert "no recorded answer" in miss.json()["msg"]


# --- upstream failures -------------------------------------------------------------------------


@contextmanager
def silent_listener() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


@contextmanager
def cut_short_upstream() -> Iterator[int]:
    """A port whose server reads a request, starts a 1000-byte answer, sends 10 bytes and hangs up."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)

    def serve() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, rest = data.partition(b"\r\n\r\n")
                length = int(
                    next(
                        line.split(b":")[1]
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    )
                )
                while len(rest) < length:
                    rest += conn.recv(65536)
                conn.sendall(
                    b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"image1":'
                )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def test_upstream_failures_are_answered_with_the_documented_json(
    mock_url: str, tokens: tuple[str, str], tmp_path: Path
) -> None:
    token, _ = tokens
    call = Call("one real photo", (("image1", photo("astronaut_a.jpg")),), token)
    mock_port = mock_url.rsplit(":", 1)[1]
    with silent_listener() as silent, cut_short_upstream() as cut:
        cases = (
            (
                "refused",
                f"http://127.0.0.1:{free_port()}",
                502,
                "connection refused",
                "connection_refused",
                signal.SIGINT,
            ),
            ("timeout", f"http://127.0.0.1:{silent}", 504, "did not answer within 1 s", "timeout", signal.SIGTERM),
            ("tls", f"https://127.0.0.1:{mock_port}", 502, "TLS error", "tls_error", signal.SIGTERM),
            ("cut", f"http://127.0.0.1:{cut}", 502, "closed the connection", "connection_closed", signal.SIGTERM),
        )
        for name, upstream, status, words, kind, stop in cases:
            with run_proxy(upstream, tmp_path / name, "--timeout", "1", stop=stop) as proxy:
                response = call.send(proxy.url, requests.Session())
                again = call.send(proxy.url, requests.Session())
            assert response.status_code == status, (name, response.status_code, response.text)
            assert response.headers["Content-Type"] == "application/json"
            assert set(response.json()) == {"msg"} and words in response.json()["msg"], response.text
            assert response.headers["X-Correlation-ID"].startswith("proxy-test-")
            assert again.status_code == status
            assert proxy.exit_code == 3, proxy.log  # nothing judged: never a PASS
            report = proxy.report()
            assert report["verdict"] == "NOT JUDGED" and report["upstream_failures"] == {kind: 2}


# --- the multipart scanner, fed every which way ------------------------------------------------


def test_scanner_sees_the_same_parts_however_the_body_is_cut() -> None:
    boundary = "x--boundary--x"
    nasty = b"\r\n--x--boundary--" + noise_jpeg(3, side=64) + b"\r\n--x--boundary"  # almost-delimiters inside
    prepared = requests.Request(
        "POST",
        "http://h/",
        files=[
            ("image1", ("a.jpg", nasty, "image/jpeg")),
            ("image2", ("b.jpg", b"", "image/jpeg")),
            ("unique_id", (None, "case-17")),
        ],
    ).prepare()
    body = prepared.body
    assert isinstance(body, bytes)
    real_boundary = prepared.headers["Content-Type"].split("boundary=")[1].encode()
    body = body.replace(real_boundary, boundary.encode())
    rng = random.Random(5)
    for cut in (1, 2, 7, 64, 4096, len(body)):
        scanner = FormScanner(boundary.encode(), keep=frozenset({"image1"}))
        at = 0
        while at < len(body):
            step = cut if cut != 64 else rng.randint(1, 128)
            scanner.feed(body[at : at + step])
            at += step
        form = scanner.finish()
        assert form.complete
        assert [(p.part.name, p.part.size, p.part.filename) for p in form.parts] == [
            ("image1", len(nasty), "a.jpg"),
            ("image2", 0, "b.jpg"),
            ("unique_id", 7, None),
        ]
        assert form.parts[0].sha256 == hashlib.sha256(nasty).hexdigest() and form.parts[0].data == nasty
        assert form.parts[2].part.value == "case-17" and form.parts[1].data is None
    truncated = FormScanner(boundary.encode())
    truncated.feed(body[: len(body) // 2])
    assert not truncated.finish().complete


# --- real-model mode ---------------------------------------------------------------------------


def test_real_mode_upstream_conforms_through_the_proxy(tokens: tuple[str, str], tmp_path: Path) -> None:
    if not MODELS.is_dir():
        if os.environ.get("CI") == "true":
            raise RuntimeError(f"CI=true but the shared models folder {MODELS} is missing")
        pytest.skip(f"real mode needs the shared data folder {MODELS} (absent here, and CI is not 'true')")
    token, _ = tokens
    pairs = [("df_img1.jpg", "df_img10.jpg"), ("df_img1.jpg", None), ("sf_image_F1.jpg", "df_img1.jpg")]
    with start_server("--mode", "real", "--models-dir", str(MODELS), "--workers", "1", ready_timeout=180) as real_url:
        with run_proxy(real_url, tmp_path / "out", "--quiet") as proxy:
            session = requests.Session()
            answers = [
                Call(
                    f"{first} + {second}",
                    tuple(
                        (name, (FACES / "images" / file).read_bytes())
                        for name, file in (("image1", first), ("image2", second))
                        if file
                    ),
                    token,
                ).send(proxy.url, session)
                for first, second in pairs
            ]
    for response in answers:
        assert response.status_code == 200, response.text
        assert VIOLATION not in response.headers, response.headers[VIOLATION]
    # The same person twice (identities.csv): the real engine matches them.
    assert answers[0].json()["image1_image2_facematch"]["result"] == "True"
    assert proxy.exit_code == 0, proxy.log
    assert proxy.report()["judged"] == len(answers)
