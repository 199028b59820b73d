"""facematch-kit mock server: a deterministic, spec-driven stand-in for Advanced Facematch."""

from pathlib import Path

__version__ = "0.1.0"

#: Repository root (the package is installed in editable mode from a checkout).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: The contract: the single source of truth for every component.
SPEC_PATH = PROJECT_ROOT / "openapi.yaml"
#: Fixture images and their manifest.
FIXTURES_DIR = PROJECT_ROOT / "fixtures"
