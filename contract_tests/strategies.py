"""Hypothesis strategies for requests worth sending.

Usable requests (transformed fixture faces, synthetic pictures, one and two photos,
optional ``unique_id`` and correlation id) reach the 200 paths and their branches on a
correct server; fixed-fate requests (empty, tiny, huge, not an image, truncated, no image1
part, not multipart, bad tokens) reach each error the contract fixes.
"""

from __future__ import annotations

import json
import string

from hypothesis import strategies as st

from facematch_contract.exchange import CLEARLY_SMALL, size_fate
from facematch_contract.rules import FateName

from . import images
from .fixtures import Fixture
from .kit_request import KitRequest, Upload
from .tokens import TokenCases

CORRELATION_ALPHABET = "".join(chr(c) for c in range(0x21, 0x7F))
UNIQUE_ID_ALPHABET = string.ascii_letters + string.digits + "-_.:"

correlation_ids = st.text(alphabet=CORRELATION_ALPHABET, min_size=1, max_size=64)
unique_ids = st.text(alphabet=UNIQUE_ID_ALPHABET, min_size=1, max_size=128)


@st.composite
def transforms(draw: st.DrawFn) -> images.Transform:
    left = draw(st.floats(0.0, 0.25))
    top = draw(st.floats(0.0, 0.25))
    right = draw(st.floats(0.75, 1.0))
    bottom = draw(st.floats(0.75, 1.0))
    return images.Transform(
        crop=(left, top, right, bottom),
        scale=draw(st.floats(0.4, 1.5)),
        rotate=draw(st.one_of(st.just(0.0), st.floats(-12.0, 12.0))),
        brightness=draw(st.one_of(st.just(1.0), st.floats(0.6, 1.4))),
        format=draw(st.sampled_from(images.FORMATS)),
        quality=draw(st.integers(35, 95)),
        orientation=draw(st.sampled_from((1, 1, 3, 6, 8))),
    )


def upload(name: str, data: bytes, fmt: str | None, about: str) -> Upload:
    ext = images.EXTENSIONS.get(fmt or "", "bin")
    ctype = images.CONTENT_TYPES.get(fmt or "", "application/octet-stream")
    return Upload(name, data, f"{name}.{ext}", ctype, about)


def fixture_upload(name: str, fixture: Fixture) -> Upload:
    """A fixture photo as it is, sent as the part ``name``."""
    return upload(name, fixture.data, fixture.format, f"fixture {fixture.name}")


@st.composite
def face_photos(draw: st.DrawFn, name: str, faces: tuple[Fixture, ...]) -> Upload:
    """A fixture face, as it is or edited (crop, scale, rotation, brightness, format, EXIF)."""
    fixture = draw(st.sampled_from(faces))
    if draw(st.integers(0, 4)) == 0:
        return fixture_upload(name, fixture)
    edit = draw(transforms())
    data = images.transform(fixture.data, edit)
    return upload(name, data, edit.format, f"{fixture.name} ({edit.describe()})")


@st.composite
def synthetic_photos(draw: st.DrawFn, name: str) -> Upload:
    kind = draw(st.sampled_from(("noise", "gradient", "cartoon")))
    fmt = draw(st.sampled_from(images.FORMATS))
    width, height = draw(st.integers(48, 480)), draw(st.integers(48, 480))
    seed = draw(st.integers(0, 2**32 - 1))
    data = images.synthetic(seed, width, height, kind, fmt)
    return upload(name, data, fmt, f"synthetic {kind} {width}x{height} seed {seed}")


def photos(name: str, faces: tuple[Fixture, ...]) -> st.SearchStrategy[Upload]:
    if not faces:
        return synthetic_photos(name)
    return st.one_of(face_photos(name, faces), face_photos(name, faces), synthetic_photos(name))


@st.composite
def usable_requests(draw: st.DrawFn, faces: tuple[Fixture, ...]) -> KitRequest:
    """One or two usable photos (their outcome is the server's to decide: 200, or 400)."""
    uploads = [draw(photos("image1", faces))]
    two = draw(st.booleans())
    if two:
        uploads.append(draw(photos("image2", faces)))
    fields = (("unique_id", draw(unique_ids)),) if draw(st.booleans()) else ()
    correlation = draw(st.one_of(st.none(), correlation_ids))
    fate = _fate_of(uploads)
    return KitRequest(
        "two photos" if two else "one photo", tuple(uploads), fields, correlation_id=correlation, fate=fate
    )


def _fate_of(uploads: list[Upload]) -> FateName:
    fates = [size_fate(len(u.data)) for u in uploads]
    fixed = [f for f in fates if f != FateName.USABLE]
    return fixed[0] if fixed else FateName.USABLE


# --- fixed fates -------------------------------------------------------------------------------


@st.composite
def broken_images(draw: st.DrawFn, name: str, faces: tuple[Fixture, ...]) -> tuple[FateName, Upload]:
    """(fate, upload) for an image part the contract says must be refused with 400."""
    kind = draw(st.sampled_from(("empty", "tiny", "tiny_bytes", "not_image", "truncated", "huge")))
    seed = draw(st.integers(0, 2**16))
    if kind == "empty":
        return FateName.EMPTY_IMAGE, Upload(name, b"", f"{name}.jpg", "image/jpeg", "empty file")
    if kind == "tiny":
        return FateName.TINY_IMAGE, upload(name, images.tiny_image(seed), "JPEG", "valid 8x8 JPEG under 700 bytes")
    if kind == "tiny_bytes":
        size = draw(st.integers(1, CLEARLY_SMALL - 1))
        return FateName.TINY_IMAGE, upload(name, images.tiny_bytes(seed, size), "JPEG", f"{size} random bytes")
    if kind == "not_image":
        what = draw(st.sampled_from(("text", "pdf", "json", "random")))
        ext_format = draw(st.sampled_from(images.FORMATS))  # a lying file name and content type
        return FateName.NOT_IMAGE, upload(name, images.not_image(what, seed), ext_format, f"{what} bytes, not an image")
    if kind == "huge":
        source = draw(photos(name, faces))
        return FateName.HUGE_IMAGE, Upload(
            name,
            images.huge_image(source.data),
            source.filename,
            source.content_type,
            f"{source.about}, padded to 11 MiB",
        )
    source = draw(photos(name, faces))
    fraction = draw(st.floats(0.3, 0.8))
    data = images.truncated(source.data, fraction)
    return FateName.TRUNCATED_IMAGE, Upload(
        name, data, source.filename, source.content_type, f"{source.about} cut to {fraction:.0%}"
    )


@st.composite
def broken_image_requests(draw: st.DrawFn, faces: tuple[Fixture, ...]) -> KitRequest:
    """A request where image1 or image2 is broken in a way the contract fixes (400)."""
    broken_second = draw(st.booleans())
    if broken_second:
        first = draw(photos("image1", faces))
        fate, second = draw(broken_images("image2", faces))
        uploads: tuple[Upload, ...] = (first, second)
    else:
        fate, first = draw(broken_images("image1", faces))
        uploads = (first,) if draw(st.booleans()) else (first, draw(photos("image2", faces)))
    correlation = draw(st.one_of(st.none(), correlation_ids))
    return KitRequest(
        f"broken {'image2' if broken_second else 'image1'}", uploads, correlation_id=correlation, fate=fate
    )


@st.composite
def not_the_operation(draw: st.DrawFn, faces: tuple[Fixture, ...]) -> KitRequest:
    """A request that is not the operation at all (422): no image1 part, or not multipart."""
    correlation = draw(st.one_of(st.none(), correlation_ids))
    if draw(st.booleans()):
        uploads = (draw(photos("image2", faces)),) if draw(st.booleans()) else ()
        fields = (("unique_id", draw(unique_ids)),) if draw(st.booleans()) or not uploads else ()
        return KitRequest(
            "multipart form without image1", uploads, fields, correlation_id=correlation, fate=FateName.MISSING_IMAGE1
        )
    kind = draw(st.sampled_from(("json", "urlencoded", "text", "octet")))
    body, ctype = {
        "json": (json.dumps({"image1": "aGVsbG8="}).encode(), "application/json"),
        "urlencoded": (b"image1=hello&unique_id=abc", "application/x-www-form-urlencoded"),
        "text": (b"image1", "text/plain"),
        "octet": (images.tiny_image(1) * 3, "application/octet-stream"),
    }[kind]
    return KitRequest(
        f"{kind} body instead of multipart",
        correlation_id=correlation,
        fate=FateName.NOT_MULTIPART,
        raw_body=body,
        raw_content_type=ctype,
    )


@st.composite
def bad_token_requests(draw: st.DrawFn, faces: tuple[Fixture, ...], tokens: TokenCases) -> KitRequest:
    """A usable request with a missing or bad token (401)."""
    cases = tokens.cases()
    label = draw(st.sampled_from(sorted(cases)))
    fate, header = cases[label]
    uploads = [draw(photos("image1", faces))]
    if draw(st.booleans()):
        uploads.append(draw(photos("image2", faces)))
    correlation = draw(st.one_of(st.none(), correlation_ids))
    return KitRequest(label, tuple(uploads), authorization=header, correlation_id=correlation, fate=fate)


def fixed_fate_requests(faces: tuple[Fixture, ...], tokens: TokenCases | None) -> st.SearchStrategy[KitRequest]:
    options = [broken_image_requests(faces), broken_image_requests(faces), not_the_operation(faces)]
    if tokens is not None:
        options.append(bad_token_requests(faces, tokens))
    return st.one_of(*options)
