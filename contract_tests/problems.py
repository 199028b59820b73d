"""What can keep the kit from judging an implementation (each makes the verdict ERROR)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ProblemKind(enum.Enum):
    """Why the kit could not judge (each makes the verdict ERROR)."""

    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    NO_TOKEN = "no token"
    TOKEN_REFUSED = "token refused"
    KIT_ERROR = "kit error"
    NOT_EXERCISED = "not exercised"


@dataclass(frozen=True)
class KitProblem:
    kind: ProblemKind
    #: One sentence that says what happened and what to do.
    message: str


class KitError(Exception):
    """Raised inside a kit test when a :class:`KitProblem` stops it (already recorded)."""
