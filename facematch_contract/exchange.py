"""One request to the operation and the answer it got, as every checker sees it.

The kit, the proxy and the mock's strict mode each build an :class:`Exchange` from what
they sent or saw (part sizes, never image bytes; the token only as a placeholder in the
curl line), and the rule validator judges it. A request's *fate* - what the contract fixes
for it - is a :class:`FateName`, so a misspelt fate is refused where it is written instead
of leaving the status unjudged.
"""

from __future__ import annotations

import enum
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from .operation import MAX_IMAGE_BYTES


class FateName(enum.StrEnum):
    """Kinds of request whose answer the contract fixes (the kit labels what it sends)."""

    USABLE = "usable"
    EMPTY_IMAGE = "empty_image"
    TINY_IMAGE = "tiny_image"
    HUGE_IMAGE = "huge_image"
    NOT_IMAGE = "not_image"
    TRUNCATED_IMAGE = "truncated_image"
    MISSING_TOKEN = "missing_token"
    MALFORMED_TOKEN = "malformed_token"
    EXPIRED_TOKEN = "expired_token"
    BAD_SIGNATURE = "bad_signature"
    MISSING_IMAGE1 = "missing_image1"
    NOT_MULTIPART = "not_multipart"


#: The size window's far edges (about 1 KB - 10 MB upstream): only an image part clearly
#: outside the window has a fixed fate; sizes near an edge are never judged.
CLEARLY_SMALL = 700
CLEARLY_LARGE = MAX_IMAGE_BYTES + MAX_IMAGE_BYTES // 20


def size_fate(size: int) -> FateName:
    """The fate the contract fixes for an image part of ``size`` bytes (usable = not fixed)."""
    if size == 0:
        return FateName.EMPTY_IMAGE
    if size < CLEARLY_SMALL:
        return FateName.TINY_IMAGE
    if size > CLEARLY_LARGE:
        return FateName.HUGE_IMAGE
    return FateName.USABLE


@dataclass(frozen=True)
class Part:
    """A summary of one multipart part: never its bytes."""

    name: str
    filename: str | None
    size: int
    content_type: str | None = None
    #: The text of a small non-file field (e.g. ``unique_id``), for the curl line.
    value: str | None = None


@dataclass(frozen=True)
class Fate:
    """What the contract fixes for a kind of request: the rule that owns it and its statuses.

    ``statuses`` empty means "a usable request": 200, or 400 when the image cannot be used.
    Where the upstream description allows more than one answer, every allowed status is
    listed: a request with no ``image1`` part, or not multipart at all, may be refused with
    the 422 body or as an "empty image1" 400 (upstream lists 400 for "Empty image1" and
    gives the 422 body without saying when); the mock's own choice, 422, is judged only in
    the kit's ``golden`` profile.
    """

    name: FateName
    rule: str
    statuses: tuple[int, ...]
    summary: str

    @property
    def expected(self) -> str:
        return " or ".join(str(status) for status in self.statuses)


#: Kinds of request whose answer the contract fixes (the kit labels what it sends).
FATES: dict[FateName, Fate] = {
    f.name: f
    for f in (
        Fate(
            FateName.USABLE,
            "ERR-1",
            (),
            "a well-formed request with a valid token: 200, or 400 if an image is unusable",
        ),
        Fate(FateName.EMPTY_IMAGE, "ERR-1", (400,), "an image part with no bytes"),
        Fate(FateName.TINY_IMAGE, "ERR-1", (400,), "an image part clearly under 1 KB (< 700 bytes)"),
        Fate(FateName.HUGE_IMAGE, "ERR-1", (400,), "an image part clearly over 10 MiB (> 10.5 MiB)"),
        Fate(FateName.NOT_IMAGE, "ERR-1", (400,), "an image part that is not JPEG, PNG or WebP"),
        Fate(FateName.TRUNCATED_IMAGE, "ERR-1", (400,), "an image part that is truncated or corrupt"),
        Fate(FateName.MISSING_TOKEN, "ERR-2", (401,), "no Authorization header"),
        Fate(FateName.MALFORMED_TOKEN, "ERR-2", (401,), "an Authorization header that is not a bearer JWT"),
        Fate(FateName.EXPIRED_TOKEN, "ERR-2", (401,), "a bearer JWT whose exp is in the past"),
        Fate(FateName.BAD_SIGNATURE, "ERR-2", (401,), "a bearer JWT whose signature does not verify"),
        Fate(FateName.MISSING_IMAGE1, "ERR-3", (422, 400), "a multipart form without an image1 part"),
        Fate(FateName.NOT_MULTIPART, "ERR-3", (422, 400), "a body that is not multipart/form-data"),
    )
}


@dataclass(frozen=True)
class Exchange:
    """One request to the operation and the response it got (no image bytes kept)."""

    method: str
    url: str
    request_headers: Mapping[str, str]
    parts: tuple[Part, ...]
    sent_image2: bool
    sent_correlation_id: str | None
    status: int
    response_headers: Mapping[str, str]
    body: bytes
    #: What the contract fixes for the request when the sender knows it, else None.
    fate: FateName | None = None
    #: Content-Type of a body that is not multipart (for the curl line), else None.
    raw_content_type: str | None = None

    def __post_init__(self) -> None:
        if self.fate is not None:  # a fate given as text must name a real one
            object.__setattr__(self, "fate", FateName(self.fate))

    @property
    def fixed(self) -> Fate | None:
        """What the contract fixes for this request, or None when nothing is fixed."""
        return None if self.fate is None else FATES[self.fate]


def curl_line(exchange: Exchange) -> str:
    """A curl command that repeats the request; the token is $TOKEN, images are @file placeholders."""
    words = ["curl", "-sS", "-X", exchange.method, exchange.url]
    for name, value in exchange.request_headers.items():
        lowered = name.lower()
        transport = ("content-length", "content-type", "user-agent", "accept-encoding", "accept", "connection", "host")
        # Content-Type is kept only for a body that is not multipart (curl writes the multipart one).
        if lowered in transport and (lowered != "content-type" or exchange.parts):
            continue
        if lowered == "authorization":
            scheme, _, _ = value.partition(" ")
            value = f"{scheme} $TOKEN" if scheme.lower() == "bearer" else "$AUTHORIZATION"
        words += ["-H", f"{name}: {value}"]
    notes = []
    for part in exchange.parts:
        if part.filename is None and part.value is not None:
            words += ["-F", f"{part.name}={part.value}"]
            continue
        placeholder = part.filename or f"{part.name}.bin"
        words += ["-F", f"{part.name}=@{placeholder}"]
        notes.append(f"{placeholder}: {part.size} bytes")
    if not exchange.parts and exchange.method.upper() == "POST":
        words += ["--data-binary", "@body.bin"]
    line = " ".join(_quote(word) for word in words)
    if notes:
        line += "  # " + "; ".join(notes)
    return line


def _quote(word: str) -> str:
    if word == "$TOKEN" or "$TOKEN" in word or "$AUTHORIZATION" in word:
        return '"' + word.replace('"', '\\"') + '"'
    return shlex.quote(word)
