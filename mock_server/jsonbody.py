"""One JSON encoding for every response body, so equal values give equal bytes."""

from __future__ import annotations

import json
from typing import Any

#: Built once: ``json.dumps`` with non-default options builds a new encoder on every call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def encode(value: Any) -> bytes:
    """Compact, key-order-preserving, ASCII-only JSON (byte-identical across runs)."""
    return _ENCODER.encode(value).encode()
