"""The kit's reports: Markdown for people, JUnit XML (one test case per rule) for CI."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from .exchange import Record, Recorder
from .profiles import EXPECTATIONS, includes
from facematch_contract.rules import RULES, Finding


@dataclass(frozen=True)
class RunInfo:
    base_url: str
    profile: str
    seed: int
    max_examples: int
    seconds: float


@dataclass
class Row:
    """One rule's or expectation's tally over a run."""

    id: str
    summary: str
    checked: int = 0
    failed: int = 0
    warned: int = 0
    first: tuple[Record, Finding] | None = None
    first_warning: tuple[Record, Finding] | None = None

    @property
    def status(self) -> str:
        if self.failed:
            return "fail"
        if self.warned:
            return "warn"
        return "pass" if self.checked else "not exercised"

    @property
    def holds(self) -> bool:
        return self.status in ("pass", "warn")


def tally(recorder: Recorder, profile: str) -> tuple[list[Row], list[Row]]:
    """(catalogue rule rows, profile expectation rows) for a run."""
    rules = {rule.id: Row(rule.id, rule.summary) for rule in RULES}
    expectations = {key: Row(key, summary) for key, (level, summary) in EXPECTATIONS.items()
                    if includes(profile, level)}
    for record in recorder.records:
        for verdict in record.verdicts:
            if verdict.applied:
                _count(rules[verdict.rule], record, verdict.findings)
        for check in record.checks:
            if check.id in expectations:
                _count(expectations[check.id], record, check.findings)
    return list(rules.values()), list(expectations.values())


def _count(row: Row, record: Record, findings: tuple[Finding, ...]) -> None:
    row.checked += 1
    fails = [f for f in findings if f.severity == "fail"]
    warns = [f for f in findings if f.severity == "warn"]
    if fails:
        row.failed += 1
        row.first = row.first or (record, fails[0])
    if warns:
        row.warned += 1
        row.first_warning = row.first_warning or (record, warns[0])


def score(rows: list[Row]) -> float:
    return 100.0 * sum(row.holds for row in rows) / len(rows) if rows else 100.0


def render_markdown(recorder: Recorder, info: RunInfo) -> str:
    rules, expectations = tally(recorder, info.profile)
    failed_tests = [o for o in recorder.outcomes if o.outcome == "failed"]
    passed = not any(r.failed for r in rules + expectations) and not recorder.tool_failures and not failed_tests
    lines = [
        "# Advanced Facematch contract report",
        "",
        f"**Verdict: {'PASS' if passed else 'FAIL'}** - conformance score "
        f"{score(rules):.0f}% ({sum(r.holds for r in rules)} of {len(rules)} rules hold)",
        "",
        "| | |", "|---|---|",
        f"| Base URL | `{info.base_url}` |",
        f"| Profile | {info.profile} |",
        f"| Seed | {info.seed} (repeat with `--seed {info.seed}`) |",
        f"| Examples per property | {info.max_examples} |",
        f"| Requests sent | {len(recorder.records)} |",
        f"| Duration | {info.seconds:.1f} s |",
        f"| Date | {time.strftime('%Y-%m-%d %H:%M:%S %Z')} |",
        "",
        "## Rules",
        "",
        "| Rule | What it says | Result | Responses checked | Failed | Warnings |",
        "|---|---|---|---:|---:|---:|",
    ]
    lines += [_row(r) for r in rules]
    if expectations:
        lines += ["", f"## Profile expectations ({info.profile})", "",
                  "| Check | What it says | Result | Responses checked | Failed | Warnings |",
                  "|---|---|---|---:|---:|---:|"]
        lines += [_row(r) for r in expectations]
    if recorder.tool_checked:
        lines += ["", "## Schemathesis checks", "", "| Check | Responses checked | Failed |", "|---|---:|---:|"]
        for name, count in sorted(recorder.tool_checked.items()):
            failed = sum(1 for f in recorder.tool_failures if f.check == name)
            lines.append(f"| `{name}` | {count} | {failed} |")
    problems = [r for r in rules + expectations if r.first or r.first_warning]
    if problems or recorder.tool_failures:
        lines += ["", "## First failing example per rule", ""]
        for row in problems:
            for kind, item in (("fails", row.first), ("warns", row.first_warning)):
                if item is None:
                    continue
                record, finding = item
                about = record.request.describe() if record.request else f"{record.exchange.method} {record.exchange.url}"
                lines += [f"### {row.id} {kind}", "",
                          f"- Request: {about}",
                          f"- Status: {record.exchange.status}",
                          f"- Field: `{finding.field or '-'}`",
                          f"- Problem: {finding.message}",
                          "", "```sh", record.curl, "```", ""]
        seen: set[str] = set()
        for failure in recorder.tool_failures:
            if failure.check in seen:
                continue
            seen.add(failure.check)
            lines += [f"### schemathesis `{failure.check}` fails", "", failure.message, "", "```sh", failure.curl,
                      "```", ""]
    if failed_tests:
        lines += ["", "## Kit tests that failed", ""]
        lines += [f"- `{o.nodeid}`: {o.summary}" for o in failed_tests]
    lines += ["", "Reproduce a request: set `TOKEN` to a bearer token and replace each `@file` with a photo "
                  "of the size shown.", ""]
    return "\n".join(lines)


def _row(row: Row) -> str:
    mark = {"pass": "pass", "fail": "**FAIL**", "warn": "warn", "not exercised": "not exercised"}[row.status]
    return f"| {row.id} | {row.summary} | {mark} | {row.checked} | {row.failed} | {row.warned} |"


def write_markdown(path: Path, recorder: Recorder, info: RunInfo) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_markdown(recorder, info))


def render_junit(recorder: Recorder, info: RunInfo) -> ET.Element:
    rules, expectations = tally(recorder, info.profile)
    suite = ET.Element("testsuite", name="facematch-contract", timestamp=time.strftime("%Y-%m-%dT%H:%M:%S"),
                       time=f"{info.seconds:.3f}")
    props = ET.SubElement(suite, "properties")
    for key, value in (("base_url", info.base_url), ("profile", info.profile), ("seed", str(info.seed)),
                       ("max_examples", str(info.max_examples)), ("score", f"{score(rules):.1f}")):
        ET.SubElement(props, "property", name=key, value=value)
    counts = {"tests": 0, "failures": 0, "skipped": 0}
    for classname, rows in (("rules", rules), ("expectations", expectations)):
        for row in rows:
            counts["tests"] += 1
            case = ET.SubElement(suite, "testcase", classname=f"facematch.{classname}", name=f"{row.id} {row.summary}")
            if row.first is not None:
                counts["failures"] += 1
                record, finding = row.first
                failure = ET.SubElement(case, "failure", message=f"{row.id}: {finding.message}",
                                        type="ContractViolation")
                failure.text = (f"{row.failed} of {row.checked} responses broke {row.id}.\n"
                                f"field: {finding.field}\nstatus: {record.exchange.status}\n"
                                f"reproduce: {record.curl}\n")
            elif row.status == "not exercised":
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message="no response in this run could test this rule")
            if row.first_warning is not None:
                out = ET.SubElement(case, "system-out")
                out.text = f"warning ({row.warned} responses): {row.first_warning[1].message}\n" \
                           f"reproduce: {row.first_warning[0].curl}\n"
    for name, checked in sorted(recorder.tool_checked.items()):
        counts["tests"] += 1
        case = ET.SubElement(suite, "testcase", classname="facematch.schemathesis", name=name)
        first = next((f for f in recorder.tool_failures if f.check == name), None)
        if first is not None:
            counts["failures"] += 1
            failure = ET.SubElement(case, "failure", message=first.message.splitlines()[0] if first.message else name)
            failure.text = f"{first.message}\nreproduce: {first.curl}\n"
    for outcome in recorder.outcomes:
        if outcome.outcome == "failed":
            counts["tests"] += 1
            counts["failures"] += 1
            case = ET.SubElement(suite, "testcase", classname="facematch.kit", name=outcome.nodeid)
            ET.SubElement(case, "failure", message=outcome.summary[:500])
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("errors", "0")
    return suite


def write_junit(path: Path, recorder: Recorder, info: RunInfo) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tree = ET.ElementTree(render_junit(recorder, info))
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
