"""Profiles (contract < semantic < golden) and the kit's settings.

* contract: what holds for every correct implementation and every image (the rules).
* semantic: adds what any working face service must do with the kit's fixture photos.
* golden:   adds the mock's exact canned answers (only meaningful against the mock).

The profile expectations (SEM-*, GOLD-*) are registered checks in :mod:`.expectations`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from .fixtures import DEFAULT_DIR


class Profile(enum.StrEnum):
    """How much the kit checks; each profile includes the ones before it."""

    CONTRACT = "contract"
    SEMANTIC = "semantic"
    GOLDEN = "golden"


PROFILES: tuple[str, ...] = tuple(profile.value for profile in Profile)
DEFAULT_MAX_EXAMPLES = 100


def includes(profile: str, level: str) -> bool:
    """True when ``profile`` includes the checks of ``level`` (an unknown name is an error)."""
    order = list(Profile)
    return order.index(Profile(profile)) >= order.index(Profile(level))


@dataclass(frozen=True)
class KitConfig:
    base_url: str
    token: str
    profile: Profile = Profile.CONTRACT
    max_examples: int = DEFAULT_MAX_EXAMPLES
    seed: int = 0
    jwt_secret: str | None = None
    fixtures_dir: Path = DEFAULT_DIR
    #: Check malformed, badly signed and expired tokens (off for a server that accepts any token).
    token_checks: bool = True
    report: Path | None = None
    junit: Path | None = None
    json: Path | None = None
    #: Seconds to wait for one answer before the run is ERROR (not judged).
    timeout: float = 60.0
    #: Schemathesis checks to turn off (by name), e.g. one a vendor disputes.
    skip_st_checks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "profile", Profile(self.profile))
