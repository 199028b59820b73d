"""The two connections that keep Redis off the operation's critical path: one process's
subscription to the store's change channel, and its journal writer.

Before them, each call of the operation waited for two round trips to Redis (a ``GET`` of
the version token, then the journal entry's script call). On a small machine under load
that wait, not the work, was the cost: each round trip means ``redis-server`` must be
scheduled while the worker sleeps. Now a call waits for one, its journal entry's:

- :class:`ChangeListener`: every admin write ``PUBLISH``-es on a channel; each process holds
  one subscribed connection and, on each call, only asks its socket (``poll``, no thread,
  never blocking) whether anything arrived. The documents are read again only when a
  message came, when the subscription broke, and once a second as a safety net.
- :class:`JournalWriter`: each entry is written to this process's own connection as one
  hand-encoded command and its reply is read before the call answers. Writing without
  waiting was tried and measured faster, but it made "a client that got its answer finds
  its call in the journal" depend on the order in which Redis reads two connections: a
  CI run under load saw a query on another connection served before an entry already
  handed to the kernel. A mock's journal is what a frontend test asserts on, so it waits.

The consistency each one keeps is argued where it is built (``RedisStore._store`` for
settings, :meth:`JournalWriter.record` for the journal).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

import redis

log = logging.getLogger("facematch")

#: What each failure of the journal connection makes it wait before connecting again.
RETRY_AFTER_S = 1.0

#: Errors that end a connection: gone, too slow, or refused at connection time (a wrong
#: password, a database that does not exist). Error replies to entries are read apart.
LINK_ERRORS = (redis.RedisError, OSError)


def bulk(arg: bytes) -> bytes:
    """One argument in Redis's wire format (RESP: a bulk string)."""
    return b"$%d\r\n%s\r\n" % (len(arg), arg)


def command(*args: bytes) -> bytes:
    """One command in Redis's wire format (an array of bulk strings)."""
    return b"*%d\r\n" % len(args) + b"".join(bulk(arg) for arg in args)


class Link(Protocol):
    """The part of redis-py's ``Connection`` used here (redis-py leaves it untyped)."""

    def connect(self) -> None: ...

    def disconnect(self) -> None: ...

    def send_command(self, *args: str) -> None: ...

    def send_packed_command(self, command: list[bytes], check_health: bool = True) -> None: ...

    def can_read(self, timeout: float = 0) -> bool: ...

    def read_response(self, disable_decoding: bool = False, *, push_request: bool = False) -> object: ...


class Poll(Enum):
    """What a look at the subscription's socket found."""

    #: Subscribed, nothing arrived: the documents read since are current.
    QUIET = "quiet"
    #: At least one change was announced (every message is read and discarded).
    CHANGED = "changed"
    #: Not subscribed (never, broken, or inherited across a fork): read the store.
    CLOSED = "closed"


class ChangeListener:
    """One process's subscription to the channel every admin write publishes on."""

    def __init__(self, connect: Callable[[], Link], channel: str) -> None:
        self._connect = connect
        self.channel = channel
        self._connection: Link | None = None
        self._pid = -1
        #: App threads (``--threads``) share the connection.
        self._lock = threading.Lock()

    @property
    def subscribed(self) -> bool:
        return self._connection is not None and self._pid == os.getpid()

    def subscribe(self) -> None:
        """A new subscription (raises redis errors); messages from now on are seen by :meth:`poll`."""
        self.close()
        connection = self._connect()
        try:
            connection.send_command("SUBSCRIBE", self.channel)
            connection.read_response(push_request=True)  # the confirmation: the subscription is in place
        except BaseException:
            connection.disconnect()
            raise
        with self._lock:
            self._connection = connection
            self._pid = os.getpid()

    def poll(self) -> Poll:
        """Never blocks: one ``poll`` of the socket when nothing arrived."""
        with self._lock:
            connection = self._connection
            if connection is None or self._pid != os.getpid():
                return Poll.CLOSED
            try:
                if not connection.can_read(timeout=0):
                    return Poll.QUIET
                while connection.can_read(timeout=0):
                    connection.read_response(push_request=True)
            except (redis.RedisError, OSError):
                self._drop()
                return Poll.CLOSED
            return Poll.CHANGED

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and self._pid == os.getpid():
            connection.disconnect()


@dataclass(frozen=True)
class Sent:
    """One command written to the journal connection, its reply not read yet."""

    #: Entries it carries: 1 for an entry, N for a report of N dropped ones, 0 for a script load.
    entries: int


LOAD = Sent(0)
ENTRY = Sent(1)


class JournalWriter:
    """Journal entries written on one connection of this process's own, each reply read
    before the call answers.

    Each failed entry is counted in :attr:`dropped`: an error reply, or a connection that
    broke before the reply was read (such an entry may have been stored; it is counted
    all the same, as its storage could not be confirmed). The count is added to the shared
    ``journal:dropped`` counter with the next entry written."""

    def __init__(
        self,
        connect: Callable[[], Link],
        script: str,
        keys: tuple[str, str],
        dropped_key: str,
        bounds: tuple[int, int],
        name: str,
    ) -> None:
        self._connect = connect
        self._script = script
        self._sha = hashlib.sha1(script.encode()).hexdigest()
        self._dropped_key = dropped_key.encode()
        #: An entry's command is ``EVALSHA SHA 2 JOURNAL BYTES LINE LIMIT MAX_BYTES``: all
        #: but the line are fixed, so they are encoded once (redis-py's packer took 7 µs).
        fixed = (b"EVALSHA", self._sha.encode(), b"2", *(key.encode() for key in keys))
        self._head = b"*%d\r\n" % (len(fixed) + 3) + b"".join(bulk(arg) for arg in fixed)
        self._tail = bulk(b"%d" % bounds[0]) + bulk(b"%d" % bounds[1])
        self._name = name
        self._lock = threading.Lock()
        self._connection: Link | None = None
        self._pid = -1
        self._pending: deque[Sent] = deque()
        self._down_until = 0.0
        #: The connection is new: the script is loaded (without waiting) before its first entry.
        self._connection_new = False
        #: Entries lost and not yet added to the shared count.
        self.dropped = 0

    def record(self, line: str) -> None:
        """Write one entry and read Redis's reply to it (bounded by the socket timeout).
        Never raises.

        Why a client that got its answer finds its call in ``GET /__mock/requests`` on any
        worker or instance: Redis has stored the entry (or refused it, and it is counted
        as dropped) before this returns, so before the answer leaves."""
        with self._lock:
            if time.monotonic() < self._down_until:
                self.dropped += 1
                return
            queued = False
            try:
                connection = self._connected()
                packed = b""  # in the order of self._pending
                if self._connection_new:
                    self._connection_new = False
                    packed += command(b"SCRIPT", b"LOAD", self._script.encode())
                    self._pending.append(LOAD)
                if self.dropped:
                    packed += command(b"INCRBY", self._dropped_key, b"%d" % self.dropped)
                    self._pending.append(Sent(self.dropped))
                    self.dropped = 0
                packed += self._head + bulk(line.encode()) + self._tail
                self._pending.append(ENTRY)
                queued = True
                connection.send_packed_command([packed], check_health=False)
                self._collect(connection)
            except LINK_ERRORS as error:
                if not queued:
                    self.dropped += 1
                self._fail(error)

    def flush(self) -> None:
        """Read every pending reply (waiting for them, bounded by the socket timeout), so
        every entry this process wrote is stored or counted as dropped."""
        with self._lock:
            connection = self._connection
            if connection is None or self._pid != os.getpid() or not self._pending:
                return
            try:
                self._collect(connection)
            except LINK_ERRORS as error:
                self._fail(error)

    def forget_dropped(self) -> None:
        with self._lock:
            self.dropped = 0

    def _connected(self) -> Link:
        if self._pid != os.getpid():
            # Forked: the parent's connection, replies and drops are the parent's to report.
            self._connection = None
            self._pending.clear()
            self.dropped = 0
        if self._connection is None:
            self._pending.clear()
            self._connection = self._connect()
            self._pid = os.getpid()
            self._connection.connect()
            self._connection_new = True
        return self._connection

    def _collect(self, connection: Link) -> None:
        """Read every pending reply, waiting for each (bounded by the socket timeout)."""
        pending = self._pending
        while pending:
            sent = pending[0]
            try:
                connection.read_response()
            except redis.ResponseError as error:
                # NOSCRIPT (scripts flushed without a restart): load it again before the next entry.
                if isinstance(error, redis.exceptions.NoScriptError):
                    self._connection_new = True
                self.dropped += sent.entries
                log.warning("state store %s refused a journal write: %s", self._name, error)
            pending.popleft()

    def _fail(self, error: BaseException) -> None:
        """The connection is gone: what it did not confirm is counted as dropped."""
        self.dropped += sum(sent.entries for sent in self._pending)
        self._pending.clear()
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.disconnect()
        self._down_until = time.monotonic() + RETRY_AFTER_S
        log.warning("state store %s is unreachable (journal): %s", self._name, type(error).__name__)
