"""The vendors' stand-in for models: liveness and match decided from the bytes alone.

Deterministic (SHA-256 of a vendor-specific salt and the image bytes), so a kit run can be
repeated, and every branch is reachable: about one photo in four is fake, about one pair in
three does not match. Each vendor passes its own salt, so the three disagree on outcomes the
way real services would.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass


class Liveness(enum.Enum):
    REAL = "real"
    FAKE = "fake"


@dataclass(frozen=True)
class PhotoVerdict:
    liveness: Liveness
    #: The model's score before a fake is zeroed, 0..100.
    score: float


@dataclass(frozen=True)
class MatchVerdict:
    matched: bool
    score: float


def _unit(salt: str, *parts: bytes) -> tuple[int, float]:
    digest = hashlib.sha256(salt.encode() + b"".join(hashlib.sha256(p).digest() for p in parts)).digest()
    return digest[0], int.from_bytes(digest[1:5], "big") / 2**32


def judge_photo(salt: str, data: bytes) -> PhotoVerdict:
    pick, unit = _unit(salt, data)
    if pick % 4 == 0:
        return PhotoVerdict(Liveness.FAKE, round(4.0 + 45.0 * unit, 2))
    return PhotoVerdict(Liveness.REAL, round(70.0 + 29.9 * unit, 2))


def judge_pair(salt: str, first: bytes, second: bytes) -> MatchVerdict:
    if first == second:
        return MatchVerdict(True, 99.5)
    pick, unit = _unit(salt, *sorted((first, second)))
    if pick % 3 == 0:
        return MatchVerdict(False, round(3.0 + 40.0 * unit, 2))
    return MatchVerdict(True, round(62.0 + 37.0 * unit, 2))
