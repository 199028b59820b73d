"""What one worker builds once at start-up and every request then uses."""

from __future__ import annotations

from dataclasses import dataclass

from .auth import Authenticator
from .config import Settings
from .engines import Engine
from .fixtures import FixtureIndex
from .images import ImageChecker
from .journal import Journal
from .spec import Contract


@dataclass(frozen=True)
class MockContext:
    settings: Settings
    contract: Contract
    auth: Authenticator
    images: ImageChecker
    engine: Engine
    fixtures: FixtureIndex
    journal: Journal | None
