"""The mock as a test double: a client for its admin API (:class:`MockControl`) and a
pytest fixture that runs it (``facematch_mock``, registered as a pytest plugin)."""

from __future__ import annotations

from .client import AdminError, MockControl

__all__ = ["AdminError", "MockControl"]
