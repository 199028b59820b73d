"""pytest plugin: the ``facematch_mock`` fixture, a running mock for a test session.

    def test_spoof_is_shown(facematch_mock):
        facematch_mock.control.set_scenario("one_image_fake")
        answer = requests.post(facematch_mock.base_url + "/advanced_facematch",
                               headers={"Authorization": f"Bearer {facematch_mock.token}"}, files=...)

``facematch serve`` runs as a subprocess on a free local port (``--facematch-mock-arg``
adds options, e.g. ``--facematch-mock-arg=--sequences=flows.yaml``) until the session
ends; :func:`facematch_mock` wipes the runtime settings, sequences and journal before each
test so tests do not see each other's steering.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest
import requests

from facematch_contract.operation import DEV_JWT_SECRET
from facematch_contract.tokens import mint_token

from .client import MockControl

#: Seconds the mock may take to answer /healthz after it is started.
START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class RunningMock:
    base_url: str
    #: A valid bearer token (HS256, the development secret, valid for a day).
    token: str
    control: MockControl

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("facematch-mock", "the facematch_mock fixture (a running mock)")
    group.addoption(
        "--facematch-mock-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="an extra option for `facematch serve` (repeat for more)",
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _command() -> list[str]:
    installed = Path(sys.executable).with_name("facematch")
    if installed.exists():
        return [str(installed)]
    return [sys.executable, "-m", "facematch"]


@pytest.fixture(scope="session")
def facematch_mock_server(request: pytest.FixtureRequest) -> Iterator[RunningMock]:
    """The mock for the whole session (use :func:`facematch_mock` in tests)."""
    port = _free_port()
    extra = list(request.config.getoption("--facematch-mock-arg"))
    command = [*_command(), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2", "--quiet", *extra]
    log = tempfile.TemporaryFile()
    env = {**os.environ, "FACEMATCH_JWT_SECRET": DEV_JWT_SECRET}
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base_url, process, log)
        control = MockControl(base_url)
        yield RunningMock(base_url, mint_token(DEV_JWT_SECRET, expires_in=24 * 3600), control)
        control.close()
    finally:
        _stop(process)
        log.close()


@pytest.fixture
def facematch_mock(facematch_mock_server: RunningMock) -> RunningMock:
    """A running mock with no runtime settings, no sequences and an empty journal."""
    facematch_mock_server.control.reset()
    return facematch_mock_server


def _wait_ready(base_url: str, process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"facematch serve exited with {process.returncode}: {_tail(log)}")
        try:
            if requests.get(base_url + "/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"facematch serve did not answer /healthz within {START_TIMEOUT_S:g} s: {_tail(log)}")


def _tail(log: IO[bytes]) -> str:
    log.seek(0)
    return log.read()[-3000:].decode(errors="replace")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group (gunicorn and its workers), SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
