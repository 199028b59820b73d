"""Image checks (ERR-1): size window, format from the bytes, a real decode, EXIF orientation
and a decode budget.

The decode proves the bytes are a whole, readable image; for JPEG it runs in Pillow's draft
mode (DCT scaling), which still reads every entropy-coded byte (so truncation is caught) at
a fraction of the cost. Results are remembered by SHA-256 digest (never the bytes), so an
image seen before costs one hash.

The decode budget exists because a small file can cost a worker far more than its size:
a progressive JPEG with thousands of near-empty scans (CPU), a 1.5 KB lossless WebP of
40 MP (memory), a JPEG whose header promises far more pixels than its data can hold. So,
before any pixel is decoded: progressive scans are counted, the decode's memory is
estimated from the header (pixels x bytes per pixel as Pillow holds them, measured per
format) and refused over the budget, and a Huffman-coded JPEG must carry at least one bit
per 8x8 block; during the decode, a wall-clock deadline is checked at every read of the
data (read in small blocks), so no image holds a worker longer than the limit.
"""

from __future__ import annotations

import hashlib
import io
import math
import time
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


#: Peak bytes per pixel of Pillow's decode, measured (VmHWM) on 16-36 MP images: WebP goes
#: through libwebp's animation decoder (RGBA canvas plus frame copies, 16.5 B/px); PNG and
#: other formats hold the image once (4 B/px for RGB/RGBA, less for 1-2 byte modes).
WEBP_BYTES_PER_PIXEL = 17.0
MODE_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
#: Bytes per DCT coefficient that libjpeg keeps for a progressive JPEG (whole frame).
COEFFICIENT_BYTES = 2
#: Pillow reads the data in blocks of this size while decoding: the deadline is checked
#: between blocks (small enough that one block's work is short).
DECODE_BLOCK = 16 * 1024
#: JPEG start-of-frame markers, and which of them are progressive or arithmetic-coded.
SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
PROGRESSIVE_SOF = frozenset({0xC2, 0xC6, 0xCA, 0xCE})
ARITHMETIC_SOF = frozenset({0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


@dataclass(frozen=True)
class ImageLimits:
    min_bytes: int
    max_bytes: int
    max_pixels: int
    #: The decode budget (defaults and meaning: Settings in config.py).
    max_scans: int
    decode_memory_bytes: int
    decode_seconds: float


@dataclass(frozen=True)
class JpegFrame:
    """What a JPEG's start-of-frame segment says: size, coding and each component's sampling."""

    marker: int
    width: int
    height: int
    sampling: tuple[tuple[int, int], ...]

    def blocks(self) -> int:
        """8x8 blocks over all components (with their subsampling)."""
        h_max = max(h for h, _ in self.sampling) or 1
        v_max = max(v for _, v in self.sampling) or 1
        return sum(
            math.ceil(math.ceil(self.width * h / h_max) / 8) * math.ceil(math.ceil(self.height * v / v_max) / 8)
            for h, v in self.sampling
        )


class DecodeTimeout(Exception):
    """The decode of one image passed its wall-clock limit."""


class _DeadlineBytes(io.BytesIO):
    """The image's bytes as a file whose reads fail once the deadline has passed."""

    def __init__(self, data: bytes, deadline: float) -> None:
        super().__init__(data)
        self.deadline = deadline

    def read(self, size: int | None = -1) -> bytes:
        if time.monotonic() > self.deadline:
            raise DecodeTimeout
        return super().read(size)


@dataclass(frozen=True)
class _Verdict:
    """What the decode found out about a digest: geometry, or the error it raised."""

    format: str = ""
    width: int = 0
    height: int = 0
    orientation: int = 1
    error: ErrorKind | None = None
    #: Figures for the error's message (e.g. the scans counted), as (name, value) pairs.
    figures: tuple[tuple[str, int | float | str], ...] = ()


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
            raise ApiError(ErrorKind.IMAGE_TOO_SMALL, {"field": field, "size": len(data), "limit": limits.min_bytes})
        digest = hashlib.sha256(data).hexdigest()
        verdict = self._verdict(digest, data)
        if verdict.error is ErrorKind.TOO_MANY_PIXELS:
            raise ApiError(verdict.error, {"field": field, "limit": limits.max_pixels})
        if verdict.error is not None:
            raise ApiError(verdict.error, {"field": field, **dict(verdict.figures)})
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
        limits = self.limits
        frame = jpeg_frame(data) if expected == "JPEG" else None
        if expected == "JPEG":
            scans = data.count(b"\xff\xda")  # entropy-coded data never holds FF DA (stuffing)
            if scans > limits.max_scans:
                return _Verdict(error=ErrorKind.TOO_MANY_SCANS, figures=(("scans", scans), ("limit", limits.max_scans)))
            if frame is not None and frame.marker not in ARITHMETIC_SOF and len(data) * 8 < frame.blocks():
                # Huffman coding spends at least one bit on each block's DC value.
                return _Verdict(error=ErrorKind.CORRUPT_IMAGE)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                source = _DeadlineBytes(data, time.monotonic() + limits.decode_seconds)
                with Image.open(source, formats=(expected,)) as image:
                    width, height = image.size
                    if width * height > limits.max_pixels:
                        return _Verdict(error=ErrorKind.TOO_MANY_PIXELS)
                    needed = decode_bytes(expected, image.mode, width, height, frame)
                    if needed > limits.decode_memory_bytes:
                        return _Verdict(
                            error=ErrorKind.DECODE_BUDGET,
                            figures=(
                                ("width", width),
                                ("height", height),
                                ("format", expected),
                                ("needed", math.ceil(needed / 2**20)),
                                ("limit", limits.decode_memory_bytes // 2**20),
                            ),
                        )
                    if expected == "JPEG":
                        image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                    image.decodermaxblock = DECODE_BLOCK
                    image.load()
                    orientation = _orientation(image)
        except DecodeTimeout:
            return _Verdict(error=ErrorKind.DECODE_TIMEOUT, figures=(("seconds", limits.decode_seconds),))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            return _Verdict(error=ErrorKind.TOO_MANY_PIXELS)
        except UnidentifiedImageError:
            return _Verdict(error=ErrorKind.CORRUPT_IMAGE)
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, MemoryError):
            return _Verdict(error=ErrorKind.CORRUPT_IMAGE)
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        return _Verdict(format=expected, width=width, height=height, orientation=orientation)


def decode_bytes(fmt: str, mode: str, width: int, height: int, frame: JpegFrame | None) -> float:
    """Estimated peak bytes of decoding an image, from its header alone."""
    pixels = width * height
    if fmt == "WEBP":
        return pixels * WEBP_BYTES_PER_PIXEL
    if fmt == "JPEG":
        # Draft mode decodes at 1/8 scale; a progressive frame's coefficients are kept whole.
        scaled = math.ceil(width / 8) * math.ceil(height / 8) * 4
        if frame is not None and frame.marker in PROGRESSIVE_SOF:
            return scaled + frame.blocks() * 64 * COEFFICIENT_BYTES
        return scaled
    return pixels * MODE_BYTES_PER_PIXEL.get(mode, 4)


def jpeg_frame(data: bytes) -> JpegFrame | None:
    """The first start-of-frame segment, found by walking the marker segments (not the
    entropy-coded data); None when the header ends or breaks before one."""
    pos, end = 2, len(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, or a scan before any frame
            return None
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker in SOF_MARKERS:
            segment = data[pos + 4 : pos + 2 + length]
            if len(segment) < 6:
                return None
            count = segment[5]
            sampling = tuple(
                (segment[7 + 3 * i] >> 4, segment[7 + 3 * i] & 0x0F) for i in range(count) if 7 + 3 * i < len(segment)
            )
            height = int.from_bytes(segment[1:3], "big")
            width = int.from_bytes(segment[3:5], "big")
            return JpegFrame(marker, width, height, sampling or ((1, 1),))
        pos += 2 + length
    return None


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(EXIF_ORIENTATION, 1)
    except Exception:  # a broken EXIF block must not fail an otherwise good image
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1
