"""Fuzzing the multipart reader and the image checks with hypothesis, with a fixed budget
(a set number of examples, derandomised so CI runs the same inputs every time).

Whatever the bytes, the reader returns parts or refuses with a 4xx ApiError, and the image
checker returns a checked image or refuses with a 400; nothing else ever escapes (no
other exception, no 5xx), and nothing takes long."""

from __future__ import annotations

import io
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facematch_contract.operation import MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, MIN_IMAGE_BYTES
from mock_server.config import Settings
from mock_server.errors import ApiError
from mock_server.images import ImageChecker, ImageLimits
from mock_server.uploads import read_form

from .conftest import fixture_path

BUDGET = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
BOUNDARY = b"fuzzboundary"
FIXTURES = [
    fixture_path(name).read_bytes()
    for name in ("astronaut_a.jpg", "astronaut.webp", "astronaut_alpha.png", "hopper_exif6.jpg")
]
DEFAULTS = Settings()


def checker() -> ImageChecker:
    return ImageChecker(
        ImageLimits(
            MIN_IMAGE_BYTES,
            MAX_IMAGE_BYTES,
            MAX_IMAGE_PIXELS,
            max_scans=DEFAULTS.max_image_scans,
            decode_memory_bytes=DEFAULTS.decode_memory_bytes,
            decode_seconds=DEFAULTS.decode_seconds,
        ),
        cache_size=0,
    )


header_text = st.text(st.characters(min_codepoint=1, max_codepoint=0x2FF), max_size=40)
part = st.tuples(
    st.sampled_from(["image1", "image2", "unique_id", "x", ""]) | header_text,
    st.none() | header_text,
    st.lists(st.tuples(st.sampled_from(["Content-Type", "X-A", "Content-Disposition", ""]), header_text), max_size=3),
    st.binary(max_size=300),
)


def body_of(parts: list, epilogue: bytes) -> bytes:  # type: ignore[type-arg]
    out = [b"preamble\r\n"]
    for name, filename, extra, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        lines = [f"Content-Disposition: {disposition}"] + [f"{key}: {value}" for key, value in extra]
        out += [
            b"--" + BOUNDARY + b"\r\n",
            "\r\n".join(lines).encode("utf-8", "surrogatepass"),
            b"\r\n\r\n",
            data,
            b"\r\n",
        ]
    out += [b"--" + BOUNDARY + b"--\r\n", epilogue]
    return b"".join(out)


@BUDGET
@given(
    parts=st.lists(part, max_size=20),
    epilogue=st.binary(max_size=50),
    cuts=st.lists(st.tuples(st.integers(0, 10_000), st.binary(max_size=8)), max_size=4),
    content_type=st.sampled_from(
        [
            "multipart/form-data; boundary=fuzzboundary",
            'Multipart/Form-Data; boundary="fuzzboundary"',
            "multipart/form-data",
            "text/plain",
            "multipart/form-data; boundary=" + "b" * 300,
        ]
    ),
)
def test_the_multipart_reader_returns_parts_or_refuses_cleanly(parts, epilogue, cuts, content_type) -> None:  # type: ignore[no-untyped-def]
    body = bytearray(body_of(parts, epilogue))
    for position, replacement in cuts:  # damage the framing in places
        at = position % (len(body) + 1)
        body[at : at + len(replacement)] = replacement
    started = time.monotonic()
    try:
        found = read_form(
            io.BytesIO(bytes(body)),
            content_type,
            binary_fields=frozenset({"image1", "image2"}),
            image_limit=DEFAULTS.max_image_bytes,
            max_body=DEFAULTS.max_body_bytes,
        )
    except ApiError as error:
        assert 400 <= error.status < 500 and error.message  # noqa: PT017 - both outcomes are fine; a refusal is a 4xx
    else:
        assert len(found) <= 16
        assert all(part.size == len(part.data) or part.overflow for part in found)
    assert time.monotonic() - started < 15  # a bound on work (no hang), generous for a loaded CI machine


@BUDGET
@given(
    source=st.sampled_from(FIXTURES),
    edits=st.lists(st.tuples(st.floats(0, 1), st.binary(min_size=1, max_size=6)), max_size=6),
    keep=st.floats(0.05, 1.0),
)
def test_the_image_checks_accept_or_refuse_damaged_images_with_a_400(source: bytes, edits, keep: float) -> None:  # type: ignore[no-untyped-def]
    data = bytearray(source[: max(1, int(len(source) * keep))])
    for where, replacement in edits:
        at = int(where * (len(data) - 1))
        data[at : at + len(replacement)] = replacement
    started = time.monotonic()
    try:
        checked = checker().check("image1", bytes(data))
    except ApiError as error:
        assert error.status == 400 and error.message  # noqa: PT017 - both outcomes are fine; a refusal is a 400
    else:
        assert checked.width > 0 and checked.height > 0
    assert time.monotonic() - started < DEFAULTS.decode_seconds + 2
