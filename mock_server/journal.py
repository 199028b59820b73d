"""The request journal: metadata about each request to the operation, shared by all workers.

Entries are JSON lines appended to one file (``O_APPEND`` writes of one short line are
atomic across processes). Only metadata is kept: part names, sizes, digests, the fixture a
part matched. Never image bytes, never the Authorization header.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class PartRecord:
    name: str
    bytes: int
    filename: str | None = None
    content_type: str | None = None
    sha256: str | None = None
    fixture: str | None = None


@dataclass(frozen=True)
class JournalEntry:
    time: str
    method: str
    path: str
    status: int
    correlation_id: str
    example: str | None = None
    unique_id: str | None = None
    parts: list[PartRecord] = field(default_factory=list)


class Journal:
    def __init__(self, path: Path, limit: int) -> None:
        self.path = path
        self.limit = limit
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
        self._fd = fd
        self._written = 0

    def record(self, entry: JournalEntry) -> None:
        line = json.dumps(asdict(entry), separators=(",", ":")) + "\n"
        with self._locked():
            os.write(self._fd, line.encode())
            self._written += 1
            if self._written % 256 == 0:
                self._compact()

    def entries(self, limit: int) -> list[dict[str, Any]]:
        with self._locked():
            try:
                lines = self.path.read_text(encoding="utf-8").splitlines()
            except FileNotFoundError:
                return []
        return [json.loads(line) for line in lines[-limit:] if line]

    def clear(self) -> None:
        with self._locked():
            os.truncate(self.path, 0)

    def _compact(self) -> None:
        """Keep the newest ``limit`` entries so the file stays bounded (caller holds the lock).

        Rewritten in place, so every worker's append-mode descriptor stays valid."""
        lines = self.path.read_text(encoding="utf-8").splitlines(keepends=True)
        if len(lines) > self.limit:
            os.truncate(self.path, 0)
            os.write(self._fd, "".join(lines[-self.limit :]).encode())

    def _locked(self) -> "_Lock":
        return _Lock(self.path.with_suffix(".lock"))


class _Lock:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> None:
        self.fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
