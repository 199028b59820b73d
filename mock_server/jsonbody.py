"""One JSON encoding for every response body, so equal values give equal bytes."""

from __future__ import annotations

import json
from typing import Any


def encode(value: Any) -> bytes:
    """Compact, key-order-preserving, ASCII-only JSON (byte-identical across runs)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()
