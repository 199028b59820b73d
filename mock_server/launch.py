"""Running ``facematch serve`` as a child process: a free port, readiness and a clean stop.

Shared by the project's tests, its benchmarks and the ``facematch_mock`` pytest fixture
(and usable from a team's own test suite). The server runs in its own process group so
gunicorn's master and workers stop together.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

#: ``facematch`` run by this interpreter (the package it imports: a checkout's or an installed one).
FACEMATCH_COMMAND = (sys.executable, "-m", "facematch")
#: Options of ``facematch serve`` that make it answer HTTPS.
TLS_OPTIONS = frozenset({"--certfile", "--tls-self-signed"})
#: Bytes of a failed server's output quoted in the error.
OUTPUT_TAIL_BYTES = 3000


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process_group(process: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """SIGTERM the process's group (started with ``start_new_session=True``), then SIGKILL
    whatever is still running after ``grace`` seconds."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@dataclass(frozen=True)
class RunningServer:
    """A ``facematch serve`` that answered ``/healthz``."""

    url: str
    port: int
    #: gunicorn's master; its children are the workers.
    process: subprocess.Popen[bytes]
    #: Seconds from the spawn to the first 200 on ``/healthz``.
    ready_after_s: float


@contextmanager
def serve(
    *serve_args: str,
    command: Sequence[str] = FACEMATCH_COMMAND,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    log: IO[bytes] | None = None,
    ready_timeout: float = 60.0,
) -> Iterator[RunningServer]:
    """Run ``COMMAND serve --host 127.0.0.1 --port FREE *serve_args`` until the block ends.

    ``env`` is added to this process's environment. The server's output goes to ``log``
    (a temporary file when None); a server that exits, or does not answer ``/healthz``
    within ``ready_timeout`` seconds, raises RuntimeError quoting the end of that output.
    """
    port = free_port()
    options = {arg.split("=", 1)[0] for arg in serve_args}
    scheme = "https" if options & TLS_OPTIONS else "http"
    argv = [*command, "serve", "--host", "127.0.0.1", "--port", str(port), *serve_args]
    with contextlib.ExitStack() as stack:
        output = log if log is not None else stack.enter_context(tempfile.TemporaryFile())
        spawned = time.monotonic()
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
        try:
            _wait_ready(scheme, port, process, output, spawned + ready_timeout)
            yield RunningServer(f"{scheme}://127.0.0.1:{port}", port, process, time.monotonic() - spawned)
        finally:
            stop_process_group(process)


def _wait_ready(scheme: str, port: int, process: subprocess.Popen[bytes], output: IO[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"facematch serve exited with {process.returncode}:\n{_tail(output)}")
        if _healthy(scheme, port):
            return
        time.sleep(0.1)
    raise RuntimeError(f"facematch serve did not answer /healthz in time:\n{_tail(output)}")


def _healthy(scheme: str, port: int) -> bool:
    """One GET /healthz (readiness only: a TLS server's certificate is not checked here)."""
    if scheme == "https":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            "127.0.0.1", port, timeout=1, context=context
        )
    else:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):  # not listening yet, or too busy to answer in time
        return False
    finally:
        connection.close()


def _tail(output: IO[bytes]) -> str:
    output.flush()
    output.seek(0)
    return output.read()[-OUTPUT_TAIL_BYTES:].decode(errors="replace")
