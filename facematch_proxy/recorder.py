"""``--record DIR``: each judged exchange of the operation written as a cassette entry.

The key is the images' SHA-256 (from the scan of the forwarded form), the entry holds the
answer and a summary of the parts. Image bytes are written only with ``--record-images``.
Answers 401 are not recorded: a replaying mock checks tokens itself, and a vendor's 401
says something about a token, not about the photos.
"""

from __future__ import annotations

import threading
from pathlib import Path

from facematch_contract.cassette import SECRET_HEADERS, CassetteEntry, RecordedPart, write_entry
from facematch_contract.timestamps import utc_timestamp

from .multipart import ScannedForm


class Recorder:
    def __init__(self, directory: Path, with_images: bool) -> None:
        self.directory = directory
        self.with_images = with_images
        self.written = 0
        self._lock = threading.Lock()
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def record(
        self, method: str, path: str, form: ScannedForm | None, status: int, headers: list[tuple[str, str]], body: bytes
    ) -> Path | None:
        if form is None or status == 401:
            return None
        image1, image2 = form.find("image1"), form.find("image2")
        if image1 is None:
            return None
        entry = CassetteEntry(
            image1_sha256=image1.sha256,
            image2_sha256=image2.sha256 if image2 is not None else None,
            method=method,
            path=path,
            parts=tuple(
                RecordedPart(
                    p.part.name,
                    p.part.size,
                    p.part.filename,
                    p.part.content_type,
                    p.sha256 if p.part.filename is not None or p.part.name in ("image1", "image2") else None,
                )
                for p in form.parts
            ),
            status=status,
            headers=tuple((name, value) for name, value in headers if name.lower() not in SECRET_HEADERS),
            body=body,
            recorded_at=utc_timestamp(timespec="seconds"),
        )
        images = None
        if self.with_images:
            images = {p.sha256: p.data for p in (image1, image2) if p is not None and p.data is not None}
        with self._lock:
            written = write_entry(self.directory, entry, images)
            self.written += 1
        return written
