"""Hostile multipart bodies against a real gunicorn: part headers over the limit even when
they arrive in the first read, huge file names, hundreds of thousands of parts, and a
journal that stays bounded in bytes whatever the clients send."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from facematch_contract.operation import DEV_JWT_SECRET
from facematch_contract.tokens import mint_token

from .conftest import fixture_path
from .live import LiveServer, start_live_server
from .raw_http import exchange, multipart, peak_rss_kb, post_bytes, worker_pids

pytestmark = pytest.mark.server

BOUND = 10.0
FACE = fixture_path("astronaut_a.jpg").read_bytes()
AUTH = {"Authorization": f"Bearer {mint_token(DEV_JWT_SECRET)}"}
JOURNAL_KB = 64


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with start_live_server("--workers", "1", "--journal-max-kb", str(JOURNAL_KB)) as live:
        yield live


def assert_422(server: LiveServer, body: bytes, content_type: str, error: str) -> dict[str, object]:
    answer = exchange(server.url, post_bytes("/advanced_facematch", body, content_type, AUTH), timeout=BOUND * 3)
    assert answer.status == 422, answer.body[:300]
    assert answer.headers["content-type"] == "application/json"
    payload = answer.json()
    assert payload["detail"]["error"] == error, payload
    assert isinstance(payload["message"], str)
    assert answer.seconds < BOUND
    return payload


@pytest.mark.parametrize("length", [64 * 1024, 200 * 1024])
def test_huge_file_names_in_the_first_read_are_refused(server: LiveServer, length: int) -> None:
    body, content_type = multipart([("image1", "a" * length, FACE)])
    assert_422(server, body, content_type, "part_headers_too_large")


def test_a_file_name_over_255_characters_is_refused(server: LiveServer) -> None:
    body, content_type = multipart([("image1", "a" * 256 + ".jpg", FACE)])
    payload = assert_422(server, body, content_type, "invalid_field")
    assert "file name" in str(payload["message"])


def test_part_headers_over_16_kb_are_refused_whatever_the_header(server: LiveServer) -> None:
    boundary = "hb"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="image1"; filename="a.jpg"\r\n'
            f"X-Padding: {'p' * 20_000}\r\n\r\n"
        ).encode()
        + FACE
        + f"\r\n--{boundary}--\r\n".encode()
    )
    assert_422(server, body, f"multipart/form-data; boundary={boundary}", "part_headers_too_large")


def test_hundreds_of_thousands_of_tiny_parts_are_cut_at_the_part_limit(server: LiveServer) -> None:
    body, content_type = multipart([("unique_id", None, b"x")] * 200_000)
    assert len(body) < 20 * 2**20
    assert_422(server, body, content_type, "too_many_parts")


def test_the_journal_stays_bounded_in_bytes_and_keeps_the_newest(server: LiveServer) -> None:
    with requests.Session() as session:
        last = ""
        for number in range(200):
            last = f"bulk-{number:04d}"
            files = [("image1", (f"{number:04d}" + "n" * 250, FACE, "image/jpeg"))]
            answer = session.post(
                server.url + "/advanced_facematch", files=files, data={"unique_id": last}, headers=AUTH, timeout=BOUND
            )
            assert answer.status_code == 200, answer.text
        listing = session.get(server.url + "/__mock/requests", params={"limit": 1000}, timeout=BOUND)
    assert listing.status_code == 200
    assert len(listing.content) <= JOURNAL_KB * 1024
    entries = listing.json()["requests"]
    assert 0 < len(entries) < 200  # 200 entries of ~700 bytes do not fit in 64 KiB
    assert entries[-1]["unique_id"] == last
    peaks = peak_rss_kb(worker_pids(server.pid))
    assert peaks and max(peaks.values()) < 300 * 1024


def test_media_types_are_matched_case_insensitively(server: LiveServer) -> None:
    body, content_type = multipart([("image1", "a.jpg", FACE)])
    shouted = content_type.replace("multipart/form-data", "Multipart/Form-Data")
    answer = exchange(server.url, post_bytes("/advanced_facematch", body, shouted, AUTH), timeout=BOUND)
    assert answer.status == 200, answer.body
