"""Engines decide per-image liveness and the match; the response builder (``answer.py``) shapes the answer.

An engine is built once per worker process at start-up and then called once per request.
It raises :class:`mock_server.errors.ApiError` (kind ``NO_FACE`` or ``PROCESSING_FAILED``,
with ``field`` naming the image) when a photo cannot be used.
"""

from __future__ import annotations

from typing import Protocol

from ..domain import CheckedImage, Outcome


class Engine(Protocol):
    name: str

    def evaluate(self, image1: CheckedImage, image2: CheckedImage | None) -> Outcome:
        """Decide the outcome for one request (image2 is None in one-photo mode)."""
        ...
