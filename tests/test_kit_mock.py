"""The contract-test kit passes the mock in every profile, through both entry points, and
writes both reports."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from facematch_contract import SPEC_PATH

from . import kit_process
from .kit_commands import PLUGIN_ARGS, check_command, report_options
from .live import ROOT

pytestmark = pytest.mark.server


def facematch_check(base_url: str, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = check_command(base_url, *report_options(out), *extra)
    return kit_process.run(command, ROOT, timeout=600)


def assert_clean_reports(out: Path, profile: str) -> None:
    report = (out / "report.md").read_text()
    assert "**Verdict: PASS**" in report and "100% (15 of 15 rules hold)" in report
    assert f"| Profile | {profile} |" in report and "| Seed |" in report
    suite = ET.parse(out / "junit.xml").getroot()
    assert suite.get("failures") == "0" and suite.get("errors") == "0"
    rules = [c for c in suite.iter("testcase") if c.get("classname") == "facematch.rules"]
    assert len(rules) == 15
    assert all(len(c) == 0 or c[0].tag == "system-out" for c in rules), "every rule is exercised and holds"
    if (out / "report.json").is_file():
        evidence = json.loads((out / "report.json").read_text())
        assert evidence["verdict"] == "PASS" and evidence["exit_code"] == 0 and evidence["profile"] == profile
        assert all(rule["checked"] > 0 and rule["status"] in ("pass", "warn") for rule in evidence["rules"])
        assert evidence["contract_sha256"] == hashlib.sha256(SPEC_PATH.read_bytes()).hexdigest()


def test_contract_profile_passes(mock_url: str, tmp_path: Path) -> None:
    started = time.monotonic()
    done = facematch_check(mock_url, tmp_path, "--profile", "contract")
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert_clean_reports(tmp_path, "contract")
    # A figure for the README, not a timed assertion (those belong in benchmarks).
    print(f"facematch check --profile contract took {elapsed:.1f} s")


@pytest.mark.parametrize("profile", ["semantic", "golden"])
def test_richer_profiles_pass_against_the_mock(profile: str, mock_url: str, tmp_path: Path) -> None:
    done = facematch_check(mock_url, tmp_path, "--profile", profile, "--max-examples", "10")
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert_clean_reports(tmp_path, profile)
    report = (tmp_path / "report.md").read_text()
    assert "SEM-1" in report and ("GOLD-2" in report) == (profile == "golden")


def test_a_negative_case_valid_on_the_wire_is_not_a_failure_even_in_golden(mock_url: str, tmp_path: Path) -> None:
    # This seed makes schemathesis mutate unique_id into the number 10000000.0 (and the
    # Authorization header, which the kit overwrites): sent as multipart text it is the valid
    # string "10000000.0", so the mock is right to accept it (found by a CI run).
    done = facematch_check(mock_url, tmp_path, "--profile", "golden", "--max-examples", "20", "--seed", "1560346279")
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert_clean_reports(tmp_path, "golden")


def test_pytest_entry_point_with_an_explicit_token(mock_url: str, token: str, tmp_path: Path) -> None:
    command = [
        sys.executable,
        *PLUGIN_ARGS,
        "--facematch-base-url",
        mock_url,
        "--facematch-token",
        token,
        "--facematch-max-examples",
        "3",
        "--facematch-report",
        str(tmp_path / "report.md"),
        "--facematch-junit",
        str(tmp_path / "junit.xml"),
    ]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert_clean_reports(tmp_path, "contract")


def test_a_server_that_is_down_fails_the_run(tmp_path: Path) -> None:
    from .live import free_port

    done = facematch_check(f"http://127.0.0.1:{free_port()}", tmp_path, "--token", "t", "--max-examples", "2")
    assert done.returncode != 0
