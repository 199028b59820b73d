"""The operation's form, checked against the contract compiled from openapi.yaml (ERR-3).

Kept apart from the multipart reader (uploads.py) so the reader knows only framing and
limits, and what the contract says about fields lives in one place."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ApiError, ErrorKind
from .spec import FormContract
from .uploads import Part


@dataclass(frozen=True)
class Form:
    image1: Part
    image2: Part | None
    unique_id: str | None
    parts: tuple[Part, ...]


def validate_form(parts: list[Part], contract: FormContract) -> Form:
    by_name: dict[str, Part] = {}
    for part in parts:
        if part.name in by_name:
            raise ApiError(ErrorKind.DUPLICATE_FIELD, {"field": part.name})
        if part.name not in contract.known_fields and not contract.allow_unknown_fields:
            raise ApiError(ErrorKind.UNKNOWN_FIELD, {"field": part.name})
        by_name[part.name] = part
    for name in sorted(contract.required):
        if name not in by_name:
            kind = ErrorKind.MISSING_IMAGE1 if name == "image1" else ErrorKind.INVALID_FIELD
            raise ApiError(kind, {"field": name, "reason": "required"})
    texts: dict[str, str] = {}
    for name, check in contract.text_fields.items():
        text = by_name.get(name)
        if text is None:
            continue
        if text.overflow:
            raise ApiError(ErrorKind.INVALID_FIELD, {"field": name, "reason": "too long"})
        value = text.text()
        problem = check(value)
        if problem:
            raise ApiError(ErrorKind.INVALID_FIELD, {"field": name, "reason": problem})
        texts[name] = value
    return Form(
        image1=by_name["image1"],
        image2=by_name.get("image2"),
        unique_id=texts.get("unique_id"),
        parts=tuple(parts),
    )
