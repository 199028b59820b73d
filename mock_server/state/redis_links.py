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
- :class:`JournalWriter`: entries are written to this process's own connection as
  hand-encoded script calls, and a call answers only after the reply to its entry was
  read. Answering without that reply was tried and measured faster, but it made "a client
  that got its answer finds its call in the journal" depend on the order in which Redis
  reads two connections: a CI run under load saw a query on another connection served
  before an entry already handed to the kernel. A mock's journal is what a frontend test
  asserts on, so the answer waits. On the server front's loop it waits there, not in the
  app (:mod:`mock_server.acks`), so the worker serves other connections meanwhile and the
  entries of calls finishing together share one command.

The consistency each one keeps is argued where it is built (``RedisStore._store`` for
settings, :meth:`JournalWriter.record` for the journal).
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

import redis

from ..acks import Ack

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
    """The part of redis-py's ``Connection`` used here (redis-py leaves it untyped).

    The journal writer reads and writes the connected socket itself (``_sock``, redis-py's
    own attribute; no public accessor exists): its replies are parsed without blocking when
    the front's loop says the socket is readable, which redis-py's reader cannot do."""

    _sock: socket.socket | None

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


#: Entries carried by one command at most (Lua's ``unpack`` takes a few thousand arguments).
MAX_BATCH = 256
#: Bytes asked of the socket per read; replies are a few bytes per command.
RECV_BYTES = 16384


@dataclass(eq=False)
class Sent:
    """One command written to the journal connection, its reply not read yet."""

    #: Entries it carries: N for a batch of N entries or a report of N dropped ones, 0 for a script load.
    entries: int
    #: A batch of entries (counted in ``JournalWriter._batches``), not a script load or a report.
    batch: bool = False
    #: Settled when its reply is read or the connection fails; answers of its entries wait for it.
    ack: Ack | None = None


LOAD = Sent(0)
#: One entry whose reply is read before the call answers (nothing waits on an ack for it).
ENTRY = Sent(1, batch=True)


class JournalWriter:
    """Journal entries written on one connection of this process's own; a call answers
    only after Redis's reply to its entry was read (or the entry was counted as dropped).

    Two ways of waiting for that reply, chosen per call by whether an ack list is given
    (:mod:`mock_server.acks`):

    - without one (the app runs in a thread of its own, or under the test client), the
      reply is read here, before :meth:`record` returns, as it always was;
    - with one (the app runs on the server front's event loop), the entry is queued and an
      :class:`Ack` is left in the list. The front asks for the queue to be sent at the end
      of its loop pass (:meth:`push`: the entries of every call that pass ran, as one
      command), reads the reply when the socket is readable (:meth:`receive`) and only
      then sends the answers, serving its other connections meanwhile. While one batch
      waits for its reply, further entries stay queued and go out together once that
      reply is read (a group commit: under load a worker sends one command per round
      trip, not one per call, and ``redis-server`` wakes once for all of them).

    Each failed entry is counted in :attr:`dropped`: an error reply, or a connection that
    broke or stayed silent past the bound before the reply was read (such an entry may have
    been stored; it is counted all the same, as its storage could not be confirmed). The
    count is added to the shared ``journal:dropped`` counter with the next batch written."""

    def __init__(
        self,
        connect: Callable[[], Link],
        script: str,
        keys: tuple[str, str],
        dropped_key: str,
        bounds: tuple[int, int],
        name: str,
        timeout: float,
    ) -> None:
        self._connect = connect
        self._script = script
        self._sha = hashlib.sha1(script.encode()).hexdigest()
        self._dropped_key = dropped_key.encode()
        #: A batch's command is ``EVALSHA SHA 2 JOURNAL BYTES LIMIT MAX_BYTES LINE...``: all but
        #: the lines are fixed, so they are encoded once (redis-py's packer took 7 µs a command).
        fixed = (b"EVALSHA", self._sha.encode(), b"2", *(key.encode() for key in keys), b"%d" % bounds[0])
        fixed += (b"%d" % bounds[1],)
        self._fixed = b"".join(bulk(arg) for arg in fixed)
        self._fixed_count = len(fixed)
        self._name = name
        self._timeout = timeout
        self._lock = threading.Lock()
        self._connection: Link | None = None
        self._pid = -1
        self._pending: deque[Sent] = deque()
        #: Batches of entries among ``_pending``: while one is out, new entries are queued.
        self._batches = 0
        #: Entries not sent yet (each line already in the wire format) and their common ack.
        self._queued: list[bytes] = []
        self._queued_ack: Ack | None = None
        #: Bytes of a reply not complete yet.
        self._inbox = b""
        #: The watcher's call before the socket is closed (:meth:`watch`).
        self._release: Callable[[int], None] | None = None
        self._down_until = 0.0
        #: The connection is new: the script is loaded (without waiting) before its first entry.
        self._connection_new = False
        #: Entries lost and not yet added to the shared count.
        self.dropped = 0

    def record(self, line: str, acks: list[Ack] | None = None) -> None:
        """Write one entry; never raises. Without ``acks``, send it and read Redis's reply
        before returning (bounded by the socket timeout). With ``acks``, queue it (sent by
        :meth:`push` or behind the batch already out) and leave its ack in the list for
        the caller to wait for.

        Why a client that got its answer finds its call in ``GET /__mock/requests`` on any
        worker or instance: the answer leaves only once Redis's reply to the command that
        carried the entry has been read here, and Redis replies after running the command
        (the entry is in the list). A query sent after the answer arrived therefore runs
        after it, whichever connection or instance it comes through. When no reply can be
        had (an error, a broken or silent connection), the entry counts as dropped and the
        answer goes all the same."""
        with self._lock:
            if time.monotonic() < self._down_until:
                self.dropped += 1
                return
            try:
                self._connected()
                if acks is None:
                    self._queued.append(bulk(line.encode()))
                    self._send_queued()
                    self._collect()
                    return
                ack = self._queue(line)
                if len(self._queued) >= MAX_BATCH:
                    self._send_queued()
                acks.append(ack)  # sent by push() at the end of the loop pass, or after the batch out
            except LINK_ERRORS as error:
                self._fail(error)

    def flush(self) -> None:
        """Send what is queued and read every pending reply (waiting for them, bounded by
        the socket timeout), so every entry this process wrote is stored or counted as
        dropped."""
        with self._lock:
            connection = self._connection
            if connection is None or self._pid != os.getpid() or not (self._pending or self._queued):
                return
            try:
                self._send_queued()
                self._collect()
            except LINK_ERRORS as error:
                self._fail(error)

    def forget_dropped(self) -> None:
        with self._lock:
            self.dropped = 0

    # -- the acks' source (mock_server/acks.py), called on the front's event loop

    def fileno(self) -> int:
        with self._lock:
            connection = self._connection
            if connection is None or self._pid != os.getpid() or connection._sock is None:
                return -1
            return connection._sock.fileno()

    def receive(self) -> None:
        """The socket is readable: take the replies that arrived, then send what was queued
        behind them."""
        with self._lock:
            connection = self._connection
            if connection is None or self._pid != os.getpid():
                return
            try:
                sock = self._socket(connection)
                self._take(sock.recv(RECV_BYTES))
                # TLS: bytes already decrypted are not signalled by the socket again.
                while isinstance(sock, ssl.SSLSocket) and sock.pending():
                    self._take(sock.recv(RECV_BYTES))
                if self._queued and not self._batches:
                    self._send_queued()
            except LINK_ERRORS as error:
                self._fail(error)

    def push(self) -> None:
        """The loop pass ends: send the queued entries unless a batch is out (they then go
        when its reply is read)."""
        with self._lock:
            connection = self._connection
            if connection is None or self._pid != os.getpid() or not self._queued or self._batches:
                return
            try:
                self._send_queued()
            except LINK_ERRORS as error:
                self._fail(error)

    def expire(self) -> None:
        with self._lock:
            if self._pending or self._queued:
                self._fail(TimeoutError(f"no reply from Redis within {self._timeout} s"))

    def watch(self, release: Callable[[int], None] | None) -> None:
        with self._lock:
            self._release = release

    # -- plumbing (the lock is held)

    def _connected(self) -> Link:
        if self._pid != os.getpid():
            # Forked: the parent's connection, replies and drops are the parent's to report.
            self._connection = None
            self._pending.clear()
            self._queued = []
            self._queued_ack = None
            self._batches = 0
            self._inbox = b""
            self._release = None
            self.dropped = 0
        if self._connection is None:
            self._pending.clear()
            self._batches = 0
            self._inbox = b""
            self._connection = self._connect()
            self._pid = os.getpid()
            self._connection.connect()
            self._connection_new = True
        return self._connection

    @staticmethod
    def _socket(connection: Link) -> socket.socket:
        sock = connection._sock
        if sock is None:
            raise redis.ConnectionError("the journal connection has no socket")
        return sock

    def _queue(self, line: str) -> Ack:
        self._queued.append(bulk(line.encode()))
        if self._queued_ack is None:
            self._queued_ack = Ack(self, time.monotonic() + self._timeout)
        return self._queued_ack

    def _send_queued(self) -> None:
        """One write: the script load and the report of drops when due, then the queued
        entries as one command."""
        if not self._queued:
            return
        assert self._connection is not None
        sock = self._socket(self._connection)
        packed = b""  # in the order of self._pending
        if self._connection_new:
            self._connection_new = False
            packed += command(b"SCRIPT", b"LOAD", self._script.encode())
            self._pending.append(LOAD)
        if self.dropped:
            packed += command(b"INCRBY", self._dropped_key, b"%d" % self.dropped)
            self._pending.append(Sent(self.dropped))
            self.dropped = 0
        lines, self._queued = self._queued, []
        ack, self._queued_ack = self._queued_ack, None
        packed += b"*%d\r\n" % (self._fixed_count + len(lines)) + self._fixed + b"".join(lines)
        self._pending.append(ENTRY if ack is None and len(lines) == 1 else Sent(len(lines), batch=True, ack=ack))
        self._batches += 1
        sock.sendall(packed)

    def _collect(self) -> None:
        """Read every pending reply, waiting for each (bounded by the socket timeout)."""
        assert self._connection is not None
        sock = self._socket(self._connection)
        while self._pending:
            self._take(sock.recv(RECV_BYTES))

    def _take(self, data: bytes) -> None:
        """Settle the commands whose replies ``data`` completes. Replies are read as RESP2 or
        RESP3 values (redis-py asks for RESP3); out-of-band pushes and attributes settle
        nothing; an error reply (``-`` or ``!``) drops its command's entries."""
        if not data:
            raise redis.ConnectionError("Redis closed the journal connection")
        if data[:1] == b":" and not self._inbox and len(self._pending) == 1 and data.find(b"\r\n") == len(data) - 2:
            self._settle(self._pending.popleft(), None)  # the common case: one batch stored
            return
        buffer = self._inbox + data if self._inbox else data
        at = 0
        while True:
            after = _value_end(buffer, at)
            if after is None:
                break
            kind = buffer[at : at + 1]
            start = at
            at = after
            if kind in (b">", b"|"):
                continue  # a push (not a reply) or the attributes before a reply
            if not self._pending:
                raise redis.ConnectionError("a reply to no command on the journal connection")
            error = None
            if kind in (b"-", b"!"):
                line = buffer.index(b"\r\n", start)
                error = buffer[start + 1 : line] if kind == b"-" else buffer[line + 2 : after - 2]
            self._settle(self._pending.popleft(), None if error is None else error.decode("utf-8", "replace"))
        self._inbox = buffer[at:]

    def _settle(self, sent: Sent, error: str | None) -> None:
        if sent.batch:
            self._batches -= 1
        if error is not None:
            # NOSCRIPT (scripts flushed without a restart): load it again before the next batch.
            if error.startswith("NOSCRIPT"):
                self._connection_new = True
            self.dropped += sent.entries
            log.warning("state store %s refused a journal write: %s", self._name, error)
        if sent.ack is not None:
            sent.ack.settled = True

    def _fail(self, error: BaseException) -> None:
        """The connection is gone: what it did not confirm is counted as dropped, and every
        answer waiting for it may go."""
        self.dropped += sum(sent.entries for sent in self._pending) + len(self._queued)
        for sent in self._pending:
            if sent.ack is not None:
                sent.ack.settled = True
        if self._queued_ack is not None:
            self._queued_ack.settled = True
        self._pending.clear()
        self._queued = []
        self._queued_ack = None
        self._batches = 0
        self._inbox = b""
        connection, self._connection = self._connection, None
        if connection is not None:
            sock = connection._sock
            release, self._release = self._release, None
            if release is not None and sock is not None:
                release(sock.fileno())  # before the descriptor number can be handed out again
            connection.disconnect()
        self._down_until = time.monotonic() + RETRY_AFTER_S
        log.warning("state store %s is unreachable (journal): %s", self._name, type(error).__name__)


#: RESP value types of one line, of a length-prefixed blob, and of N (or 2N) nested values.
_LINE_TYPES = frozenset(b"+-:_,#(")
_BLOB_TYPES = frozenset(b"$!=")
_AGGREGATE_TYPES = {ord("*"): 1, ord("~"): 1, ord(">"): 1, ord("%"): 2, ord("|"): 2}


def _value_end(buffer: bytes, at: int) -> int | None:
    """Where the RESP value starting at ``at`` ends, or None when it is not complete yet."""
    end = buffer.find(b"\r\n", at)
    if end < 0:
        return None
    kind = buffer[at] if at < len(buffer) else -1
    if kind in _LINE_TYPES:
        return end + 2
    try:
        size = int(buffer[at + 1 : end])
    except ValueError:
        raise redis.ConnectionError("unreadable reply on the journal connection") from None
    if kind in _BLOB_TYPES:
        after = end + 2 + (size + 2 if size >= 0 else 0)
        return after if len(buffer) >= after else None
    if kind in _AGGREGATE_TYPES:
        after = end + 2
        for _ in range(max(size, 0) * _AGGREGATE_TYPES[kind]):
            inner = _value_end(buffer, after)
            if inner is None:
                return None
            after = inner
        return after
    raise redis.ConnectionError(f"unreadable reply on the journal connection: {buffer[at : at + 1]!r}")
