"""The cassette: answers recorded by ``facematch proxy --record DIR``, replayed by
``facematch serve --replay DIR``.

The proxy writes it and the mock reads it, and neither imports the other, so the format
lives here once. A cassette is a directory of JSON files, one per distinct pair of images,
named by the images' SHA-256 digests (the key): the same photos sent again find the same
entry, whatever the boundary, file names or token of the request. An entry holds the
answer (status, headers, body) and a summary of the request (part names and sizes, no
bytes). Image bytes are written beside it (``images/<sha256>``) only when the recorder is
asked to: photos are biometric data. Authorization headers are never written.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

FORMAT_VERSION = 1
#: Response headers a replay never repeats: they describe one connection or one moment.
UNREPEATED_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "date",
        "server",
        "proxy-connection",
        "trailer",
        "upgrade",
        "te",
        "x-contract-violation",
    }
)
#: Headers never written to a cassette, in either direction.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})


def cassette_key(image1_sha256: str, image2_sha256: str | None) -> str:
    """The entry name for a pair of images (``-`` stands for "no image2")."""
    return f"{image1_sha256}_{image2_sha256 or '-'}"


@dataclass(frozen=True)
class RecordedPart:
    name: str
    size: int
    filename: str | None = None
    content_type: str | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class CassetteEntry:
    image1_sha256: str
    image2_sha256: str | None
    method: str
    path: str
    parts: tuple[RecordedPart, ...]
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    recorded_at: str = ""

    @property
    def key(self) -> str:
        return cassette_key(self.image1_sha256, self.image2_sha256)

    def replay_headers(self) -> list[tuple[str, str]]:
        """The recorded response headers a replay sends again."""
        return [
            (name, value)
            for name, value in self.headers
            if name.lower() not in UNREPEATED_HEADERS and name.lower() not in SECRET_HEADERS
        ]

    def to_json(self) -> str:
        try:
            body, encoding = self.body.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            body, encoding = base64.b64encode(self.body).decode("ascii"), "base64"
        return json.dumps(
            {
                "format": FORMAT_VERSION,
                "recorded_at": self.recorded_at,
                "request": {
                    "method": self.method,
                    "path": self.path,
                    "image1_sha256": self.image1_sha256,
                    "image2_sha256": self.image2_sha256,
                    "parts": [vars(part) for part in self.parts],
                },
                "response": {
                    "status": self.status,
                    "headers": [[name, value] for name, value in self.headers if name.lower() not in SECRET_HEADERS],
                    "body": body,
                    "body_encoding": encoding,
                },
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> CassetteEntry:
        doc = json.loads(text)
        if doc.get("format") != FORMAT_VERSION:
            raise ValueError(f"unknown cassette format {doc.get('format')!r} (expected {FORMAT_VERSION})")
        request, response = doc["request"], doc["response"]
        raw = response["body"]
        body = base64.b64decode(raw) if response.get("body_encoding") == "base64" else raw.encode("utf-8")
        return cls(
            image1_sha256=request["image1_sha256"],
            image2_sha256=request.get("image2_sha256"),
            method=request["method"],
            path=request["path"],
            parts=tuple(RecordedPart(**part) for part in request.get("parts", ())),
            status=int(response["status"]),
            headers=tuple((str(name), str(value)) for name, value in response["headers"]),
            body=body,
            recorded_at=doc.get("recorded_at", ""),
        )


def write_entry(directory: Path, entry: CassetteEntry, images: dict[str, bytes] | None = None) -> Path:
    """Write (or replace) one entry atomically; ``images`` (digest -> bytes) only when asked for."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / f"{entry.key}.json"
    _atomic_write(path, entry.to_json().encode("utf-8"))
    if images:
        image_dir = directory / "images"
        image_dir.mkdir(mode=0o700, exist_ok=True)
        for digest, data in images.items():
            target = image_dir / digest
            if not target.exists():
                _atomic_write(target, data)
    return path


def read_entries(directory: Path) -> dict[str, CassetteEntry]:
    """Every entry of a cassette by key (a file that is not an entry is an error, not skipped)."""
    entries = {}
    for path in sorted(directory.glob("*.json")):
        try:
            entry = CassetteEntry.from_json(path.read_text(encoding="utf-8"))
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path.name} is not a cassette entry: {error}") from error
        entries[entry.key] = entry
    return entries


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
