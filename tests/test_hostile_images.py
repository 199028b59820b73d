"""Decoder bombs against a real gunicorn: each is made here at test time (never committed),
sent as a real multipart upload, and must get a JSON 400 quickly while the worker's peak
RSS (VmHWM) stays under 300 MB; images at the edge of the budget still pass."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from PIL import Image

from facematch_contract.operation import DEV_JWT_SECRET
from facematch_contract.tokens import mint_token

from .live import LiveServer, start_live_server
from .raw_http import assert_json_error, exchange, multipart, peak_rss_kb, post_bytes, worker_pids

pytestmark = pytest.mark.server

BOUND = 10.0  # seconds; the target is 5 s, this is for a loaded 2-core CI machine
RSS_LIMIT_KB = 300 * 1024
TOKEN = mint_token(DEV_JWT_SECRET)


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with start_live_server("--workers", "1") as live:
        yield live


def upload(server: LiveServer, image: bytes):  # type: ignore[no-untyped-def]
    body, content_type = multipart([("image1", "photo", image)])
    request = post_bytes("/advanced_facematch", body, content_type, {"Authorization": f"Bearer {TOKEN}"})
    return exchange(server.url, request, timeout=BOUND * 3)


def assert_worker_rss_bounded(server: LiveServer) -> None:
    peaks = peak_rss_kb(worker_pids(server.pid))
    assert peaks, "no worker found"
    assert max(peaks.values()) < RSS_LIMIT_KB, f"worker peak RSS {peaks} kB"


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def many_scans_jpeg(copies: int) -> bytes:
    """A progressive JPEG with one of its small AC scans repeated ``copies`` times: a few
    dozen bytes each, and each costs the decoder a pass over every block."""
    data = encode(Image.new("RGB", (2000, 2000), (10, 200, 30)), "JPEG", progressive=True)
    starts = [index for index in range(len(data) - 1) if data[index] == 0xFF and data[index + 1] == 0xDA]
    scan = data[starts[-3] : starts[-2]]
    return data[: starts[-2]] + scan * copies + data[starts[-2] :]


def lying_jpeg() -> bytes:
    """A 64x64 JPEG whose start-of-frame claims 6000x6600."""
    data = bytearray(encode(Image.effect_noise((64, 64), 60).convert("RGB"), "JPEG", quality=95))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = (6600).to_bytes(2, "big") + (6000).to_bytes(2, "big")
    return bytes(data)


def test_progressive_jpeg_with_thousands_of_scans_is_refused_before_decoding(server: LiveServer) -> None:
    bomb = many_scans_jpeg(3000)
    assert 64 * 1024 < len(bomb) < 10 * 2**20
    body = assert_json_error(upload(server, bomb), 400, BOUND)
    assert "too many progressive scans" in body["msg"]
    assert_worker_rss_bounded(server)


def test_tiny_lossless_webp_of_40_megapixels_is_refused_by_the_memory_budget(server: LiveServer) -> None:
    bomb = encode(Image.new("RGB", (6300, 6300), (10, 200, 30)), "WEBP", lossless=True)
    assert len(bomb) < 64 * 1024
    body = assert_json_error(upload(server, bomb), 400, BOUND)
    assert "too much memory" in body["msg"] and "6300x6300" in body["msg"]
    assert_worker_rss_bounded(server)


def test_jpeg_header_promising_more_pixels_than_its_data_holds_is_corrupt(server: LiveServer) -> None:
    body = assert_json_error(upload(server, lying_jpeg()), 400, BOUND)
    assert "truncated or corrupt" in body["msg"]


@pytest.mark.parametrize(
    ("fmt", "size", "options"),
    [("PNG", (6000, 6600), {}), ("WEBP", (3000, 3000), {}), ("JPEG", (6000, 6600), {"progressive": True})],
    ids=["png-39.6MP", "webp-9MP", "progressive-jpeg-39.6MP"],
)
def test_largest_images_within_the_budget_pass_within_bounds(
    server: LiveServer, fmt: str, size: tuple[int, int], options: dict[str, object]
) -> None:
    image = encode(Image.new("RGB", size, (120, 90, 60)), fmt, **options)
    answer = upload(server, image)
    assert answer.status == 200, answer.body
    assert answer.seconds < BOUND
    assert_worker_rss_bounded(server)


def test_a_decode_over_the_wall_clock_limit_is_cut() -> None:
    image = encode(Image.new("RGB", (6000, 6600), (120, 90, 60)), "PNG")
    with start_live_server("--workers", "1", "--decode-seconds", "0.05") as live:
        body = assert_json_error(upload(live, image), 400, BOUND)
        assert "took too long to decode" in body["msg"]
        assert_worker_rss_bounded(live)
