"""Start the real server (``facematch serve``: gunicorn) on a free port for a test."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from urllib3.exceptions import InsecureRequestWarning

from mock_server.launch import free_port, stop_process_group

ROOT = Path(__file__).resolve().parent.parent

#: Whether the running test is marked ``server`` (set by tests/conftest.py before its fixtures):
#: only those start a real server, so ``-m "not server"`` is the fast layer and nothing else.
SERVER_TEST_RUNNING = False


@dataclass(frozen=True)
class LiveServer:
    url: str
    pid: int  # gunicorn's master; its children are the workers
    log: Path  # the server's output so far (removed when it stops)


@contextmanager
def start_server(*cli_args: str, env: dict[str, str] | None = None, ready_timeout: float = 60.0) -> Iterator[str]:
    """Run ``facematch serve --port FREE *cli_args`` and yield its base URL."""
    with start_live_server(*cli_args, env=env, ready_timeout=ready_timeout) as server:
        yield server.url


@contextmanager
def start_live_server(
    *cli_args: str, env: dict[str, str] | None = None, ready_timeout: float = 60.0
) -> Iterator[LiveServer]:
    """Run ``facematch serve --port FREE *cli_args`` and yield its URL and master pid.

    Two workers unless ``--workers`` is given. The server's output goes to a temporary log
    that is printed if it fails to start. Only a test marked ``server`` may start one.
    """
    if not SERVER_TEST_RUNNING:
        raise RuntimeError("a test that starts the real server must be marked server (@pytest.mark.server)")
    port = free_port()
    args = list(cli_args)
    if "--workers" not in args:
        args += ["--workers", "2"]
    command = [sys.executable, "-m", "facematch", "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    log = tempfile.NamedTemporaryFile(prefix="facematch-server-", suffix=".log", delete=False)
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    scheme = "https" if {"--certfile", "--tls-self-signed"} & set(args) else "http"
    base_url = f"{scheme}://127.0.0.1:{port}"
    try:
        _wait_ready(base_url, process, Path(log.name), ready_timeout)
        yield LiveServer(base_url, process.pid, Path(log.name))
    finally:
        stop_process_group(process)
        log.close()
        os.unlink(log.name)


def _wait_ready(base_url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            # Readiness only: a TLS server's certificate is checked by the tests themselves.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", InsecureRequestWarning)
                ready = requests.get(base_url + "/healthz", timeout=1, verify=False).status_code == 200
            if ready:
                return
        except requests.RequestException:  # not listening yet, or too busy to answer in time
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server did not answer /healthz within {timeout}s:\n{log.read_text()}")
