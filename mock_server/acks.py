"""Writes an answer must wait for, and how the server front waits for them without
blocking its event loop.

The Redis journal must have stored a call's entry before the call's answer leaves (a
frontend test asks the journal right after its call returns, maybe through another
worker or instance). Waiting for Redis's reply inside the app stalls the whole worker
when the app runs on the front's event loop (one app thread, the mock's default): every
other connection of that worker waits with it. So when the front runs the app on its
loop, it hands the app a list in the environ (:data:`ACKS_KEY`). A store that can confirm
a write later leaves an :class:`Ack` there instead of waiting; the front sends the answer
once every ack in the list is settled, and serves other connections meanwhile
(:class:`AckWaiter`: a reader on the store's socket and a timer for the bound).

Without that list (Flask's test client, another WSGI server, the front's thread pool) a
store waits for its reply itself, as before. The list is set by the front alone: a
client cannot ask for it (header names become ``HTTP_*`` keys).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

#: The environ key of the list of acks (set by the front when the app runs on its loop).
ACKS_KEY = "facematch.acks"


class AckSource(Protocol):
    """Where the replies that settle acks arrive: one socket, read without blocking."""

    def fileno(self) -> int:
        """The socket to watch for replies; -1 when there is none (every ack is settled)."""

    def receive(self) -> None:
        """Read what arrived (called when the socket is readable, so it does not block)
        and settle the acks it confirms. Never raises."""

    def push(self) -> None:
        """Send what was held back for the end of the loop pass (the writes of every app
        call the pass ran go out together). Never raises."""

    def expire(self) -> None:
        """An ack's bound has passed: give up on every write not yet confirmed (each
        counts as lost), which settles every ack. Never raises."""

    def watch(self, release: Callable[[int], None] | None) -> None:
        """``release(fd)`` is called before the socket is closed (so a watcher stops
        watching a descriptor number the system may hand out again); None: unwatched."""


@dataclass(eq=False)
class Ack:
    """One write (or a batch of them) not confirmed yet."""

    source: AckSource
    #: ``time.monotonic()`` after which the source is told to give up on it.
    deadline: float
    #: Confirmed, refused or given up on: the answer may go.
    settled: bool = False


@dataclass(eq=False)
class _Waiting:
    acks: list[Ack]
    then: Callable[[], None]


@dataclass(eq=False)
class AckWaiter:
    """One per worker: answers held until their acks settle, on the running event loop.

    A source's socket is watched from its first wait until the source closes it (its
    ``release`` call), so a busy worker makes no ``epoll_ctl`` per call."""

    waiting: list[_Waiting] = field(default_factory=list)
    watched: dict[int, AckSource] = field(default_factory=dict)
    timer: asyncio.TimerHandle | None = None
    timer_at: float = 0.0
    #: Sources to push at the end of this loop pass (a callback is scheduled when not empty).
    pushing: list[AckSource] = field(default_factory=list)

    def wait(self, acks: list[Ack], then: Callable[[], None]) -> None:
        """Call ``then`` (on the loop) once every one of ``acks`` is settled, at the
        latest shortly after the latest deadline among them."""
        self.waiting.append(_Waiting(acks, then))
        loop = asyncio.get_running_loop()
        for ack in acks:
            if not ack.settled and ack.source not in self.watched.values():
                fd = ack.source.fileno()
                if fd < 0:
                    ack.source.expire()  # nothing to read from: it cannot be confirmed
                    continue
                loop.add_reader(fd, self._readable, ack.source)
                self.watched[fd] = ack.source
                ack.source.watch(self._release)
            if not ack.settled and ack.source not in self.pushing:
                if not self.pushing:
                    loop.call_soon(self._push)  # after the callbacks this pass already holds
                self.pushing.append(ack.source)
        first = min((ack.deadline for ack in acks if not ack.settled), default=None)
        # Deadlines only grow (a write's bound starts when it is made), so one timer, at
        # the earliest, serves every wait until it fires: no timer is set per call.
        if first is not None and (self.timer is None or first < self.timer_at):
            self._arm(first)
        self.check()

    def check(self) -> None:
        """Hand over every answer whose acks are all settled. The front calls it after
        each app call too, since a store may settle acks there (a journal query reads
        every pending reply)."""
        if not self.waiting:
            return
        ready: list[_Waiting] = []
        still: list[_Waiting] = []
        for item in self.waiting:
            (ready if all(ack.settled for ack in item.acks) else still).append(item)
        if not ready:
            return
        self.waiting = still
        for item in ready:
            item.then()

    def _push(self) -> None:
        sources, self.pushing = self.pushing, []
        for source in sources:
            source.push()
        self.check()  # a failed send settles its acks

    def _readable(self, source: AckSource) -> None:
        source.receive()
        self.check()

    def _release(self, fd: int) -> None:
        if self.watched.pop(fd, None) is not None:
            asyncio.get_running_loop().remove_reader(fd)

    def _arm(self, at: float) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer_at = at
        self.timer = asyncio.get_running_loop().call_later(max(0.0, at - time.monotonic()), self._expired)

    def _expired(self) -> None:
        self.timer = None
        now = time.monotonic()
        for item in self.waiting:
            for ack in item.acks:
                if not ack.settled and ack.deadline <= now:
                    ack.source.expire()  # settles every ack of that source
        self.check()
        rest = [ack.deadline for item in self.waiting for ack in item.acks if not ack.settled]
        if rest:
            self._arm(min(rest))
