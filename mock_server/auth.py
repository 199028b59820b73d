"""Bearer-token authentication (ERR-2): HS256 JWTs verified with a configured secret, or,
in the permissive ``any`` mode, any non-empty token. Tokens are never logged."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import jwt

from .errors import ApiError, ErrorKind

ALGORITHM = "HS256"
LEEWAY_SECONDS = 5

#: The WSGI environ key that marks a request this process's own code hands to the app in
#: process (a bulk job's case). No client can set it: a WSGI server puts request headers
#: under ``HTTP_*`` keys, and the value must be the private object below, not a string.
IN_PROCESS_KEY = "facematch.in_process"
_IN_PROCESS = object()


def mark_in_process(environ: dict[str, Any]) -> None:
    """Mark a WSGI environ built by our own code: the operation then needs no token."""
    environ[IN_PROCESS_KEY] = _IN_PROCESS


def in_process(environ: Mapping[str, Any]) -> bool:
    """Whether the request was handed to the app by this process (see IN_PROCESS_KEY)."""
    return environ.get(IN_PROCESS_KEY) is _IN_PROCESS


@dataclass(frozen=True)
class Authenticator:
    mode: Literal["jwt", "any"]
    secret: str
    #: Refuse tokens without an ``exp`` claim that is a JSON number. Off by default, as
    #: before: PyJWT then accepts a token with no ``exp`` (it never expires) and one whose
    #: ``exp`` is a numeric string. ``exp`` and ``nbf`` are judged with LEEWAY_SECONDS.
    require_exp: bool = False

    def verify(self, authorization: str | None) -> None:
        """Raise a 401 ApiError unless the Authorization header carries an acceptable token."""
        if not authorization:
            raise ApiError(ErrorKind.TOKEN_MISSING)
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(ErrorKind.TOKEN_MALFORMED)
        if self.mode == "any":
            return
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp"] if self.require_exp else [], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise ApiError(ErrorKind.TOKEN_EXPIRED) from None
        except jwt.ImmatureSignatureError:
            raise ApiError(ErrorKind.TOKEN_NOT_YET_VALID) from None
        except jwt.DecodeError:
            # Covers both undecodable tokens and bad signatures; tell them apart by shape.
            if token.count(".") != 2:
                raise ApiError(ErrorKind.TOKEN_MALFORMED) from None
            raise ApiError(ErrorKind.TOKEN_INVALID) from None
        except jwt.MissingRequiredClaimError:
            raise ApiError(ErrorKind.TOKEN_NO_EXP) from None
        except jwt.InvalidTokenError:
            raise ApiError(ErrorKind.TOKEN_INVALID) from None
        exp = claims.get("exp")
        if self.require_exp and (isinstance(exp, bool) or not isinstance(exp, (int, float))):
            raise ApiError(ErrorKind.TOKEN_NO_EXP)


def owner_of(authorization: str, mode: Literal["jwt", "any"]) -> str:
    """Who a verified Authorization header speaks for, as a digest (never the token): the
    JWT's ``sub`` claim in jwt mode (tokens without one share the empty subject), the
    token itself in ``any`` mode. Bulk jobs belong to their owner."""
    token = authorization.strip().partition(" ")[2].strip()
    if mode == "jwt":
        try:
            subject = jwt.decode(token, options={"verify_signature": False}).get("sub")
        except jwt.InvalidTokenError:
            subject = None
        key = "sub:" + (subject if isinstance(subject, str) else "")
    else:
        key = "token:" + token
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
