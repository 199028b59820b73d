"""The proxy's exit reports: Markdown for people, JUnit XML (one test case per rule) and JSON for CI.

Written from the same :class:`~facematch_proxy.tally.Tally` that ``GET /__proxy/report``
shows. The kit's report writers are built on the kit's recorder and profiles (and the kit
package pulls in pytest and schemathesis), so these render the proxy's own tallies, using
the same rule IDs, summaries and layout: counts per rule, then the first failure of each
rule with a curl line that repeats it.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from facematch_contract.verdicts import Outcome

from .tally import RuleTally, Tally, Verdict


def _counts(counts: object) -> str:
    """``reason: n, ...`` for one of the count maps of :meth:`Tally.as_dict` (a snapshot taken under its lock)."""
    if not isinstance(counts, dict):
        raise TypeError(f"expected a count map, got {type(counts).__name__}")
    return ", ".join(f"{reason}: {n}" for reason, n in counts.items()) or "none"


def render_markdown(tally: Tally) -> str:
    summary = tally.as_dict()
    rules = list(tally.rules.values())
    holding = sum(row.status.holds for row in rules)
    unjudged = _counts(summary["unjudged"])
    failures = _counts(summary["upstream_failures"])
    lines = [
        "# Advanced Facematch contract report (validating proxy)",
        "",
        f"**Verdict: {summary['verdict']}** - {holding} of {len(rules)} rules hold on the traffic seen",
        "",
        "| | |",
        "|---|---|",
        f"| Upstream | `{summary['upstream']}` |",
        f"| Requests forwarded | {summary['forwarded']} |",
        f"| Answers of the operation judged | {summary['judged']} |",
        f"| Answers with a violation | {summary['violating']} |",
        f"| Answers passed on unjudged | {unjudged} |",
        f"| Upstream failures (answered by the proxy) | {failures} |",
        f"| Started | {summary['started']} |",
        f"| Duration | {summary['seconds']} s |",
        "",
        "## Rules",
        "",
        "| Rule | What it says | Result | Answers checked | Failed | Warnings |",
        "|---|---|---|---:|---:|---:|",
    ]
    lines += [_row(row) for row in rules]
    if summary["verdict"] == Verdict.NOT_JUDGED.value:
        lines += ["", "No answer of `POST /advanced_facematch` passed through the proxy: nothing was judged.", ""]
    problems = [row for row in rules if row.first or row.first_warning]
    if problems:
        lines += ["", "## First failing answer per rule", ""]
    for row in problems:
        for kind, example in (("fails", row.first), ("warns", row.first_warning)):
            if example is None:
                continue
            lines += [
                f"### {row.id} {kind}",
                "",
                f"- Request: {example.method} {example.url}",
                f"- Status: {example.status}",
                f"- What the request fixes: {example.fate or 'nothing beyond the answer form'}",
                f"- Field: `{example.field or '-'}`",
                f"- Problem: {example.message}",
                f"- Seen at: {example.at}",
                "",
                "```sh",
                example.curl,
                "```",
                "",
            ]
    lines += [
        "",
        ("Reproduce a request: set `TOKEN` to a bearer token and replace each `@file` with a photo of the size shown."),
        "",
    ]
    return "\n".join(lines)


def _row(row: RuleTally) -> str:
    mark = "**FAIL**" if row.status is Outcome.FAIL else row.status.value
    return f"| {row.id} | {row.summary} | {mark} | {row.checked} | {row.failed} | {row.warned} |"


def render_junit(tally: Tally) -> ET.Element:
    summary = tally.as_dict()
    suite = ET.Element(
        "testsuite", name="facematch-proxy", timestamp=time.strftime("%Y-%m-%dT%H:%M:%S"), time=f"{summary['seconds']}"
    )
    props = ET.SubElement(suite, "properties")
    for key in ("upstream", "forwarded", "judged", "violating", "verdict"):
        ET.SubElement(props, "property", name=key, value=str(summary[key]))
    tests = failures = skipped = 0
    for row in tally.rules.values():
        tests += 1
        case = ET.SubElement(suite, "testcase", classname="facematch.rules", name=f"{row.id} {row.summary}")
        if row.first is not None:
            failures += 1
            example = row.first
            failure = ET.SubElement(case, "failure", message=f"{row.id}: {example.message}", type="ContractViolation")
            failure.text = (
                f"{row.failed} of {row.checked} answers broke {row.id}.\n"
                f"field: {example.field}\nstatus: {example.status}\nreproduce: {example.curl}\n"
            )
        elif row.status is Outcome.NOT_EXERCISED:
            skipped += 1
            ET.SubElement(case, "skipped", message="no answer seen by the proxy could test this rule")
        if row.first_warning is not None:
            out = ET.SubElement(case, "system-out")
            out.text = (
                f"warning ({row.warned} answers): {row.first_warning.message}\nreproduce: {row.first_warning.curl}\n"
            )
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("skipped", str(skipped))
    suite.set("errors", "0")
    return suite


def render_json(tally: Tally) -> str:
    return json.dumps(tally.as_dict(), indent=2)


def write_reports(tally: Tally, markdown: Path | None, junit: Path | None, json_path: Path | None) -> None:
    for path in (markdown, junit, json_path):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
    if markdown is not None:
        markdown.write_text(render_markdown(tally))
    if junit is not None:
        tree = ET.ElementTree(render_junit(tally))
        ET.indent(tree)
        tree.write(junit, encoding="utf-8", xml_declaration=True)
    if json_path is not None:
        json_path.write_text(render_json(tally))
