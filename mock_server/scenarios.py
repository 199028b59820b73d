"""Named scenarios: a client picks one of the contract's examples (Prism's convention).

``Prefer: example=NAME`` or ``?__example=NAME`` returns that example; ``Prefer: code=401``
returns the first example written for that status. The header is parsed once per call
(:func:`parse_prefer`) into :class:`Preferences`, which the steering reads too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .errors import ApiError, ErrorKind
from .spec import Contract, NamedExample

QUERY_PARAMETER = "__example"


@dataclass(frozen=True, slots=True)
class Preferences:
    """The ``Prefer`` tokens the mock reads (RFC 7240), parsed once per call: ``example`` and
    ``code`` choose a named example (here), ``fault``, ``fault-ms`` and ``delay`` steer the
    call (:func:`mock_server.steering.from_prefer`). Values are as sent; each reader checks its own."""

    example: str | None = None
    code: str | None = None
    fault: str | None = None
    fault_ms: str | None = None
    delay: str | None = None


#: A call without a ``Prefer`` header (or without a token the mock reads).
NO_PREFERENCES = Preferences()


def parse_prefer(header: str | None) -> Preferences:
    """``Prefer: example=a, code=200`` -> Preferences(example="a", code="200"); names are
    case-insensitive, the last of a repeated token wins, unknown tokens are ignored."""
    if not header:
        return NO_PREFERENCES  # the common case: nothing to parse
    example = code = fault = fault_ms = delay = None
    for item in header.replace(";", ",").split(","):
        key, sep, value = item.partition("=")
        if not sep:
            continue
        key = key.strip().lower()
        value = value.strip().strip('"')
        if key == "example":
            example = value
        elif key == "code":
            code = value
        elif key == "fault":
            fault = value
        elif key == "fault-ms":
            fault_ms = value
        elif key == "delay":
            delay = value
    if example is None and code is None and fault is None and fault_ms is None and delay is None:
        return NO_PREFERENCES
    return Preferences(example, code, fault, fault_ms, delay)


def chosen_example(contract: Contract, preferences: Preferences, query: Mapping[str, str]) -> NamedExample | None:
    """The example the client asked for, None when it asked for none, 422 when unknown."""
    name = query.get(QUERY_PARAMETER) or preferences.example
    if name:
        example = contract.examples.get(name)
        if example is None:
            raise _unknown(contract, name)
        return example
    code = preferences.code
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
