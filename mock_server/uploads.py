"""A streaming multipart/form-data reader with limits enforced while reading.

The body is read in chunks straight from the WSGI input. Each part is kept in memory only
up to its limit (images: the contract's maximum image size; text fields: a small cap);
past that the part is marked as overflowing and the rest of its bytes are counted and
dropped, never stored. Nothing is spooled to disk (Werkzeug's form parser would spool large
files to temporary files, which we must not do with biometric photos).

A part's bytes are written once into a growing in-memory buffer whose final value is handed
out without another copy, so a 9.5 MB image costs about 9.5 MB (plus one read chunk), not
the list of chunks plus their join.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import IO

from werkzeug.http import parse_options_header

from .errors import ApiError, ErrorKind

CHUNK = 256 * 1024
#: One part's header block, in bytes, however it arrives (in the first read or later).
MAX_HEADER_BLOCK = 16 * 1024
TEXT_FIELD_LIMIT = 64 * 1024
#: Parts one body may have: the form has three fields; more is never the operation.
MAX_PARTS = 16
#: Characters of a part's file name (the journal keeps it).
MAX_FILENAME = 255
#: Characters of a part's Content-Type line.
MAX_PART_TYPE = 255


@dataclass
class Part:
    name: str
    filename: str | None
    content_type: str | None
    size: int = 0  # every byte seen, stored or not
    overflow: bool = False  # more than the limit arrived; ``data`` is then empty
    _buffer: io.BytesIO = field(default_factory=io.BytesIO, repr=False)

    @property
    def data(self) -> bytes:
        # BytesIO.getvalue() returns its internal bytes object (no copy) once writing stops.
        return self._buffer.getvalue()

    def _feed(self, chunk: bytes | memoryview, limit: int) -> None:
        self.size += len(chunk)
        if self.overflow:
            return
        if self.size > limit:
            self.overflow = True
            self._buffer = io.BytesIO()
            return
        if chunk:
            self._buffer.write(chunk)

    def text(self) -> str:
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(ErrorKind.INVALID_FIELD, {"field": self.name, "reason": "not UTF-8 text"}) from None


def _options(value: str) -> tuple[str, dict[str, str]]:
    """Werkzeug's header parameter parser. Not memoised: the values are the client's
    strings (a cache keyed by them kept 200 KB file names alive in every worker)."""
    return parse_options_header(value)


def boundary_of(content_type: str | None) -> bytes:
    """The multipart boundary, or a 422 when the body is not multipart/form-data."""
    mimetype, options = _options(content_type or "")
    if mimetype.lower() != "multipart/form-data":  # media types are case-insensitive
        raise ApiError(ErrorKind.NOT_MULTIPART)
    boundary = options.get("boundary", "")
    if not boundary or len(boundary) > 200:
        raise ApiError(ErrorKind.MALFORMED_MULTIPART)
    try:
        return boundary.encode("ascii")
    except UnicodeEncodeError:
        raise ApiError(ErrorKind.MALFORMED_MULTIPART) from None


class _Reader:
    """Pulls bytes from the stream into a buffer, counting against the body limit."""

    def __init__(self, stream: IO[bytes], max_body: int) -> None:
        self.stream = stream
        self.max_body = max_body
        self.total = 0
        self.buf = b""
        self.eof = False

    def more(self) -> bool:
        if self.eof:
            return False
        chunk = self.stream.read(CHUNK)
        if not chunk:
            self.eof = True
            return False
        self.total += len(chunk)
        if self.total > self.max_body:
            raise ApiError(ErrorKind.BODY_TOO_LARGE, {"size": f"over {self.max_body}", "limit": self.max_body})
        self.buf = self.buf + chunk if self.buf else chunk
        return True


def read_form(
    stream: IO[bytes],
    content_type: str | None,
    *,
    binary_fields: frozenset[str],
    image_limit: int,
    max_body: int,
) -> list[Part]:
    """Parse the whole multipart body into parts (in order), enforcing the limits."""
    boundary = boundary_of(content_type)
    reader = _Reader(stream, max_body)
    first = b"--" + boundary
    delimiter = b"\r\n--" + boundary
    parts: list[Part] = []

    # Preamble: everything before the first boundary line is ignored.
    while True:
        index = reader.buf.find(first)
        if index >= 0 and (index == 0 or reader.buf[index - 2 : index] == b"\r\n"):
            reader.buf = reader.buf[index + len(first) :]
            break
        if len(reader.buf) > MAX_HEADER_BLOCK or not reader.more():
            raise ApiError(ErrorKind.MALFORMED_MULTIPART)

    while True:
        # After a boundary: "--" ends the body, CRLF starts a part.
        while len(reader.buf) < 2 and reader.more():
            pass
        if reader.buf[:2] == b"--":
            _drain(reader)
            return parts
        # Tolerate transport padding (spaces/tabs) before the CRLF.
        while True:
            end_of_line = reader.buf.find(b"\r\n")
            if end_of_line >= 0:
                break
            if len(reader.buf) > MAX_HEADER_BLOCK or not reader.more():
                raise ApiError(ErrorKind.MALFORMED_MULTIPART)
        if reader.buf[:end_of_line].strip(b" \t"):
            raise ApiError(ErrorKind.MALFORMED_MULTIPART)
        reader.buf = reader.buf[end_of_line + 2 :]

        if len(parts) >= MAX_PARTS:
            raise ApiError(ErrorKind.TOO_MANY_PARTS, {"limit": MAX_PARTS})
        part = _read_headers(reader)
        limit = image_limit if part.name in binary_fields else TEXT_FIELD_LIMIT
        _read_body(reader, part, delimiter, limit)
        parts.append(part)


def _read_headers(reader: _Reader) -> Part:
    while True:
        end = reader.buf.find(b"\r\n\r\n")
        if end >= 0:
            break
        if reader.buf.startswith(b"\r\n"):  # a part with no headers at all
            raise ApiError(ErrorKind.MALFORMED_MULTIPART)
        if len(reader.buf) > MAX_HEADER_BLOCK:
            raise ApiError(ErrorKind.PART_HEADERS_TOO_LARGE, {"limit": MAX_HEADER_BLOCK})
        if not reader.more():
            raise ApiError(ErrorKind.MALFORMED_MULTIPART)
    if end > MAX_HEADER_BLOCK:  # the whole block may have come in one read
        raise ApiError(ErrorKind.PART_HEADERS_TOO_LARGE, {"limit": MAX_HEADER_BLOCK})
    block = reader.buf[:end].decode("utf-8", "replace")
    reader.buf = reader.buf[end + 4 :]
    headers: dict[str, str] = {}
    for line in block.split("\r\n"):
        key, sep, value = line.partition(":")
        if not sep:
            raise ApiError(ErrorKind.MALFORMED_MULTIPART)
        headers[key.strip().lower()] = value.strip()
    disposition, options = _options(headers.get("content-disposition", ""))
    name = options.get("name")
    if disposition.lower() != "form-data" or name is None:
        raise ApiError(ErrorKind.MALFORMED_MULTIPART)
    filename = options.get("filename")
    if filename is not None and len(filename) > MAX_FILENAME:
        raise ApiError(
            ErrorKind.INVALID_FIELD, {"field": name[:64], "reason": f"file name over {MAX_FILENAME} characters"}
        )
    content_type = headers.get("content-type")
    if content_type is not None and len(content_type) > MAX_PART_TYPE:
        raise ApiError(
            ErrorKind.INVALID_FIELD, {"field": name[:64], "reason": f"part type over {MAX_PART_TYPE} characters"}
        )
    return Part(name=name, filename=filename, content_type=content_type)


def _read_body(reader: _Reader, part: Part, delimiter: bytes, limit: int) -> None:
    keep = len(delimiter) - 1  # a delimiter may straddle two chunks
    start = 0
    while True:
        index = reader.buf.find(delimiter, start)
        if index >= 0:
            part._feed(memoryview(reader.buf)[:index], limit)
            reader.buf = reader.buf[index + len(delimiter) :]
            return
        if len(reader.buf) > keep:
            cut = len(reader.buf) - keep
            part._feed(memoryview(reader.buf)[:cut], limit)
            reader.buf = reader.buf[cut:]
        if not reader.more():
            raise ApiError(ErrorKind.MALFORMED_MULTIPART)
        start = 0


def _drain(reader: _Reader) -> None:
    """Read (and drop) the epilogue so the connection can be reused."""
    reader.buf = b""
    while reader.more():
        reader.buf = b""
