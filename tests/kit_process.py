"""Kit runs for the tests: ``facematch check`` in its own process, without paying its start-up each time.

A kit run is a fresh process that imports pytest, hypothesis, schemathesis and the kit
(about one CPU-second), then judges a server. The test suite makes about a hundred such
runs, so it starts them from a fork server (``multiprocessing``'s "forkserver" context)
that has imported all of that once: each run is still its own process, with its own
folder, arguments, output and exit status, entering the same ``facematch.cli.main`` the
installed command does; it only skips the imports. Where a test is about the command itself
(an empty folder, an installed wheel, the pytest entry point), it runs a plain subprocess.

``run(command, cwd, timeout)`` takes the command line ``kit_commands.check_command`` builds
and answers like ``subprocess.run(..., capture_output=True, text=True)``.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from .kit_commands import FACEMATCH

#: What the fork server imports before it forks the first run.
PRELOAD = ["tests.kit_preload"]

_lock = threading.Lock()
_context: multiprocessing.context.ForkServerContext | None = None


def _fork_server() -> multiprocessing.context.ForkServerContext:
    global _context
    with _lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            _context = context
        return _context


def _child(arguments: list[str], cwd: str, out: str, err: str) -> None:
    """In the forked process: the command's folder, its own stdout and stderr, then ``main``."""
    os.chdir(cwd)
    for fd, path in ((1, out), (2, err)):
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(handle, fd)
        os.close(handle)
    sys.stdout = open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
    import facematch
    from facematch.cli import main

    sys.argv = [str(Path(facematch.__file__).parent / "__main__.py"), *arguments]  # as ``-m`` sets it

    try:
        code = main(arguments)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run(command: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run ``python -m facematch ...`` (as ``check_command`` builds it) as a forked kit process."""
    if tuple(command[: len(FACEMATCH)]) != FACEMATCH:
        raise ValueError(f"not a facematch command line: {command[:3]}")
    arguments = command[len(FACEMATCH) :]
    with tempfile.TemporaryDirectory(prefix="kit-run-") as folder:
        out, err = os.path.join(folder, "stdout"), os.path.join(folder, "stderr")
        process = _fork_server().Process(target=_child, args=(arguments, str(cwd), out, err), daemon=False)
        process.start()
        process.join(timeout)
        if process.exitcode is None:
            process.kill()
            process.join()
            raise subprocess.TimeoutExpired(command, timeout)
        if not os.path.exists(out):  # the fork server could not start the run
            raise RuntimeError(f"the kit's fork server did not start {arguments} (exit status {process.exitcode})")
        return subprocess.CompletedProcess(
            command,
            process.exitcode,
            Path(out).read_text(errors="replace"),
            Path(err).read_text(errors="replace"),
        )
