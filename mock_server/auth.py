"""Bearer-token authentication (ERR-2): HS256 JWTs verified with a configured secret, or,
in the permissive ``any`` mode, any non-empty token. Tokens are never logged."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import jwt

from .errors import ApiError, ErrorKind

ALGORITHM = "HS256"
LEEWAY_SECONDS = 5


@dataclass(frozen=True)
class Authenticator:
    mode: Literal["jwt", "any"]
    secret: str

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
            jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                leeway=LEEWAY_SECONDS,
                options={"require": [], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise ApiError(ErrorKind.TOKEN_EXPIRED)
        except jwt.ImmatureSignatureError:
            raise ApiError(ErrorKind.TOKEN_NOT_YET_VALID)
        except jwt.DecodeError:
            # Covers both undecodable tokens and bad signatures; tell them apart by shape.
            if token.count(".") != 2:
                raise ApiError(ErrorKind.TOKEN_MALFORMED)
            raise ApiError(ErrorKind.TOKEN_INVALID)
        except jwt.InvalidTokenError:
            raise ApiError(ErrorKind.TOKEN_INVALID)

