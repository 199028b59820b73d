"""The kit's verdict on a run: PASS, FAIL or ERROR (not judged), earned from what was seen.

PASS is earned: every rule of the catalogue and every expectation of the profile was
exercised by at least one response, none failed, no schemathesis check found a breach the
rules had not already counted, and the kit itself met no problem. Anything that kept the
kit from judging - the server unreachable, the token refused on every request, a request
that timed out, a crash or collection error in the kit, a rule no response could exercise -
makes the verdict ERROR, with its own exit code and the cause named first, so it can never
be read as a pass (or as the implementation's failure).

The reports (:mod:`.report`) render a :class:`Judgement`; they compute nothing themselves.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from facematch_contract.rules import RULES, Finding
from facematch_contract.verdicts import CheckTally, Outcome

from .expectations import expectations_of
from .kit_request import USE_TOKEN
from .problems import KitProblem, ProblemKind
from .recorder import Record, Recorder


class Verdict(enum.Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    ERROR = "ERROR"

    @property
    def exit_code(self) -> int:
        """0 pass, 1 the implementation broke a rule, 3 the kit could not judge (2 is usage)."""
        return {Verdict.PASS: 0, Verdict.FAIL: 1, Verdict.ERROR: 3}[self]

    @property
    def title(self) -> str:
        return "ERROR: not judged" if self is Verdict.ERROR else self.value


#: One rule's or expectation's tally over a run; a kept example is the record and its finding.
Row = CheckTally[tuple[Record, Finding]]


@dataclass
class ToolRow:
    """One schemathesis check: how often it ran, and the breaches no rule had counted."""

    name: str
    checked: int = 0
    #: Breaches on exchanges that no catalogue rule had already failed (counted once).
    failures: list[tuple[Record, Finding]] = field(default_factory=list)
    #: Breaches on exchanges a rule had already failed: shown, not counted again.
    covered: int = 0


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    #: The first line of every report: what the verdict rests on.
    cause: str
    rules: tuple[Row, ...]
    expectations: tuple[Row, ...]
    tools: tuple[ToolRow, ...]
    problems: tuple[KitProblem, ...]
    requests: int

    @property
    def score(self) -> float:
        return 100.0 * sum(row.holds for row in self.rules) / len(self.rules) if self.rules else 0.0

    @property
    def rules_holding(self) -> int:
        return sum(row.holds for row in self.rules)


def tally(recorder: Recorder, profile: str) -> tuple[list[Row], list[Row], list[ToolRow]]:
    """(catalogue rule rows, profile expectation rows, schemathesis check rows) for a run."""
    rules = {rule.id: Row(rule.id, rule.summary) for rule in RULES}
    expectations = {check.id: Row(check.id, check.summary) for check in expectations_of(profile)}
    tools = {name: ToolRow(name, checked) for name, checked in sorted(recorder.tool_checked.items())}
    for record in recorder.records:

        def kept(finding: Finding, record: Record = record) -> tuple[Record, Finding]:
            return record, finding

        for verdict in record.verdicts:
            if verdict.applied:
                rules[verdict.rule].count(verdict, kept)
        for verdict in record.checks:
            if verdict.applied and verdict.rule in expectations:
                expectations[verdict.rule].count(verdict, kept)
        for finding in record.tool_findings:
            row = tools.setdefault(finding.rule, ToolRow(finding.rule))
            if record.broke_a_rule:
                row.covered += 1
            else:
                row.failures.append((record, finding))
    return list(rules.values()), list(expectations.values()), list(tools.values())


def token_refused(recorder: Recorder) -> bool:
    """True when every request sent with the kit's own token was answered 401."""
    own = [r for r in recorder.records if r.request is None or r.request.authorization == USE_TOKEN]
    return bool(own) and all(r.exchange.status == 401 for r in own)


def judge(recorder: Recorder, profile: str) -> Judgement:
    rules, expectations, tools = tally(recorder, profile)
    problems = list(recorder.problems)
    if token_refused(recorder) and not any(p.kind is ProblemKind.TOKEN_REFUSED for p in problems):
        problems.insert(0, KitProblem(ProblemKind.TOKEN_REFUSED, TOKEN_REFUSED_MESSAGE))
    unexercised = [row.id for row in rules + expectations if row.status is Outcome.NOT_EXERCISED]
    failed = [row.id for row in rules + expectations if row.status is Outcome.FAIL]
    failed += [f"schemathesis {row.name}" for row in tools if row.failures]
    blocking = [p for p in problems if p.kind is not ProblemKind.NOT_EXERCISED]
    if blocking:
        verdict, cause = Verdict.ERROR, blocking[0].message
    elif failed:
        verdict = Verdict.FAIL
        cause = f"{len(failed)} rule(s) broken: {', '.join(failed)}"
        if unexercised:
            cause += f" (and not exercised: {', '.join(unexercised)})"
    elif unexercised:
        verdict = Verdict.ERROR
        cause = (
            f"no response exercised {', '.join(unexercised)}: those rules were not judged "
            "(raise --max-examples, or check that the service can give those answers)"
        )
        problems.append(KitProblem(ProblemKind.NOT_EXERCISED, cause))
    elif not recorder.records:
        verdict, cause = Verdict.ERROR, "no request was sent: nothing was judged"
    else:
        verdict = Verdict.PASS
        cause = (
            f"every rule held: {len(rules)} rules and {len(expectations)} profile expectations, "
            f"each exercised (fewest responses for one rule: {min(r.checked for r in rules + expectations)})"
        )
    return Judgement(
        verdict, cause, tuple(rules), tuple(expectations), tuple(tools), tuple(problems), len(recorder.records)
    )


TOKEN_REFUSED_MESSAGE = (
    "the token was refused: every request got 401 - pass --token TOKEN, or --jwt-secret "
    "SECRET to mint one with the server's secret"
)
