"""Bearer tokens for the kit: minting HS256 JWTs (stdlib only) and spoiling them on purpose."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def mint(secret: str, *, subject: str = "facematch-contract-kit", expires_in: int = 3600,
         now: int | None = None) -> str:
    """An HS256 JWT with sub, iat and exp (exp in the past when ``expires_in`` is negative)."""
    issued = int(time.time()) if now is None else now
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    claims = {"sub": subject, "iat": issued, "exp": issued + expires_in}
    if expires_in < 0:
        claims["iat"] = issued + expires_in - 3600
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def bad_signature(token: str) -> str:
    """The same token with its signature changed (a middle character, so every bit counts)."""
    head, _, signature = token.rpartition(".")
    if not head or len(signature) < 4:
        return token + "x"
    middle = len(signature) // 2
    swapped = "A" if signature[middle] != "A" else "B"
    return f"{head}.{signature[:middle]}{swapped}{signature[middle + 1:]}"


@dataclass(frozen=True)
class TokenCases:
    """The Authorization header values whose answer (401) the contract fixes."""

    valid: str
    secret: str | None

    def cases(self) -> dict[str, tuple[str, str | None]]:
        """name -> (fate, Authorization header or None for no header)."""
        cases: dict[str, tuple[str, str | None]] = {
            "no Authorization header": ("missing_token", None),
            "Bearer with no token": ("malformed_token", "Bearer "),
            "Bearer with a token that is not a JWT": ("malformed_token", "Bearer not-a-jwt"),
            "Basic credentials instead of a bearer token": ("malformed_token", "Basic dXNlcjpwYXNz"),
            "a JWT whose signature was altered": ("bad_signature", f"Bearer {bad_signature(self.valid)}"),
            "a JWT signed with another secret": ("bad_signature",
                                                 f"Bearer {mint('not-the-right-secret-' + 'x' * 16)}"),
        }
        if self.secret is not None:
            cases["a correctly signed JWT that expired an hour ago"] = (
                "expired_token", f"Bearer {mint(self.secret, expires_in=-3600)}")
        return cases
