"""What the request path and the admin routes need from the state store, as a protocol.

Two implementations: :mod:`.embedded` (files and ``flock`` on one machine, shared by every
gunicorn worker, nothing to install; the default) and :mod:`.redis_store` (one Redis
shared by several instances: ``facematch serve --state redis://HOST:PORT/N``).
"""

from __future__ import annotations

from collections.abc import Sequence as Seq
from dataclasses import dataclass
from typing import Protocol

from ..acks import Ack
from ..journal import JournalEntry
from ..runtime import NO_OVERRIDES, RuntimeOverrides
from ..sequences import Sequence


class StoreUnavailable(Exception):
    """The store cannot be reached; the message names it (never with a password)."""


class UnknownSequence(KeyError):
    """No sequence of that name is defined."""


@dataclass(frozen=True)
class Snapshot:
    """What one call of the operation reads from the store before it answers."""

    overrides: RuntimeOverrides = NO_OVERRIDES
    sequences: tuple[Sequence, ...] = ()


@dataclass(frozen=True)
class JournalQuery:
    """Filters of ``GET /__mock/requests`` (every given one must hold)."""

    path: str | None = None
    status: int | None = None
    unique_id: str | None = None
    fixture: str | None = None
    correlation_id: str | None = None
    #: True: image2 was sent; False: it was not; None: either.
    image2: bool | None = None

    def matches(self, entry: JournalEntry) -> bool:
        if self.path is not None and entry.path != self.path:
            return False
        if self.status is not None and entry.status != self.status:
            return False
        if self.unique_id is not None and entry.unique_id != self.unique_id:
            return False
        if self.correlation_id is not None and entry.correlation_id != self.correlation_id:
            return False
        if self.fixture is not None and not any(_is_fixture(part.fixture, self.fixture) for part in entry.parts):
            return False
        return self.image2 is None or any(part.name == "image2" for part in entry.parts) == self.image2


def _is_fixture(recorded: str | None, wanted: str) -> bool:
    """``hopper_a.jpg`` and ``images/hopper_a.jpg`` both name the fixture recorded as the latter."""
    return recorded is not None and (recorded == wanted or recorded.endswith("/" + wanted))


@dataclass(frozen=True)
class JournalPage:
    entries: list[JournalEntry]
    #: Entries lost because the store could not be reached when they were recorded.
    dropped: int = 0


class StateStore(Protocol):
    #: How the store is named in messages (a Redis URL without its password).
    name: str

    # -- the request journal
    def record(self, entry: JournalEntry, acks: list[Ack] | None = None) -> None:
        """Never raises: an entry that cannot be stored is counted as dropped. With
        ``acks`` (the server front's, see mock_server/acks.py) a store may leave an ack
        there instead of waiting for its write to be confirmed; the answer then waits for
        it on the front's loop."""

    def requests(self, query: JournalQuery, limit: int) -> JournalPage:
        """The newest ``limit`` matching entries, oldest first."""

    def count(self, query: JournalQuery) -> int: ...

    def clear_requests(self) -> None: ...

    # -- runtime overrides and sequence definitions, as the operation reads them
    def snapshot(self) -> Snapshot:
        """Raises StoreUnavailable; the caller then uses the last snapshot it had."""

    def current(self) -> Snapshot:
        """The same, read for the admin routes: StoreUnavailable instead of a stale copy."""

    def set_overrides(self, overrides: RuntimeOverrides) -> None: ...

    # -- sequences
    def define(self, sequences: Seq[Sequence]) -> None:
        """Add or replace these definitions by name (positions of replaced ones restart);
        raises SequenceError past the bound on definitions."""

    def remove(self, name: str | None) -> None:
        """Forget one definition (UnknownSequence if absent), or all with None."""

    def positions(self, name: str) -> dict[str, int]:
        """Calls made so far by each key of one sequence."""

    def reset(self, name: str | None, key: str | None) -> int:
        """Forget positions: of one key and/or one sequence, or all; how many were dropped."""

    def advance(self, sequence: Sequence, key: str) -> int | None:
        """Atomically take the key's next position (0 for its first call); None when the
        sequence already tracks its bound of keys and this key is new."""
