"""Image checks every vendor runs with Pillow: format from the bytes, a real decode.

The size window and the order of the checks belong to each server; this module only says
what a photo's bytes are. Nothing here keeps or writes the bytes.
"""

from __future__ import annotations

import enum
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

from .bug import DecodedImage

ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
MAX_PIXELS = 40_000_000


class Problem(enum.Enum):
    EMPTY = "empty"
    TOO_SMALL = "too_small"
    TOO_LARGE = "too_large"
    UNSUPPORTED = "unsupported"
    CORRUPT = "corrupt"
    TOO_MANY_PIXELS = "too_many_pixels"
    NO_FACE = "no_face"


@dataclass(frozen=True)
class PhotoError(Exception):
    field: str
    problem: Problem


def size_problem(field: str, data: bytes, min_bytes: int, max_bytes: int) -> PhotoError | None:
    if not data:
        return PhotoError(field, Problem.EMPTY)
    if len(data) < min_bytes:
        return PhotoError(field, Problem.TOO_SMALL)
    if len(data) > max_bytes:
        return PhotoError(field, Problem.TOO_LARGE)
    return None


def sniff(data: bytes) -> str | None:
    """The format Pillow recognises in the bytes, or None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                return image.format
    except Exception:
        return None


def decode(field: str, data: bytes, filename: str | None, tolerate_errors: bool = False) -> DecodedImage:
    """Open, check the format and pixel count, decode fully, apply EXIF orientation."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise PhotoError(field, Problem.TOO_MANY_PIXELS) from exc
    except Exception as exc:
        raise PhotoError(field, Problem.UNSUPPORTED) from exc
    if image.format not in ACCEPTED_FORMATS:
        raise PhotoError(field, Problem.UNSUPPORTED)
    if image.width * image.height > MAX_PIXELS:
        raise PhotoError(field, Problem.TOO_MANY_PIXELS)
    try:
        image.load()
    except Exception as exc:
        if not tolerate_errors:
            raise PhotoError(field, Problem.CORRUPT) from exc
    upright = image
    orientation = 1
    try:
        orientation = int(image.getexif().get(0x0112, 1))
    except Exception:
        pass
    try:
        upright = ImageOps.exif_transpose(image) or image
    except Exception:
        pass
    upright.format = image.format
    return DecodedImage(field, data, filename, upright, orientation)


def has_face(image: DecodedImage) -> bool:
    """The vendors' stand-in face detector: a picture of one flat colour holds no face."""
    extrema = image.image.convert("L").getextrema()
    return extrema[0] != extrema[1]
