"""The kit's schemathesis hooks work from the schemathesis CLI (`st run`): the rules run as
checks named facematch_<rule>, and images are real photos (so 200 answers are reached)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .live import ROOT
from .test_kit_broken_servers import BrokenProxy

pytestmark = pytest.mark.server

ST = Path(sys.executable).parent / "st"


def st_run(base_url: str, token: str) -> str:
    command = [
        str(ST),
        "--config-file",
        "contract_tests/schemathesis.toml",
        "run",
        "openapi.yaml",
        "-u",
        base_url,
        "-H",
        f"Authorization: Bearer {token}",
        "--include-tag",
        "facematch",
        "-n",
        "30",
        "--seed",
        "7",
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "contract_tests.st_hooks", "NO_COLOR": "1"}
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    return done.stdout + done.stderr


def test_st_run_with_the_hooks_passes_the_mocks_rules(mock_url: str, token: str) -> None:
    output = st_run(mock_url, token)
    assert "Test cases:" in output, output[-5000:]
    assert "facematch_" not in output, output[-5000:]


def test_st_run_with_the_hooks_catches_a_broken_rule(mock_url: str, token: str) -> None:
    with BrokenProxy(mock_url) as proxy:
        output = st_run(f"{proxy.url}/OVR-3", token)
    # Only a 200 with overall_result "True" can break OVR-3: the hooks' photos reach the 200 paths.
    assert "facematch_ovr_3" in output, output[-5000:]
    assert "OVR-3 [overall_confidence]" in output
    assert "facematch_shape_1" not in output and "facematch_type_1" not in output
