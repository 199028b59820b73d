"""Where the real photos and liveness models are (``../shared``, read in place, never copied),
and the one skip rule for tests that need them: skip only outside CI, fail in CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("FACEMATCH_SHARED_DIR") or Path(__file__).resolve().parents[1].parent / "shared")
MODELS = SHARED / "models"
FACES = SHARED / "faces"


def require_models(what: str) -> None:
    """Call at module level: skips the module when the models are absent and CI is not set."""
    if MODELS.is_dir():
        return
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"CI=true but the shared models folder {MODELS} is missing")
    pytest.skip(
        f"{what} need the shared data folder {MODELS} (absent here, and CI is not 'true')", allow_module_level=True
    )
