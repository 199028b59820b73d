"""facematch-kit mock server: a deterministic, spec-driven stand-in for Advanced Facematch."""

from facematch_contract import __version__

__all__ = ["__version__"]
