"""What a check says about one exchange, and what a tally of those says about a run.

One result type serves every check the project runs on an answer - the catalogue's rules
(SHAPE-1 ... HDR-1), the kit's profile expectations (SEM-*, GOLD-*) and the proxy's live
judging: a :class:`RuleVerdict` names the check, says whether it applied, and carries its
:class:`Finding` items, each with the field it is about and structured ``expected``/``got``
texts next to the sentence a person reads. Severities and outcomes are enums, so a
misspelt one is an error rather than a check that quietly never fails.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar


class Severity(enum.StrEnum):
    """How a finding counts: a failure breaks the check, a warning is advisory (OVR-3's bound)."""

    FAIL = "fail"
    WARN = "warn"


class Outcome(enum.StrEnum):
    """One check's standing over many exchanges (a report's row)."""

    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    NOT_EXERCISED = "not exercised"

    @classmethod
    def of(cls, checked: int, failed: int, warned: int) -> Outcome:
        if failed:
            return cls.FAIL
        if warned:
            return cls.WARN
        return cls.PASS if checked else cls.NOT_EXERCISED

    @property
    def holds(self) -> bool:
        return self in (Outcome.PASS, Outcome.WARN)


@dataclass(frozen=True)
class Finding:
    """One breach of one check: what is wrong, where, and what was expected instead."""

    rule: str
    severity: Severity
    message: str
    field: str | None = None
    #: What the check wanted and what came back, as short texts (JSON for values).
    expected: str | None = None
    got: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "severity", Severity(self.severity))


@dataclass(frozen=True)
class RuleVerdict:
    """One check's verdict on one exchange: whether it applied, and what it found."""

    rule: str
    applied: bool
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def failures(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.FAIL)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.WARN)


class Findings:
    """What a check body writes its breaches into; it knows the check's ID, so bodies never repeat it."""

    def __init__(self, rule: str) -> None:
        self.rule = rule
        self.items: list[Finding] = []

    def fail(
        self, message: str, field: str | None = None, *, expected: str | None = None, got: str | None = None
    ) -> None:
        self.items.append(Finding(self.rule, Severity.FAIL, message, field, expected, got))

    def warn(
        self, message: str, field: str | None = None, *, expected: str | None = None, got: str | None = None
    ) -> None:
        self.items.append(Finding(self.rule, Severity.WARN, message, field, expected, got))


Example = TypeVar("Example")


@dataclass
class CheckTally(Generic[Example]):
    """One check's counts over many exchanges, keeping the first failing and first warning example.

    What an example is belongs to the reader: the kit keeps its record and the finding, the
    proxy a report line without image bytes or token.
    """

    id: str
    summary: str
    checked: int = 0
    failed: int = 0
    warned: int = 0
    first: Example | None = None
    first_warning: Example | None = None

    @property
    def status(self) -> Outcome:
        return Outcome.of(self.checked, self.failed, self.warned)

    @property
    def holds(self) -> bool:
        return self.status.holds

    def counts(self) -> dict[str, object]:
        """The check and its counts, as the JSON reports (the kit's and the proxy's) write them."""
        return {
            "id": self.id,
            "summary": self.summary,
            "status": self.status.value,
            "checked": self.checked,
            "failed": self.failed,
            "warned": self.warned,
        }

    def count(self, verdict: RuleVerdict, example: Callable[[Finding], Example]) -> bool:
        """Count one applied verdict (``example`` makes what is kept of a first breach); True when it failed."""
        self.checked += 1
        fails, warns = verdict.failures, verdict.warnings
        if fails:
            self.failed += 1
            if self.first is None:
                self.first = example(fails[0])
        if warns:
            self.warned += 1
            if self.first_warning is None:
                self.first_warning = example(warns[0])
        return bool(fails)
