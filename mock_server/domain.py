"""Domain values passed between the layers of one request.

The engines produce an :class:`Outcome`; the response builder (``answer.py``) turns it into
the fixed response shape. Nothing here knows about HTTP or JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

LivenessResult = Literal["real", "fake"]


@dataclass(frozen=True)
class Liveness:
    """Presentation-attack decision for one photo.

    ``score`` is the engine's real-class score on a 0..100 scale *before* fake-zeroing
    (it becomes ``prediction_confidence``); ``None`` when the engine computed none.
    """

    result: LivenessResult
    score: float | None

    def __post_init__(self) -> None:
        if self.result not in ("real", "fake"):
            raise ValueError(f"liveness result must be real or fake, not {self.result!r}")
        if self.score is not None and not 0 <= self.score <= 100:
            raise ValueError(f"liveness score must lie in 0..100, not {self.score!r}")
        if self.result == "real" and not self.score:
            raise ValueError("a real image needs a positive score (it becomes its confidence)")


@dataclass(frozen=True)
class Match:
    """Face-match decision between image1 and image2 (confidence 0..100)."""

    matched: bool
    confidence: float

    def __post_init__(self) -> None:
        if not 0 <= self.confidence <= 100:
            raise ValueError(f"match confidence must lie in 0..100, not {self.confidence!r}")
        if self.matched and self.confidence == 0:
            raise ValueError("a match needs a positive confidence")


@dataclass(frozen=True)
class Outcome:
    """Everything an engine decided about one request."""

    image1: Liveness
    image2: Liveness | None = None
    match: Match | None = None

    def __post_init__(self) -> None:
        if (self.image2 is None) != (self.match is None):
            raise ValueError("image2 and match come together: both or neither")


@dataclass(frozen=True)
class CheckedImage:
    """An uploaded photo that passed the size and decode checks.

    ``data`` is kept in memory only for the lifetime of the request; it is never logged
    or written to disk.
    """

    field: str  # "image1" or "image2"
    data: bytes
    sha256: str
    format: str  # Pillow format name: JPEG, PNG, WEBP
    width: int  # after EXIF orientation
    height: int
    orientation: int  # EXIF orientation tag (1 when absent)
