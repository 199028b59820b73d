"""The kit's fixture photos: ``fixtures/manifest.json`` and the images beside it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from facematch_contract import FIXTURES_DIR

from .images import CONTENT_TYPES

DEFAULT_DIR = FIXTURES_DIR


@dataclass(frozen=True)
class Canned:
    """The mock's answer for a fixture: a liveness outcome, or an error kind."""

    liveness: str | None = None  # "real" | "fake"
    score: float | None = None
    error: str | None = None  # "no_face", "image_too_small", ...


@dataclass(frozen=True)
class Fixture:
    name: str  # file name, e.g. "hopper_a.jpg"
    path: Path
    size: int
    format: str | None
    person: str | None
    tags: frozenset[str]
    canned: Canned

    @property
    def data(self) -> bytes:
        return _read(self.path)

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES.get(self.format or "", "application/octet-stream")


@cache
def _read(path: Path) -> bytes:
    return path.read_bytes()


@cache
def load(directory: Path = DEFAULT_DIR) -> tuple[Fixture, ...]:
    """Every fixture in the manifest (empty when the directory has no manifest)."""
    manifest = directory / "manifest.json"
    if not manifest.is_file():
        return ()
    entries: list[dict[str, Any]] = json.loads(manifest.read_text())["fixtures"]
    return tuple(_fixture(directory, entry) for entry in entries)


def _fixture(directory: Path, entry: dict[str, Any]) -> Fixture:
    canned = entry.get("canned") or {}
    return Fixture(
        name=Path(entry["file"]).name,
        path=directory / entry["file"],
        size=int(entry["bytes"]),
        format=entry.get("format"),
        person=entry.get("person"),
        tags=frozenset(entry.get("tags", ())),
        canned=Canned(canned.get("liveness"), canned.get("score"), canned.get("error")),
    )


def with_tag(fixtures: tuple[Fixture, ...], tag: str) -> tuple[Fixture, ...]:
    return tuple(f for f in fixtures if tag in f.tags)


def faces(fixtures: tuple[Fixture, ...]) -> tuple[Fixture, ...]:
    return with_tag(fixtures, "face")
