"""The recorder: every exchange of a kit run, judged by the rules and the request's expectations.

Each answer is judged as it is recorded - the catalogue's rules and the profile
expectations the request carries - so the verdict (:mod:`.verdict`) only counts. What
schemathesis's own checks report on an exchange is kept beside it as findings too.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from facematch_contract.rules import Exchange, Finding, RuleVerdict, curl_line, evaluate

from .kit_request import KitRequest
from .problems import KitProblem


@dataclass
class Record:
    test: str
    request: KitRequest | None
    exchange: Exchange
    #: The catalogue's rules, every one (applied or not).
    verdicts: list[RuleVerdict]
    #: The profile expectations the request carried.
    checks: list[RuleVerdict] = field(default_factory=list)
    #: Breaches reported by schemathesis's own checks (``rule`` is the check's name).
    tool_findings: list[Finding] = field(default_factory=list)

    @property
    def failures(self) -> list[Finding]:
        """The rules' and the expectations' failures (schemathesis's are counted on their own)."""
        return [f for v in (*self.verdicts, *self.checks) for f in v.failures]

    @property
    def broke_a_rule(self) -> bool:
        return any(v.failures for v in self.verdicts)

    @property
    def curl(self) -> str:
        return curl_line(self.exchange)

    @property
    def about(self) -> str:
        return self.request.describe() if self.request else f"{self.exchange.method} {self.exchange.url}"


class Recorder:
    """Every exchange of a run with its verdicts (thread-safe; one per kit session)."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.tool_checked: dict[str, int] = {}
        self.problems: list[KitProblem] = []
        self._lock = threading.Lock()

    def add_problem(self, problem: KitProblem) -> None:
        with self._lock:
            if problem not in self.problems:
                self.problems.append(problem)

    def add_tool_result(self, record: Record, checks: Iterable[str], failures: Iterable[Finding]) -> None:
        with self._lock:
            for name in checks:
                self.tool_checked[name] = self.tool_checked.get(name, 0) + 1
            record.tool_findings.extend(failures)

    def add(self, test: str, request: KitRequest | None, exchange: Exchange) -> Record:
        expects = request.expects if request is not None else ()
        record = Record(test, request, exchange, evaluate(exchange), [e.judge(exchange) for e in expects])
        with self._lock:
            self.records.append(record)
        return record

    def for_test(self, test: str) -> list[Record]:
        return [r for r in self.records if r.test == test]


def explain(records: Iterable[Record], limit: int = 5) -> str:
    """A readable account of the first failing records: rule, message, field, curl line."""
    lines: list[str] = []
    shown = 0
    for record in records:
        if not record.failures:
            continue
        shown += 1
        if shown > limit:
            lines.append("... (more failures in the report)")
            break
        lines.append(f"* {record.about} -> {record.exchange.status}")
        for finding in record.failures:
            where = f" [{finding.field}]" if finding.field else ""
            lines.append(f"    {finding.rule}{where}: {finding.message}")
        lines.append(f"    reproduce: {record.curl}")
    return "\n".join(lines)
