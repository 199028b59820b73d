"""Start the real server (``facematch serve``: gunicorn) on a free port for a test."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mock_server.launch import free_port, serve, stop_process_group

# free_port and stop_process_group are the tests' names for them too.
__all__ = ["ROOT", "LiveServer", "free_port", "start_live_server", "start_server", "stop_process_group"]

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
    args = list(cli_args)
    if "--workers" not in args:
        args += ["--workers", "2"]
    with tempfile.NamedTemporaryFile(prefix="facematch-server-", suffix=".log") as log:
        with serve(*args, cwd=ROOT, env=env, log=log, ready_timeout=ready_timeout) as server:
            yield LiveServer(server.url, server.process.pid, Path(log.name))
