"""HTTPS: ``facematch serve --certfile/--keyfile`` and ``--tls-self-signed`` over a real server."""

from __future__ import annotations

import re
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from facematch_contract.operation import OPERATION_PATH as OPERATION
from mock_server.tls import TlsFiles, make_self_signed

from .client import image_files
from .conftest import fixture_path
from .live import ROOT, LiveServer, start_live_server
from .raw_http import address

pytestmark = pytest.mark.server

FACE = fixture_path("astronaut_a.jpg").read_bytes()


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_self_signed(tmp_path_factory.mktemp("tls-a"))


@pytest.fixture(scope="module")
def https(pair: TlsFiles) -> Iterator[LiveServer]:
    with start_live_server(
        "--workers",
        "1",
        "--quiet",
        "--header-timeout",
        "1",
        "--certfile",
        str(pair.certfile),
        "--keyfile",
        str(pair.keyfile),
    ) as live:
        yield live


def test_https_answer_is_verified_and_the_same_as_over_http(
    https: LiveServer, pair: TlsFiles, mock_url: str, auth: dict[str, str]
) -> None:
    assert https.url.startswith("https://")
    secure = requests.post(
        https.url + OPERATION, files=image_files(FACE), headers=auth, timeout=20, verify=str(pair.certfile)
    )
    plain = requests.post(mock_url + OPERATION, files=image_files(FACE), headers=auth, timeout=20)
    assert secure.status_code == plain.status_code == 200
    assert secure.content == plain.content
    with pytest.raises(requests.exceptions.SSLError):  # an untrusted certificate is refused by clients
        requests.get(https.url + "/healthz", timeout=20)


def test_a_handshake_that_never_completes_is_dropped(https: LiveServer, pair: TlsFiles) -> None:
    with socket.create_connection(address(https.url), timeout=20) as sock:
        sock.sendall(b"\x16\x03\x01")  # the first bytes of a ClientHello, and then nothing
        assert sock.recv(4096) == b""  # closed at the header timeout (1 s here), not held
    # The worker still serves: a complete handshake and request afterwards.
    context = ssl.create_default_context(cafile=str(pair.certfile))
    with socket.create_connection(address(https.url), timeout=20) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            assert tls.recv(4096).startswith(b"HTTP/1.1 200 ")


def test_self_signed_certificate_is_made_printed_and_removed(auth: dict[str, str]) -> None:
    with start_live_server("--workers", "1", "--quiet", "--tls-self-signed") as live:
        printed = re.search(r"127\.0\.0\.1 and ::1: (\S+\.crt)", live.log.read_text())
        assert printed, live.log.read_text()
        certificate = Path(printed.group(1))
        assert certificate.parent.stat().st_mode & 0o777 == 0o700
        answer = requests.post(
            live.url + OPERATION, files=image_files(FACE), headers=auth, timeout=20, verify=str(certificate)
        )
        assert answer.status_code == 200
        localhost = live.url.replace("127.0.0.1", "localhost")
        assert requests.get(localhost + "/healthz", timeout=20, verify=str(certificate)).status_code == 200
    assert not certificate.parent.exists()


def test_unusable_certificate_or_key_exits_2_before_serving(pair: TlsFiles, tmp_path: Path) -> None:
    other = make_self_signed(tmp_path)
    cases = [
        (["--certfile", str(pair.certfile), "--keyfile", str(other.keyfile)], "cannot be used together"),
        (["--certfile", str(tmp_path / "absent.crt"), "--keyfile", str(pair.keyfile)], "does not exist"),
        (["--certfile", str(pair.certfile)], "--certfile and --keyfile go together"),
    ]
    for options, words in cases:
        result = subprocess.run(
            [sys.executable, "-m", "facematch", "serve", "--port", "1", *options],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2, result.stderr
        assert words in result.stderr
        assert "Starting gunicorn" not in result.stderr
