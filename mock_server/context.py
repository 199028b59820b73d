"""What one worker builds once at start-up and every request then uses."""

from __future__ import annotations

from dataclasses import dataclass

from .auth import Authenticator
from .config import Settings
from .engines import Engine
from .fixtures import FixtureIndex
from .images import ImageChecker
from .spec import Contract
from .state import StateStore


@dataclass(frozen=True)
class MockContext:
    settings: Settings
    contract: Contract
    auth: Authenticator
    images: ImageChecker
    engine: Engine
    fixtures: FixtureIndex
    #: The journal, runtime overrides and sequences, shared by every worker.
    state: StateStore
