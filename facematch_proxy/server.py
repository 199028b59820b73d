"""The proxy's HTTP server: one thread per client connection, bytes passed through as they come.

Standard library only (``http.server`` + ``http.client``): the proxy must not touch the
bytes, so it does no parsing beyond HTTP framing, and a thread per connection is plenty
for forwarding, which mostly waits on sockets. The request body goes upstream chunk by
chunk as it is read (and past the multipart scanner); answers of other paths come back
the same way. An answer of the operation is held (up to :data:`HOLD_LIMIT`) so that it can
be judged before its headers are sent: the verdict is a header. Its body is never changed.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from facematch_contract.operation import CORRELATION_HEADER, OPERATION_PATH, VIOLATION_HEADER
from facematch_contract.rules import Exchange, evaluate

from .fates import IMAGE_FIELDS, infer_fate
from .framing import CHUNK, BadFraming, BodyReader, ClientGone, decoded, framed, window_of
from .multipart import FormScanner, boundary_of
from .recorder import Recorder
from .reports import render_json
from .tally import Tally, Unjudged
from .upstream import HOP_BY_HOP, Failure, Upstream, classify, is_dropped

log = logging.getLogger("facematch.proxy")

#: The largest answer of the operation held to be judged; a larger one is passed on unjudged.
HOLD_LIMIT = 1024 * 1024
REPORT_PATH = "/__proxy/report"
#: Seconds a client connection may stay silent (between requests, or inside a body).
CLIENT_TIMEOUT = 120


@dataclass
class ProxyState:
    upstream: Upstream
    tally: Tally
    recorder: Recorder | None = None
    quiet: bool = False


class ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    #: socketserver's default backlog is 5: a burst of clients connecting at once would be reset.
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], state: ProxyState) -> None:
        self.state = state
        #: Set when the proxy is told to stop: kept-alive connections are closed after their answer.
        self.stopping = threading.Event()
        self._busy = 0
        self._idle = threading.Condition()
        super().__init__(address, ProxyHandler)

    @property
    def url(self) -> str:
        host, port = self.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def begin(self) -> None:
        with self._idle:
            self._busy += 1

    def end(self) -> None:
        with self._idle:
            self._busy -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is in flight (after :meth:`shutdown`), at most ``timeout`` s."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)


class ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ProxyServer
    timeout = CLIENT_TIMEOUT

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._upstream_conn: http.client.HTTPConnection | None = None

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            if self._upstream_conn is not None:
                self._upstream_conn.close()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        if not self.server.state.quiet:
            log.info("%s %s", self.address_string(), format % args)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The base class's refusals (a malformed request line, headers too long): JSON, not HTML."""
        self.close_connection = True
        text = message or http.client.responses.get(code, "bad request")
        self._own(code, json.dumps({"msg": f"the proxy cannot read this request: {text}"}).encode())

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):  # every method goes upstream
            return self.handle_one
        raise AttributeError(name)

    def handle_one(self) -> None:
        self.server.begin()
        try:
            self._handle()
        except (ClientGone, ConnectionError):  # upstream errors are handled where they happen: this is the client
            self.close_connection = True
        finally:
            if self.server.stopping.is_set():
                self.close_connection = True
            self.server.end()

    # --- one request -------------------------------------------------------------------

    def _handle(self) -> None:
        state = self.server.state
        started = time.perf_counter()
        target = urlsplit(self.path)
        if not self.path.startswith("/"):
            self._own(400, b'{"msg": "the proxy takes origin-form request targets (a path), not absolute URLs"}')
            return
        if self.command == "GET" and target.path == REPORT_PATH:
            self._own(200, _json(state.tally))
            return
        transfer = (self.headers.get("Transfer-Encoding") or "").lower()
        chunked = "chunked" in transfer
        length: int | None = None
        if not chunked and self.headers.get("Content-Length") is not None:
            try:
                length = int(self.headers["Content-Length"])
                if length < 0:
                    raise ValueError
            except ValueError:
                self.close_connection = True
                self._own(400, b'{"msg": "Content-Length is not a non-negative number"}')
                return
        body = BodyReader(self.rfile, length, chunked)
        judged = self.command == "POST" and target.path.rstrip("/").endswith(OPERATION_PATH)
        content_type = self.headers.get("Content-Type")
        boundary = boundary_of(content_type) if judged else None
        keep = frozenset(IMAGE_FIELDS) if state.recorder is not None and state.recorder.with_images else frozenset()
        scanner = FormScanner(boundary, keep) if boundary is not None else None

        try:
            response, failure = self._exchange(body, chunked, length, scanner)
        except BadFraming as error:
            self.close_connection = True
            self._own(400, json.dumps({"msg": f"the request body's framing cannot be followed: {error}"}).encode())
            return
        if failure is not None:
            state.tally.count_failure(failure.kind)
            if not body.drain():
                self.close_connection = True
            self._own(failure.status, failure.body())
            self._log(started, failure.status, f"upstream failure: {failure.kind.value}")
            return
        assert response is not None
        state.tally.count_forwarded()
        if not body.done:
            # The upstream answered before reading everything (e.g. a body over its limit).
            self.close_connection = True
        kept = _kept_headers(response.getheaders())
        if not judged:
            self._stream_or_close(response, kept, started, "")
            return
        try:
            # A known length within the limit is read as it is (no HOLD_LIMIT-sized buffer).
            held = (
                response.read()
                if response.length is not None and response.length <= HOLD_LIMIT
                else response.read(HOLD_LIMIT + 1)
            )
        except (OSError, http.client.HTTPException) as error:
            failure = classify(error, state.upstream)
            self._drop_connection()
            state.tally.count_failure(failure.kind)
            self._own(failure.status, failure.body())
            self._log(started, failure.status, f"upstream failure while answering: {failure.kind.value}")
            return
        if len(held) > HOLD_LIMIT:
            state.tally.count_unjudged(Unjudged.TOO_LARGE)
            self._stream_or_close(response, kept, started, "not judged: answer over the hold limit", first=held)
            return
        form = scanner.finish() if scanner is not None else None
        kept = [(n, v) for n, v in kept if n.lower() not in ("content-length", VIOLATION_HEADER.lower())]
        readable = decoded(held, response.getheader("Content-Encoding"))
        if readable is None:
            state.tally.count_unjudged(Unjudged.UNKNOWN_CODING)
            kept.append(("Content-Length", str(len(held))))
            self._write(response.status, response.reason, kept, held if self.command != "HEAD" else b"")
            self._log(started, response.status, "not judged: unknown content encoding")
            return
        exchange = Exchange(
            method=self.command,
            url=state.upstream.url + self.path,
            request_headers=reportable_headers(self.headers.items()),
            parts=tuple(p.part for p in form.parts) if form else (),
            sent_image2=form is not None and form.find("image2") is not None,
            sent_correlation_id=self.headers.get(CORRELATION_HEADER),
            status=response.status,
            response_headers=dict(kept),
            body=readable,
            fate=infer_fate(self.headers.get("Authorization"), boundary is not None, form, response.status),
            raw_content_type=None if boundary is not None else content_type,
        )
        verdicts = evaluate(exchange)
        state.tally.add(exchange, verdicts)
        broken = [v.rule for v in verdicts if v.failures]
        if broken:
            kept.append((VIOLATION_HEADER, ",".join(broken)))
        kept.append(("Content-Length", str(len(held))))
        self._write(response.status, response.reason, kept, held if self.command != "HEAD" else b"")
        self._log(started, response.status, "violations " + ",".join(broken) if broken else "conforms")
        if state.recorder is not None:
            state.recorder.record(self.command, target.path, form, response.status, kept, held)

    def _exchange(
        self, body: BodyReader, chunked: bool, length: int | None, scanner: FormScanner | None
    ) -> tuple[http.client.HTTPResponse | None, Failure | None]:
        """Send the request upstream while reading it; the upstream's response or a failure.

        The body goes on in windows of up to :data:`SEND_WINDOW` bytes (the first one with
        the headers): streamed, but without waking the upstream for every socket read.
        """
        upstream = self.server.state.upstream
        chunks = body.chunks()
        try:
            window = window_of(chunks, scanner)
        except (BadFraming, ClientGone):
            self._drop_connection()
            raise
        conn = self._connection()
        try:
            if conn.sock is None:
                _connect_without_delay(conn)
            conn.putrequest(self.command, upstream.base_path + self.path, skip_host=True, skip_accept_encoding=True)
            named = _connection_tokens(self.headers.get_all("Connection") or [])
            for name, value in self.headers.items():
                lowered = name.lower()
                if lowered in HOP_BY_HOP or lowered in named or lowered in ("host", "content-length", "expect"):
                    continue
                conn.putheader(name, value)
            conn.putheader("Host", upstream.host_header)
            if chunked:
                conn.putheader("Transfer-Encoding", "chunked")
            elif length is not None:
                conn.putheader("Content-Length", str(length))
            conn.endheaders(framed(window, chunked) or None)
        except (OSError, http.client.HTTPException) as error:
            self._drop_connection()
            return None, classify(error, upstream)
        try:
            while window:
                window = window_of(chunks, scanner)
                try:
                    conn.send(framed(window, chunked))
                except OSError:
                    break  # the upstream stopped reading; its answer may be waiting
        except (BadFraming, ClientGone):
            self._drop_connection()
            raise
        try:
            return conn.getresponse(), None
        except (OSError, http.client.HTTPException) as error:
            self._drop_connection()
            return None, classify(error, upstream)

    def _connection(self) -> http.client.HTTPConnection:
        conn = self._upstream_conn
        if conn is not None and is_dropped(conn):
            conn.close()
            conn = None
        if conn is None:
            conn = self._upstream_conn = self.server.state.upstream.connect()
        return conn

    def _drop_connection(self) -> None:
        if self._upstream_conn is not None:
            self._upstream_conn.close()
            self._upstream_conn = None

    # --- answers -----------------------------------------------------------------------

    def _write(self, status: int, reason: str, headers: list[tuple[str, str]], data: bytes = b"") -> None:
        """The status line, the headers and the first body bytes in one write (one wake-up
        of the client, and no small trailing segment for Nagle to hold back)."""
        if self.close_connection and not any(n.lower() == "connection" for n, _ in headers):
            headers = [*headers, ("Connection", "close")]
        head = "".join(
            [
                f"{self.protocol_version} {status} {reason}\r\n",
                *(f"{name}: {value}\r\n" for name, value in headers),
                "\r\n",
            ]
        )
        self.wfile.write(head.encode("latin-1", "replace") + data)

    def _stream_or_close(
        self,
        response: http.client.HTTPResponse,
        headers: list[tuple[str, str]],
        started: float,
        note: str,
        first: bytes = b"",
    ) -> None:
        """:meth:`_stream`; when either side fails once the head is sent, all that is left is
        to close the client's connection (its answer is cut short, never made up)."""
        try:
            self._stream(response, headers, first)
        except (OSError, http.client.HTTPException) as error:
            self._drop_connection()
            self.close_connection = True
            self._log(started, response.status, f"cut short: {type(error).__name__}")
            return
        self._log(started, response.status, note)

    def _stream(self, response: http.client.HTTPResponse, headers: list[tuple[str, str]], first: bytes = b"") -> None:
        """Pass an answer on as it arrives (its Content-Length kept, else re-chunked)."""
        bodiless = self.command == "HEAD" or response.status in (204, 304) or 100 <= response.status < 200
        has_length = any(n.lower() == "content-length" for n, _ in headers)
        rechunk = not bodiless and not has_length and self.request_version == "HTTP/1.1"
        if not bodiless and not has_length and not rechunk:
            self.close_connection = True
        if rechunk:
            headers = [*headers, ("Transfer-Encoding", "chunked")]
        if bodiless:
            response.read()
            self._write(response.status, response.reason, headers)
            return
        data = first or response.read1(CHUNK)
        self._write(response.status, response.reason, headers, framed(data, rechunk) if data else b"")
        while data:
            data = response.read1(CHUNK)
            if data:
                self.wfile.write(framed(data, rechunk))
        if rechunk:
            self.wfile.write(b"0\r\n\r\n")

    def _own(self, status: int, body: bytes) -> None:
        """An answer of the proxy itself (its report, or a failure): JSON, correlation id echoed."""
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        headers_in = getattr(self, "headers", None)
        correlation = headers_in.get(CORRELATION_HEADER) if headers_in is not None else None
        if correlation:
            headers.append((CORRELATION_HEADER, correlation))
        reason = http.client.responses.get(status, "")
        self._write(status, reason, headers, body if getattr(self, "command", None) != "HEAD" else b"")

    def _log(self, started: float, status: int, note: str) -> None:
        if self.server.state.quiet:
            return
        millis = (time.perf_counter() - started) * 1000
        # The request line and status only: never headers (Authorization) or bodies.
        log.info(
            '%s "%s %s" %s %.1fms %s',
            self.client_address[0],
            self.command,
            urlsplit(self.path).path,
            status,
            millis,
            note,
        )


def _kept_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    named = _connection_tokens([v for n, v in headers if n.lower() == "connection"])
    return [(n, v) for n, v in headers if n.lower() not in HOP_BY_HOP and n.lower() not in named]


#: Words in a header name that mark a credential (API keys, session cookies, tokens).
SECRET_WORDS = ("cookie", "key", "secret", "token", "session", "password", "signature")


def reportable_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The request headers a report's curl line may show: ``Authorization`` is kept for the
    validator's curl line (which writes it as ``$TOKEN``), other credentials become a
    ``$NAME`` placeholder."""
    shown = {}
    for name, value in headers:
        lowered = name.lower()
        if lowered != "authorization" and (lowered == "proxy-authorization" or any(w in lowered for w in SECRET_WORDS)):
            value = "$" + "".join(ch if ch.isalnum() else "_" for ch in name.upper())
        shown[name] = value
    return shown


def _connect_without_delay(conn: http.client.HTTPConnection) -> None:
    """Open ``conn`` with Nagle's algorithm off: the proxy already sends in whole windows."""
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _connection_tokens(values: list[str]) -> frozenset[str]:
    """Header names listed in Connection (they are hop-by-hop too)."""
    return frozenset(token.strip().lower() for value in values for token in value.split(",") if token.strip())


def _json(tally: Tally) -> bytes:
    return render_json(tally).encode()


def serve(server: ProxyServer) -> threading.Thread:
    """Serve in a background thread (the main thread stays free for signals)."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="proxy", daemon=True)
    thread.start()
    return thread
