"""Every error kind of the contract (ERR-1..4) gets its status and JSON body from a live mock."""

from __future__ import annotations

import io
import socket
import time
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import jwt
import pytest
import requests
from jwt.warnings import InsecureKeyLengthWarning
from PIL import Image

from facematch_contract.operation import DEV_JWT_SECRET, MAX_IMAGE_BYTES
from facematch_contract.tokens import mint_token

from .client import http, image_files, post
from .conftest import app_url_with, fixture_path

FACE = fixture_path("astronaut_a.jpg").read_bytes()


def big_jpeg(target: int) -> bytes:
    """A real JPEG of at least ``target`` bytes (noise compresses badly), made at test time."""
    import numpy as np

    side = 256
    while True:
        pixels = np.random.default_rng(7).integers(0, 256, (side, side, 3), dtype=np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "JPEG", quality=100)
        if buffer.tell() >= target:
            return buffer.getvalue()
        side = int(side * 1.5)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.jpg", "image1 is empty"),
        ("tiny.jpg", "image1 is too small: 398 bytes (the minimum is 1024 bytes)"),
        ("not_image.txt", "image1 is not a supported image: send JPEG, PNG or WebP"),
        ("truncated.jpg", "image1 could not be decoded: the image data is truncated or corrupt"),
        ("corrupt.jpg", "image1 could not be decoded: the image data is truncated or corrupt"),
        ("coffee.jpg", "no usable face found in image1"),
    ],
)
def test_err1_bad_image1(app_url: str, auth: dict[str, str], name: str, message: str) -> None:
    data = fixture_path(name).read_bytes()
    response = post(app_url, image_files(data), headers=auth)
    assert (response.status_code, response.json()) == (400, {"msg": message})


def test_err1_names_image2(app_url: str, auth: dict[str, str]) -> None:
    response = post(app_url, image_files(FACE, fixture_path("truncated.jpg").read_bytes()), headers=auth)
    assert response.status_code == 400
    assert response.json()["msg"].startswith("image2 ")


def test_err1_image_too_large(app_url: str, auth: dict[str, str]) -> None:
    data = big_jpeg(MAX_IMAGE_BYTES + 200_000)
    response = post(app_url, image_files(data), headers=auth)
    assert response.status_code == 400
    assert response.json() == {
        "msg": f"image1 is too large: over {MAX_IMAGE_BYTES} bytes (the maximum is {MAX_IMAGE_BYTES} bytes)"
    }


@pytest.mark.server
def test_a_request_far_over_the_limit_is_refused_without_reading_it(mock_url: str, token: str) -> None:
    """Content-Length of 1 GB, and only 5 bytes of it ever sent: the answer still comes."""
    host, port = urlsplit(mock_url).hostname, urlsplit(mock_url).port
    with socket.create_connection((host, port), timeout=10) as sock:
        head = (
            "POST /advanced_facematch HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {token}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000000\r\n\r\n"
        )
        sock.sendall(head.encode() + b"--b\r\n")
        chunks = []
        while chunk := sock.recv(65536):  # the server answers, then closes
            chunks.append(chunk)
        answer = b"".join(chunks).decode()
    assert answer.startswith("HTTP/1.1 400")
    assert "request body is too large" in answer


def test_decompression_bomb_is_refused(app_url: str, auth: dict[str, str]) -> None:
    buffer = io.BytesIO()
    Image.new("L", (8000, 6000)).save(buffer, "PNG")  # 48 MP in a few kilobytes
    response = post(app_url, image_files(buffer.getvalue()), headers=auth)
    assert response.status_code == 400
    assert "too many pixels" in response.json()["msg"]


def expired() -> str:
    return mint_token(DEV_JWT_SECRET, expires_in=-3600)


def other_algorithm() -> str:
    """Signed with the right secret but HS512, which the server does not accept."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)  # short for HS512, on purpose
        return jwt.encode({"sub": "x"}, DEV_JWT_SECRET, algorithm="HS512")


def not_yet_valid() -> str:
    return jwt.encode({"sub": "x", "nbf": int(time.time()) + 3600}, DEV_JWT_SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "missing bearer token: send Authorization: Bearer <token>"),
        ("Basic dXNlcjpwYXNz", "malformed bearer token"),
        ("Bearer", "malformed bearer token"),
        ("Bearer not-a-jwt", "malformed bearer token"),
        ("Bearer " + mint_token("another-secret-of-sufficient-length!!"), "invalid token"),
        ("Bearer " + other_algorithm(), "invalid token"),
        ("Bearer " + expired(), "token has expired"),
        ("Bearer " + not_yet_valid(), "token is not valid yet"),
    ],
    ids=["missing", "basic", "empty", "garbage", "bad-signature", "wrong-alg", "expired", "nbf"],
)
def test_err2_bad_tokens(app_url: str, header: str | None, message: str) -> None:
    headers = {"Authorization": header} if header else {}
    response = post(app_url, image_files(FACE), headers=headers)
    assert (response.status_code, response.json()) == (401, {"msg": message})


def test_err2_comes_before_the_body_is_judged(app_url: str) -> None:
    response = post(app_url, data=b"not multipart", headers={"Content-Type": "text/plain"})
    assert response.status_code == 401


def test_auth_any_accepts_any_non_empty_token(tmp_path: Path) -> None:
    url = app_url_with(tmp_path, strict=True, auth="any")
    assert post(url, image_files(FACE), headers={"Authorization": "Bearer anything"}).status_code == 200
    assert post(url, image_files(FACE), headers={"Authorization": "Bearer "}).status_code == 401
    assert post(url, image_files(FACE)).status_code == 401


def err3(response: requests.Response, error: str) -> dict:
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) == {"detail", "message"} and body["message"]
    assert body["detail"]["error"] == error
    return body


def test_err3_no_image1(app_url: str, auth: dict[str, str]) -> None:
    body = err3(post(app_url, image_files(None, FACE), headers=auth), "missing_image1")
    assert body["detail"]["field"] == "image1"


def test_err3_empty_form(app_url: str, auth: dict[str, str]) -> None:
    err3(post(app_url, files=[("unique_id", (None, "x"))], headers=auth), "missing_image1")


@pytest.mark.parametrize(
    ("content_type", "data"),
    [("application/json", b'{"image1": "x"}'), ("application/x-www-form-urlencoded", b"image1=x"), (None, b"")],
)
def test_err3_not_multipart(app_url: str, auth: dict[str, str], content_type: str | None, data: bytes) -> None:
    headers = {**auth, **({"Content-Type": content_type} if content_type else {})}
    err3(post(app_url, data=data, headers=headers), "not_multipart")


@pytest.mark.parametrize(
    "body",
    [
        b"no boundary at all",
        b'--b\r\nContent-Disposition: form-data; name="image1"\r\n\r\nunterminated',
        b"--b\r\nX-No-Disposition: 1\r\n\r\ndata\r\n--b--\r\n",
    ],
    ids=["no-boundary", "unterminated", "no-disposition"],
)
def test_err3_malformed_multipart(app_url: str, auth: dict[str, str], body: bytes) -> None:
    headers = {**auth, "Content-Type": "multipart/form-data; boundary=b"}
    err3(post(app_url, data=body, headers=headers), "malformed_multipart")


def test_err3_unknown_field(app_url: str, auth: dict[str, str]) -> None:
    body = err3(post(app_url, image_files(FACE, image3="x"), headers=auth), "unknown_field")
    assert body["detail"]["field"] == "image3"


def test_err3_repeated_field(app_url: str, auth: dict[str, str]) -> None:
    files = image_files(FACE) + image_files(FACE)
    err3(post(app_url, files, headers=auth), "duplicate_field")


def test_err3_unique_id_over_its_max_length(app_url: str, auth: dict[str, str]) -> None:
    body = err3(post(app_url, image_files(FACE, unique_id="u" * 129), headers=auth), "invalid_field")
    assert body["detail"]["field"] == "unique_id"
    assert "longer than 128" in body["message"]


def test_err3_invalid_correlation_id(app_url: str, auth: dict[str, str]) -> None:
    response = post(app_url, image_files(FACE), headers={**auth, "X-Correlation-ID": "has space"})
    err3(response, "invalid_header")
    assert response.headers["X-Correlation-ID"] != "has space"


def test_err4_other_paths_and_methods_answer_json(app_url: str, auth: dict[str, str]) -> None:
    missing = http(app_url).get(app_url + "/nowhere", timeout=10)
    assert (missing.status_code, missing.headers["Content-Type"]) == (404, "application/json")
    assert missing.json() == {"msg": "no such resource: /nowhere"}
    wrong = http(app_url).get(app_url + "/advanced_facematch", timeout=10)
    assert (wrong.status_code, wrong.json()) == (405, {"msg": "method GET is not allowed here"})
    assert wrong.headers["Allow"] == "OPTIONS, POST"
    assert wrong.headers["X-Correlation-ID"]


def test_err4_garbage_bytes_never_5xx(app_url: str, auth: dict[str, str]) -> None:
    import random

    rng = random.Random(3)
    for size in (0, 1, 100, 5000, 70_000):
        noise = bytes(rng.getrandbits(8) for _ in range(size))
        for content_type in ("multipart/form-data; boundary=x", "multipart/form-data", "image/jpeg"):
            post(app_url, data=noise, headers={**auth, "Content-Type": content_type})
        post(app_url, image_files(noise), headers=auth)
        post(app_url, image_files(FACE, noise), headers=auth)
