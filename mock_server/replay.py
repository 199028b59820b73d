"""``facematch serve --replay DIR``: answer photos a vendor has seen with the vendor's answer.

A cassette (:mod:`facematch_contract.cassette`, written by ``facematch proxy --record``) maps
the SHA-256 of image1 and image2 to a recorded answer. A request whose images are in it gets
that answer again, status, headers and body as recorded; any other request goes on to the
canned engine as usual, or, with ``--replay-strict``, gets a 404 so that a test that strays
from the recording finds out. Tokens, the correlation id and CORS are still the mock's own
(they are checked before and added after), so only the vendor's judgement is replayed.

The cassette is read once when a worker builds its app; it is never written here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from flask import Response, current_app, request

from facematch_contract.cassette import CassetteEntry, cassette_key, read_entries
from facematch_contract.operation import CORRELATION_HEADER

from .errors import ApiError, ErrorKind
from .form import Form

#: Recorded headers the mock's own layers set again (correlation id, CORS).
OWN_HEADERS = (CORRELATION_HEADER.lower(), "access-control-")


@dataclass(frozen=True)
class Replay:
    entries: dict[str, CassetteEntry]
    strict: bool

    @classmethod
    def load(cls, directory: Path, strict: bool) -> Replay:
        return cls(read_entries(directory), strict)

    def find(self, form: Form) -> CassetteEntry | None:
        if form.image1.overflow or (form.image2 is not None and form.image2.overflow):
            return None
        first = hashlib.sha256(form.image1.data).hexdigest()
        second = hashlib.sha256(form.image2.data).hexdigest() if form.image2 is not None else None
        return self.entries.get(cassette_key(first, second))

    def respond(self, form: Form) -> Response | None:
        """The recorded answer, or None to go on; raises the 404 when strict and not recorded."""
        entry = self.find(form)
        if entry is None:
            if self.strict:
                raise ApiError(
                    ErrorKind.NOT_FOUND,
                    {"path": f"{request.path} has no recorded answer for these images (the replay is strict)"},
                )
            return None
        response = current_app.response_class(entry.body, status=entry.status)
        response.headers.clear()
        for name, value in entry.replay_headers():
            if not name.lower().startswith(OWN_HEADERS):
                response.headers.add(name, value)
        return response
