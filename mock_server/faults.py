"""Faults and delays on request: what a client (or the admin API) may ask the mock to do
besides answering, as plain data and pure functions.

None of this is part of the vendor contract: the mock misbehaves only when asked, per
request (``Prefer: fault=NAME``, ``Prefer: delay=...``) or globally (``--faults``,
``--fault-rate``, ``--latency``, the admin API). Deciding *whether* a fault applies is
here; *carrying it out* is the app's job for the HTTP-level faults (an answer with another
status) and the server layer's (:mod:`mock_server.http_front`) for the socket-level ones
(reset, empty, truncated, hang, slow), which the app hands over as a :class:`SocketFault`.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from enum import Enum

#: Every delay and every timed fault is capped here, so a client cannot hold a connection
#: for longer than this by asking.
MAX_DELAY_MS = 60_000
#: How long ``hang`` holds a connection and ``slow`` dribbles a body, unless told.
DEFAULT_HANG_MS = 30_000
DEFAULT_SLOW_MS = 5_000
#: ``Retry-After`` of the 503 and 429 faults, in seconds.
RETRY_AFTER_S = 2
#: The WSGI environ key under which the app hands a socket-level fault to the server layer.
SOCKET_FAULT_KEY = "facematch.socket_fault"
#: The WSGI environ key under which the app hands a delay (seconds) to the server layer,
#: which waits without holding the worker; outside the server layer the app sleeps.
DELAY_KEY = "facematch.delay_s"
#: Set by the server layer in every environ it builds: it carries out the two keys above.
FRONT_KEY = "facematch.front"


class Fault(Enum):
    """The faults a client may ask for, by the name it uses in ``Prefer: fault=NAME``."""

    UNAVAILABLE = "503"  # 503 JSON {"msg"} with Retry-After
    RATE_LIMITED = "429"  # 429 JSON {"msg"} with Retry-After
    BAD_GATEWAY = "502"  # 502 with a gateway's HTML page
    GATEWAY_TIMEOUT = "504"  # 504 with a gateway's HTML page
    RESET = "reset"  # the connection is reset (TCP RST), no answer
    EMPTY = "empty"  # the connection is closed with no answer
    TRUNCATED = "truncated"  # the answer's head and half its body, then closed
    HANG = "hang"  # no answer for a bounded time, then closed
    SLOW = "slow"  # the answer, its body dribbled over a bounded time

    @property
    def socket_level(self) -> bool:
        """Carried out by the server layer (True) or answered by the app (False)."""
        return self in SOCKET_FAULTS

    @classmethod
    def named(cls, name: str) -> Fault | None:
        try:
            return cls(name.strip().lower())
        except ValueError:
            return None


SOCKET_FAULTS = frozenset({Fault.RESET, Fault.EMPTY, Fault.TRUNCATED, Fault.HANG, Fault.SLOW})


@dataclass(frozen=True)
class HttpFaultAnswer:
    """What the app answers for an HTTP-level fault."""

    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


_GATEWAY_PAGE = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>gateway (facematch mock fault)</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def http_answer(fault: Fault) -> HttpFaultAnswer:
    """The answer of an HTTP-level fault (raises ValueError for a socket-level one)."""
    retry = (("Retry-After", str(RETRY_AFTER_S)),)
    if fault is Fault.UNAVAILABLE:
        return HttpFaultAnswer(503, "application/json", b'{"msg":"service unavailable (injected fault 503)"}', retry)
    if fault is Fault.RATE_LIMITED:
        return HttpFaultAnswer(429, "application/json", b'{"msg":"too many requests (injected fault 429)"}', retry)
    if fault is Fault.BAD_GATEWAY:
        page = _GATEWAY_PAGE.format(status=502, reason="Bad Gateway")
        return HttpFaultAnswer(502, "text/html", page.encode())
    if fault is Fault.GATEWAY_TIMEOUT:
        page = _GATEWAY_PAGE.format(status=504, reason="Gateway Time-out")
        return HttpFaultAnswer(504, "text/html", page.encode())
    raise ValueError(f"{fault.value} is carried out by the server layer, not answered")


@dataclass(frozen=True)
class SocketFault:
    """A socket-level fault handed from the app to the server layer, with its duration
    (``hang`` and ``slow`` only), in milliseconds."""

    fault: Fault
    duration_ms: int = 0


class DelayKind(Enum):
    FIXED = "fixed"  # always low_ms
    UNIFORM = "uniform"  # uniform in [low_ms, high_ms]
    LONG_TAIL = "tail"  # log-normal with median low_ms and 99th percentile high_ms


#: z-score of the 99th percentile of the standard normal distribution.
Z99 = 2.3263478740408408


@dataclass(frozen=True)
class Delay:
    kind: DelayKind
    low_ms: int
    high_ms: int

    def draw_ms(self, rng: random.Random) -> float:
        """One delay in milliseconds, never over MAX_DELAY_MS."""
        if self.kind is DelayKind.FIXED:
            value = float(self.low_ms)
        elif self.kind is DelayKind.UNIFORM:
            value = rng.uniform(self.low_ms, self.high_ms)
        else:
            median = max(self.low_ms, 1)
            sigma = math.log(max(self.high_ms, median) / median) / Z99
            value = rng.lognormvariate(math.log(median), sigma)
        return min(value, float(MAX_DELAY_MS))

    def describe(self) -> str:
        if self.kind is DelayKind.FIXED:
            return str(self.low_ms)
        prefix = "tail:" if self.kind is DelayKind.LONG_TAIL else ""
        return f"{prefix}{self.low_ms}-{self.high_ms}"


def parse_delay(text: str) -> Delay:
    """``200`` (fixed), ``100-400`` (uniform), ``tail:200-3000`` (long tail: median 200 ms,
    99th percentile 3000 ms). Raises ValueError with a message a user can act on."""
    raw = text.strip().lower()
    kind = DelayKind.UNIFORM
    if raw.startswith("tail:"):
        kind, raw = DelayKind.LONG_TAIL, raw[len("tail:") :]
    low_text, sep, high_text = raw.partition("-")
    try:
        low = int(low_text)
        high = int(high_text) if sep else low
    except ValueError:
        raise ValueError(f"delay must be MS, LOW-HIGH or tail:MEDIAN-P99 in milliseconds, not {text!r}") from None
    if low < 0 or high < low:
        raise ValueError(f"delay range must satisfy 0 <= LOW <= HIGH, not {text!r}")
    if high > MAX_DELAY_MS:
        raise ValueError(f"delay may be at most {MAX_DELAY_MS} ms, not {text!r}")
    if kind is DelayKind.LONG_TAIL and not sep:
        raise ValueError(f"a long-tail delay needs both a median and a 99th percentile (tail:MEDIAN-P99), not {text!r}")
    if not sep and kind is DelayKind.UNIFORM:
        kind = DelayKind.FIXED
    return Delay(kind, low, high)


def parse_faults(text: str) -> tuple[Fault, ...]:
    """``503,reset`` -> (Fault.UNAVAILABLE, Fault.RESET); ValueError names unknown ones."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    faults = [Fault.named(name) for name in names]
    unknown = [name for name, fault in zip(names, faults, strict=True) if fault is None]
    if unknown or not names:
        raise ValueError(
            f"unknown fault {', '.join(unknown) or '(none given)'}: choose from {', '.join(fault_names())}"
        )
    return tuple(fault for fault in faults if fault is not None)


def fault_names() -> list[str]:
    return [fault.value for fault in Fault]


def parse_duration_ms(text: str) -> int:
    """A fault's duration (``Prefer: fault-ms=N``): 0..MAX_DELAY_MS milliseconds."""
    value = text.strip()
    if not value.isascii() or not value.isdigit() or int(value) > MAX_DELAY_MS:
        raise ValueError(f"fault-ms must be a whole number of milliseconds from 0 to {MAX_DELAY_MS}, not {text!r}")
    return int(value)


@dataclass(frozen=True)
class FaultPolicy:
    """Random faults: each request gets one of ``faults`` with probability ``rate``.

    With a ``seed`` the choice is a function of the seed and a key the caller gives (the
    client's correlation id when it sent one, else the process's request number), so a
    rerun with the same seed and the same requests meets the same faults."""

    rate: float
    faults: tuple[Fault, ...]
    seed: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate must be from 0 to 1, not {self.rate}")
        if self.rate > 0 and not self.faults:
            raise ValueError("a fault rate needs at least one fault (--faults)")

    def choose(self, key: str, rng: random.Random) -> Fault | None:
        if self.rate <= 0 or not self.faults:
            return None
        if self.seed is None:
            draw, pick = rng.random(), rng.randrange(len(self.faults))
        else:
            digest = hashlib.sha256(f"{self.seed}:{key}".encode()).digest()
            draw = int.from_bytes(digest[:8], "big") / 2**64
            pick = int.from_bytes(digest[8:12], "big") % len(self.faults)
        return self.faults[pick] if draw < self.rate else None
