"""Running counts over all the traffic the proxy judged: per rule, plus what it could not judge.

Worker threads add one exchange's verdicts at a time under one lock. What is kept of an
exchange is only what a report shows: the first failure (and first warning) of each rule
with its curl line, in which the token is ``$TOKEN`` and images are ``@file`` placeholders.
Never a token, never image bytes.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from enum import Enum

from facematch_contract.rules import RULES, Exchange, FateName, Finding, RuleVerdict, curl_line
from facematch_contract.timestamps import utc_timestamp
from facematch_contract.verdicts import CheckTally


class Verdict(Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    #: No answer of the operation was judged: nothing to vouch for.
    NOT_JUDGED = "NOT JUDGED"


class Unjudged(Enum):
    """Why an answer of the operation was passed on without a verdict."""

    TOO_LARGE = "too_large"
    UNKNOWN_CODING = "unknown_content_encoding"


class UpstreamFailure(Enum):
    """Why the proxy answered instead of the upstream (its own 502/504)."""

    REFUSED = "connection_refused"
    UNRESOLVED = "name_not_resolved"
    TIMEOUT = "timeout"
    TLS = "tls_error"
    CLOSED = "connection_closed"
    OTHER = "network_error"


@dataclass(frozen=True)
class Example:
    """One exchange as a report shows it."""

    method: str
    url: str
    status: int
    fate: FateName | None
    field: str | None
    message: str
    curl: str
    at: str

    def as_dict(self) -> dict[str, object]:
        return {
            "method": self.method,
            "url": self.url,
            "status": self.status,
            "fate": None if self.fate is None else self.fate.value,
            "field": self.field,
            "message": self.message,
            "curl": self.curl,
            "at": self.at,
        }


#: One rule's counts over the traffic, with the first failing and first warning answer.
RuleTally = CheckTally[Example]


def _rule_dict(row: RuleTally) -> dict[str, object]:
    return {
        **row.counts(),
        "first_failure": row.first.as_dict() if row.first else None,
        "first_warning": row.first_warning.as_dict() if row.first_warning else None,
    }


@dataclass
class Tally:
    upstream: str
    started: float = field(default_factory=time.time)
    forwarded: int = 0
    judged: int = 0
    violating: int = 0
    #: Answers of the operation passed on without a verdict, by reason.
    unjudged: dict[Unjudged, int] = field(default_factory=dict)
    upstream_failures: dict[UpstreamFailure, int] = field(default_factory=dict)
    rules: dict[str, RuleTally] = field(default_factory=lambda: {r.id: RuleTally(r.id, r.summary) for r in RULES})
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count_forwarded(self) -> None:
        with self._lock:
            self.forwarded += 1

    def count_unjudged(self, reason: Unjudged) -> None:
        with self._lock:
            self.unjudged[reason] = self.unjudged.get(reason, 0) + 1

    def count_failure(self, kind: UpstreamFailure) -> None:
        with self._lock:
            self.upstream_failures[kind] = self.upstream_failures.get(kind, 0) + 1

    def add(self, exchange: Exchange, verdicts: list[RuleVerdict]) -> None:
        at = utc_timestamp(timespec="seconds")
        curl: list[str] = []  # made once, and only when a first failure or warning keeps it

        def example(finding: Finding) -> Example:
            curl[:] = curl or [curl_line(exchange)]
            return Example(
                exchange.method,
                exchange.url,
                exchange.status,
                exchange.fate,
                finding.field,
                finding.message,
                curl[0],
                at,
            )

        with self._lock:
            self.judged += 1
            broke = False
            for verdict in verdicts:
                if verdict.applied:
                    broke = self.rules[verdict.rule].count(verdict, example) or broke
            self.violating += broke

    @property
    def verdict(self) -> Verdict:
        with self._lock:
            if any(row.failed for row in self.rules.values()):
                return Verdict.FAIL
            return Verdict.PASS if self.judged else Verdict.NOT_JUDGED

    def failing_rules(self) -> list[str]:
        with self._lock:
            return [row.id for row in self.rules.values() if row.failed]

    def as_dict(self) -> dict[str, object]:
        verdict = self.verdict
        with self._lock:
            return {
                "verdict": verdict.value,
                "upstream": self.upstream,
                "started": utc_timestamp(self.started, timespec="seconds"),
                "seconds": round(time.time() - self.started, 3),
                "forwarded": self.forwarded,
                "judged": self.judged,
                "violating": self.violating,
                "unjudged": {reason.value: n for reason, n in self.unjudged.items()},
                "upstream_failures": {kind.value: n for kind, n in self.upstream_failures.items()},
                "failing_rules": [row.id for row in self.rules.values() if row.failed],
                "rules": [_rule_dict(row) for row in self.rules.values()],
            }
