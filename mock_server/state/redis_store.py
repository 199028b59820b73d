"""The Redis state store: one journal, one set of runtime overrides and one sequence state
for every instance of the mock on one Redis (``facematch serve --state redis://HOST:PORT/N``).

Keys live under a prefix (``facematch:`` unless the URL says ``?prefix=NAME:``). A call of
the operation waits for one round trip to Redis, its journal entry's: each process is
subscribed to a change channel every admin write publishes on, and re-reads the overrides
and definitions only when a message arrived (or the subscription broke, or a second passed
since it last checked) (:mod:`.redis_links`). A call that falls in a sequence makes one script call, which
advances the position atomically.

When Redis goes away the operation keeps answering: it uses the last overrides and
definitions it read, sequences do not advance (their steps are skipped: the normal
answer), and journal entries are counted as dropped (reported once Redis is back). Each
worker waits a second after a failure before it tries Redis again, so a dead store costs
nothing per call. Admin routes answer 503 naming the store.

A restarted (empty) Redis is noticed by the broken subscription and then by the missing
version token: the first worker to see that writes back the definitions and overrides it
last read (or its ``--sequences`` file's), so no configured sequence is lost; positions
restart from the first step.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from collections.abc import Sequence as Seq
from typing import Any, TypeVar, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis

from ..acks import Ack
from ..journal import JournalEntry
from ..runtime import NO_OVERRIDES, RuntimeOverrides, canonical
from ..sequences import MAX_KEYS_PER_SEQUENCE, Sequence, check_bounds, sequences_from_json
from .base import JournalPage, JournalQuery, Snapshot, StoreUnavailable, UnknownSequence
from .redis_links import ChangeListener, JournalWriter, Link, Poll

log = logging.getLogger("facematch")
T = TypeVar("T")

DEFAULT_PREFIX = "facematch:"
#: Seconds a worker leaves Redis alone after a failed call.
RETRY_AFTER_S = 1.0
#: Socket timeouts: a store that does not answer must not hold the operation.
TIMEOUT_S = 0.5
#: Seconds after which a worker reads the version token even though no change was announced
#: (a subscription that died silently, e.g. behind a dropped NAT entry, is then noticed).
REVALIDATE_S = 1.0

#: KEYS: journal list, its byte counter; ARGV: entry limit, byte limit, then entries, oldest first.
#: One call pushes a batch, then drops the oldest entries past the count bound in one
#: ``RPOP key N`` and past the byte bound one by one; returns the entries kept.
_RECORD = """
local size = 0
for i = 3, #ARGV do
  size = size + string.len(ARGV[i])
end
local count = redis.call('LPUSH', KEYS[1], unpack(ARGV, 3))
local bytes = redis.call('INCRBY', KEYS[2], size)
local limit, max_bytes = tonumber(ARGV[1]), tonumber(ARGV[2])
local freed = 0
if count > limit then
  for _, old in ipairs(redis.call('RPOP', KEYS[1], count - limit)) do
    freed = freed + string.len(old)
  end
  count = limit
end
while count > 0 and bytes - freed > max_bytes do
  freed = freed + string.len(redis.call('RPOP', KEYS[1]))
  count = count - 1
end
if freed > 0 then
  redis.call('DECRBY', KEYS[2], freed)
end
return count
"""
#: KEYS: the sequence's positions hash; ARGV: key, bound of keys. Returns the position taken, or -1.
_ADVANCE = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[2]) then
  return -1
end
return redis.call('HINCRBY', KEYS[1], ARGV[1], 1) - 1
"""


def redacted(url: str) -> str:
    """The URL without its user name and password."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class RedisStore:
    def __init__(
        self, url: str, examples: Seq[str], journal_limit: int, journal_max_bytes: int, journaling: bool = True
    ) -> None:
        parts = urlsplit(url)
        query = parse_qsl(parts.query)
        prefix = next((value for name, value in query if name == "prefix"), DEFAULT_PREFIX)
        rest = urlencode([(name, value) for name, value in query if name != "prefix"])
        self.name = redacted(url)
        self.prefix = prefix
        self.examples = tuple(examples)
        self.journal_limit = journal_limit
        self.journal_max_bytes = journal_max_bytes
        self.journaling = journaling
        self._client = redis.Redis.from_url(
            urlunsplit((parts.scheme, parts.netloc, parts.path, rest, "")),
            socket_timeout=TIMEOUT_S,
            socket_connect_timeout=TIMEOUT_S,
            health_check_interval=0,
        )
        self._advance_script = self._client.register_script(_ADVANCE)
        self._down_until = 0.0
        self._lock = threading.Lock()
        self._version: object = None
        self._last = Snapshot()
        #: What this process would write back into an emptied Redis.
        self._known = Snapshot()
        pool = self._client.connection_pool
        db = pool.connection_kwargs.get("db", 0)
        #: Channels are not per database: the name carries the database as well as the prefix.
        self.channel = f"{prefix}changes:{db}"
        #: A new connection with the client's settings (address, password, TLS, timeouts), not from the pool.
        connect = cast(Callable[[], Link], pool.make_connection)
        self._listener = ChangeListener(connect, self.channel)
        #: The last documents were read after the subscription was in place (and no message came since).
        self._valid = False
        self._revalidate_at = 0.0
        self._subscribe_after = 0.0
        self._writer = JournalWriter(
            connect,
            _RECORD,
            (self.key("journal"), self.key("journal:bytes")),
            self.key("journal:dropped"),
            (journal_limit, journal_max_bytes),
            self.name,
            TIMEOUT_S,
        )

    def key(self, name: str) -> str:
        return self.prefix + name

    # -- plumbing
    def _call(self, action: Callable[[redis.Redis], T]) -> T:
        if time.monotonic() < self._down_until:
            raise StoreUnavailable(f"state store {self.name} is unreachable (retrying shortly)")
        try:
            return action(self._client)
        except (redis.ConnectionError, redis.TimeoutError) as error:
            self._down_until = time.monotonic() + RETRY_AFTER_S
            log.warning("state store %s is unreachable: %s", self.name, type(error).__name__)
            raise StoreUnavailable(f"state store {self.name} is unreachable: {type(error).__name__}") from None
        except redis.RedisError as error:
            log.warning("state store %s failed: %s", self.name, type(error).__name__)
            raise StoreUnavailable(f"state store {self.name} failed: {type(error).__name__}") from None

    # -- journal
    def record(self, entry: JournalEntry, acks: list[Ack] | None = None) -> None:
        if self.journaling:
            self._writer.record(entry.json_line(), acks)

    def _entries(self) -> tuple[list[JournalEntry], int]:
        self._writer.flush()

        def read(client: redis.Redis) -> list[Any]:
            pipe = client.pipeline(transaction=False)
            pipe.lrange(self.key("journal"), 0, self.journal_limit - 1)
            pipe.get(self.key("journal:dropped"))
            return pipe.execute()

        lines, dropped = self._call(read)
        entries = [JournalEntry.from_dict(json.loads(line)) for line in reversed(lines)]
        return entries, int(dropped or 0) + self._writer.dropped

    def requests(self, query: JournalQuery, limit: int) -> JournalPage:
        entries, dropped = self._entries()
        found = [entry for entry in entries if query.matches(entry)]
        return JournalPage(found[-limit:], dropped)

    def count(self, query: JournalQuery) -> int:
        entries, _ = self._entries()
        return sum(1 for entry in entries if query.matches(entry))

    def clear_requests(self) -> None:
        self._writer.flush()  # this process's entries from before the clear must not land after it
        self._call(
            lambda client: client.delete(self.key("journal"), self.key("journal:bytes"), self.key("journal:dropped"))
        )
        self._writer.forget_dropped()

    # -- overrides and definitions
    def snapshot(self) -> Snapshot:
        """The last documents read, when the subscription says nothing changed (one
        non-blocking ``poll`` of its socket); else the store is read (:meth:`_revalidate`)."""
        poll = self._listener.poll()
        if poll is Poll.QUIET and self._valid and time.monotonic() < self._revalidate_at:
            return self._last
        return self._revalidate(poll)

    def _revalidate(self, poll: Poll) -> Snapshot:
        """Subscribe when not subscribed, then today's check: one ``GET`` of the version
        token (every write sets a new random one, so a restarted Redis never matches) and
        the documents when it changed. Without a subscription (Redis down, or ``SUBSCRIBE``
        refused) every call takes this path, with one try to subscribe a second."""
        timer = poll is Poll.QUIET and self._valid
        self._valid = False
        now = time.monotonic()
        if poll is Poll.CLOSED and now >= self._subscribe_after:
            try:
                self._call(lambda _: self._listener.subscribe())
            except StoreUnavailable:
                self._subscribe_after = now + RETRY_AFTER_S
        try:
            version = self._call(lambda client: client.get(self.key("version")))
        except StoreUnavailable:
            return self._last
        if version is None:
            self._reseed()
            return self._known
        if version != self._version:
            if timer:
                # A change no message announced (the timer found it): trust the subscription no more.
                self._listener.close()
            try:
                self._read_documents()
            except StoreUnavailable:
                return self._last
            if self._version != version:
                return self._last  # emptied or changed again meanwhile: check again next call
        if self._listener.subscribed:
            self._valid = True
            self._revalidate_at = now + REVALIDATE_S
        return self._last

    def _read_documents(self) -> Snapshot:
        settings, sequences, version = self._call(
            lambda client: client.mget(self.key("settings"), self.key("sequences"), self.key("version"))
        )
        if version is None:
            self._reseed()
            return self._known
        self._last = self._known = Snapshot(
            canonical(RuntimeOverrides.from_json(json.loads(settings))) if settings else NO_OVERRIDES,
            sequences_from_json(json.loads(sequences), self.examples) if sequences else (),
        )
        self._version = version
        return self._last

    def _reseed(self) -> None:
        """An empty Redis (new or restarted): write back what this process knows, unless
        another process already did."""
        known = self._known

        def seed(client: redis.Redis) -> None:
            token = uuid.uuid4().hex
            if client.set(self.key("version"), token, nx=True):
                pipe = client.pipeline(transaction=True)
                pipe.set(self.key("settings"), json.dumps(known.overrides.to_json()), nx=True)
                pipe.set(self.key("sequences"), json.dumps([s.to_json() for s in known.sequences]), nx=True)
                pipe.publish(self.channel, token)
                pipe.execute()
                log.warning(
                    "state store %s was empty: re-seeded %d sequence definition(s)", self.name, len(known.sequences)
                )

        with contextlib.suppress(StoreUnavailable):
            self._call(seed)

    def current(self) -> Snapshot:
        return self._fresh()

    def _fresh(self) -> Snapshot:
        """The store's current state, for admin changes (StoreUnavailable when it is down)."""
        return self._read_documents()

    def _store(self, snapshot: Snapshot) -> None:
        """Write the documents and a new version token, and announce it on the channel.

        Why the very next call to any other instance B sees the change: the ``PUBLISH`` is
        in the same transaction as the writes, and ``redis-server`` (one event loop) writes
        the message to every subscriber's socket in the same pass of its loop in which it
        answers that transaction, before it reads anything more. The ``PING`` after it is
        read in a later pass, so once its answer is here the message has been handed to
        B's socket (on one host: it is in B's receive buffer). Only then does this admin
        call answer; the client's next call to B begins after that, and B's first look at
        its socket finds the message and reads the documents again. Across hosts the
        same holds unless TCP has to retransmit the message's segment. A subscriber whose
        connection broke (a restarted Redis, its output buffer limit) sees the socket
        closed and reads the store itself; a silently dead one is caught by the version
        token read once a second (REVALIDATE_S)."""
        token = uuid.uuid4().hex

        def write(client: redis.Redis) -> None:
            pipe = client.pipeline(transaction=True)
            pipe.set(self.key("settings"), json.dumps(snapshot.overrides.to_json()))
            pipe.set(self.key("sequences"), json.dumps([s.to_json() for s in snapshot.sequences]))
            pipe.set(self.key("version"), token)
            pipe.publish(self.channel, token)
            pipe.execute()
            client.ping()  # the barrier described above

        self._call(write)
        self._known = self._last = snapshot
        self._version = token.encode()

    def set_overrides(self, overrides: RuntimeOverrides) -> None:
        with self._lock:
            current = self._fresh()
            self._store(Snapshot(overrides, current.sequences))

    def define(self, sequences: Seq[Sequence]) -> None:
        """Definitions at start-up (the ``--sequences`` file) are kept as known even when
        Redis is down, and written once it is back."""
        with self._lock:
            try:
                current = self._fresh()
            except StoreUnavailable:
                merged = _merge(self._known.sequences, sequences)
                self._known = Snapshot(self._known.overrides, merged)
                self._last = self._known
                raise
            merged = _merge(current.sequences, sequences)
            check_bounds(merged)
            replaced = [s.name for s in sequences if any(c.name == s.name and c != s for c in current.sequences)]
            self._store(Snapshot(current.overrides, merged))
            if replaced:
                self._call(lambda client: client.delete(*(self.key(f"pos:{name}") for name in replaced)))

    def remove(self, name: str | None) -> None:
        with self._lock:
            current = self._fresh()
            kept = tuple(s for s in current.sequences if name is not None and s.name != name)
            if name is not None and len(kept) == len(current.sequences):
                raise UnknownSequence(name)
            gone = [s.name for s in current.sequences if s not in kept]
            self._store(Snapshot(current.overrides, kept))
            if gone:
                self._call(lambda client: client.delete(*(self.key(f"pos:{name}") for name in gone)))

    # -- positions
    def positions(self, name: str) -> dict[str, int]:
        raw = self._call(lambda client: client.hgetall(self.key(f"pos:{name}")))
        return {key.decode() if isinstance(key, bytes) else str(key): int(value) for key, value in raw.items()}

    def reset(self, name: str | None, key: str | None) -> int:
        names = [name] if name is not None else [s.name for s in self._fresh().sequences]
        keys = [self.key(f"pos:{each}") for each in names]
        if not keys:
            return 0
        if key is None:

            def drop_all(client: redis.Redis) -> int:
                pipe = client.pipeline(transaction=True)
                for each in keys:
                    pipe.hlen(each)
                pipe.delete(*keys)
                return sum(pipe.execute()[:-1])

            return self._call(drop_all)

        def drop_key(client: redis.Redis) -> int:
            pipe = client.pipeline(transaction=True)
            for each in keys:
                pipe.hdel(each, key)
            return sum(pipe.execute())

        return self._call(drop_key)

    def advance(self, sequence: Sequence, key: str) -> int | None:
        taken = self._call(
            lambda client: self._advance_script(
                keys=[self.key(f"pos:{sequence.name}")], args=[key, MAX_KEYS_PER_SEQUENCE], client=client
            )
        )
        return None if int(taken) < 0 else int(taken)


def _merge(current: Seq[Sequence], new: Seq[Sequence]) -> tuple[Sequence, ...]:
    """``current`` with ``new`` replacing same-named definitions in place, others appended."""
    by_name = {sequence.name: sequence for sequence in new}
    merged = [by_name.pop(sequence.name, sequence) for sequence in current]
    return (*merged, *(sequence for sequence in new if sequence.name in by_name))
