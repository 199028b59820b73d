"""Named scenarios: a client picks one of the contract's examples (Prism's convention).

``Prefer: example=NAME`` or ``?__example=NAME`` returns that example; ``Prefer: code=401``
returns the first example written for that status.
"""

from __future__ import annotations

from collections.abc import Mapping

from .errors import ApiError, ErrorKind
from .spec import Contract, NamedExample

QUERY_PARAMETER = "__example"


def parse_prefer(header: str | None) -> dict[str, str]:
    """``Prefer: example=a, code=200`` -> {"example": "a", "code": "200"} (RFC 7240 tokens)."""
    preferences: dict[str, str] = {}
    for item in (header or "").replace(";", ",").split(","):
        key, sep, value = item.partition("=")
        if sep:
            preferences[key.strip().lower()] = value.strip().strip('"')
    return preferences


def chosen_example(contract: Contract, prefer: str | None, query: Mapping[str, str]) -> NamedExample | None:
    """The example the client asked for, None when it asked for none, 422 when unknown."""
    preferences = parse_prefer(prefer)
    name = query.get(QUERY_PARAMETER) or preferences.get("example")
    if name:
        example = contract.examples.get(name)
        if example is None:
            raise _unknown(contract, name)
        return example
    code = preferences.get("code")
    if code:
        example = contract.first_example_for(int(code)) if code.isascii() and code.isdigit() else None
        if example is None:
            raise _unknown(contract, f"code={code}")
        return example
    return None


def example_named(contract: Contract, name: str) -> NamedExample:
    """The example of that name (chosen by a layer other than the request), 422 when unknown."""
    example = contract.examples.get(name)
    if example is None:
        raise _unknown(contract, name)
    return example


def _unknown(contract: Contract, name: str) -> ApiError:
    return ApiError(
        ErrorKind.UNKNOWN_EXAMPLE,
        {"name": name},
        extra={"available": sorted(contract.examples)},
    )
