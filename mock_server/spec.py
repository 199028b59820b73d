"""The contract, loaded once at start-up and compiled into what the request path needs.

Everything the mock knows about the operation comes from ``openapi.yaml``: which form
fields exist, which are required, which are binary, the schemas of the non-binary fields
and of the header parameters, the named examples, and the server path prefixes. Binary
parts are never pushed through a JSON-Schema validator: their bytes are checked by the
image checks instead, which is what keeps validation fast for multi-megabyte bodies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30Validator

from facematch_contract.document import Document
from facematch_contract.operation import FORM_MEDIA_TYPE

from .jsonbody import encode

#: Returns None when the value is valid, else a short reason.
FieldCheck = Callable[[Any], str | None]


@dataclass(frozen=True)
class NamedExample:
    name: str
    status: int
    summary: str
    body: bytes  # the example's value, encoded once


@dataclass(frozen=True)
class FormContract:
    """The multipart request body of the operation, compiled from the spec."""

    media_type: str
    required: frozenset[str]
    binary_fields: frozenset[str]
    text_fields: dict[str, FieldCheck]
    allow_unknown_fields: bool

    @property
    def known_fields(self) -> frozenset[str]:
        return self.binary_fields | frozenset(self.text_fields)


@dataclass(frozen=True)
class HeaderParam:
    name: str
    required: bool
    check: FieldCheck


class Contract(Document):
    """The parsed ``openapi.yaml`` with the operation's request contract compiled."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.form = self._compile_form()
        self.headers = self._compile_headers()
        self.examples = self._collect_examples()
        self.server_prefixes = self.server_path_prefixes()

    # -- compilation -------------------------------------------------------------------
    def _schema_check(self, schema: dict[str, Any]) -> FieldCheck:
        validator = OAS30Validator(self.deep_resolve(schema))

        def check(value: Any) -> str | None:
            error = next(iter(validator.iter_errors(value)), None)
            return None if error is None else describe(error.validator, error.validator_value)

        return check

    def _compile_form(self) -> FormContract:
        body = self.resolve(self.operation["requestBody"])
        content = body["content"]
        if FORM_MEDIA_TYPE not in content:
            raise ValueError(f"the operation must accept {FORM_MEDIA_TYPE}")
        schema = self.resolve(content[FORM_MEDIA_TYPE]["schema"])
        binary: set[str] = set()
        text: dict[str, FieldCheck] = {}
        for name, prop in schema.get("properties", {}).items():
            prop = self.resolve(prop)
            if prop.get("type") == "string" and prop.get("format") == "binary":
                binary.add(name)
            else:
                text[name] = self._schema_check(prop)
        return FormContract(
            media_type=FORM_MEDIA_TYPE,
            required=frozenset(schema.get("required", [])),
            binary_fields=frozenset(binary),
            text_fields=text,
            allow_unknown_fields=schema.get("additionalProperties", True) is not False,
        )

    def _compile_headers(self) -> tuple[HeaderParam, ...]:
        params = []
        for param in self.operation.get("parameters", []):
            param = self.resolve(param)
            if param["in"] == "header":
                params.append(
                    HeaderParam(
                        name=param["name"],
                        required=bool(param.get("required", False)),
                        check=self._schema_check(param["schema"]),
                    )
                )
        return tuple(params)

    def _collect_examples(self) -> dict[str, NamedExample]:
        examples: dict[str, NamedExample] = {}
        for status, response in self.operation["responses"].items():
            response = self.resolve(response)
            media = response.get("content", {}).get("application/json", {})
            for name, example in media.get("examples", {}).items():
                example = self.resolve(example)
                if name in examples:
                    raise ValueError(f"example name {name!r} is used twice")
                examples[name] = NamedExample(
                    name=name,
                    status=int(status),
                    summary=example.get("summary", ""),
                    body=encode(example["value"]),
                )
        return examples

    # -- look-ups ----------------------------------------------------------------------
    def first_example_for(self, status: int) -> NamedExample | None:
        return next((ex for ex in self.examples.values() if ex.status == status), None)

    @cached_property
    def openapi(self) -> Any:
        """openapi-core's view of the contract (built on first use: strict mode and tests)."""
        from openapi_core import OpenAPI

        return OpenAPI.from_file_path(str(self.path))


_PHRASES = {
    "maxLength": "longer than {} characters",
    "minLength": "shorter than {} characters",
    "pattern": "does not match the pattern {}",
    "type": "is not of type {}",
    "enum": "is not one of {}",
}


def describe(keyword: str, value: Any) -> str:
    """A short reason that never repeats the (possibly huge) offending value."""
    return _PHRASES.get(keyword, "fails " + keyword + " {}").format(value)
