"""A multipart/form-data scanner fed the bytes the proxy forwards, chunk by chunk.

The rules need to know what was sent (part names, file names, sizes, whether image2 was
there) and a cassette needs the images' SHA-256; none of that needs the bytes kept. The
scanner looks at each chunk once on its way upstream, counts and hashes part bodies and
lets the chunk go. Only the short text fields (``unique_id``) are kept, for the curl line,
and image bytes only when a recorder asks for them (``keep``).

It never refuses anything: a body it cannot follow is forwarded all the same and reported
as ``complete=False`` (the upstream's 422 is then the answer the rules judge).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from email.message import Message
from enum import Enum
from functools import lru_cache

from facematch_contract.rules import Part

#: Longest part header block followed; longer means "not a form we can follow".
MAX_PART_HEADERS = 16 * 1024
#: Text fields up to this size are kept for the curl line.
MAX_KEPT_TEXT = 256


class _State(Enum):
    PREAMBLE = "preamble"
    HEADERS = "headers"
    BODY = "body"
    AFTER_DELIMITER = "after_delimiter"
    DONE = "done"
    LOST = "lost"


@dataclass(frozen=True)
class ScannedPart:
    part: Part
    sha256: str
    data: bytes | None = None


@dataclass(frozen=True)
class ScannedForm:
    parts: tuple[ScannedPart, ...]
    #: The closing delimiter was seen and every part was well framed.
    complete: bool

    def find(self, name: str) -> ScannedPart | None:
        return next((p for p in self.parts if p.part.name == name), None)


@lru_cache(maxsize=256)
def boundary_of(content_type: str | None) -> bytes | None:
    """The boundary of a multipart/form-data Content-Type, or None.

    Remembered per distinct value: a client sends the same few over and over (the
    standard library's header parser costs more than scanning a 100 KB part)."""
    if not content_type:
        return None
    message = Message()
    message["content-type"] = content_type
    if message.get_content_type() != "multipart/form-data":
        return None
    boundary = message.get_param("boundary")
    if not isinstance(boundary, str) or not 0 < len(boundary) <= 200:
        return None
    try:
        return boundary.encode("ascii")
    except UnicodeEncodeError:
        return None


@lru_cache(maxsize=512)
def part_headers(block: bytes) -> tuple[str, str | None, str | None] | None:
    """(name, filename, content type) of a part's header block, or None when it has no name.

    Remembered per distinct block, like :func:`boundary_of`; the block is a few short lines
    that name the part and its file, never any of the part's bytes."""
    message = Message()
    for line in block.decode("utf-8", "replace").split("\r\n"):
        key, sep, value = line.partition(":")
        if not sep:
            return None
        message[key.strip()] = value.strip()
    name = message.get_param("name", header="content-disposition")
    if not isinstance(name, str):
        return None
    filename = message.get_param("filename", header="content-disposition")
    return name, filename if isinstance(filename, str) else None, message.get("content-type")


class FormScanner:
    def __init__(self, boundary: bytes, keep: frozenset[str] = frozenset()) -> None:
        self.delimiter = b"\r\n--" + boundary
        self.keep = keep
        # The first delimiter has no CRLF before it: pretend there was one.
        self.buf = b"\r\n"
        self.state = _State.PREAMBLE
        self.parts: list[ScannedPart] = []
        self._name = ""
        self._filename: str | None = None
        self._content_type: str | None = None
        self._size = 0
        self._hash = hashlib.sha256()
        self._kept: list[bytes] | None = None

    def feed(self, chunk: bytes) -> None:
        if self.state in (_State.DONE, _State.LOST):
            return
        self.buf += chunk
        while self._step():
            pass

    def finish(self) -> ScannedForm:
        complete = self.state is _State.DONE
        if self.state is _State.BODY:
            self._body(self.buf)
            self.buf = b""
            self._close_part()
        return ScannedForm(tuple(self.parts), complete)

    def _step(self) -> bool:
        """Consume what the buffer allows; True when another step may make progress."""
        if self.state is _State.PREAMBLE:
            at = self.buf.find(self.delimiter)
            if at < 0:
                self.buf = self.buf[-len(self.delimiter) :]
                return False
            self.buf = self.buf[at + len(self.delimiter) :]
            self.state = _State.AFTER_DELIMITER
            return True
        if self.state is _State.AFTER_DELIMITER:
            if len(self.buf) < 2:
                return False
            if self.buf.startswith(b"--"):
                self.state = _State.DONE
                self.buf = b""
                return False
            end = self.buf.find(b"\r\n")
            if end < 0:
                if len(self.buf) > 256:
                    self.state = _State.LOST
                return False
            if self.buf[:end].strip(b" \t"):
                self.state = _State.LOST
                return False
            self.buf = self.buf[end + 2 :]
            self.state = _State.HEADERS
            return True
        if self.state is _State.HEADERS:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > MAX_PART_HEADERS:
                    self.state = _State.LOST
                return False
            if not self._open_part(self.buf[:end]):
                self.state = _State.LOST
                return False
            self.buf = self.buf[end + 4 :]
            self.state = _State.BODY
            return True
        if self.state is _State.BODY:
            at = self.buf.find(self.delimiter)
            if at < 0:
                # Keep a tail that may be the start of a delimiter split across chunks.
                cut = len(self.buf) - len(self.delimiter) + 1
                if cut > 0:
                    self._body(self.buf[:cut])
                    self.buf = self.buf[cut:]
                return False
            self._body(self.buf[:at])
            self._close_part()
            self.buf = self.buf[at + len(self.delimiter) :]
            self.state = _State.AFTER_DELIMITER
            return True
        return False

    def _open_part(self, block: bytes) -> bool:
        headers = part_headers(block)
        if headers is None:
            return False
        name, self._filename, self._content_type = headers
        self._name = name
        self._size = 0
        self._hash = hashlib.sha256()
        keep_text = self._filename is None
        self._kept = [] if (name in self.keep or keep_text) else None
        return True

    def _body(self, data: bytes) -> None:
        if not data:
            return
        self._size += len(data)
        self._hash.update(data)
        if self._kept is not None:
            if self._filename is None and self._name not in self.keep and self._size > MAX_KEPT_TEXT:
                self._kept = None
            else:
                self._kept.append(data)

    def _close_part(self) -> None:
        kept = b"".join(self._kept) if self._kept is not None else None
        value = None
        if self._filename is None and kept is not None and len(kept) <= MAX_KEPT_TEXT:
            value = kept.decode("utf-8", "replace")
        part = Part(self._name, self._filename, self._size, self._content_type, value)
        self.parts.append(ScannedPart(part, self._hash.hexdigest(), kept if self._name in self.keep else None))
        self._kept = None
