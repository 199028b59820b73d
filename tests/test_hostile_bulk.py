"""Bulk jobs against other token holders, spreadsheet formulas and inflation bombs, and the
files a killed server leaves behind. Real gunicorn servers, real uploads."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest
import requests

from facematch_contract.operation import DEV_JWT_SECRET
from facematch_contract.tokens import mint_token
from mock_server.launch import free_port

from .bulk_builders import image, zip_bytes
from .live import ROOT, start_server
from .test_bulk_server import checked, submit, wait_done

pytestmark = pytest.mark.server

BOUND = 10.0


def auth_for(subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(DEV_JWT_SECRET, subject=subject)}"}


def test_a_job_belongs_to_its_subject_and_csv_cells_cannot_be_formulas() -> None:
    alice, mallory = auth_for("alice"), auth_for("mallory")
    cases = {
        '=HYPERLINK("https:evil.test","x")/image1.jpg': image("astronaut_a.jpg"),
        "+cmd/image1.jpg": image("hopper_a.jpg"),
        "@sum/image1.jpg": image("hopper_b.jpg"),
        "plain/image1.jpg": image("astronaut_b.jpg"),
        "plain/unique_id.txt": b"-2+3",
    }
    with start_server("--workers", "2") as url:
        accepted = submit(url, zip_bytes(cases), alice)
        assert accepted.status_code == 202, accepted.text
        job_id = accepted.json()["id"]
        for method, path in (
            ("GET", f"/bulk/{job_id}"),
            ("GET", f"/bulk/{job_id}/result.zip"),
            ("DELETE", f"/bulk/{job_id}"),
        ):
            other = checked(requests.request(method, url + path, headers=mallory, timeout=BOUND))
            assert other.status_code == 404, (method, path, other.text)
        job = wait_done(url, job_id, alice)
        assert job["status"] == "done", job
        archive = checked(requests.get(url + f"/bulk/{job_id}/result.zip", headers=alice, timeout=BOUND))
        assert archive.status_code == 200
        still_there = checked(requests.get(url + f"/bulk/{job_id}", headers=alice, timeout=BOUND))
        assert still_there.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.content)) as results:
        rows = list(csv.reader(io.StringIO(results.read("results.csv").decode())))
    dangerous = "=+-@\t\r"
    for row in rows:
        for value in row:
            assert not value.startswith(tuple(dangerous)) or value.lstrip("-").replace(".", "").isdigit(), row
    firsts = sorted(row[0] for row in rows[1:])
    assert '\'=HYPERLINK("https:evil.test","x")' in firsts and "'+cmd" in firsts and "'@sum" in firsts
    assert any(row[1] == "'-2+3" for row in rows[1:])


def test_an_archive_inflating_far_past_its_size_is_refused() -> None:
    payload = b"\0" * (15 * 1024 * 1024)  # about 15 KB deflated
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for number in range(5):
            archive.writestr(f"case{number}/image1.jpg", payload)
        archive.writestr("case9/image1.jpg", image("astronaut_a.jpg"))
    data = buffer.getvalue()
    assert len(data) < 1024 * 1024
    with start_server("--workers", "1") as url:
        started = time.monotonic()
        refused = submit(url, data, auth_for("alice"))
        assert refused.status_code == 400, refused.text
        assert "inflated-size budget" in refused.json()["msg"]
        assert time.monotonic() - started < BOUND


def test_the_next_start_removes_the_job_files_of_a_killed_server() -> None:
    port = free_port()
    command = [sys.executable, "-m", "facematch", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    before = set(Path(tempfile.gettempdir()).glob("facematch-bulk-*"))
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        left = [
            folder
            for folder in Path(tempfile.gettempdir()).glob("facematch-bulk-*")
            if folder not in before
            and (folder / "server.pid").exists()
            and (folder / "server.pid").read_text() == str(process.pid)
        ]
        assert len(left) == 1
        (left[0] / ("0" * 32)).mkdir()
        (left[0] / ("0" * 32) / "input.zip").write_bytes(b"photos of a job")
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # no atexit clean-up
        process.wait()
    assert left[0].exists()
    with start_server("--workers", "1"):
        assert not left[0].exists()
