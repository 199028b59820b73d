"""What a vendor bug may change, and the points where every vendor server lets it.

A bug is plain data: a name, the catalogue rules it breaks, and a few hooks. Each of the
three vendor servers calls the same hooks at the same moments of its own request handling
(before anything, at authentication, after parsing the form, after decoding each image, on
the 200 document, when encoding it, on the final reply), so one bug can run on any stack.
A hook that raises is a crash: each stack answers it the way its framework would (a text
traceback, werkzeug's HTML page, a generic JSON 500).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from PIL import Image

from .stacks import Stack


@dataclass(frozen=True)
class Incoming:
    """A request as the server received it (header names lower-case)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    #: 1-based count of requests this server instance has seen.
    number: int

    @property
    def correlation_id(self) -> str | None:
        return self.headers.get("x-correlation-id")


@dataclass(frozen=True)
class Reply:
    """A response about to be written."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def without_header(self, name: str) -> Reply:
        return replace(self, headers=tuple((k, v) for k, v in self.headers if k.lower() != name.lower()))

    def with_header(self, name: str, value: str) -> Reply:
        rest = self.without_header(name)
        return replace(rest, headers=(*rest.headers, (name, value)))


@dataclass(frozen=True)
class FormField:
    """One multipart part: a file part has a filename (possibly None when the sender gave none)."""

    name: str
    filename: str | None
    data: bytes
    is_file: bool


@dataclass(frozen=True)
class DecodedImage:
    field: str
    data: bytes
    filename: str | None
    #: Upright (EXIF orientation applied); ``image.format`` is the format of the bytes.
    image: Image.Image
    #: The EXIF orientation the bytes carried (1 = none).
    orientation: int = 1


class AuthFailure(enum.Enum):
    MISSING = "missing"
    MALFORMED = "malformed"
    EXPIRED = "expired"
    BAD_SIGNATURE = "bad_signature"


@dataclass(frozen=True)
class Answered:
    """A 200 document about to be encoded, with what the server knows about the request."""

    incoming: Incoming
    two_photo: bool
    doc: dict[str, Any]


def _no_front(incoming: Incoming) -> Reply | None:
    return None


def _no_bypass(authorization: str | None) -> bool:
    return False


def _same_auth_reply(failure: AuthFailure, reply: Reply) -> Reply:
    return reply


def _same_form(fields: tuple[FormField, ...]) -> tuple[FormField, ...]:
    return fields


def _image_ok(image: DecodedImage) -> None:
    return None


def _same_doc(answered: Answered) -> dict[str, Any]:
    return answered.doc


def _same_reply(incoming: Incoming, reply: Reply) -> Reply:
    return reply


@dataclass(frozen=True)
class Bug:
    """One realistic vendor bug. Defaults change nothing: ``Bug("x", (), "")`` conforms."""

    name: str
    #: Catalogue rules (DESIGN.md ids) the bug breaks; the first is the one it is about.
    rules: tuple[str, ...]
    what: str
    #: A gateway or pre-handler in front of the service: a Reply answers at once; may raise.
    front: Callable[[Incoming], Reply | None] = _no_front
    #: True lets the raw Authorization header through without verifying it.
    auth_bypass: Callable[[str | None], bool] = _no_bypass
    #: Whether an expired token is refused.
    verify_exp: bool = True
    #: Rewrites the server's own 401 answer.
    auth_reply: Callable[[AuthFailure, Reply], Reply] = _same_auth_reply
    #: Sees (and may rewrite, or crash on) the parsed form.
    form: Callable[[tuple[FormField, ...]], tuple[FormField, ...]] = _same_form
    #: The size window the server enforces, when the bug moves it.
    min_bytes: int | None = None
    max_bytes: int | None = None
    #: A decode error (truncated, corrupt) is ignored and the image used anyway.
    tolerate_decode_errors: bool = False
    #: Called with each decoded image; may raise.
    image: Callable[[DecodedImage], None] = _image_ok
    #: Rewrites the 200 document.
    doc: Callable[[Answered], dict[str, Any]] = _same_doc
    #: Encodes the 200 document instead of strict JSON.
    encode: Callable[[dict[str, Any]], bytes] | None = None
    #: Rewrites every final reply.
    reply: Callable[[Incoming, Reply], Reply] = _same_reply
    #: The vendor server the tests start it on (any stack can run any bug).
    runs_on: Stack = Stack.STDLIB


CONFORMING = Bug("conforming", (), "no bug")


def json_reply(status: int, body: bytes, incoming: Incoming, content_type: str = "application/json") -> Reply:
    """A reply that echoes the request's correlation id, for hooks that answer themselves."""
    headers: tuple[tuple[str, str], ...] = (("Content-Type", content_type),)
    if incoming.correlation_id is not None:
        headers += (("X-Correlation-ID", incoming.correlation_id),)
    return Reply(status, headers, body)
