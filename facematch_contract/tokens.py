"""HS256 bearer tokens minted with the standard library (no PyJWT needed by the clients).

The mock verifies tokens with PyJWT; the kit, the bulk client and ``facematch token`` mint
them here, so a client never needs the server's dependencies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _compact(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def mint_token(
    secret: str, *, subject: str = "facematch-dev", expires_in: int | None = 3600, now: int | None = None
) -> str:
    """An HS256 JWT with ``sub`` and ``iat``, and ``exp`` unless ``expires_in`` is None.

    A negative ``expires_in`` gives a token that expired that many seconds ago (issued an
    hour before that), for checking that expiry is enforced.
    """
    issued = int(time.time()) if now is None else now
    claims: dict[str, object] = {"sub": subject, "iat": issued}
    if expires_in is not None:
        claims["exp"] = issued + expires_in
        if expires_in < 0:
            claims["iat"] = issued + expires_in - 3600
    signing_input = f"{_b64(_compact({'alg': 'HS256', 'typ': 'JWT'}))}.{_b64(_compact(claims))}"
    signature = hmac.new(secret.encode(), signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"
