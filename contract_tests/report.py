"""The kit's reports, all rendered from one :class:`~.verdict.Judgement`.

Markdown for people, JUnit XML for CI (one test case per rule and expectation, one per
schemathesis check that ran, one ``<error>`` per reason the run could not be judged) and a
JSON document for a vendor's evidence (verdict, per-rule counts, first failure with its curl
line, seed, kit version, SHA-256 of the contract used). A breach is counted once: where a
schemathesis check and a catalogue rule fail on the same exchange, the rule carries it.
"""

from __future__ import annotations

import hashlib
import json
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from facematch_contract import SPEC_PATH, __version__
from facematch_contract.verdicts import Outcome

from .recorder import Recorder
from .verdict import Judgement, Row, ToolRow, Verdict

JSON_FORMAT = "facematch-kit/contract-report/1"


@dataclass(frozen=True)
class RunInfo:
    base_url: str
    profile: str
    seed: int
    max_examples: int
    seconds: float


def contract_sha256(path: Path = SPEC_PATH) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- Markdown -----------------------------------------------------------------------------


def render_markdown(judgement: Judgement, recorder: Recorder, info: RunInfo) -> str:
    lines = _md_summary(judgement, info) + _md_tables(judgement, info) + _md_first_examples(judgement)
    lines += [
        "",
        ("Reproduce a request: set `TOKEN` to a bearer token and replace each `@file` with a photo of the size shown."),
        "",
    ]
    return "\n".join(lines)


def _md_summary(judgement: Judgement, info: RunInfo) -> list[str]:
    """The verdict and its cause, why the run could not be judged (if so), and the run's facts."""
    lines = [
        "# Advanced Facematch contract report",
        "",
        f"**Verdict: {judgement.verdict.title}** - {judgement.cause}",
        "",
    ]
    if judgement.verdict is not Verdict.ERROR:
        holding = f"{judgement.rules_holding} of {len(judgement.rules)} rules hold"
        lines += [f"Conformance score {judgement.score:.0f}% ({holding}).", ""]
    if judgement.problems:
        lines += ["## Why the run could not be judged", ""]
        lines += [f"- {problem.kind.value}: {problem.message}" for problem in judgement.problems]
        lines.append("")
    return [
        *lines,
        "| | |",
        "|---|---|",
        f"| Base URL | `{info.base_url}` |",
        f"| Profile | {info.profile} |",
        f"| Seed | {info.seed} (repeat with `--seed {info.seed}`) |",
        f"| Examples per property | {info.max_examples} |",
        f"| Requests sent | {judgement.requests} |",
        f"| Duration | {info.seconds:.1f} s |",
        f"| Kit | facematch-kit {__version__} |",
        f"| Contract SHA-256 | `{contract_sha256()}` |",
        f"| Date | {time.strftime('%Y-%m-%d %H:%M:%S %Z')} |",
        "",
    ]


_MD_ROW_HEADER = "| What it says | Result | Responses checked | Failed | Warnings |"


def _md_tables(judgement: Judgement, info: RunInfo) -> list[str]:
    """One table per kind of check: the catalogue's rules, the profile's expectations, schemathesis's."""
    lines = ["## Rules", "", "| Rule " + _MD_ROW_HEADER, "|---|---|---|---:|---:|---:|"]
    lines += [_row(r) for r in judgement.rules]
    if judgement.expectations:
        lines += [
            "",
            f"## Profile expectations ({info.profile})",
            "",
            "| Check " + _MD_ROW_HEADER,
            "|---|---|---|---:|---:|---:|",
        ]
        lines += [_row(r) for r in judgement.expectations]
    if judgement.tools:
        lines += [
            "",
            "## Schemathesis checks",
            "",
            "| Check | Responses checked | Failed | Also broke a rule (counted there) |",
            "|---|---:|---:|---:|",
        ]
        lines += [f"| `{t.name}` | {t.checked} | {len(t.failures)} | {t.covered} |" for t in judgement.tools]
    return lines


def _md_first_examples(judgement: Judgement) -> list[str]:
    """The first failing (and first warning) example of each check, with its curl line."""
    rows = [r for r in (*judgement.rules, *judgement.expectations) if r.first or r.first_warning]
    failing_tools = [t for t in judgement.tools if t.failures]
    if not rows and not failing_tools:
        return []
    lines = ["", "## First failing example per rule", ""]
    for row in rows:
        for kind, item in (("fails", row.first), ("warns", row.first_warning)):
            if item is None:
                continue
            record, finding = item
            lines += [
                f"### {row.id} {kind}",
                "",
                f"- Request: {record.about}",
                f"- Status: {record.exchange.status}",
                f"- Field: `{finding.field or '-'}`",
                f"- Problem: {finding.message}",
                "",
                "```sh",
                record.curl,
                "```",
                "",
            ]
    for tool in failing_tools:
        record, finding = tool.failures[0]
        lines += [f"### schemathesis `{tool.name}` fails", "", finding.message, "", "```sh", record.curl, "```", ""]
    return lines


def _row(row: Row) -> str:
    mark = "**FAIL**" if row.status is Outcome.FAIL else row.status.value
    if row.status is Outcome.NOT_EXERCISED:
        mark = "**not exercised**"
    return f"| {row.id} | {row.summary} | {mark} | {row.checked} | {row.failed} | {row.warned} |"


def write_markdown(path: Path, judgement: Judgement, recorder: Recorder, info: RunInfo) -> None:
    _write(path, render_markdown(judgement, recorder, info))


# --- JUnit --------------------------------------------------------------------------------


def render_junit(judgement: Judgement, recorder: Recorder, info: RunInfo) -> ET.Element:
    suite = ET.Element(
        "testsuite", name="facematch-contract", timestamp=time.strftime("%Y-%m-%dT%H:%M:%S"), time=f"{info.seconds:.3f}"
    )
    props = ET.SubElement(suite, "properties")
    for key, value in (
        ("verdict", judgement.verdict.value),
        ("cause", judgement.cause),
        ("base_url", info.base_url),
        ("profile", info.profile),
        ("seed", str(info.seed)),
        ("max_examples", str(info.max_examples)),
        ("score", f"{judgement.score:.1f}"),
        ("kit_version", __version__),
        ("contract_sha256", contract_sha256()),
    ):
        ET.SubElement(props, "property", name=key, value=value)
    outcomes = [
        _junit_row(suite, f"facematch.{classname}", row)
        for classname, rows in (("rules", judgement.rules), ("expectations", judgement.expectations))
        for row in rows
    ]
    outcomes += [_junit_tool(suite, tool) for tool in judgement.tools]
    for problem in judgement.problems:
        case = ET.SubElement(suite, "testcase", classname="facematch.kit", name=f"not judged: {problem.kind.value}")
        ET.SubElement(case, "error", type="NotJudged", message=problem.message)
        outcomes.append("errors")
    suite.set("tests", str(len(outcomes)))
    for counter in ("failures", "errors"):
        suite.set(counter, str(outcomes.count(counter)))
    suite.set("skipped", "0")
    return suite


def _junit_row(suite: ET.Element, classname: str, row: Row) -> str:
    """One rule's or expectation's test case; what it counts as ("failures", "errors" or "passed")."""
    case = ET.SubElement(suite, "testcase", classname=classname, name=f"{row.id} {row.summary}")
    counted = "passed"
    if row.first is not None:
        counted = "failures"
        record, finding = row.first
        failure = ET.SubElement(case, "failure", message=f"{row.id}: {finding.message}", type="ContractViolation")
        failure.text = (
            f"{row.failed} of {row.checked} responses broke {row.id}.\n"
            f"field: {finding.field}\nstatus: {record.exchange.status}\n"
            f"reproduce: {record.curl}\n"
        )
    elif row.status is Outcome.NOT_EXERCISED:
        counted = "errors"
        ET.SubElement(
            case,
            "error",
            type="NotJudged",
            message=f"{row.id} was not judged: no response in this run could exercise it",
        )
    if row.first_warning is not None:
        out = ET.SubElement(case, "system-out")
        out.text = (
            f"warning ({row.warned} responses): {row.first_warning[1].message}\n"
            f"reproduce: {row.first_warning[0].curl}\n"
        )
    return counted


def _junit_tool(suite: ET.Element, tool: ToolRow) -> str:
    """One schemathesis check's test case; what it counts as ("failures" or "passed")."""
    case = ET.SubElement(suite, "testcase", classname="facematch.schemathesis", name=tool.name)
    counted = "passed"
    if tool.failures:
        counted = "failures"
        record, finding = tool.failures[0]
        headline = finding.message.splitlines()[0] if finding.message else tool.name
        failure = ET.SubElement(case, "failure", message=headline)
        failure.text = f"{len(tool.failures)} responses.\n{finding.message}\nreproduce: {record.curl}\n"
    if tool.covered:
        out = ET.SubElement(case, "system-out")
        out.text = f"{tool.covered} further breaches are counted under the catalogue rule they also broke.\n"
    return counted


def write_junit(path: Path, judgement: Judgement, recorder: Recorder, info: RunInfo) -> None:
    tree = ET.ElementTree(render_junit(judgement, recorder, info))
    ET.indent(tree)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".part")
    tree.write(temporary, encoding="utf-8", xml_declaration=True)
    temporary.replace(path)


# --- JSON ---------------------------------------------------------------------------------


def _row_json(row: Row) -> dict[str, Any]:
    first: dict[str, Any] | None = None
    if row.first is not None:
        record, finding = row.first
        first = {
            "request": record.about,
            "status": record.exchange.status,
            "field": finding.field,
            "message": finding.message,
            "curl": record.curl,
        }
    return {**row.counts(), "first_failure": first}


def _tool_json(tool: ToolRow) -> dict[str, Any]:
    first: dict[str, Any] | None = None
    if tool.failures:
        record, finding = tool.failures[0]
        first = {"message": finding.message, "curl": record.curl}
    return {
        "name": tool.name,
        "checked": tool.checked,
        "failed": len(tool.failures),
        "covered_by_rules": tool.covered,
        "first_failure": first,
    }


def render_json(judgement: Judgement, recorder: Recorder, info: RunInfo) -> dict[str, Any]:
    return {
        "format": JSON_FORMAT,
        "verdict": judgement.verdict.value,
        "exit_code": judgement.verdict.exit_code,
        "cause": judgement.cause,
        "problems": [{"kind": p.kind.value, "message": p.message} for p in judgement.problems],
        "base_url": info.base_url,
        "profile": info.profile,
        "seed": info.seed,
        "max_examples": info.max_examples,
        "requests": judgement.requests,
        "seconds": round(info.seconds, 3),
        "kit_version": __version__,
        "contract_sha256": contract_sha256(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "score": round(judgement.score, 1),
        "rules": [_row_json(row) for row in judgement.rules],
        "expectations": [_row_json(row) for row in judgement.expectations],
        "schemathesis_checks": [_tool_json(tool) for tool in judgement.tools],
    }


def write_json(path: Path, judgement: Judgement, recorder: Recorder, info: RunInfo) -> None:
    _write(path, json.dumps(render_json(judgement, recorder, info), indent=2) + "\n")


def _write(path: Path, text: str) -> None:
    """Write through a temporary file beside the target, so no report is ever half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".part")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
