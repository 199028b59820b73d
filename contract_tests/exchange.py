"""Requests the kit sends, and the recorder of every exchange with its rule verdicts."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from facematch_contract.rules import Exchange, Finding, RuleVerdict, curl_line, evaluate

from .problems import KitProblem

#: Use the kit's configured bearer token (the default for a request).
USE_TOKEN = "<token>"


@dataclass(frozen=True)
class Upload:
    """One file part of a multipart request."""

    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None
    #: What the bytes are, for people reading a report ("fixture hopper_a.jpg, cropped").
    about: str = ""


@dataclass(frozen=True)
class KitRequest:
    """Everything needed to send one request to the operation, and what the contract fixes for it."""

    label: str
    uploads: tuple[Upload, ...] = ()
    fields: tuple[tuple[str, str], ...] = ()
    #: USE_TOKEN, None for no Authorization header, or the literal header value to send.
    authorization: str | None = USE_TOKEN
    correlation_id: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    #: A rules.FATES name ("usable", "tiny_image", ...).
    fate: str = "usable"
    #: For requests that are not multipart: the raw body and its Content-Type.
    raw_body: bytes | None = None
    raw_content_type: str | None = None
    #: image2 is sent in a form a server may read either way (a part without a file name may
    #: be taken as a text field): a 200 is judged in the mode the answer chose.
    image2_either_way: bool = False

    @property
    def sends_image2(self) -> bool:
        return any(upload.name == "image2" for upload in self.uploads)

    def describe(self) -> str:
        parts = [f"{u.name}={u.about or u.filename or '?'} ({len(u.data)} B)" for u in self.uploads]
        return self.label + (": " + ", ".join(parts) if parts else "")


@dataclass(frozen=True)
class Check:
    """A profile expectation's verdict (SEM-*, GOLD-*) on one exchange."""

    id: str
    findings: tuple[Finding, ...] = ()


@dataclass
class Record:
    test: str
    request: KitRequest | None
    exchange: Exchange
    verdicts: list[RuleVerdict]
    checks: list[Check] = field(default_factory=list)

    @property
    def failures(self) -> list[Finding]:
        found = [f for v in self.verdicts for f in v.findings if f.severity == "fail"]
        return found + [f for c in self.checks for f in c.findings if f.severity == "fail"]

    @property
    def curl(self) -> str:
        return curl_line(self.exchange)


@dataclass(frozen=True)
class ToolFailure:
    """A failure reported by one of schemathesis's own checks (not a catalogue rule)."""

    check: str
    message: str
    curl: str
    #: The same exchange already broke a catalogue rule: the breach is counted there, once.
    covered: bool = False


@dataclass(frozen=True)
class KitTestResult:
    nodeid: str
    outcome: str  # "passed" | "failed" | "skipped"
    summary: str = ""


class Recorder:
    """Every exchange of a run with its verdicts (thread-safe; one per kit session)."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.tool_failures: list[ToolFailure] = []
        self.tool_checked: dict[str, int] = {}
        self.outcomes: list[KitTestResult] = []
        self.problems: list[KitProblem] = []
        self._lock = threading.Lock()

    def add_problem(self, problem: KitProblem) -> None:
        with self._lock:
            if problem not in self.problems:
                self.problems.append(problem)

    def add_tool_result(self, checks: Iterable[str], failures: Iterable[ToolFailure]) -> None:
        with self._lock:
            for name in checks:
                self.tool_checked[name] = self.tool_checked.get(name, 0) + 1
            self.tool_failures.extend(failures)

    def add(self, test: str, request: KitRequest | None, exchange: Exchange) -> Record:
        record = Record(test, request, exchange, evaluate(exchange))
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
        about = record.request.describe() if record.request else f"{record.exchange.method} {record.exchange.url}"
        lines.append(f"* {about} -> {record.exchange.status}")
        for finding in record.failures:
            where = f" [{finding.field}]" if finding.field else ""
            lines.append(f"    {finding.rule}{where}: {finding.message}")
        lines.append(f"    reproduce: {record.curl}")
    return "\n".join(lines)
