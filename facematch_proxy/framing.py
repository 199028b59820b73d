"""HTTP/1.1 body framing on the proxy's two sides: the client's body read chunk by chunk
(Content-Length or chunked), and the windows in which it goes upstream.

Kept apart from the server so that the byte handling (where a proxy usually goes wrong)
is in one small place: bytes are passed on as read, never decoded or re-encoded.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from typing import Any

from facematch_contract.operation import MAX_IMAGE_BYTES

from .multipart import FormScanner

CHUNK = 64 * 1024
#: Request bytes gathered before a send upstream: a two-photo request goes in one or two.
SEND_WINDOW = 256 * 1024
#: A refused request's unread body is read (and dropped) up to this size, so the client
#: gets the answer; beyond it the connection is closed instead.
DRAIN_LIMIT = 2 * MAX_IMAGE_BYTES + 256 * 1024


class ClientGone(Exception):
    """The client stopped sending or closed its connection: nobody to answer."""


class BadFraming(Exception):
    """The client's body framing (Content-Length, chunks) cannot be followed."""


class BodyReader:
    """The client's request body, read chunk by chunk (Content-Length or chunked)."""

    def __init__(self, rfile: Any, length: int | None, chunked: bool) -> None:
        self.rfile = rfile
        self.remaining = length or 0
        self.chunked = chunked
        self.done = not chunked and not length
        self.read_bytes = 0

    def chunks(self) -> Iterator[bytes]:
        try:
            if self.chunked:
                yield from self._chunked()
            else:
                while self.remaining > 0:
                    data = self.rfile.read1(min(CHUNK, self.remaining))
                    if not data:
                        raise ClientGone("the client closed the connection inside the body")
                    self.remaining -= len(data)
                    self.read_bytes += len(data)
                    yield data
        except OSError as error:
            raise ClientGone(str(error)) from error
        self.done = True

    def _chunked(self) -> Iterator[bytes]:
        while True:
            line = self.rfile.readline(1024)
            if not line:
                raise ClientGone("the client closed the connection inside a chunked body")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError as error:
                raise BadFraming("a chunk size line is not hexadecimal") from error
            if size == 0:
                while True:  # trailers, up to the empty line
                    trailer = self.rfile.readline(8192)
                    if trailer in (b"\r\n", b"\n", b""):
                        return
            left = size
            while left > 0:
                data = self.rfile.read(min(CHUNK, left))
                if not data:
                    raise ClientGone("the client closed the connection inside a chunk")
                left -= len(data)
                self.read_bytes += len(data)
                yield data
            if self.rfile.readline(8) not in (b"\r\n", b"\n"):
                raise BadFraming("a chunk is not followed by CRLF")

    def drain(self) -> bool:
        """Read what is left (dropped); False when too much is left to be worth reading."""
        if self.done:
            return True
        if not self.chunked and self.remaining > DRAIN_LIMIT:
            return False
        try:
            for _ in self.chunks():
                if self.read_bytes > DRAIN_LIMIT:
                    return False
        except (ClientGone, BadFraming):
            return False
        return True


def window_of(chunks: Iterator[bytes], scanner: FormScanner | None) -> bytes:
    """The next :data:`SEND_WINDOW` bytes of the body (fewer at its end; b"" once it is over)."""
    window: list[bytes] = []
    size = 0
    for chunk in chunks:
        if scanner is not None:
            scanner.feed(chunk)
        window.append(chunk)
        size += len(chunk)
        if size >= SEND_WINDOW:
            break
    return b"".join(window)


def decoded(data: bytes, content_encoding: str | None) -> bytes | None:
    """The body as the rules must read it: undone ``gzip``/``deflate`` content coding (the
    client still gets the bytes as sent); None for a coding the standard library cannot undo."""
    body = data
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
    try:
        for coding in reversed(codings):  # the last coding listed was applied last
            if coding in ("gzip", "x-gzip"):
                body = gzip.decompress(body)
            elif coding == "deflate":
                try:
                    body = zlib.decompress(body)
                except zlib.error:
                    body = zlib.decompress(body, -zlib.MAX_WBITS)  # raw deflate, as some servers send
            elif coding != "identity":
                return None
    except (OSError, EOFError, zlib.error):
        return data  # not what it claims: judge the bytes as they are (ERR-4 will say so)
    return body


def framed(data: bytes, chunked: bool) -> bytes:
    """``data`` as one chunk of a chunked body (empty data ends the body), or as it is."""
    if not chunked:
        return data
    return b"%x\r\n%s\r\n" % (len(data), data) if data else b"0\r\n\r\n"
