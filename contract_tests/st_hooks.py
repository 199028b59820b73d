"""Schemathesis integration: the catalogue's rules as schemathesis checks, and image strategies.

Use it with the schemathesis CLI::

    SCHEMATHESIS_HOOKS=contract_tests.st_hooks st --config-file contract_tests/schemathesis.toml \\
        run openapi.yaml -u URL -H "Authorization: Bearer $TOKEN" --include-tag facematch

What it changes, and why:

* ``format: binary`` (image1, image2) generates real JPEG/PNG/WebP photos inside the size
  window. Schemathesis's default random bytes are never a valid image of 1 KB or more, so
  it would never see a 200 and never exercise the 200 rules.
* Each rule (SHAPE-1 ... HDR-1) is a check named ``facematch_<rule>``. Only failures fail;
  OVR-3's advisory bound is a warning and is not raised here.
* Parameters marked ``x-mock-extension: true`` in openapi.yaml (the mock's ``Prefer`` and
  ``__example``) are dropped from the schema as it loads: they are not the vendor contract,
  other implementations ignore them, so they are never generated or sent. The mock's named
  examples are checked by the kit's golden profile instead.
* ``positive_data_acceptance`` must also accept 400 for this API (see schemathesis.toml and
  :data:`POSITIVE_DATA_STATUSES`): a schema-valid image may still hold no usable face, and
  the contract's answer for that is 400 - refusing it is right, not a bug.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import schemathesis
from hypothesis import strategies as st

from facematch_contract.exchange import size_fate
from facematch_contract.operation import CORRELATION_HEADER, OPERATION_PATH
from facematch_contract.rules import RULES, Exchange, FateName, Finding, Part, Rule, curl_line, evaluate

from . import fixtures, images
from .profiles import includes
from .st_case import StCase

#: Statuses a valid request may get: success, an unusable photo (400), or a refused token.
POSITIVE_DATA_STATUSES = ["2xx", "400", "401", "403", "404", "409", "429", "5xx"]
RULE_CHECK_PREFIX = "facematch_"
MOCK_EXTENSION = "x-mock-extension"


def image_bytes() -> st.SearchStrategy[bytes]:
    """Valid photos in the size window: edited fixture faces and synthetic pictures."""
    from .strategies import photos

    faces = fixtures.faces(fixtures.load())
    return (
        photos("image", faces)
        .map(lambda upload: upload.data)
        .filter(lambda data: size_fate(len(data)) is FateName.USABLE)
    )


def register_strategies() -> None:
    strategy = image_bytes()
    schemathesis.openapi.format("binary", strategy)
    for media in images.CONTENT_TYPES.values():
        schemathesis.openapi.media_type(media, strategy)


def exchange_from(case: StCase, response: schemathesis.Response) -> Exchange:
    """The rules' view of a schemathesis case and its response (part sizes, never bytes)."""
    body = case.body if isinstance(case.body, dict) else None
    parts: list[Part] = []
    for name, value in (body or {}).items():
        data = getattr(value, "data", value)
        if isinstance(data, (bytes, bytearray)):
            parts.append(Part(name, f"{name}.bin", len(data)))
        else:
            text = str(value)
            parts.append(Part(name, None, len(text.encode()), None, text))
    request_headers = dict(response.request.headers)
    correlation = _header(request_headers, CORRELATION_HEADER)
    return Exchange(
        method=case.method.upper(),
        url=response.request.url or case.formatted_path,
        request_headers=request_headers,
        parts=tuple(parts),
        sent_image2=body is not None and "image2" in body,
        sent_correlation_id=correlation,
        status=response.status_code,
        response_headers={k: ", ".join(v) for k, v in response.headers.items()},
        body=response.content or b"",
        fate=None,  # schemathesis does not say what the contract fixes for its inputs
        raw_content_type=None if body is not None else _header(request_headers, "Content-Type"),
    )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


def failure_message(exchange: Exchange, failures: list[Finding]) -> str:
    lines = [f"{f.rule} [{f.field or '-'}]: {f.message}" for f in failures]
    return "\n".join([*lines, f"Reproduce: {curl_line(exchange)}"])


def is_operation(case: StCase) -> bool:
    """The rules judge POST /advanced_facematch (not preflights or other methods)."""
    return case.operation.path.endswith(OPERATION_PATH) and case.method.upper() == "POST"


def make_check(rule: Rule) -> Callable[..., bool | None]:
    def check(ctx: schemathesis.CheckContext, response: schemathesis.Response, case: StCase) -> bool | None:
        if not is_operation(case):
            return None
        exchange = exchange_from(case, response)
        failures = list(evaluate(exchange, [rule])[0].failures)
        if failures:
            raise AssertionError(failure_message(exchange, failures))
        return None

    check.__name__ = check.__qualname__ = RULE_CHECK_PREFIX + rule.id.lower().replace("-", "_")
    check.__doc__ = f"{rule.id}: {rule.summary}"
    return check


def valid_as_sent(case: StCase, response: schemathesis.Response, profile: str = "golden") -> bool:
    """Whether a "negative" case is in fact a valid request once it is on the wire.

    In multipart/form-data every text field is a string, so a mutation of ``unique_id`` into
    a number or an object arrives as a perfectly valid string (``42``, ``{}``). A server that
    accepts it is right; schemathesis's ``negative_data_rejection`` sometimes still flags it,
    so the kit drops that failure when only the body was mutated and the form as sent (read
    back from the request bytes) is valid.
    """
    from schemathesis.core.parameters import ParameterLocation

    meta = case.meta
    if meta is None or any(loc != ParameterLocation.BODY and meta.is_negative_at(loc) for loc in ParameterLocation):
        return False
    return form_valid_as_sent(response, profile)


def form_valid_as_sent(response: schemathesis.Response, profile: str = "golden") -> bool:
    """Whether the multipart form as sent (read back from the request bytes) is a valid form."""
    fields = sent_form(response)
    if fields is None:
        return False
    names = [name for name, _, _ in fields]
    if names.count("image1") != 1:
        return False
    # Refusing repeated or unknown fields, or a unique_id over 128 characters, is the mock's
    # own choice (see scope.py): only the golden profile counts such a form as invalid.
    strict = includes(profile, "golden")
    if strict and (any(names.count(n) > 1 for n in names) or not set(names) <= FORM_FIELDS):
        return False
    for name, is_file, text in fields:
        if name in ("image1", "image2") and not is_file:
            return False
        if strict and name == "unique_id" and (is_file or len(text) > 128):
            return False
    return True


FORM_FIELDS = {"image1", "image2", "unique_id"}


def sent_form(response: schemathesis.Response) -> list[tuple[str, bool, str]] | None:
    """(name, is a file part, text) for each part of the multipart body actually sent."""
    from email.parser import BytesParser
    from email.policy import HTTP

    request = response.request
    ctype = _header(dict(request.headers), "Content-Type") or ""
    body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
    if not ctype.startswith("multipart/form-data"):
        return None
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
    if not message.is_multipart():
        return None
    found = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_param("filename", header="content-disposition")
        payload = part.get_payload(decode=True)
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
        found.append((str(name), filename is not None, text))
    return found


def drop_mock_extensions(raw_schema: dict[str, Any]) -> None:
    """Remove the parameters marked ``x-mock-extension: true`` from every operation, in place."""

    def marked(param: Any) -> bool:
        while isinstance(param, dict) and isinstance(param.get("$ref"), str) and param["$ref"].startswith("#/"):
            node: Any = raw_schema
            for token in param["$ref"][2:].split("/"):
                node = node.get(token.replace("~1", "/").replace("~0", "~"), {}) if isinstance(node, dict) else {}
            param = node
        return isinstance(param, dict) and param.get(MOCK_EXTENSION) is True

    for item in (raw_schema.get("paths") or {}).values():
        for node in [item, *(v for v in item.values() if isinstance(v, dict))] if isinstance(item, dict) else []:
            if isinstance(node.get("parameters"), list):
                node["parameters"] = [param for param in node["parameters"] if not marked(param)]


def before_load_schema(context: schemathesis.HookContext, raw_schema: dict[str, Any]) -> None:
    drop_mock_extensions(raw_schema)


RULE_CHECKS: dict[str, Callable[..., bool | None]] = {}


def register_checks() -> None:
    for rule in RULES:
        check = make_check(rule)
        RULE_CHECKS[rule.id] = schemathesis.check(check)


def _register() -> None:
    if RULE_CHECKS:
        return
    register_strategies()
    register_checks()
    schemathesis.hook(before_load_schema)


_register()

__all__ = [
    "POSITIVE_DATA_STATUSES",
    "RULE_CHECKS",
    "drop_mock_extensions",
    "exchange_from",
    "image_bytes",
    "valid_as_sent",
]
