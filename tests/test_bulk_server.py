"""The mock's /bulk endpoints against live servers: the job's archive is the CLI's archive,
every refusal is a JSON error, and the work area is private and cleaned up."""

from __future__ import annotations

import http.client
import io
import json
import stat
import time
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from .bulk_builders import NOT_SENT_CASES, SENT_CASES, clean_set, hostile_archives, regression_set, write, zip_bytes
from .live import start_server
from .test_bulk_cli import COLUMNS_200, cell, csv_rows, lookup, read_output, run_bulk, send_by_hand

pytestmark = pytest.mark.server

JOB_KEYS = {
    "id",
    "status",
    "cases",
    "errors",
    "message",
    "created",
    "started",
    "finished",
    "expires",
    "status_url",
    "result_url",
}


def checked(response: requests.Response) -> requests.Response:
    """What holds for every bulk answer: no 5xx, JSON errors, correlation id, no contract drift."""
    assert response.status_code < 500, response.text
    assert response.headers.get("X-Correlation-ID")
    assert "X-Contract-Violation" not in response.headers, response.headers["X-Contract-Violation"]
    if response.status_code >= 400:
        assert response.headers["Content-Type"] == "application/json"
        assert set(response.json()) == {"msg"} and response.json()["msg"]
    return response


def submit(base_url: str, data: bytes, auth: dict[str, str], name: str = "cases.zip") -> requests.Response:
    files = {"file": (name, data, "application/zip")}
    return checked(requests.post(base_url + "/bulk", files=files, headers=auth, timeout=60))


def get(base_url: str, path: str, auth: dict[str, str]) -> requests.Response:
    return checked(requests.get(base_url + path, headers=auth, timeout=60))


def wait_done(base_url: str, job_id: str, auth: dict[str, str], timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = get(base_url, f"/bulk/{job_id}", auth).json()
        assert set(job) == JOB_KEYS
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} not done within {timeout}s")


@pytest.fixture(scope="module")
def finished_job(mock_url: str, auth: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any], dict[str, bytes]]:
    accepted = submit(mock_url, zip_bytes(regression_set()), auth)
    assert accepted.status_code == 202, accepted.text
    queued = accepted.json()
    job = wait_done(mock_url, queued["id"], auth)
    response = get(mock_url, job["result_url"], auth)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        output = {name: archive.read(name) for name in archive.namelist()}
    return queued, job, output


def test_a_job_is_queued_then_done(finished_job: Any) -> None:
    queued, job, _ = finished_job
    assert set(queued) == JOB_KEYS and queued["status"] == "queued"
    assert queued["cases"] == {"total": 12, "done": 0} and queued["errors"] == 2
    assert queued["status_url"] == f"/bulk/{queued['id']}" and queued["result_url"] is None
    assert job["status"] == "done" and job["message"] is None
    assert job["cases"] == {"total": 12, "done": 12, "sent": 10, "not_sent": 2} and job["errors"] == 2
    assert job["result_url"] == f"/bulk/{job['id']}/result.zip" and job["expires"]


def test_the_job_archive_is_what_the_mock_answers_by_hand(
    finished_job: Any, mock_url: str, auth: dict[str, str]
) -> None:
    _, _, output = finished_job
    entries = regression_set()
    rows = csv_rows(output["results.csv"])
    assert [row["case"] for row in rows] == sorted(SENT_CASES + NOT_SENT_CASES)
    for row in rows:
        if row["case"] in NOT_SENT_CASES:
            assert row["status"] == "" and row["error"]
            continue
        expected = send_by_hand(mock_url, auth, entries, row["case"])
        assert row["status"] == str(expected.status_code), row["case"]
        if expected.status_code == 200:
            assert [row[c] for c in COLUMNS_200] == [cell(lookup(expected.json(), c)) for c in COLUMNS_200]
        else:
            assert row["error"] == expected.json()["msg"]
    summary = json.loads(output["summary.json"])
    assert summary["cases"] == {"total": 12, "sent": 10, "not_sent": 2} and summary["input"] == "cases.zip"


def test_the_job_archive_equals_the_cli_archive(finished_job: Any, mock_url: str, tmp_path: Path) -> None:
    """Same runner, same writer: byte-identical results from the CLI and from the server."""
    _, _, output = finished_job
    source = write(tmp_path / "cases.zip", zip_bytes(regression_set()))
    run_bulk(str(source), "--base-url", mock_url, "-o", str(tmp_path / "cli.zip"), "--quiet")
    cli = read_output(tmp_path / "cli.zip")
    for name in ("results.csv", "results.jsonl", "errors.csv"):
        assert output[name] == cli[name], name


def test_status_is_visible_from_every_worker(finished_job: Any, mock_url: str, auth: dict[str, str]) -> None:
    _, job, _ = finished_job
    for _ in range(20):  # new connection each time: the answers come from both workers
        assert get(mock_url, f"/bulk/{job['id']}", auth).json()["status"] == "done"


@pytest.mark.parametrize("path", ["/bulk", "/bulk/" + "0" * 32, "/bulk/" + "0" * 32 + "/result.zip"])
def test_every_bulk_endpoint_needs_the_token(mock_url: str, path: str) -> None:
    method = requests.post if path == "/bulk" else requests.get
    response = checked(method(mock_url + path, timeout=30))
    assert response.status_code == 401
    assert checked(requests.delete(mock_url + "/bulk/" + "0" * 32, timeout=30)).status_code == 401


@pytest.mark.parametrize("job_id", ["0" * 32, "not-a-job", "../../etc"])
def test_unknown_jobs_are_404(mock_url: str, auth: dict[str, str], job_id: str) -> None:
    assert get(mock_url, f"/bulk/{job_id}", auth).status_code == 404
    assert get(mock_url, f"/bulk/{job_id}/result.zip", auth).status_code == 404


@pytest.mark.parametrize("kind", sorted(hostile_archives()))
def test_hostile_archives_are_400(mock_url: str, auth: dict[str, str], kind: str) -> None:
    data, phrase = hostile_archives()[kind]
    response = submit(mock_url, data, auth)
    assert response.status_code == 400
    assert response.json()["msg"].startswith("archive refused: ") and phrase in response.json()["msg"]


def test_an_upload_without_a_file_part_is_400(mock_url: str, auth: dict[str, str]) -> None:
    for files in ({"other": ("x.zip", b"PK", "application/zip")}, {"file": (None, "not a file")}):
        response = checked(requests.post(mock_url + "/bulk", files=files, headers=auth, timeout=30))
        assert response.status_code == 400 and "file part named file" in response.json()["msg"]
    response = checked(requests.post(mock_url + "/bulk", json={"file": "x"}, headers=auth, timeout=30))
    assert response.status_code == 400


def test_an_upload_over_the_limit_is_413_without_being_read(mock_url: str, auth: dict[str, str]) -> None:
    address = urlsplit(mock_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    connection.putrequest("POST", "/bulk")
    connection.putheader("Authorization", auth["Authorization"])
    connection.putheader("Content-Type", "multipart/form-data; boundary=x")
    connection.putheader("Content-Length", str(300 * 1024 * 1024))
    connection.endheaders()
    connection.send(b"--x\r\n")
    response = connection.getresponse()
    assert response.status == 413
    assert "too large" in json.loads(response.read())["msg"]
    connection.close()


def test_delete_forgets_a_finished_job(mock_url: str, auth: dict[str, str]) -> None:
    job_id = submit(mock_url, zip_bytes(clean_set(2)), auth).json()["id"]
    wait_done(mock_url, job_id, auth)
    response = checked(requests.delete(f"{mock_url}/bulk/{job_id}", headers=auth, timeout=30))
    assert response.status_code == 204
    assert get(mock_url, f"/bulk/{job_id}", auth).status_code == 404
    assert get(mock_url, f"/bulk/{job_id}/result.zip", auth).status_code == 404


# -- the work area: a dedicated server with its own TMPDIR, one job at a time, a short TTL --


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("bulk-server-tmp")
    # The latency keeps the 30-case job below running for about 2 s (8 cases at a time, in
    # process), long enough for the checks made while it runs.
    args = ("--strict", "--bulk-jobs", "1", "--bulk-ttl", "3", "--latency", "600")
    for attempt in range(3):
        # tests.live waits for /healthz with a 1 s read timeout, which a loaded machine can
        # exceed while the workers boot; a read timeout there is a slow start, not a failure.
        try:
            server = start_server(*args, env={"TMPDIR": str(tmp)})
            url = server.__enter__()
            break
        except requests.Timeout:
            if attempt == 2:
                raise
    try:
        yield url, tmp
    finally:
        server.__exit__(None, None, None)
    assert not list(tmp.glob("facematch-bulk-*")), "the work area outlived the server"


def work_area(tmp: Path) -> Path:
    (area,) = tmp.glob("facematch-bulk-*")
    return area


def test_work_area_limits_and_clean_up(slow_server: Any, auth: dict[str, str]) -> None:
    url, tmp = slow_server
    area = work_area(tmp)
    assert stat.S_IMODE(area.stat().st_mode) == 0o700

    # A hostile upload leaves nothing behind.
    assert submit(url, hostile_archives()["dotdot"][0], auth).status_code == 400
    assert not [p for p in area.iterdir() if p.is_dir()]

    accepted = submit(url, zip_bytes(clean_set(30)), auth)
    assert accepted.status_code == 202
    job_id = accepted.json()["id"]
    folder = area / job_id
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700

    # While it runs: the result is not ready (409) and a second job is refused (429).
    not_ready = get(url, f"/bulk/{job_id}/result.zip", auth)
    assert not_ready.status_code == 409 and "cases done" in not_ready.json()["msg"]
    busy = submit(url, zip_bytes(clean_set(1)), auth)
    assert busy.status_code == 429 and "too many bulk jobs" in busy.json()["msg"]
    assert checked(requests.delete(f"{url}/bulk/{job_id}", headers=auth, timeout=30)).status_code == 409
    assert (folder / "input.zip").exists()

    job = wait_done(url, job_id, auth)
    assert job["status"] == "done" and job["cases"]["sent"] == 30
    assert sorted(p.name for p in folder.iterdir()) == ["result.zip", "status.json"]  # the input is gone
    assert get(url, job["result_url"], auth).status_code == 200

    # After the TTL the owning worker's timer deletes the results, with no request needed.
    deadline = time.monotonic() + 15
    while folder.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not folder.exists()
    assert get(url, f"/bulk/{job_id}", auth).status_code == 404
    assert submit(url, zip_bytes(clean_set(1)), auth).status_code == 202  # the slot is free again


def test_server_logs_hold_no_tokens_or_image_bytes(slow_server: Any, auth: dict[str, str]) -> None:
    _url, tmp = slow_server
    token = auth["Authorization"].split()[1]
    journal = next(tmp.glob("facematch-journal-*/journal.jsonl"), None)
    if journal is not None:
        text = journal.read_text()
        assert token not in text and "JFIF" not in text
