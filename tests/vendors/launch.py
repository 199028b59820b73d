"""Start vendor servers: several instances (one per bug) in one process, each on its own port.

``python -m tests.vendors --stack stdlib --secret S --bug conforming --bug NAME ...`` starts
one instance per ``--bug`` and prints one JSON line ``{"NAME": "http://127.0.0.1:PORT"}``
when all are listening; it serves until stdin closes or it is terminated. ``vendors`` is the
context manager the tests use.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from .bug import CONFORMING, Bug
from .stacks import Stack


class Instance(Protocol):
    @property
    def url(self) -> str: ...

    def stop(self) -> None: ...


def all_bugs() -> dict[str, Bug]:
    from .bugs import BUGS
    from .holdout import HOLDOUT_BUGS

    found: dict[str, Bug] = {}
    for bug in (CONFORMING, *BUGS, *HOLDOUT_BUGS):
        if bug.name in found:
            raise ValueError(f"two bugs are named {bug.name}")
        found[bug.name] = bug
    return found


def start(stack: Stack, secret: str, bug: Bug) -> Instance:
    if stack is Stack.STDLIB:
        from .stdlib_server import Running

        return Running(secret, bug)
    if stack is Stack.WERKZEUG:
        from .werkzeug_server import Running as WerkzeugRunning

        return WerkzeugRunning(secret, bug)
    from .asyncio_server import Running as AsyncioRunning

    return AsyncioRunning(secret, bug)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.vendors", description=__doc__)
    parser.add_argument("--stack", choices=[s.value for s in Stack], required=True)
    parser.add_argument("--secret", required=True, help="HS256 secret the instances verify tokens with")
    parser.add_argument("--bug", action="append", default=[], help="bug name, or 'conforming' (repeatable)")
    args = parser.parse_args(argv)
    known = all_bugs()
    unknown = [name for name in args.bug if name not in known]
    if unknown:
        parser.error(f"unknown bug(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    stack = Stack(args.stack)
    instances = {name: start(stack, args.secret, known[name]) for name in args.bug or ["conforming"]}
    print(json.dumps({name: i.url for name, i in instances.items()}), flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait()
    for instance in instances.values():
        instance.stop()
    return 0


@contextmanager
def vendors(stack: Stack, secret: str, bug_names: list[str], root: Path) -> Iterator[dict[str, str]]:
    """Run one server process of ``stack`` with an instance per bug; yield name -> base URL."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.vendors",
            "--stack",
            stack.value,
            "--secret",
            secret,
            *[a for name in bug_names for a in ("--bug", name)],
        ],
        cwd=root,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"vendor {stack.value} server exited with {process.wait(10)}")
        yield json.loads(line)
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
