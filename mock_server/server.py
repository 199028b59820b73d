"""Runs the app under gunicorn (never the Flask development server).

gunicorn's master forks and supervises the workers (restarts, signals, graceful stops);
each worker is a :class:`BufferingWorker`: an asyncio loop that reads connections with the
HTTP front of :mod:`mock_server.http_front` and runs the Flask app on complete requests
only (on the loop itself with one thread per worker, the mock's default; in a pool of
``--threads`` threads otherwise, as real mode does). Measured against gunicorn's sync and gthread workers in
docs/performance.md ("Slow clients").
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import h11
from flask import Flask
from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]  # gunicorn ships no type hints (no py.typed)
from gunicorn.workers.base import Worker  # type: ignore[import-untyped]  # gunicorn ships no type hints (no py.typed)

from facematch_contract.operation import OPERATION_PATH

from .app import create_app, mock_context
from .config import Settings
from .errors import ApiError
from .http_front import Front, FrontLimits
from .tls import server_context

#: Seconds between the worker's checks of its master, its signals and its heartbeat.
TICK_SECONDS = 0.5

#: glibc's mallopt parameters, and the values a worker sets (see tune_malloc).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024  # glibc's maximum on 64-bit
TRIM_THRESHOLD_BYTES = 64 * 1024 * 1024

#: The worker class ``facematch serve`` runs, as gunicorn's setting names it.
WORKER_CLASS = "mock_server.server.BufferingWorker"


class GunicornServer(BaseApplication):  # type: ignore[misc]  # an untyped base class (gunicorn)
    def __init__(self, settings: Settings, options: dict[str, object]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if value is not None and key in self.cfg.settings:
                self.cfg.set(key.lower(), value)

    def load(self) -> Flask:
        return create_app(self.settings)


def front_limits(settings: Settings) -> FrontLimits:
    from .bulk.upload import upload_limit

    return FrontLimits(
        idle_timeout=settings.idle_timeout_s,
        header_timeout=settings.header_timeout_s,
        body_timeout=settings.body_timeout_s,
        max_header_bytes=settings.max_header_bytes,
        max_body_bytes=settings.max_body_bytes,
        max_bulk_body_bytes=upload_limit(),
        bulk_dir=settings.bulk_dir,
    )


def tune_malloc() -> None:
    """Serve large buffers from the heap instead of fresh mmaps.

    The event loop receives bodies in 256 KiB reads, and every read buffer and body copy
    above glibc's mmap threshold was a new mapping, page-faulted in and unmapped again:
    that doubled the worker's CPU time on 9.5 MiB uploads (40-47 ms per request, against
    16-30 ms for gunicorn's sync worker; 15-21 ms with this, measured side by side on one
    noisy 2-core machine). Freed memory above the trim threshold still goes back to the
    system. A no-op where the C library is not glibc."""
    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
        libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    except (OSError, AttributeError):
        return


def token_precheck(app: Flask) -> Callable[[h11.Request], ApiError | None]:
    """What the app answers from the headers alone, for ``Expect: 100-continue``: the
    operation and ``POST /bulk`` authenticate before reading the body (with the app's own
    authenticator), so a missing or bad token is refused before the client sends its photos."""
    auth = mock_context(app).auth
    guarded = (OPERATION_PATH.encode(), b"/bulk")

    def precheck(request: h11.Request) -> ApiError | None:
        if request.method != b"POST" or not request.target.split(b"?", 1)[0].endswith(guarded):
            return None
        authorization = next(
            (value.decode("latin-1") for name, value in request.headers if name == b"authorization"), None
        )
        try:
            auth.verify(authorization)
        except ApiError as error:
            return error
        return None

    return precheck


class BufferingWorker(Worker):  # type: ignore[misc]  # an untyped base class (gunicorn)
    """A gunicorn worker whose connections are read by an asyncio loop; the app runs in
    ``threads`` pool threads on complete requests only."""

    def run(self) -> None:
        tune_malloc()
        settings: Settings = self.app.settings
        threads = max(1, int(self.cfg.threads))
        # One thread: the loop runs the app between reads (measured faster than handing
        # each request to a pool thread); more: a pool of that many app threads.
        executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="facematch-app") if threads > 1 else None
        front = Front(
            app=self.wsgi,
            executor=executor,
            limits=front_limits(settings),
            access=self.log.access if self.cfg.accesslog else None,
            multithread=threads > 1,
            precheck=token_precheck(self.wsgi),
            scheme="https" if settings.tls is not None else "http",
        )
        # TLS is ours to do: gunicorn's own wrapping does not reach these asyncio servers.
        # A handshake gets the header timeout to complete (then the connection is dropped).
        tls = server_context(settings.tls) if settings.tls is not None else None
        handshake = settings.header_timeout_s if tls is not None else None
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        loop.add_reader(self.PIPE[0], self._drain_wakeups)
        servers = [
            loop.run_until_complete(
                loop.create_server(
                    front.protocol,
                    sock=listener.sock,
                    backlog=self.cfg.backlog,
                    ssl=tls,
                    ssl_handshake_timeout=handshake,
                )
            )
            for listener in self.sockets
        ]
        try:
            loop.run_until_complete(self._supervise(front))
        finally:
            for server in servers:
                server.close()
            loop.run_until_complete(self._finish(front))
            if executor is not None:
                executor.shutdown(wait=False, cancel_futures=True)
            loop.close()

    def _drain_wakeups(self) -> None:
        with contextlib.suppress(OSError):
            os.read(self.PIPE[0], 4096)

    async def _supervise(self, front: Front) -> None:
        while self.alive:
            self.notify()
            if self.ppid != os.getppid():
                self.log.info("parent changed, shutting down: %s", self)
                return
            await asyncio.sleep(TICK_SECONDS)

    async def _finish(self, front: Front) -> None:
        """Graceful stop: idle connections now, busy ones within graceful_timeout."""
        deadline = asyncio.get_running_loop().time() + float(self.cfg.graceful_timeout)
        while front.connections and asyncio.get_running_loop().time() < deadline:
            for connection in list(front.connections):
                connection.shutdown_if_idle()
            await asyncio.sleep(0.05)
