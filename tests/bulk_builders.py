"""Building bulk input archives at test time: ordinary ones and each hostile kind."""

from __future__ import annotations

import io
import stat
import struct
import zipfile
from pathlib import Path

from .conftest import fixture_path

IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}


def zip_bytes(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def image(name: str) -> bytes:
    return fixture_path(name).read_bytes()


def regression_set() -> dict[str, bytes]:
    """Folder and flat cases of every kind the mock answers, plus cases that cannot be sent."""
    return {
        # Folder layout, two photos (same person; a recapture; a mismatch), with references.
        "pairs/same/image1.jpg": image("hopper_a.jpg"),
        "pairs/same/image2.jpg": image("hopper_b.jpg"),
        "pairs/same/unique_id.txt": b"ref-same-001\n",
        "pairs/recapture/image1.jpg": image("astronaut_a.jpg"),
        "pairs/recapture/image2.jpg": image("recapture.jpg"),
        "pairs/mismatch/image1.JPG": image("astronaut_a.jpg"),
        "pairs/mismatch/image2.jpeg": image("hopper_a.jpg"),
        # One photo, PNG and WebP.
        "single-png/image1.png": image("astronaut_alpha.png"),
        "single-webp/image1.webp": image("astronaut.webp"),
        # Flat layout.
        "flat1_image1.jpg": image("hopper_gray.jpg"),
        "flat1_image2.jpg": image("hopper_exif6.jpg"),
        "flat1_unique_id.txt": b"flat-ref",
        "flat2_image1.jpg": image("collage.jpg"),
        # Sent, answered with an error by the implementation (ERR-1).
        "noface/image1.jpg": image("coffee.jpg"),
        "tiny/image1.jpg": image("tiny.jpg"),
        "corrupt_image1.jpg": image("truncated.jpg"),
        # Cannot be sent: no image1; unsupported extension.
        "lonely/image2.jpg": image("hopper_b.jpg"),
        "gif/image1.gif": b"GIF89a" + b"\x00" * 2000,
        # Not part of any case.
        "README.txt": b"regression set",
        "__MACOSX/._pairs": b"junk",
    }


#: Case ids of regression_set(), and which of them cannot be sent.
SENT_CASES = [
    "corrupt",
    "flat1",
    "flat2",
    "noface",
    "pairs/mismatch",
    "pairs/recapture",
    "pairs/same",
    "single-png",
    "single-webp",
    "tiny",
]
NOT_SENT_CASES = ["gif", "lonely"]


def clean_set(count: int = 6) -> dict[str, bytes]:
    """Only cases that can be sent."""
    names = ["astronaut_a.jpg", "hopper_a.jpg", "astronaut_b.jpg", "hopper_b.jpg", "recapture.jpg", "collage.jpg"]
    entries: dict[str, bytes] = {}
    for index in range(count):
        entries[f"c{index:03d}/image1.jpg"] = image(names[index % len(names)])
        if index % 2 == 0:
            entries[f"c{index:03d}/image2.jpg"] = image(names[(index + 1) % len(names)])
    return entries


def _patched(data: bytes, name: bytes, declared: int) -> bytes:
    """Rewrite the declared uncompressed size of ``name`` in both headers (a lying archive)."""
    out = bytearray(data)
    # Local file header: signature, ..., uncompressed size at offset 22.
    local = out.find(b"PK\x03\x04")
    while local >= 0:
        name_length = struct.unpack_from("<H", out, local + 26)[0]
        if bytes(out[local + 30 : local + 30 + name_length]) == name:
            struct.pack_into("<I", out, local + 22, declared)
        local = out.find(b"PK\x03\x04", local + 4)
    central = out.find(b"PK\x01\x02")
    while central >= 0:
        name_length = struct.unpack_from("<H", out, central + 28)[0]
        if bytes(out[central + 46 : central + 46 + name_length]) == name:
            struct.pack_into("<I", out, central + 24, declared)
        central = out.find(b"PK\x01\x02", central + 4)
    return bytes(out)


def symlink_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("c1/image1.jpg", image("hopper_a.jpg"))
        link = zipfile.ZipInfo("c2/image1.jpg")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    return buffer.getvalue()


def encrypted_zip() -> bytes:
    data = bytearray(zip_bytes({"c1/image1.jpg": image("hopper_a.jpg")}))
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        index = data.find(signature)
        flags = struct.unpack_from("<H", data, index + offset)[0]
        struct.pack_into("<H", data, index + offset, flags | 0x1)
    return bytes(data)


def bomb_zip(megabytes: int = 64) -> bytes:
    """A small archive whose one entry expands to ``megabytes`` MiB of zeros (declared honestly)."""
    return zip_bytes({"c1/image1.jpg": image("hopper_a.jpg"), "c2/image1.jpg": b"\x00" * (megabytes << 20)})


def lying_bomb_zip() -> bytes:
    """An entry that expands to 64 MiB but declares 2,000 bytes in both headers."""
    return _patched(bomb_zip(64), b"c2/image1.jpg", 2000)


def too_many_entries_zip(count: int = 5001) -> bytes:
    return zip_bytes({f"c{i:05d}/unique_id.txt": b"x" for i in range(count)}, zipfile.ZIP_STORED)


def hostile_archives() -> dict[str, tuple[bytes, str]]:
    """Each hostile kind: (bytes, a phrase the refusal must contain)."""
    good = image("hopper_a.jpg")
    return {
        "dotdot": (zip_bytes({"c1/image1.jpg": good, "../evil/image1.jpg": good}), "'..'"),
        "dotdot-inside": (zip_bytes({"c1/../../evil_image1.jpg": good}), "'..'"),
        "backslash-dotdot": (zip_bytes({"c1\\..\\..\\evil_image1.jpg": good}), "'..'"),
        "absolute": (zip_bytes({"/tmp/evil/image1.jpg": good}), "absolute path"),
        "drive-letter": (zip_bytes({"C:/evil/image1.jpg": good}), "absolute path"),
        "symlink": (symlink_zip(), "symbolic link"),
        "encrypted": (encrypted_zip(), "encrypted"),
        "nested-zip": (
            zip_bytes({"c1/image1.jpg": good, "more/cases.zip": zip_bytes({"x/image1.jpg": good})}),
            "nested archives",
        ),
        "nested-by-bytes": (zip_bytes({"c1/image1.jpg": zip_bytes({"x/image1.jpg": good})}), "nested archives"),
        "bomb": (bomb_zip(), "limit"),
        "lying-bomb": (lying_bomb_zip(), "c2/image1.jpg"),
        "too-many-entries": (too_many_entries_zip(), "entries, over the limit of 5000"),
        "not-a-zip": (image("hopper_a.jpg"), "not a ZIP archive"),
        "empty-file": (b"", "empty"),
        "empty-zip": (zip_bytes({}), "no entries"),
        "only-folders": (zip_bytes({"c1/": b"", "c2/": b""}), "no files"),
        "no-cases": (zip_bytes({"notes.txt": b"hello", "photo.jpg": good}), "no cases found"),
    }


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
