"""Bearer tokens the kit sends on purpose: spoiled, foreign and expired ones (ERR-2)."""

from __future__ import annotations

from dataclasses import dataclass

from facematch_contract.rules import FateName
from facematch_contract.tokens import mint_token


def bad_signature(token: str) -> str:
    """The same token with its signature changed (a middle character, so every bit counts)."""
    head, _, signature = token.rpartition(".")
    if not head or len(signature) < 4:
        return token + "x"
    middle = len(signature) // 2
    swapped = "A" if signature[middle] != "A" else "B"
    return f"{head}.{signature[:middle]}{swapped}{signature[middle + 1 :]}"


@dataclass(frozen=True)
class TokenCases:
    """The Authorization header values whose answer (401) the contract fixes."""

    valid: str
    secret: str | None

    def cases(self) -> dict[str, tuple[FateName, str | None]]:
        """name -> (fate, Authorization header or None for no header)."""
        cases: dict[str, tuple[FateName, str | None]] = {
            "no Authorization header": (FateName.MISSING_TOKEN, None),
            "Bearer with no token": (FateName.MALFORMED_TOKEN, "Bearer "),
            "Bearer with a token that is not a JWT": (FateName.MALFORMED_TOKEN, "Bearer not-a-jwt"),
            # Three dot-separated parts that decode to nothing: parsers that split first crash here.
            "Bearer with a three-part token that is not a JWT": (FateName.MALFORMED_TOKEN, "Bearer a.b.c"),
            "Basic credentials instead of a bearer token": (FateName.MALFORMED_TOKEN, "Basic dXNlcjpwYXNz"),
            "a JWT whose signature was altered": (FateName.BAD_SIGNATURE, f"Bearer {bad_signature(self.valid)}"),
            "a JWT signed with another secret": (
                FateName.BAD_SIGNATURE,
                f"Bearer {mint_token('not-the-right-secret-' + 'x' * 16)}",
            ),
        }
        if self.secret is not None:
            cases["a correctly signed JWT that expired an hour ago"] = (
                FateName.EXPIRED_TOKEN,
                f"Bearer {mint_token(self.secret, expires_in=-3600)}",
            )
        return cases
