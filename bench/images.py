"""Benchmark inputs, generated at bench time (never committed): real JPEGs of chosen sizes
and the multipart bodies that wrk posts.

- ``photo_70k_a`` / ``photo_70k_b``: the two fixture portraits re-encoded at a scale that
  lands near 70 KB (a phone selfie after an app's own downscaling);
- ``photo_1m_a`` / ``photo_1m_b``: the same portraits upscaled and encoded near 1 MB;
- ``noise_9m5``: a JPEG of random RGB noise near 9.5 MiB (just under the 10 MiB limit);
- ``truncated_70k``: the first half of ``photo_70k_a`` (an unreadable image -> 400).

Everything is deterministic (fixed seeds, fixed sources), so a digest seen in one run is
the same in the next.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SOURCES = (ROOT / "fixtures" / "images" / "hopper_a.jpg", ROOT / "fixtures" / "images" / "astronaut_a.jpg")
BOUNDARY = "facematchbenchboundary7f3a9c"


def _encode(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _jpeg_near(source: Image.Image, target: int, quality: int, low: float, high: float) -> bytes:
    """Re-encode ``source`` scaled by a factor found by bisection so the JPEG is near ``target``."""
    best = b""
    for _ in range(18):
        scale = (low + high) / 2
        size = (max(16, round(source.width * scale)), max(16, round(source.height * scale)))
        data = _encode(source.resize(size, Image.Resampling.BICUBIC), quality)
        if not best or abs(len(data) - target) < abs(len(best) - target):
            best = data
        if abs(len(data) - target) <= target * 0.01:
            break
        if len(data) < target:
            low = scale
        else:
            high = scale
    return best


def _noise_jpeg(target: int, seed: int) -> bytes:
    """A JPEG of uniform RGB noise, side found by bisection to land just under ``target``."""
    rng = random.Random(seed)
    low, high = 500, 4000
    best = b""
    while high - low > 4:
        side = (low + high) // 2
        image = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
        data = _encode(image, 90)
        if len(data) <= target:
            best, low = data, side
        else:
            high = side
    return best


@dataclass(frozen=True)
class Part:
    name: str
    filename: str
    data: bytes


def multipart(parts: list[Part]) -> bytes:
    chunks = []
    for part in parts:
        chunks.append(
            (
                f"--{BOUNDARY}\r\n"
                f'Content-Disposition: form-data; name="{part.name}"; filename="{part.filename}"\r\n'
                "Content-Type: image/jpeg\r\n\r\n"
            ).encode()
        )
        chunks.append(part.data)
        chunks.append(b"\r\n")
    chunks.append(f"--{BOUNDARY}--\r\n".encode())
    return b"".join(chunks)


CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def build_images() -> dict[str, bytes]:
    first, second = (Image.open(path).convert("RGB") for path in SOURCES)
    images = {
        "photo_70k_a": _jpeg_near(first, 70_000, 90, 0.5, 4.0),
        "photo_70k_b": _jpeg_near(second, 70_000, 90, 0.5, 4.0),
        "photo_1m_a": _jpeg_near(first, 1_000_000, 95, 1.0, 12.0),
        "photo_1m_b": _jpeg_near(second, 1_000_000, 95, 1.0, 12.0),
        "noise_9m5": _noise_jpeg(int(9.5 * 1024 * 1024), seed=20240605),
    }
    images["truncated_70k"] = images["photo_70k_a"][: len(images["photo_70k_a"]) // 2]
    return images


def build_bodies(images: dict[str, bytes]) -> dict[str, bytes]:
    """The request bodies the scenarios post, by scenario body name."""
    two_small = multipart(
        [Part("image1", "a.jpg", images["photo_70k_a"]), Part("image2", "b.jpg", images["photo_70k_b"])]
    )
    return {
        "two_70k": two_small,
        "two_1m": multipart(
            [Part("image1", "a.jpg", images["photo_1m_a"]), Part("image2", "b.jpg", images["photo_1m_b"])]
        ),
        "one_9m5": multipart([Part("image1", "noise.jpg", images["noise_9m5"])]),
        "truncated": multipart(
            [Part("image1", "a.jpg", images["truncated_70k"]), Part("image2", "b.jpg", images["photo_70k_b"])]
        ),
    }
