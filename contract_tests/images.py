"""Image bytes for the kit's requests: transformed fixture photos, synthetic pictures and
deliberately broken inputs. Pure functions of their parameters (deterministic)."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from functools import cache

from PIL import Image, ImageDraw, ImageEnhance, ImageOps

from facematch_contract.exchange import CLEARLY_SMALL

WINDOW_LOW = 1100  # what the kit aims above when it wants a usable image

FORMATS = ("JPEG", "PNG", "WEBP")
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
ORIENTATION_TAG = 0x0112
#: How to store upright pixels so that applying the EXIF orientation shows them upright.
_STORE_FOR_ORIENTATION = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


@dataclass(frozen=True)
class Transform:
    """A photo edit: crop box as fractions, then scale, rotation, brightness, encoding."""

    crop: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)
    scale: float = 1.0
    rotate: float = 0.0
    brightness: float = 1.0
    format: str = "JPEG"
    quality: int = 90
    orientation: int = 1  # EXIF orientation written with the pixels stored accordingly

    def describe(self) -> str:
        left, top, right, bottom = self.crop
        bits = [f"crop {left:.2f},{top:.2f}-{right:.2f},{bottom:.2f}", f"scale {self.scale:.2f}"]
        if self.rotate:
            bits.append(f"rotate {self.rotate:.1f}")
        if self.brightness != 1.0:
            bits.append(f"brightness {self.brightness:.2f}")
        bits.append(f"{self.format} q{self.quality}" if self.format != "PNG" else "PNG")
        if self.orientation != 1:
            bits.append(f"EXIF orientation {self.orientation}")
        return ", ".join(bits)


def decode_upright(data: bytes) -> Image.Image:
    image: Image.Image = Image.open(io.BytesIO(data))
    image = ImageOps.exif_transpose(image)
    return image.convert("RGB")


def transform(data: bytes, edit: Transform) -> bytes:
    """Apply ``edit`` to an encoded photo and re-encode it inside the size window."""
    image = decode_upright(data)
    width, height = image.size
    left, top, right, bottom = edit.crop
    image = image.crop(
        (
            int(left * width),
            int(top * height),
            max(int(right * width), int(left * width) + 16),
            max(int(bottom * height), int(top * height) + 16),
        )
    )
    new_size = (max(16, int(image.width * edit.scale)), max(16, int(image.height * edit.scale)))
    image = image.resize(new_size, Image.Resampling.BILINEAR)
    if edit.rotate:
        image = image.rotate(edit.rotate, resample=Image.Resampling.BILINEAR, fillcolor=(128, 128, 128))
    if edit.brightness != 1.0:
        image = ImageEnhance.Brightness(image).enhance(edit.brightness)
    out = encode(image, edit.format, edit.quality, edit.orientation)
    if len(out) < WINDOW_LOW:
        out = encode(image, "PNG", 100, edit.orientation)
    return out


def encode(image: Image.Image, fmt: str, quality: int = 90, orientation: int = 1) -> bytes:
    stored = image.transpose(_STORE_FOR_ORIENTATION[orientation]) if orientation in _STORE_FOR_ORIENTATION else image
    options: dict[str, object] = {}
    if orientation != 1:
        exif = Image.Exif()
        exif[ORIENTATION_TAG] = orientation
        options["exif"] = exif.tobytes()
    if fmt in ("JPEG", "WEBP"):
        options["quality"] = quality
    buffer = io.BytesIO()
    stored.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def synthetic(seed: int, width: int, height: int, kind: str, fmt: str, quality: int = 85) -> bytes:
    """A generated picture (noise, gradient or a drawn cartoon face), deterministic in ``seed``."""
    rng = random.Random(seed)
    if kind == "noise":
        image = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    else:
        image = Image.new("RGB", (width, height))
        draw = ImageDraw.Draw(image)
        top, bottom = _colour(rng), _colour(rng)
        for y in range(height):
            t = y / max(1, height - 1)
            draw.line([(0, y), (width, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
        if kind == "cartoon":
            _draw_cartoon_face(draw, width, height, rng)
        speckle = Image.frombytes("L", (width, height), rng.randbytes(width * height))
        image = Image.blend(image, Image.merge("RGB", (speckle, speckle, speckle)), 0.08)
    return encode(image, fmt, quality)


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randrange(256), rng.randrange(256), rng.randrange(256))


def _draw_cartoon_face(draw: ImageDraw.ImageDraw, width: int, height: int, rng: random.Random) -> None:
    cx, cy, r = width // 2, height // 2, min(width, height) // 3
    draw.ellipse((cx - r, cy - int(r * 1.2), cx + r, cy + int(r * 1.2)), fill=(224, 182, 150))
    for dx in (-r // 2, r // 2):
        eye = (cx + dx - r // 8, cy - r // 3 - r // 10, cx + dx + r // 8, cy - r // 3 + r // 10)
        draw.ellipse(eye, fill=(40, 30, 20))
    draw.arc((cx - r // 2, cy, cx + r // 2, cy + r // 2), 20, 160, fill=(150, 40, 40), width=max(1, r // 15))
    draw.line((cx, cy - r // 6, cx - r // 10, cy + r // 6), fill=(150, 110, 90), width=max(1, r // 20))
    del rng


# --- inputs whose fate the contract fixes -------------------------------------------------------


def tiny_image(seed: int) -> bytes:
    """A valid, very small JPEG (well under 700 bytes)."""
    rng = random.Random(seed)
    image = Image.new("RGB", (8, 8), _colour(rng))
    out = encode(image, "JPEG", 50)
    assert len(out) < CLEARLY_SMALL
    return out


def tiny_bytes(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(max(1, min(size, CLEARLY_SMALL - 1)))


@cache
def huge_image(photo: bytes | None = None) -> bytes:
    """A valid photo followed by padding after its end: about 11 MiB, clearly over the window.

    Give it a real face photo: a server with no size limit then decodes a usable face and
    answers 200, which the contract's 400 catches (a blank picture would get 400 "no face"
    and hide the missing limit).
    """
    head = photo if photo is not None else encode(Image.new("RGB", (64, 64), (200, 120, 80)), "JPEG", 90)
    return head + b"\0" * max(0, 11 * 1024 * 1024 - len(head))


def upscaled(photo: bytes, width: int) -> bytes:
    """The photo scaled up to ``width`` pixels wide (JPEG): services that choke on large frames."""
    with Image.open(io.BytesIO(photo)) as opened:
        image = ImageOps.exif_transpose(opened).convert("RGB")
    height = round(image.height * width / image.width)
    return encode(image.resize((width, height), Image.Resampling.BICUBIC), "JPEG", 88)


_TEXT = (
    b"This is a plain text file, not a photograph. It has no image signature of any kind, "
    b"so a face-verification service must refuse it as an unsupported image. "
)


def not_image(kind: str, seed: int) -> bytes:
    """Bytes at least 1.1 KB long that are not JPEG, PNG or WebP."""
    rng = random.Random(seed)
    if kind == "text":
        return _TEXT * (8 + rng.randrange(20))
    if kind == "pdf":
        return b"%PDF-1.4\n" + b"1 0 obj\n<< /Type /Catalog >>\nendobj\n" * (40 + rng.randrange(40)) + b"%%EOF\n"
    if kind == "json":
        return b'{"image": "' + b"A" * (1200 + rng.randrange(2000)) + b'"}'
    # random bytes, steered away from the JPEG/PNG/RIFF signatures
    data = bytearray(rng.randbytes(1200 + rng.randrange(4000)))
    data[0:4] = b"NOPE"
    return bytes(data)


def truncated(data: bytes, fraction: float) -> bytes:
    """The first ``fraction`` of an encoded image: its decode must fail."""
    cut = max(WINDOW_LOW, int(len(data) * fraction))
    return data[: min(cut, len(data) - 64)]
