"""Image checks (ERR-1): size window, format from the bytes, a real decode, EXIF orientation
and a decompression-bomb guard.

The decode proves the bytes are a whole, readable image; for JPEG it runs in Pillow's draft
mode (DCT scaling), which still reads every entropy-coded byte (so truncation is caught) at
a fraction of the cost. Results are remembered by SHA-256 digest (never the bytes), so an
image seen before costs one hash.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock

from PIL import Image, UnidentifiedImageError

from .domain import CheckedImage
from .errors import ApiError, ErrorKind

EXIF_ORIENTATION = 0x0112
#: Pillow format names the contract accepts, by their leading bytes.
SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "JPEG"),
    (b"\x89PNG\r\n\x1a\n", 0, "PNG"),
    (b"WEBP", 8, "WEBP"),
)


@dataclass(frozen=True)
class ImageLimits:
    min_bytes: int
    max_bytes: int
    max_pixels: int


@dataclass(frozen=True)
class _Verdict:
    """What the decode found out about a digest: geometry, or the error it raised."""

    format: str = ""
    width: int = 0
    height: int = 0
    orientation: int = 1
    error: ErrorKind | None = None


def sniff_format(data: bytes) -> str | None:
    for magic, offset, name in SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            if name == "WEBP" and data[:4] != b"RIFF":
                continue
            return name
    return None


class ImageChecker:
    """Checks uploads; one per worker, with a bounded digest cache."""

    def __init__(self, limits: ImageLimits, cache_size: int = 4096) -> None:
        self.limits = limits
        self.cache_size = cache_size
        self._cache: OrderedDict[str, _Verdict] = OrderedDict()
        self._lock = Lock()

    def check(self, field: str, data: bytes, overflow: bool = False) -> CheckedImage:
        limits = self.limits
        if overflow or len(data) > limits.max_bytes:
            raise ApiError(ErrorKind.IMAGE_TOO_LARGE, {"field": field, "limit": limits.max_bytes})
        if not data:
            raise ApiError(ErrorKind.EMPTY_IMAGE, {"field": field})
        if len(data) < limits.min_bytes:
            raise ApiError(
                ErrorKind.IMAGE_TOO_SMALL, {"field": field, "size": len(data), "limit": limits.min_bytes}
            )
        digest = hashlib.sha256(data).hexdigest()
        verdict = self._verdict(digest, data)
        if verdict.error is ErrorKind.TOO_MANY_PIXELS:
            raise ApiError(verdict.error, {"field": field, "limit": limits.max_pixels})
        if verdict.error is not None:
            raise ApiError(verdict.error, {"field": field})
        return CheckedImage(
            field=field,
            data=data,
            sha256=digest,
            format=verdict.format,
            width=verdict.width,
            height=verdict.height,
            orientation=verdict.orientation,
        )

    def _verdict(self, digest: str, data: bytes) -> _Verdict:
        with self._lock:
            cached = self._cache.get(digest)
            if cached is not None:
                self._cache.move_to_end(digest)
                return cached
        verdict = self._decode(data)
        with self._lock:
            self._cache[digest] = verdict
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return verdict

    def _decode(self, data: bytes) -> _Verdict:
        expected = sniff_format(data)
        if expected is None:
            return _Verdict(error=ErrorKind.UNSUPPORTED_IMAGE)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(data), formats=(expected,)) as image:
                    width, height = image.size
                    if width * height > self.limits.max_pixels:
                        return _Verdict(error=ErrorKind.TOO_MANY_PIXELS)
                    if expected == "JPEG":
                        image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                    image.load()
                    orientation = _orientation(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            return _Verdict(error=ErrorKind.TOO_MANY_PIXELS)
        except UnidentifiedImageError:
            return _Verdict(error=ErrorKind.CORRUPT_IMAGE)
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, MemoryError):
            return _Verdict(error=ErrorKind.CORRUPT_IMAGE)
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        return _Verdict(format=expected, width=width, height=height, orientation=orientation)


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(EXIF_ORIENTATION, 1)
    except Exception:  # a broken EXIF block must not fail an otherwise good image
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1
