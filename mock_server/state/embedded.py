"""The embedded state store: files in one private folder, shared by every worker of one
``facematch serve`` through ``flock``. Nothing to install; one machine only.

- the journal is :class:`mock_server.journal.Journal` (JSON lines, bounded);
- runtime overrides and the sequence definitions are one small JSON document each,
  replaced atomically (write + rename) under the exclusive lock, after which the writer
  bumps a generation counter kept in a shared memory map (:class:`Generation`). Every call
  of the operation reads the counter (eight bytes of memory, no system call, where two
  ``stat`` calls used to be) and looks at the files only when it moved;
- each sequence's positions are one JSON file, read and rewritten under the lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import mmap
import os
import threading
from collections.abc import Callable, Iterator
from collections.abc import Sequence as Seq
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from ..acks import Ack
from ..journal import Journal, JournalEntry
from ..runtime import NO_OVERRIDES, RuntimeOverrides, canonical
from ..sequences import MAX_KEYS_PER_SEQUENCE, Sequence, check_bounds, sequences_from_json
from .base import JournalPage, JournalQuery, Snapshot, UnknownSequence

SETTINGS_FILE = "settings.json"
SEQUENCES_FILE = "sequences.json"
POSITIONS_DIR = "positions"

GENERATION_FILE = "generation"

T = TypeVar("T")


class Generation:
    """A counter of changes to the documents, in a file every worker maps (``MAP_SHARED``:
    one page of the page cache, seen by every process at once, inherited across a fork).

    A writer bumps it while it holds the exclusive lock, after the document's ``rename``;
    a reader that sees a new value then reads the documents, which are already replaced.
    A reader takes the value before it reads them, so a change made meanwhile shows as a
    new value on its next call. A torn read (eight bytes copied while being written) is
    only a value different from the last one seen: the documents are read again."""

    SIZE = 8

    def __init__(self, path: Path) -> None:
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            if os.fstat(fd).st_size < self.SIZE:
                os.ftruncate(fd, self.SIZE)  # zeros; a concurrent starter's counter is never cut
            self._map = mmap.mmap(fd, self.SIZE)
        finally:
            os.close(fd)

    def read(self) -> bytes:
        return self._map[: self.SIZE]

    def bump(self) -> None:
        """Caller holds the exclusive lock."""
        value = int.from_bytes(self._map[: self.SIZE], "little") + 1
        self._map[: self.SIZE] = (value % 2**64).to_bytes(self.SIZE, "little")


class EmbeddedStore:
    def __init__(self, folder: Path, journal: Journal | None, examples: Seq[str]) -> None:
        self.name = "embedded"
        self.folder = folder
        self.journal = journal
        self.examples = tuple(examples)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / POSITIONS_DIR).mkdir(exist_ok=True)
        self._lock_path = folder / "state.lock"
        self._thread_lock = threading.Lock()
        self._lock_fd = -1
        self._lock_pid = -1
        self._cache: dict[str, tuple[tuple[int, int, int], object]] = {}
        #: The documents' paths as strings, and the last snapshot built from them.
        self._paths = {file: os.fspath(folder / file) for file in (SETTINGS_FILE, SEQUENCES_FILE)}
        self._snapshot = Snapshot()
        #: None where the file system cannot map files: then two ``stat`` calls per call, as before.
        self._generation: Generation | None = None
        with contextlib.suppress(OSError, ValueError):
            self._generation = Generation(folder / GENERATION_FILE)
        #: The counter's value when the documents were last looked at (None: never).
        self._seen: bytes | None = None

    # -- journal
    def record(self, entry: JournalEntry, acks: list[Ack] | None = None) -> None:
        """Appended at once (a local file write): nothing is left to wait for."""
        if self.journal is not None:
            self.journal.record(entry)

    def _all_entries(self) -> list[JournalEntry]:
        if self.journal is None:
            return []
        return [JournalEntry.from_dict(item) for item in self.journal.entries(self.journal.limit)]

    def requests(self, query: JournalQuery, limit: int) -> JournalPage:
        found = [entry for entry in self._all_entries() if query.matches(entry)]
        return JournalPage(found[-limit:])

    def count(self, query: JournalQuery) -> int:
        return sum(1 for entry in self._all_entries() if query.matches(entry))

    def clear_requests(self) -> None:
        if self.journal is not None:
            self.journal.clear()

    # -- overrides and definitions
    def snapshot(self) -> Snapshot:
        generation = self._generation
        if generation is None:
            return self._look()
        seen = generation.read()
        if seen == self._seen:
            return self._snapshot
        # Something was written: read both documents again rather than trust their stat
        # stamps (two writes of one size within one tick of the file system's clock, the
        # second reusing the first's freed inode, would look unchanged).
        self._cache.clear()
        snapshot = self._look()
        self._seen = seen
        return snapshot

    def _look(self) -> Snapshot:
        """The documents, each read only when its file changed (its ``stat`` differs)."""
        overrides = self._read(SETTINGS_FILE, _overrides_from_json, NO_OVERRIDES)
        none: tuple[Sequence, ...] = ()
        sequences = self._read(SEQUENCES_FILE, self._parse_sequences, none)
        last = self._snapshot
        if last.overrides is overrides and last.sequences is sequences:
            return last
        self._snapshot = Snapshot(overrides, sequences)
        return self._snapshot

    def _parse_sequences(self, data: object) -> tuple[Sequence, ...]:
        return sequences_from_json(data, self.examples)

    def current(self) -> Snapshot:
        return self.snapshot()

    def set_overrides(self, overrides: RuntimeOverrides) -> None:
        with self._locked():
            self._write(SETTINGS_FILE, overrides.to_json())

    def define(self, sequences: Seq[Sequence]) -> None:
        with self._locked():
            current = {sequence.name: sequence for sequence in self.snapshot().sequences}
            for sequence in sequences:
                if sequence.name in current and current[sequence.name] != sequence:
                    self._positions_path(sequence.name).unlink(missing_ok=True)
                current[sequence.name] = sequence
            check_bounds(list(current.values()))
            self._write(SEQUENCES_FILE, [sequence.to_json() for sequence in current.values()])

    def remove(self, name: str | None) -> None:
        with self._locked():
            current = list(self.snapshot().sequences)
            kept = [sequence for sequence in current if name is not None and sequence.name != name]
            if name is not None and len(kept) == len(current):
                raise UnknownSequence(name)
            self._write(SEQUENCES_FILE, [sequence.to_json() for sequence in kept])
            for sequence in current:
                if sequence not in kept:
                    self._positions_path(sequence.name).unlink(missing_ok=True)

    # -- positions
    def positions(self, name: str) -> dict[str, int]:
        with self._locked():
            return self._load_positions(name)

    def reset(self, name: str | None, key: str | None) -> int:
        names = [name] if name is not None else [sequence.name for sequence in self.snapshot().sequences]
        dropped = 0
        with self._locked():
            for each in names:
                positions = self._load_positions(each)
                if key is None:
                    dropped += len(positions)
                    self._positions_path(each).unlink(missing_ok=True)
                elif key in positions:
                    del positions[key]
                    dropped += 1
                    self._store_positions(each, positions)
        return dropped

    def advance(self, sequence: Sequence, key: str) -> int | None:
        with self._locked():
            positions = self._load_positions(sequence.name)
            if key not in positions and len(positions) >= MAX_KEYS_PER_SEQUENCE:
                return None
            taken = positions.get(key, 0)
            positions[key] = taken + 1
            self._store_positions(sequence.name, positions)
            return taken

    # -- files
    def _positions_path(self, name: str) -> Path:
        return self.folder / POSITIONS_DIR / f"{name}.json"

    def _load_positions(self, name: str) -> dict[str, int]:
        try:
            data = json.loads(self._positions_path(name).read_bytes())
        except (FileNotFoundError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(key): value for key, value in data.items() if isinstance(value, int)}

    def _store_positions(self, name: str, positions: dict[str, int]) -> None:
        self._replace(self._positions_path(name), json.dumps(positions, separators=(",", ":")).encode())

    def _read(self, file: str, parse: Callable[[object], T], empty: T) -> T:
        """The parsed document, re-read only when its file changed (atomic replacement
        gives a new inode, so a reader never sees half a file)."""
        path = self._paths.get(file) or os.fspath(self.folder / file)
        try:
            info = os.stat(path)
        except FileNotFoundError:
            return empty
        stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
        cached = self._cache.get(file)
        if cached is not None and cached[0] == stamp:
            # The cache holds each file's parsed document, whose type its parse function fixed.
            return cached[1]  # type: ignore[return-value]
        try:
            with open(path, "rb") as document:
                value = parse(json.loads(document.read()))
        except FileNotFoundError:
            return empty
        except ValueError:
            value = empty
        self._cache[file] = (stamp, value)
        return value

    def _write(self, file: str, data: object) -> None:
        """Replace a document (caller holds the exclusive lock), then announce it."""
        self._replace(self.folder / file, json.dumps(data, separators=(",", ":")).encode())
        if self._generation is not None:
            self._generation.bump()

    @staticmethod
    def _replace(path: Path, data: bytes) -> None:
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
        fd = os.open(temporary, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        os.replace(temporary, path)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Threads of one process take the thread lock, processes ``flock`` (a descriptor
        of this process's own, re-opened after a fork)."""
        with self._thread_lock:
            pid = os.getpid()
            if self._lock_pid != pid:
                self._lock_fd = os.open(self._lock_path, os.O_CREAT | os.O_RDWR, 0o600)
                self._lock_pid = pid
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)


def _overrides_from_json(data: object) -> RuntimeOverrides:
    return canonical(RuntimeOverrides.from_json(data))
