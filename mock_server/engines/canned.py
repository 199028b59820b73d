"""The canned engine: fixture images get their manifest outcome; any other image gets an
outcome derived from its SHA-256 digest, identical across restarts, workers and machines.

Derivation (documented in the README, relied on by nobody as a model):
- liveness: 1 image in 5 is fake (first digest byte % 5 == 0); real scores lie in
  80.0..99.9, fake prediction scores in 5.0..44.9;
- match: identical images always match; otherwise 1 pair in 3 is a mismatch, decided by
  the digest of both digests (order matters: image1 then image2); match confidences lie in
  70.0..99.9, mismatch confidences in 5.0..44.9;
- two fixtures of people: they match exactly when they show the same person.
"""

from __future__ import annotations

import hashlib

from ..domain import CheckedImage, Liveness, Match, Outcome
from ..errors import ApiError, ErrorKind
from ..fixtures import FixtureIndex


def _spread(digest: bytes, low: float, steps: int) -> float:
    """A value low, low+0.1, ..., low+(steps-1)/10 picked by two digest bytes."""
    return round(low + (int.from_bytes(digest[1:3], "big") % steps) / 10, 1)


def derived_liveness(sha256: str) -> Liveness:
    digest = bytes.fromhex(sha256)
    if digest[0] % 5 == 0:
        return Liveness("fake", _spread(digest, 5.0, 400))
    return Liveness("real", _spread(digest, 80.0, 200))


def derived_match(sha1: str, sha2: str, same_person: bool | None = None) -> Match:
    """``same_person`` fixes the decision (fixtures); None lets the digests decide."""
    digest = hashlib.sha256(f"match:{sha1}:{sha2}".encode()).digest()
    if same_person is None:
        same_person = sha1 == sha2 or digest[0] % 3 != 0
    if same_person:
        return Match(True, _spread(digest, 70.0, 300))
    return Match(False, _spread(digest, 5.0, 400))


class CannedEngine:
    name = "mock"

    def __init__(self, fixtures: FixtureIndex) -> None:
        self.fixtures = fixtures

    def liveness(self, image: CheckedImage) -> Liveness:
        fixture = self.fixtures.get(image.sha256)
        if fixture is None:
            return derived_liveness(image.sha256)
        if fixture.error is not None:
            # Only engine-level kinds can reach here; the others stop at the image checks.
            kind = fixture.error if fixture.error is ErrorKind.NO_FACE else ErrorKind.PROCESSING_FAILED
            raise ApiError(kind, {"field": image.field})
        assert fixture.liveness is not None
        return fixture.liveness

    def same_person(self, image1: CheckedImage, image2: CheckedImage) -> bool | None:
        first, second = self.fixtures.get(image1.sha256), self.fixtures.get(image2.sha256)
        if first is None or second is None or first.person is None or second.person is None:
            return None
        return first.person == second.person

    def evaluate(self, image1: CheckedImage, image2: CheckedImage | None) -> Outcome:
        first = self.liveness(image1)
        if image2 is None:
            return Outcome(first)
        second = self.liveness(image2)
        match = derived_match(image1.sha256, image2.sha256, self.same_person(image1, image2))
        return Outcome(first, second, match)
