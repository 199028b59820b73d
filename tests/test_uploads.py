"""The streaming multipart reader against real byte streams, chunked every which way."""

from __future__ import annotations

import io
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server.errors import ApiError, ErrorKind
from mock_server.uploads import read_form

BOUNDARY = "XyZ-boundary-123"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
BINARY = frozenset({"image1", "image2"})


class TrickleStream(io.RawIOBase):
    """A real byte stream that hands out at most a few random bytes per read."""

    def __init__(self, data: bytes, seed: int) -> None:
        self.data = data
        self.position = 0
        self.rng = random.Random(seed)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        step = self.rng.randint(1, max(1, min(size if size > 0 else 1 << 20, 5000)))
        chunk = self.data[self.position : self.position + step]
        self.position += len(chunk)
        return chunk


def encode_form(fields: list[tuple[str, bytes]]) -> bytes:
    out = [b"preamble to ignore\r\n"]
    for name, value in fields:
        out.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="f.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
        )
        out.append(value + b"\r\n")
    out.append(f"--{BOUNDARY}--\r\nepilogue".encode())
    return b"".join(out)


# A boundary delimiter never occurs inside a value (RFC 2046: the client picks the boundary so).
values = st.binary(max_size=3000) | st.sampled_from([b"", b"\r\n", b"--", b"\r\n--", b"\r\n--XyZ", BOUNDARY.encode()])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["image1", "image2", "unique_id"]), values), max_size=4), st.integers(0, 10**6)
)
def test_parts_come_back_exactly(fields: list[tuple[str, bytes]], seed: int) -> None:
    body = encode_form(fields)
    parts = read_form(TrickleStream(body, seed), CONTENT_TYPE, binary_fields=BINARY, image_limit=10**6, max_body=10**7)
    assert [(part.name, part.data) for part in parts] == fields
    assert all(part.size == len(value) for part, (_, value) in zip(parts, fields, strict=True))


def test_a_part_over_its_limit_is_counted_not_kept() -> None:
    body = encode_form([("image1", b"a" * 5000), ("image2", b"b" * 10)])
    parts = read_form(TrickleStream(body, 1), CONTENT_TYPE, binary_fields=BINARY, image_limit=4096, max_body=10**6)
    assert parts[0].overflow and parts[0].size == 5000 and parts[0].data == b""
    assert not parts[1].overflow and parts[1].data == b"b" * 10


def test_the_body_limit_stops_reading() -> None:
    body = encode_form([("image1", b"a" * 50_000)])
    stream = TrickleStream(body, 2)
    with pytest.raises(ApiError) as caught:
        read_form(stream, CONTENT_TYPE, binary_fields=BINARY, image_limit=10**6, max_body=20_000)
    assert caught.value.kind is ErrorKind.BODY_TOO_LARGE
    assert stream.position < 30_000


@pytest.mark.parametrize(
    ("content_type", "kind"),
    [
        ("application/json", ErrorKind.NOT_MULTIPART),
        ("multipart/form-data", ErrorKind.MALFORMED_MULTIPART),
        ("multipart/mixed; boundary=x", ErrorKind.NOT_MULTIPART),
        (None, ErrorKind.NOT_MULTIPART),
    ],
)
def test_content_types(content_type: str | None, kind: ErrorKind) -> None:
    with pytest.raises(ApiError) as caught:
        read_form(io.BytesIO(b""), content_type, binary_fields=BINARY, image_limit=100, max_body=100)
    assert caught.value.kind is kind


@pytest.mark.parametrize(
    "body",
    [
        b"",
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="image1"\r\n\r\nno end'.encode(),
        f'--{BOUNDARY}\r\nContent-Disposition: attachment; name="image1"\r\n\r\nx\r\n--{BOUNDARY}--'.encode(),
        f"--{BOUNDARY}\r\nno colon here\r\n\r\nx\r\n--{BOUNDARY}--".encode(),
        f"--{BOUNDARY}garbage\r\n".encode(),
    ],
)
def test_malformed_bodies(body: bytes) -> None:
    with pytest.raises(ApiError) as caught:
        read_form(io.BytesIO(body), CONTENT_TYPE, binary_fields=BINARY, image_limit=100, max_body=10**6)
    assert caught.value.kind is ErrorKind.MALFORMED_MULTIPART
