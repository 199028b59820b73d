"""Writing the results archive of a bulk run.

``results.csv``   one row per case, sorted by case id: the case, its unique_id, the HTTP
                  status, every field of the 200 body flattened into dotted columns (named
                  from the contract's response schema, in its order) and an error message.
``results.jsonl`` one JSON object per case, same order: the full response body.
``errors.csv``    the cases that could not be sent, with the entry concerned and the reason.
``summary.json``  counts by status and by overall result, ignored entries, timing.

Timing lives only in ``summary.json``: against a deterministic implementation two runs
give byte-identical ``results.csv``, ``results.jsonl`` and ``errors.csv``. Entries carry a
fixed timestamp. The archive is written to a temporary file beside the destination and
renamed into place, so a failed run never leaves a half-written archive behind.

CSV cells come from the archive's sender (case ids, unique_ids) and the server's messages:
any that a spreadsheet would read as a formula is written with a leading apostrophe.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from facematch_contract import __version__
from facematch_contract.document import Document
from facematch_contract.timestamps import utc_timestamp

from .runner import Answer, RunResult, correlation_id

RESULTS_CSV = "results.csv"
RESULTS_JSONL = "results.jsonl"
ERRORS_CSV = "errors.csv"
SUMMARY_JSON = "summary.json"
LEADING_COLUMNS = ("case", "unique_id", "status")
TRAILING_COLUMNS = ("error",)
ERROR_COLUMNS = ("case", "entry", "reason")
#: ZIP entry timestamp (the earliest a ZIP can hold), so equal contents give equal entries.
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def response_columns(contract: Document) -> list[str]:
    """Dotted names of every leaf of the operation's 200 body schema, in schema order."""
    schema = contract.response_schema("200")
    columns: list[str] = []

    def walk(node: Any, prefix: str) -> None:
        node = contract.resolve(node)
        properties = node.get("properties") if isinstance(node, dict) else None
        if not properties:
            columns.append(prefix)
            return
        for name, child in properties.items():
            walk(child, f"{prefix}.{name}" if prefix else name)

    walk(schema, "")
    return columns


def load_columns() -> list[str]:
    return response_columns(Document())


def cell(value: Any) -> str:
    """One CSV cell: strings as sent, null as empty, anything else as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def lookup(body: Any, dotted: str) -> Any:
    node = body
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


#: Leading characters that make a spreadsheet read a cell as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


def neutralised(text: str) -> str:
    """A cell a spreadsheet shows as text: one that could start a formula (a case id such
    as ``=HYPERLINK(...)``) gets a leading apostrophe; numbers are left as they are."""
    if text.startswith(FORMULA_STARTS) and not NUMBER.fullmatch(text):
        return "'" + text
    return text


def _csv_text(header: Iterable[str], rows: Iterable[Iterable[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([neutralised(name) for name in header])
    writer.writerows([neutralised(value) for value in row] for row in rows)
    return buffer.getvalue().encode("utf-8")


@dataclass(frozen=True)
class _Row:
    case: str
    unique_id: str | None
    answer: Answer | None
    error: str | None


def _rows(run: RunResult) -> list[_Row]:
    rows = [_Row(a.case.id, a.case.unique_id, a, a.message) for a in run.answers]
    reasons: dict[str, list[str]] = {}
    for problem in run.not_sent:
        reasons.setdefault(problem.case, []).append(problem.reason)
    rows += [_Row(case, None, None, "; ".join(found)) for case, found in reasons.items()]
    rows.sort(key=lambda row: row.case)
    return rows


def results_csv(run: RunResult, columns: list[str]) -> bytes:
    header = [*LEADING_COLUMNS, *columns, *TRAILING_COLUMNS]
    table = []
    for row in _rows(run):
        answer = row.answer
        body = answer.body if answer is not None and 200 <= answer.status < 300 else None
        table.append(
            [
                row.case,
                cell(row.unique_id),
                str(answer.status) if answer else "",
                *(cell(lookup(body, column)) for column in columns),
                cell(row.error),
            ]
        )
    return _csv_text(header, table)


def results_jsonl(run: RunResult) -> bytes:
    lines = []
    for row in _rows(run):
        answer = row.answer
        record: dict[str, Any] = {"case": row.case, "unique_id": row.unique_id}
        if answer is None:
            record.update({"sent": False, "status": None, "response": None, "error": row.error})
        else:
            record.update(
                {
                    "sent": True,
                    "status": answer.status,
                    "correlation_id": correlation_id(answer.case),
                    "response": answer.body,
                }
            )
            if answer.text is not None:
                record["response_text"] = answer.text
            if row.error is not None:
                record["error"] = row.error
        lines.append(json.dumps(record, separators=(",", ":"), ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


def errors_csv(run: RunResult) -> bytes:
    return _csv_text(ERROR_COLUMNS, ([p.case, p.entry, p.reason] for p in run.not_sent))


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return round(ordered[index] * 1000, 1)


def summary(run: RunResult, *, target: str, input_name: str) -> dict[str, Any]:
    by_status = Counter(str(answer.status) for answer in run.answers)
    by_overall = Counter(
        cell(lookup(answer.body, "overall_result")) or "missing" for answer in run.answers if 200 <= answer.status < 300
    )
    not_sent_cases = run.not_sent_cases
    finished = run.started + timedelta(seconds=run.seconds)
    latencies = [answer.seconds for answer in run.answers]
    return {
        "tool": f"facematch-kit {__version__} bulk",
        "input": input_name,
        "target": _without_credentials(target),
        "cases": {"total": run.total, "sent": len(run.answers), "not_sent": len(not_sent_cases)},
        "by_status": dict(sorted(by_status.items())),
        "by_overall_result": dict(sorted(by_overall.items())),
        "not_sent": not_sent_cases,
        "ignored_entries": sorted(run.ignored),
        "retries": run.retries,
        "timing": {
            "started": utc_timestamp(run.started),
            "finished": utc_timestamp(finished),
            "seconds": round(run.seconds, 3),
            "cases_per_second": round(len(run.answers) / run.seconds, 1) if run.seconds > 0 else None,
            "latency_ms": {
                "p50": _percentile(latencies, 0.5),
                "p95": _percentile(latencies, 0.95),
                "max": _percentile(latencies, 1.0),
            },
        },
    }


def _without_credentials(url: str) -> str:
    """The target URL as recorded: any user:password@ part is dropped."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def archive_members(run: RunResult, columns: list[str], *, target: str, input_name: str) -> dict[str, bytes]:
    document = summary(run, target=target, input_name=input_name)
    return {
        RESULTS_CSV: results_csv(run, columns),
        RESULTS_JSONL: results_jsonl(run),
        ERRORS_CSV: errors_csv(run),
        SUMMARY_JSON: (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
    }


def write_archive(destination: Path, members: dict[str, bytes]) -> None:
    """Write the results ZIP atomically: a temporary file in the same folder, then a rename."""
    destination = Path(destination)
    handle, temporary = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".part", dir=destination.parent)
    try:
        with os.fdopen(handle, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in members.items():
                info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, data)
        os.replace(temporary, destination)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def write_results(destination: Path, run: RunResult, columns: list[str], *, target: str, input_name: str) -> None:
    write_archive(destination, archive_members(run, columns, target=target, input_name=input_name))
