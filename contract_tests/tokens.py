"""Bearer tokens the kit sends on purpose: spoiled, foreign and expired ones (ERR-2)."""

from __future__ import annotations

from dataclasses import dataclass

from facematch_contract.tokens import mint_token


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
            # Three dot-separated parts that decode to nothing: parsers that split first crash here.
            "Bearer with a three-part token that is not a JWT": ("malformed_token", "Bearer a.b.c"),
            "Basic credentials instead of a bearer token": ("malformed_token", "Basic dXNlcjpwYXNz"),
            "a JWT whose signature was altered": ("bad_signature", f"Bearer {bad_signature(self.valid)}"),
            "a JWT signed with another secret": ("bad_signature",
                                                 f"Bearer {mint_token('not-the-right-secret-' + 'x' * 16)}"),
        }
        if self.secret is not None:
            cases["a correctly signed JWT that expired an hour ago"] = (
                "expired_token", f"Bearer {mint_token(self.secret, expires_in=-3600)}")
        return cases
