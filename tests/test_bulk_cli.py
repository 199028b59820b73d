"""``facematch bulk`` as a subprocess against a live mock: every row of the output is what the
mock answers when the same case is sent by hand; hostile archives and unreachable targets."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from .bulk_builders import NOT_SENT_CASES, SENT_CASES, clean_set, hostile_archives, regression_set, write, zip_bytes
from .client import post
from .live import ROOT, free_port

pytestmark = pytest.mark.server

COLUMNS_200 = [
    "image1.input_provided",
    "image1.result",
    "image1.confidence",
    "image1.prediction_confidence",
    "image2.input_provided",
    "image2.result",
    "image2.confidence",
    "image2.prediction_confidence",
    "image1_image2_facematch.performed",
    "image1_image2_facematch.result",
    "image1_image2_facematch.confidence",
    "overall_result",
    "overall_confidence",
]


def run_bulk(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "facematch", "bulk", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def read_output(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def send_by_hand(base_url: str, auth: dict[str, str], entries: dict[str, bytes], case: str) -> Any:
    """Send one case of the archive as a plain multipart request; the mock's answer."""
    files: list[tuple[str, Any]] = []
    unique_id = None
    for name, data in sorted(entries.items()):
        stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        folder, _, base = name.rpartition("/")
        for role in ("image1", "image2", "unique_id"):
            if (folder == case and stem.lower() == role) or (not folder and base.lower().startswith(f"{case}_{role}")):
                if role == "unique_id":
                    unique_id = data.decode().strip()
                else:
                    files.append((role, (base, data, "application/octet-stream")))
    files.sort(key=lambda part: part[0])
    if unique_id:
        files.append(("unique_id", (None, unique_id)))
    return post(base_url, files, headers=auth)


def cell(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def lookup(body: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        body = body[key]
    return body


@pytest.fixture(scope="module")
def regression_run(
    mock_url: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[subprocess.CompletedProcess[str], dict[str, bytes]]:
    folder = tmp_path_factory.mktemp("bulk-cli")
    source = write(folder / "cases.zip", zip_bytes(regression_set()))
    done = run_bulk(str(source), "--base-url", mock_url, "--output", str(folder / "out.zip"))
    return done, read_output(folder / "out.zip")


def test_exit_status_is_1_when_some_cases_were_not_sent(regression_run: Any) -> None:
    done, output = regression_run
    assert done.returncode == 1, done.stderr
    assert sorted(output) == ["errors.csv", "results.csv", "results.jsonl", "summary.json"]
    assert "2 not sent" in done.stderr
    assert "bulk: 10/10 cases (100%)" in done.stderr  # plain progress lines when not a terminal


def test_every_row_is_what_the_mock_answers_by_hand(regression_run: Any, mock_url: str, auth: dict[str, str]) -> None:
    _, output = regression_run
    entries = regression_set()
    rows = csv_rows(output["results.csv"])
    records = [json.loads(line) for line in output["results.jsonl"].decode().splitlines()]
    assert list(rows[0]) == ["case", "unique_id", "status", *COLUMNS_200, "error"]
    assert [row["case"] for row in rows] == sorted(SENT_CASES + NOT_SENT_CASES)
    assert [record["case"] for record in records] == [row["case"] for row in rows]
    statuses = set()
    for row, record in zip(rows, records, strict=True):
        if row["case"] in NOT_SENT_CASES:
            assert row["status"] == "" and record["sent"] is False and record["response"] is None
            assert row["error"] == record["error"] != ""
            continue
        expected = send_by_hand(mock_url, auth, entries, row["case"])
        statuses.add(expected.status_code)
        assert row["status"] == str(expected.status_code) == str(record["status"]), row["case"]
        assert record["response"] == expected.json(), row["case"]
        if expected.status_code == 200:
            for column in COLUMNS_200:
                assert row[column] == cell(lookup(expected.json(), column)), (row["case"], column)
            assert row["error"] == ""
        else:
            assert all(row[column] == "" for column in COLUMNS_200)
            assert row["error"] == expected.json()["msg"]
    assert statuses == {200, 400}
    by_case = {row["case"]: row for row in rows}
    assert by_case["pairs/same"]["unique_id"] == "ref-same-001"
    assert by_case["flat1"]["unique_id"] == "flat-ref"
    assert by_case["single-png"]["image2.input_provided"] == "False"


def test_errors_csv_lists_the_cases_not_sent(regression_run: Any) -> None:
    _, output = regression_run
    rows = csv_rows(output["errors.csv"])
    assert [(row["case"], row["entry"]) for row in rows] == [("gif", "gif/image1.gif"), ("lonely", "")]
    assert "unsupported extension" in rows[0]["reason"] and "no image1" in rows[1]["reason"]


def test_summary_counts(regression_run: Any) -> None:
    _, output = regression_run
    summary = json.loads(output["summary.json"])
    rows = csv_rows(output["results.csv"])
    assert summary["cases"] == {"total": 12, "sent": 10, "not_sent": 2}
    assert summary["by_status"] == {status: sum(row["status"] == status for row in rows) for status in ("200", "400")}
    assert sum(summary["by_overall_result"].values()) == summary["by_status"]["200"]
    assert summary["not_sent"] == NOT_SENT_CASES
    assert summary["ignored_entries"] == ["README.txt"]
    assert summary["timing"]["seconds"] > 0
    assert "token" not in output["summary.json"].decode().lower()


def test_two_runs_give_byte_identical_results(regression_run: Any, mock_url: str, tmp_path: Path) -> None:
    _, first = regression_run
    source = write(tmp_path / "cases.zip", zip_bytes(regression_set()))
    done = run_bulk(str(source), "--base-url", mock_url, "-o", str(tmp_path / "again.zip"), "-c", "3", "--quiet")
    assert done.returncode == 1 and done.stderr == ""
    second = read_output(tmp_path / "again.zip")
    for name in ("results.csv", "results.jsonl", "errors.csv"):
        assert first[name] == second[name], name


def test_a_clean_set_exits_0_and_a_bad_token_is_recorded_not_failed(mock_url: str, tmp_path: Path) -> None:
    source = write(tmp_path / "clean.zip", zip_bytes(clean_set()))
    done = run_bulk(str(source), "--base-url", mock_url, "-o", str(tmp_path / "ok.zip"))
    assert done.returncode == 0, done.stderr
    assert {row["status"] for row in csv_rows(read_output(tmp_path / "ok.zip")["results.csv"])} == {"200"}

    done = run_bulk(str(source), "--base-url", mock_url, "-o", str(tmp_path / "401.zip"), "--token", "nope")
    assert done.returncode == 0, done.stderr  # every case was sent; the answers are 401s
    rows = csv_rows(read_output(tmp_path / "401.zip")["results.csv"])
    assert {(row["status"], row["error"]) for row in rows} == {("401", "malformed bearer token")}

    done = run_bulk(str(source), "--base-url", mock_url, "-o", str(tmp_path / "secret.zip"), "--jwt-secret", "other")
    rows = csv_rows(read_output(tmp_path / "secret.zip")["results.csv"])
    assert {(row["status"], row["error"]) for row in rows} == {("401", "invalid token")}


@pytest.mark.parametrize(
    "kind",
    [
        "dotdot",
        "absolute",
        "symlink",
        "nested-zip",
        "lying-bomb",
        "too-many-entries",
        "not-a-zip",
        "empty-file",
        "empty-zip",
    ],
)
def test_hostile_archives_exit_2_and_write_nothing(kind: str, tmp_path: Path, mock_url: str) -> None:
    data, phrase = hostile_archives()[kind]
    source = write(tmp_path / "hostile.zip", data)
    done = run_bulk(str(source), "--base-url", mock_url, "--output", str(tmp_path / "out.zip"))
    assert done.returncode == 2
    assert "refused" in done.stderr and phrase in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hostile.zip"]
    assert not (tmp_path.parent / "evil").exists() and not Path("/tmp/evil").exists()


def test_unreachable_target_retries_then_reports_every_case(tmp_path: Path) -> None:
    source = write(tmp_path / "clean.zip", zip_bytes(clean_set(3)))
    url = f"http://127.0.0.1:{free_port()}"
    done = run_bulk(str(source), "--base-url", url, "-o", str(tmp_path / "out.zip"), "--retries", "2")
    assert done.returncode == 1
    output = read_output(tmp_path / "out.zip")
    rows = csv_rows(output["errors.csv"])
    assert [row["case"] for row in rows] == ["c000", "c001", "c002"]
    assert all(row["reason"] == "not sent after 3 attempt(s): connection refused" for row in rows)
    summary = json.loads(output["summary.json"])
    assert summary["retries"] == 6 and summary["cases"] == {"total": 3, "sent": 0, "not_sent": 3}


def test_output_must_not_be_the_input(tmp_path: Path) -> None:
    data = zip_bytes(clean_set(1))
    source = write(tmp_path / "clean.zip", data)
    done = run_bulk(str(source), "-o", str(source))
    assert done.returncode == 2 and source.read_bytes() == data
