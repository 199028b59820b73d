"""Receiving a bulk upload: the ``file`` part of ``POST /bulk`` streamed into the job's
folder, bounded while it arrives; and the reading (bounded) of a refused upload's body."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

from flask import request
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser

from facematch_bulk.archive import ArchiveLimits

from ..errors import ApiError, ErrorKind
from ..request_state import request_state

#: Room for the multipart framing around the archive.
UPLOAD_SLACK = 64 * 1024
#: A refused upload up to this size is read (and dropped) so the client sees the answer.
DRAIN_LIMIT = 8 * 1024 * 1024
#: Cap on in-memory (non-file) form data; also bounds the parser's buffer, so above its 64 KiB chunk.
FIELD_MEMORY = 1024 * 1024
#: Form parts one upload may have (the archive is one of them).
MAX_PARTS = 8
#: Bytes read at a time from a refused body.
DRAIN_CHUNK = 256 * 1024
#: The longest file name kept for summary.json.
NAME_KEPT = 200
FALLBACK_NAME = "input.zip"


def upload_limit(limits: ArchiveLimits | None = None) -> int:
    """The largest POST /bulk body: the archive limit plus the multipart framing (the
    server's HTTP front refuses larger bodies before the app sees them)."""
    return (limits or ArchiveLimits()).max_archive_bytes + UPLOAD_SLACK


def too_large(limits: ArchiveLimits) -> ApiError:
    """The 413 of an upload over the limit; the connection is closed after it (the rest of
    the body is never read)."""
    request_state().close_connection = True
    return ApiError(ErrorKind.BULK_TOO_LARGE, {"limit": limits.max_archive_bytes})


class _UploadTooLarge(Exception):
    pass


class _BoundedFile:
    """A file in the job folder that refuses to grow past the upload limit."""

    def __init__(self, path: Path, budget: list[int]) -> None:
        self.path = path
        self.budget = budget  # shared by every file part of one request
        self.file: IO[bytes] = open(path, "xb")  # closed by receive() once parsed

    def write(self, data: bytes) -> int:
        self.budget[0] -= len(data)
        if self.budget[0] < 0:
            raise _UploadTooLarge()
        return self.file.write(data)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self.file.seek(offset, whence)

    def read(self, size: int = -1) -> bytes:
        return self.file.read(size)

    def tell(self) -> int:
        return self.file.tell()

    def close(self) -> None:
        self.file.close()


def receive(folder: Path, destination: Path, limits: ArchiveLimits) -> str:
    """Stream the request's ``file`` part to ``destination`` (in ``folder``); return the
    upload's display file name."""
    parts, uploads = _parse(folder, limits)
    if len(uploads) != 1:
        drain()
        raise ApiError(ErrorKind.BULK_NO_FILE)
    _keep(parts, uploads[0].stream, destination)
    return _display_name(uploads[0].filename)


def _parse(folder: Path, limits: ArchiveLimits) -> tuple[list[_BoundedFile], list[FileStorage]]:
    """Parse the multipart body, every file part written to its own bounded file in
    ``folder``; those files (closed) and the ``file`` parts."""
    budget = [upload_limit(limits)]
    opened: list[_BoundedFile] = []

    def factory(**_: Any) -> _BoundedFile:
        part = _BoundedFile(folder / f"part-{len(opened)}", budget)
        opened.append(part)
        return part

    # werkzeug types the factory as returning IO[bytes]; a _BoundedFile has every method the parser calls.
    parser = FormDataParser(
        stream_factory=factory,  # type: ignore[arg-type]
        max_form_memory_size=FIELD_MEMORY,
        max_form_parts=MAX_PARTS,
    )
    try:
        _, _, files = parser.parse(request.stream, request.mimetype, request.content_length, request.mimetype_params)
    except (_UploadTooLarge, RequestEntityTooLarge) as error:
        raise too_large(limits) from error
    finally:
        for part in opened:
            part.close()
    return opened, files.getlist("file")


def _keep(parts: list[_BoundedFile], stream: object, destination: Path) -> None:
    """Move the part whose stream is ``stream`` to ``destination``; delete the others."""
    chosen = next(part for part in parts if stream is part or stream is part.file)
    os.replace(chosen.path, destination)
    for part in parts:
        if part is not chosen:
            part.path.unlink(missing_ok=True)


def _display_name(filename: str | None) -> str:
    """The last path segment of the client's file name, printable characters only."""
    name = (filename or FALLBACK_NAME).replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in name if ch.isprintable())[:NAME_KEPT] or FALLBACK_NAME


def drain() -> None:
    """Read a refused body up to DRAIN_LIMIT so the client can read the answer; a larger
    (or unknown-length) one is not read and the connection is closed instead."""
    length = request.content_length
    if length is None or length > DRAIN_LIMIT:
        request_state().close_connection = True
        return
    stream = request.stream
    while stream.read(DRAIN_CHUNK):
        pass
