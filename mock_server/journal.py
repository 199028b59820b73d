"""The request journal: metadata about each request to the operation, shared by all workers.

Entries are JSON lines appended to one file (``O_APPEND`` writes of one short line are
atomic across processes). Only metadata is kept: part names, sizes, digests, the fixture a
part matched. Never image bytes, never the Authorization header.

The file is bounded in entries and in bytes: it is compacted to the newest entries every
``max(256, limit)`` writes of a worker and whenever it grows past its byte limit, and reads
take only its tail (at most the byte limit) and its newest ``limit`` entries, never the
whole file. (Every 256 writes, with the default limit of 1,000 entries, rewrote most of
the file four times as often as needed: a quarter of what recording an entry cost.)

Each worker process keeps one lock descriptor open (re-opened after a fork) and a thread
lock in front of it, so recording costs one ``flock`` pair and one ``write``, not an
``open``/``close`` of the lock file per request.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The standard library's string encoder (its C version when there is one), as
#: ``json.dumps`` uses it with ``ensure_ascii`` (the default).
_STRING: Callable[[str], str] = json.encoder.encode_basestring_ascii


def _text(value: str | None) -> str:
    return "null" if value is None else _STRING(value)


@dataclass(frozen=True)
class PartRecord:
    name: str
    bytes: int
    filename: str | None = None
    content_type: str | None = None
    sha256: str | None = None
    fixture: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "bytes": self.bytes,
            "filename": self.filename,
            "content_type": self.content_type,
            "sha256": self.sha256,
            "fixture": self.fixture,
        }

    def json_text(self) -> str:
        """``json.dumps(self.as_dict(), separators=(",", ":"))``, built directly."""
        return (
            f'{{"name":{_STRING(self.name)},"bytes":{int(self.bytes)},"filename":{_text(self.filename)},'
            f'"content_type":{_text(self.content_type)},"sha256":{_text(self.sha256)},'
            f'"fixture":{_text(self.fixture)}}}'
        )


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
    #: The injected fault this request met (``Prefer: fault=``, ``--faults``), by name.
    fault: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The same mapping as ``dataclasses.asdict`` (same keys, same order), built directly."""
        return {
            "time": self.time,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "correlation_id": self.correlation_id,
            "example": self.example,
            "unique_id": self.unique_id,
            "parts": [part.as_dict() for part in self.parts],
            "fault": self.fault,
        }

    def json_line(self) -> str:
        """``json.dumps(self.as_dict(), separators=(",", ":"))``, built directly: every call
        of the operation writes one, and the generic encoder over a fresh dict of dicts
        cost three times as much (``tests/test_journal_line.py`` proves them equal)."""
        parts = ",".join([part.json_text() for part in self.parts])
        return (
            f'{{"time":{_STRING(self.time)},"method":{_STRING(self.method)},"path":{_STRING(self.path)},'
            f'"status":{int(self.status)},"correlation_id":{_STRING(self.correlation_id)},'
            f'"example":{_text(self.example)},"unique_id":{_text(self.unique_id)},"parts":[{parts}],'
            f'"fault":{_text(self.fault)}}}'
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JournalEntry:
        """The inverse of :meth:`as_dict` (keys this version does not know are ignored)."""
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data and name != "parts"}
        parts = [
            PartRecord(**{name: part[name] for name in PartRecord.__dataclass_fields__ if name in part})
            for part in data.get("parts") or ()
        ]
        return cls(**known, parts=parts)


#: Default bound of the journal file, in bytes.
JOURNAL_MAX_BYTES = 4 * 1024 * 1024


class Journal:
    def __init__(self, path: Path, limit: int, max_bytes: int = JOURNAL_MAX_BYTES) -> None:
        self.path = path
        self.limit = limit
        self.max_bytes = max_bytes
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
        self._fd = fd
        self._written = 0
        #: Writes of this process between two compactions.
        self._compact_every = max(256, limit)
        self._lock_path = path.with_suffix(".lock")
        self._thread_lock = threading.Lock()
        self._lock_fd = -1
        self._lock_pid = -1

    def record(self, entry: JournalEntry) -> None:
        line = entry.json_line() + "\n"
        # Appends share the lock: each is one O_APPEND write, atomic on its own; only the
        # compaction (which truncates and rewrites) must exclude them.
        with self._locked(exclusive=False):
            os.write(self._fd, line.encode())
            self._written += 1
            due = self._written % self._compact_every == 0 or os.fstat(self._fd).st_size > self.max_bytes
        if due:
            with self._locked():
                self._compact()

    def entries(self, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` entries (oldest first) among those in the file's last
        ``max_bytes``."""
        with self._locked(exclusive=False):
            lines = self._tail(self.max_bytes)
        return [json.loads(line) for line in lines[-limit:] if line]

    def _tail(self, size: int) -> list[bytes]:
        """The whole lines in the file's last ``size`` bytes (caller holds a lock)."""
        try:
            with open(self.path, "rb") as file:
                end = file.seek(0, os.SEEK_END)
                start = max(0, end - size)
                file.seek(start)
                data = file.read(end - start)
        except FileNotFoundError:
            return []
        lines = data.split(b"\n")
        if start > 0:
            lines = lines[1:]  # cut mid-line
        return [line for line in lines if line]

    def clear(self) -> None:
        with self._locked():
            os.truncate(self.path, 0)

    def _compact(self) -> None:
        """Keep the newest ``limit`` entries within half the byte limit, so the file stays
        bounded both ways (caller holds the exclusive lock).

        Rewritten in place, so every worker's append-mode descriptor stays valid."""
        size = os.fstat(self._fd).st_size
        lines = self._tail(self.max_bytes // 2)
        kept = lines[-self.limit :]
        if len(kept) < len(lines) or size > self.max_bytes // 2:
            os.truncate(self.path, 0)
            os.write(self._fd, b"".join(line + b"\n" for line in kept))

    def _locked(self, exclusive: bool = True) -> _Lock:
        return _Lock(self, exclusive)

    def _lock_descriptor(self) -> int:
        """This process's own descriptor of the lock file (caller holds the thread lock).

        ``flock`` belongs to an open file description: one inherited across a fork would be
        shared with the parent and its other children and exclude nobody, so each process
        opens its own."""
        pid = os.getpid()
        if self._lock_pid != pid:
            self._lock_fd = os.open(self._lock_path, os.O_CREAT | os.O_RDWR, 0o600)
            self._lock_pid = pid
        return self._lock_fd


class _Lock:
    """Threads of one process take the thread lock; processes take ``flock`` (shared for
    appends and reads, exclusive for truncation)."""

    def __init__(self, journal: Journal, exclusive: bool) -> None:
        self.journal = journal
        self.operation = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH

    def __enter__(self) -> None:
        self.journal._thread_lock.acquire()
        try:
            self.fd = self.journal._lock_descriptor()
            fcntl.flock(self.fd, self.operation)
        except BaseException:
            self.journal._thread_lock.release()
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            self.journal._thread_lock.release()
