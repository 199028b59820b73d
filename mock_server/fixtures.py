"""The fixture manifest: which committed image is what, and what the mock answers for it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .domain import Liveness
from .errors import ErrorKind

MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class Fixture:
    file: str  # relative to the fixtures directory
    sha256: str
    size: int
    shows: str
    person: str | None
    tags: tuple[str, ...]
    liveness: Liveness | None  # the canned liveness, or None when the canned answer is an error
    error: ErrorKind | None


class FixtureIndex:
    """Fixtures by SHA-256 digest (an empty index when there is no manifest)."""

    def __init__(self, fixtures: list[Fixture]) -> None:
        self.fixtures = fixtures
        self.by_digest = {fixture.sha256: fixture for fixture in fixtures}

    @classmethod
    def load(cls, directory: Path) -> FixtureIndex:
        path = directory / MANIFEST_NAME
        if not path.exists():
            return cls([])
        document = json.loads(path.read_text(encoding="utf-8"))
        return cls([_fixture(entry) for entry in document["fixtures"]])

    def get(self, digest: str) -> Fixture | None:
        return self.by_digest.get(digest)


def _fixture(entry: dict[str, Any]) -> Fixture:
    canned = entry["canned"]
    liveness = None
    error = None
    if "error" in canned:
        error = ErrorKind(canned["error"])
    else:
        liveness = Liveness(result=canned["liveness"], score=float(canned["score"]))
    return Fixture(
        file=entry["file"],
        sha256=entry["sha256"],
        size=int(entry["bytes"]),
        shows=entry.get("shows", ""),
        person=entry.get("person"),
        tags=tuple(entry.get("tags", ())),
        liveness=liveness,
        error=error,
    )
