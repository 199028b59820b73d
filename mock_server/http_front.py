"""The HTTP front of each server worker: complete requests in, WSGI app calls out.

Why it exists: gunicorn's sync workers read a request on the worker itself, so a client
that sends its headers or body slowly holds a whole worker (four slow clients stopped the
server), and gunicorn answers malformed HTTP with its own HTML pages. Here an asyncio event
loop per worker reads every connection without blocking (h11 parses HTTP/1.1), buffers a
request until it is complete, and only then runs the Flask app on it in a small thread
pool. So:

- slow or stalled clients cost a socket and their buffered bytes, never a worker thread;
  each connection has bounded timeouts (idle, headers, body) and is cut with a JSON 408;
- every answer on the port is JSON in the contract's error shape (``{"msg": ...}``) with a
  4xx status, malformed HTTP included (never a 5xx, never HTML);
- the WSGI environ is built here: ``SCRIPT_NAME`` is always empty whatever the client
  sends, header names with underscores are dropped (they would alias dashed names), and
  ``SERVER_NAME``/``SERVER_PORT`` are the socket's own address, never the ``Host`` header.

Bodies stay in memory (photos are biometric data: nothing is spooled to disk), bounded by
the body limit of the route while they arrive; bulk archives, which the bulk endpoint
writes to its private work area anyway, are buffered in an unlinked file in that area.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import re
import socket
import struct
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import IO, Any
from urllib.parse import unquote_to_bytes
from wsgiref.types import WSGIApplication, WSGIEnvironment

import h11

from facematch_contract.operation import CORRELATION_HEADER as OPERATION_CORRELATION_HEADER

from .acks import ACKS_KEY, Ack, AckWaiter
from .errors import ApiError, ErrorKind
from .faults import DELAY_KEY, FRONT_KEY, SOCKET_FAULT_KEY, Fault, SocketFault

log = logging.getLogger("facematch")

#: What a WSGI app passes to ``start_response`` after an exception (``sys.exc_info()``).
ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None]

CORRELATION_HEADER = OPERATION_CORRELATION_HEADER.lower().encode("ascii")
#: Headers the front consumes itself (framing); the app sees the buffered body's length.
FRAMING_HEADERS = frozenset({b"content-length", b"transfer-encoding", b"content-type", b"expect", b"connection"})
#: Bytes RFC 9110 forbids in a field value (h11 lets them through).
CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
#: Which routes get the bulk upload limit (and a file buffer) instead of the operation's.
BULK_SUFFIX = "/bulk"
#: How many pieces the ``slow`` fault cuts a body into, at most.
SLOW_PIECES = 50
#: SO_LINGER on with a zero timeout: closing the socket resets the connection (RST).
RESET_LINGER = struct.pack("ii", 1, 0)


@dataclass(frozen=True)
class FrontLimits:
    """Timeouts (seconds) and sizes (bytes) the front enforces; built from Settings."""

    idle_timeout: float
    header_timeout: float
    body_timeout: float
    max_header_bytes: int
    max_body_bytes: int
    max_bulk_body_bytes: int
    #: Request bodies one worker buffers at once, all connections together; past it the
    #: connections still sending a body are paused (their timers too) until room is made,
    #: so many fast uploads at once cannot grow a worker without bound.
    max_buffered_bytes: int = 32 * 1024 * 1024
    bulk_dir: Path | None = None


class Phase(Enum):
    IDLE = "idle"  # no byte of the next request yet
    HEADERS = "headers"  # request line and headers arriving
    BODY = "body"  # body arriving
    APP = "app"  # the app is running or the answer is being sent
    CLOSED = "closed"


#: What each timed phase waits for, in the 408's message.
WAITING_FOR = {Phase.IDLE: "a request", Phase.HEADERS: "the request headers", Phase.BODY: "the request body"}


@dataclass
class WsgiAnswer:
    """What the app answered, collected in the app thread."""

    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes


@dataclass
class _Sent:
    """The attributes gunicorn's access logger reads from a response."""

    status: str
    headers: list[tuple[str, str]]
    sent: int


@dataclass
class Front:
    """Shared by every connection of one worker process."""

    app: WSGIApplication
    #: None: one app thread, and the event loop runs the app itself between reads (no
    #: thread hand-off; a request's app time then delays the other connections' reads,
    #: never their slowness the app).
    executor: Executor | None
    limits: FrontLimits
    access: Callable[[_Sent, None, WSGIEnvironment, timedelta], None] | None = None
    #: For ``Expect: 100-continue``: the refusal the app would give from the headers alone
    #: (a missing or bad token), sent instead of ``100 Continue``; None lets the body come.
    precheck: Callable[[h11.Request], ApiError | None] | None = None
    multithread: bool = False
    #: ``https`` when the sockets are wrapped in TLS (mock_server/tls.py).
    scheme: str = "http"
    connections: set[HttpConnection] = field(default_factory=set)
    #: Answers held until the store confirms their writes (only when the app runs on the loop).
    acks: AckWaiter = field(default_factory=AckWaiter)
    #: Body bytes this worker holds for requests still arriving, and the connections
    #: paused because that total reached ``limits.max_buffered_bytes`` (oldest first).
    buffered: int = 0
    paused: list[HttpConnection] = field(default_factory=list)

    def protocol(self) -> HttpConnection:
        return HttpConnection(self)

    def release(self, size: int) -> None:
        """``size`` buffered bytes were handed to the app or dropped: resume paused readers."""
        self.buffered -= size
        while self.paused and self.buffered < self.limits.max_buffered_bytes:
            self.paused.pop(0).resume()
        reading = any(c.phase is Phase.BODY and c not in self.paused for c in self.connections)
        if self.paused and not reading:
            # The paused bodies alone fill the budget: let the largest go on, so one completes.
            leader = max(self.paused, key=lambda connection: connection.held)
            self.paused.remove(leader)
            leader.resume()


class HttpConnection(asyncio.Protocol):
    """One client connection: the phase, its timer and the request being buffered.

    h11 parses each request's line and headers (a fresh parser per request) and the body
    when it is chunked; a Content-Length body is collected here directly (h11's own body
    reader costs about 1 ms per MB). Answers are serialised here too."""

    def __init__(self, front: Front) -> None:
        self.front = front
        self.limits = front.limits
        self.transport: asyncio.Transport | None = None
        self.parser = self._new_parser()
        self.phase = Phase.IDLE
        self.timer: asyncio.TimerHandle | None = None
        self.request: h11.Request | None = None
        self.keep_alive = True
        self.remaining: int | None = None  # Content-Length bytes still to come; None: chunked
        self.leftover = b""  # bytes past the current request (pipelining)
        self.body_limit = 0
        self.body_size = 0
        self.held = 0  # of body_size, bytes counted in front.buffered
        self.chunks: list[bytes] = []
        self.spool: IO[bytes] | None = None
        self.correlation = ""
        self.started = 0.0
        self.local: tuple[str, int] = ("127.0.0.1", 0)
        self.peer: tuple[str, int] = ("", 0)
        #: A delayed answer, a dribbled body or a hang waiting on the loop (faults).
        self.pending: asyncio.TimerHandle | None = None
        self.hanging = False

    def _new_parser(self) -> h11.Connection:
        return h11.Connection(h11.SERVER, max_incomplete_event_size=self.limits.max_header_bytes)

    # asyncio callbacks -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.front.connections.add(self)
        self.local = _address(transport.get_extra_info("sockname"))
        self.peer = _address(transport.get_extra_info("peername"))
        self._arm(self.limits.idle_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self.phase = Phase.CLOSED
        self._disarm()
        if self.pending is not None:
            self.pending.cancel()
            self.pending = None
        self._drop_body()
        self.front.connections.discard(self)

    def data_received(self, data: bytes) -> None:
        if self.phase in (Phase.CLOSED, Phase.APP):
            self.leftover += data  # kept for when the answer has gone (reading is paused)
            return
        self._feed(data)

    def eof_received(self) -> bool | None:
        if self.phase is Phase.APP:
            return True  # half-closed: still send the answer
        if self.phase is not Phase.CLOSED:
            self._close()
        return None

    # request assembly ----------------------------------------------------------------

    def _feed(self, data: bytes) -> None:
        """Take bytes in whatever phase waits for them, request after request."""
        while data and self.phase not in (Phase.APP, Phase.CLOSED):
            if self.phase is Phase.IDLE:
                self.phase = Phase.HEADERS
                self.started = time.monotonic()
                self._arm(self.limits.header_timeout)
            if self.phase is Phase.BODY and self.remaining is not None:
                data = self._take_body(data)
                continue
            self.parser.receive_data(data)
            data = b""
            self._pump()
            if self.phase is Phase.BODY and self.remaining is not None:
                data = self.parser.trailing_data[0]  # body bytes that came with the head
                self.parser = self._new_parser()

    def _pump(self) -> None:
        while self.phase in (Phase.HEADERS, Phase.BODY) and not (
            self.phase is Phase.BODY and self.remaining is not None
        ):
            try:
                event = self.parser.next_event()
            except h11.RemoteProtocolError as error:
                self._refuse_protocol(error)
                return
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.Request):
                self._on_request(event)
            elif isinstance(event, h11.Data):
                self._on_data(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self.leftover = self.parser.trailing_data[0]
                self.parser = self._new_parser()
                self._on_complete()
            elif isinstance(event, h11.ConnectionClosed):
                self._close()
                return

    def _take_body(self, data: bytes) -> bytes:
        """Collect a Content-Length body; return what lies past it."""
        assert self.remaining is not None
        if len(data) > self.remaining:
            data, rest = data[: self.remaining], data[self.remaining :]
        else:
            rest = b""
        self.remaining -= len(data)
        self._on_data(data)
        if self.remaining == 0 and self.phase is Phase.BODY:
            self.leftover = rest
            self._on_complete()
            return b""
        return rest

    def _on_request(self, request: h11.Request) -> None:
        self.request = request
        # h11 bounds the header block only while it is incomplete; one that arrived whole
        # in a single read is measured here.
        size = len(request.target) + sum(len(name) + len(value) + 4 for name, value in request.headers)
        if size > self.limits.max_header_bytes:
            self._refuse(ApiError(ErrorKind.HEADERS_TOO_LARGE, {"limit": self.limits.max_header_bytes}))
            return
        if request.http_version not in (b"1.0", b"1.1"):
            self._refuse(ApiError(ErrorKind.MALFORMED_HTTP, {"reason": "only HTTP/1.0 and HTTP/1.1 are served"}))
            return
        if any(CONTROL_BYTES.search(value) for _, value in request.headers):
            self._refuse(ApiError(ErrorKind.MALFORMED_HTTP, {"reason": "a header value holds a control character"}))
            return
        self.phase = Phase.BODY
        self._arm(self.limits.body_timeout)
        self.correlation = _correlation_of(request.headers)
        self.keep_alive = _keep_alive(request)
        path = request.target.split(b"?", 1)[0]
        bulk = path.endswith(BULK_SUFFIX.encode()) and request.method == b"POST"
        self.body_limit = self.limits.max_bulk_body_bytes if bulk else self.limits.max_body_bytes
        chunked = any(name == b"transfer-encoding" for name, _ in request.headers)
        declared = None if chunked else _content_length(request.headers)
        if declared is not None and declared > self.body_limit:
            self._refuse_body(declared, bulk)
            return
        if bulk and self.limits.bulk_dir is not None:
            self.spool = tempfile.TemporaryFile(dir=self.limits.bulk_dir)
        self.remaining = None if chunked else (declared or 0)
        if self.remaining == 0:
            self.leftover = self.parser.trailing_data[0]
            self.parser = self._new_parser()
            self._on_complete()
            return
        if _expects_continue(request.headers):
            refusal = self.front.precheck(request) if self.front.precheck is not None else None
            if refusal is not None:
                self._refuse(refusal)  # before the body is sent, so the connection closes
                return
            # The declared size is within the limit: let the client send the body.
            self._write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _on_data(self, data: bytes) -> None:
        self.body_size += len(data)
        if self.body_size > self.body_limit:
            bulk = self.body_limit == self.limits.max_bulk_body_bytes
            self._refuse_body(self.body_size, bulk, over=True)
            return
        if self.spool is not None:
            self.spool.write(data)
        elif data:
            self.chunks.append(data)
            self.held += len(data)
            self.front.buffered += len(data)
            if self.front.buffered >= self.limits.max_buffered_bytes and self.phase is Phase.BODY and not self._leads():
                self._hold()

    def _leads(self) -> bool:
        """Whether no other reading connection holds more body bytes: the leader is never
        paused, so some body always completes and makes room (no deadlock)."""
        return all(
            other.held <= self.held
            for other in self.front.connections
            if other is not self and other.phase is Phase.BODY and other not in self.front.paused
        )

    def _hold(self) -> None:
        """Back-pressure: stop reading this body (and its timer) until the worker has room."""
        if self.transport is not None and self not in self.front.paused:
            self.transport.pause_reading()
            self._disarm()
            self.front.paused.append(self)

    def resume(self) -> None:
        if self.phase is Phase.BODY and self.transport is not None and not self.transport.is_closing():
            self._arm(self.limits.body_timeout)
            self.transport.resume_reading()

    def _on_complete(self) -> None:
        assert self.request is not None and self.transport is not None
        self._disarm()
        self.phase = Phase.APP
        self.transport.pause_reading()
        if self.spool is not None:
            self.spool.seek(0)
            body: IO[bytes] = self.spool
        else:
            body = io.BytesIO(b"".join(self.chunks))
        self.chunks = []
        try:
            environ = self._environ(self.request, body)
        except ApiError as error:
            self._refuse(error)
            return
        if self.front.executor is None:  # one app thread: the loop runs the app itself
            asyncio.get_running_loop().call_soon(self._run_inline, environ)
            return
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self.front.executor, run_wsgi, self.front.app, environ)
        future.add_done_callback(lambda done: self._answer(done.result(), environ))

    def _run_inline(self, environ: WSGIEnvironment) -> None:
        """Run the app on the loop. A store may leave acks (mock_server/acks.py) instead of
        waiting for its writes on the loop's thread: the answer then waits for them here,
        while the loop serves the other connections."""
        acks: list[Ack] = []
        environ[ACKS_KEY] = acks
        answer = run_wsgi(self.front.app, environ)
        waiter = self.front.acks
        if acks and not all(ack.settled for ack in acks):
            self._drop_body()  # the request's bytes are not needed while the answer waits
            waiter.wait(acks, lambda: self._answer(answer, environ))
            return
        self._answer(answer, environ)
        if waiter.waiting:
            waiter.check()  # the app may have settled others' acks (a journal query reads every reply)

    def _environ(self, request: h11.Request, body: IO[bytes]) -> WSGIEnvironment:
        target = request.target.decode("latin-1")
        if target.startswith(("http://", "https://")):  # absolute-form: keep the path
            rest = target.split("://", 1)[1]
            target = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
        if not target.startswith("/") and not (target == "*" and request.method == b"OPTIONS"):
            raise ApiError(ErrorKind.MALFORMED_HTTP, {"reason": "the request target must be a path"})
        path, _, query = target.partition("?")
        length = self.body_size
        environ: WSGIEnvironment = {
            "REQUEST_METHOD": request.method.decode("ascii"),
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query,
            "RAW_URI": target,
            "SERVER_PROTOCOL": "HTTP/" + request.http_version.decode("ascii"),
            "SERVER_NAME": self.local[0],
            "SERVER_PORT": str(self.local[1]),
            "REMOTE_ADDR": self.peer[0],
            "REMOTE_PORT": str(self.peer[1]),
            "CONTENT_LENGTH": str(length) if length or request.method in (b"POST", b"PUT", b"PATCH") else "",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": self.front.scheme,
            "wsgi.input": body,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": self.front.multithread,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            FRONT_KEY: True,
        }
        for name, value in request.headers:
            if b"_" in name:
                continue  # X_Forwarded vs X-Forwarded would share one environ key
            text = value.decode("latin-1")
            if name == b"content-type":
                environ["CONTENT_TYPE"] = text
                continue
            if name in FRAMING_HEADERS:
                continue
            key = "HTTP_" + name.decode("ascii").upper().replace("-", "_")
            environ[key] = environ[key] + "," + text if key in environ else text
        return environ

    # answers ---------------------------------------------------------------------------

    def _answer(self, answer: WsgiAnswer, environ: WSGIEnvironment) -> None:
        self._drop_body()
        if self.phase is Phase.CLOSED or self.transport is None or self.transport.is_closing():
            return
        delay = environ.get(DELAY_KEY)
        if delay:  # the app asked for a delay: wait on the loop, never in a worker thread
            self.pending = asyncio.get_running_loop().call_later(float(delay), self._send, answer, environ)
            return
        self._send(answer, environ)

    def _send(self, answer: WsgiAnswer, environ: WSGIEnvironment) -> None:
        self.pending = None
        if self.phase is Phase.CLOSED or self.transport is None or self.transport.is_closing():
            return
        fault = environ.get(SOCKET_FAULT_KEY)
        if isinstance(fault, SocketFault):
            self._carry_out(fault, answer, environ)
            return
        keep_alive = self._keeps_alive(answer)
        self._write(_serialise(answer, environ["REQUEST_METHOD"] == "HEAD", keep_alive))
        self._log_access(answer, environ)
        self._next_request(keep_alive)

    def _keeps_alive(self, answer: WsgiAnswer) -> bool:
        return self.keep_alive and not any(
            name.lower() == b"connection" and value.lower() == b"close" for name, value in answer.headers
        )

    def _next_request(self, keep_alive: bool) -> None:
        """The answer has gone: close, or wait for the next request on this connection."""
        assert self.transport is not None
        if not keep_alive:
            self.phase = Phase.CLOSED
            self.transport.close()
            return
        self.request = None
        self.body_size = 0
        self.remaining = None
        self.phase = Phase.IDLE
        self._arm(self.limits.idle_timeout)
        pending, self.leftover = self.leftover, b""
        self.transport.resume_reading()
        if pending:
            self._feed(pending)

    # injected faults (mock_server/faults.py) ---------------------------------------------

    def _carry_out(self, order: SocketFault, answer: WsgiAnswer, environ: WSGIEnvironment) -> None:
        """Misbehave as the app was asked to, instead of sending ``answer`` plainly."""
        assert self.transport is not None
        fault = order.fault
        log.info(
            '%s "%s %s" front: injected fault %s',
            self.peer[0],
            environ["REQUEST_METHOD"],
            environ["PATH_INFO"],
            fault.value,
        )
        head_request = environ["REQUEST_METHOD"] == "HEAD"
        if fault is Fault.RESET:
            self._reset()
        elif fault is Fault.EMPTY:
            self._close()
        elif fault is Fault.TRUNCATED:
            data = _serialise(answer, head_request, keep_alive=False)
            head = data.index(b"\r\n\r\n") + 4
            body = data[head:]
            self._write(data[:head] + body[: len(body) // 2])
            self._close()
        elif fault is Fault.HANG:
            self.hanging = True
            self.pending = asyncio.get_running_loop().call_later(order.duration_ms / 1000, self._close)
        else:  # SLOW
            keep_alive = self._keeps_alive(answer)
            data = _serialise(answer, head_request, keep_alive)
            head = data.index(b"\r\n\r\n") + 4
            self._write(data[:head])
            body = data[head:]
            pieces = max(1, min(SLOW_PIECES, len(body)))
            size = max(1, -(-len(body) // pieces))
            chunks = [body[start : start + size] for start in range(0, len(body), size)]
            self._log_access(answer, environ)
            self._dribble(chunks, order.duration_ms / 1000 / pieces, keep_alive)

    def _dribble(self, chunks: list[bytes], interval: float, keep_alive: bool) -> None:
        self.pending = None
        if self.phase is Phase.CLOSED or self.transport is None or self.transport.is_closing():
            return
        if not chunks:
            self._next_request(keep_alive)
            return
        self._write(chunks[0])
        self.pending = asyncio.get_running_loop().call_later(interval, self._dribble, chunks[1:], interval, keep_alive)

    def _reset(self) -> None:
        """Abort with SO_LINGER 0: the kernel sends a TCP RST instead of a FIN."""
        assert self.transport is not None
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_LINGER)
        self._drop_body()
        self.phase = Phase.CLOSED
        self.transport.abort()

    def _log_access(self, answer: WsgiAnswer, environ: WSGIEnvironment) -> None:
        if self.front.access is None:
            return
        sent = _Sent(
            status=str(answer.status),
            headers=[(name.decode("latin-1"), value.decode("latin-1")) for name, value in answer.headers],
            sent=len(answer.body),
        )
        self.front.access(sent, None, environ, timedelta(seconds=time.monotonic() - self.started))

    def _refuse_protocol(self, error: h11.RemoteProtocolError) -> None:
        if error.error_status_hint == 431:
            self._refuse(ApiError(ErrorKind.HEADERS_TOO_LARGE, {"limit": self.limits.max_header_bytes}))
        else:
            # h11's sentence without the bytes it quotes (a client's bytes are not echoed).
            reason = str(error).split(":", 1)[0].strip() or "unreadable request"
            self._refuse(ApiError(ErrorKind.MALFORMED_HTTP, {"reason": reason}))

    def _refuse_body(self, size: int, bulk: bool, over: bool = False) -> None:
        if bulk:
            self._refuse(ApiError(ErrorKind.BULK_TOO_LARGE, {"limit": self.limits.max_bulk_body_bytes}))
        else:
            shown: int | str = f"over {self.body_limit}" if over else size
            self._refuse(ApiError(ErrorKind.BODY_TOO_LARGE, {"size": shown, "limit": self.body_limit}))

    def _refuse(self, error: ApiError) -> None:
        """Answer with the error's JSON and close: the connection's framing is not trusted."""
        body = error.body_bytes()
        correlation = self.correlation or uuid.uuid4().hex
        head = (
            f"HTTP/1.1 {error.status} {_REASONS.get(error.status, 'Error')}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"{OPERATION_CORRELATION_HEADER}: {correlation}\r\n"
            "Connection: close\r\n\r\n"
        )
        self._write(head.encode("latin-1") + body)
        log.info('%s "-" %s front: %s', self.peer[0], error.status, error.kind.value)
        self._close()

    def _on_timeout(self) -> None:
        self.timer = None
        if self.phase in WAITING_FOR:
            seconds = {
                Phase.IDLE: self.limits.idle_timeout,
                Phase.HEADERS: self.limits.header_timeout,
                Phase.BODY: self.limits.body_timeout,
            }[self.phase]
            self._refuse(ApiError(ErrorKind.REQUEST_TIMEOUT, {"what": WAITING_FOR[self.phase], "seconds": seconds}))

    # plumbing ---------------------------------------------------------------------------

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self.timer = asyncio.get_running_loop().call_later(seconds, self._on_timeout)

    def _disarm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def _drop_body(self) -> None:
        self.chunks = []
        if self in self.front.paused:
            self.front.paused.remove(self)
        if self.held:
            held, self.held = self.held, 0
            self.front.release(held)
        if self.spool is not None:
            self.spool.close()
            self.spool = None

    def _close(self) -> None:
        self._disarm()
        self._drop_body()
        if self.phase is not Phase.APP:
            self.phase = Phase.CLOSED
        if self.transport is not None:
            self.transport.close()  # flushes what was written first

    def shutdown_if_idle(self) -> None:
        """On a graceful stop: close connections that wait for a request, or hang on purpose."""
        if (self.phase is Phase.IDLE or self.hanging) and self.transport is not None:
            self.transport.close()


def _serialise(answer: WsgiAnswer, head_request: bool, keep_alive: bool) -> bytes:
    """The status line, headers and body of an answer (framing set here, not by the app)."""
    bodiless = answer.status in (204, 304) or answer.status < 200
    lines = [b"HTTP/1.1 %d %s\r\n" % (answer.status, answer.reason or _REASONS.get(answer.status, "OK").encode())]
    length = b"%d" % len(answer.body)
    for name, value in answer.headers:
        lower = name.lower()
        if lower == b"content-length" and head_request:
            length = value  # what the same GET would send
        if lower in (b"connection", b"transfer-encoding", b"content-length"):
            continue
        lines.append(name + b": " + value + b"\r\n")
    if not bodiless:
        lines.append(b"Content-Length: " + length + b"\r\n")
    if not keep_alive:
        lines.append(b"Connection: close\r\n")
    lines.append(b"\r\n")
    if not bodiless and not head_request:
        lines.append(answer.body)
    return b"".join(lines)


def _keep_alive(request: h11.Request) -> bool:
    tokens = b",".join(value.lower() for name, value in request.headers if name == b"connection")
    options = {token.strip() for token in tokens.split(b",")}
    if request.http_version == b"1.0":
        return b"keep-alive" in options
    return b"close" not in options


def run_wsgi(app: WSGIApplication, environ: WSGIEnvironment) -> WsgiAnswer:
    """Call the WSGI app (in a pool thread) and collect its whole answer."""
    captured: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
    ) -> Callable[[bytes], None]:
        captured[:] = [(status, headers)]
        return lambda data: None  # the legacy write() callable: our app never uses it

    try:
        result = app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers = captured[0]
        code, _, reason = status.partition(" ")
        encoded = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
        return WsgiAnswer(int(code), reason.encode("latin-1"), encoded, body)
    except Exception:  # ERR-4: never a 5xx or a traceback to the client
        log.exception("the app failed on %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
        error = ApiError(ErrorKind.INTERNAL)
        body = error.body_bytes()
        return WsgiAnswer(
            error.status,
            b"Bad Request",
            [(b"Content-Type", b"application/json"), (b"Content-Length", str(len(body)).encode())],
            body,
        )


def _address(value: Any) -> tuple[str, int]:
    if isinstance(value, tuple) and len(value) >= 2:
        return str(value[0]), int(value[1])
    return ("127.0.0.1", 0)


def _content_length(headers: Sequence[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name == b"content-length":
            return int(value)  # h11 has checked it is one decimal number
    return None


def _expects_continue(headers: Sequence[tuple[bytes, bytes]]) -> bool:
    return any(name == b"expect" and value.lower() == b"100-continue" for name, value in headers)


def _correlation_of(headers: Sequence[tuple[bytes, bytes]]) -> str:
    """The client's correlation id when it is well-formed (1-128 visible ASCII), else ''."""
    for name, value in headers:
        if name == CORRELATION_HEADER and 1 <= len(value) <= 128 and all(33 <= byte <= 126 for byte in value):
            return value.decode("ascii")
    return ""


_REASONS = {
    200: "OK",
    400: "Bad Request",
    408: "Request Timeout",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
}
