"""What the kit may judge on an implementation it did not write.

``openapi.yaml`` describes the mock, and states some of the mock's own choices as schema
constraints where the upstream description is silent. Schemathesis reads those constraints
literally: its negative-data check expects a request that breaks one to be refused, and its
response-header check expects an echoed header to keep the declared form. Judged on another
implementation, both would fail a server that is merely lenient where the upstream allows it.

So in the ``contract`` and ``semantic`` profiles a schemathesis failure that judges only one
of the choices below is excused (:func:`excused`; every choice names its reason); the
``golden`` profile, meant for the mock alone, judges them all (and GOLD-3 checks them
directly). The rule validator (``facematch_contract.rules``) is written to the same scope:
it judges no choice listed here. ``tests/test_kit_scope.py`` checks every pointer exists.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import schemathesis

from facematch_contract.operation import CORRELATION_HEADER

from .profiles import includes
from .st_case import StCase


@dataclass(frozen=True)
class Leniency:
    """Keywords lifted from one schema node (a JSON pointer into openapi.yaml), and why."""

    pointer: str
    keywords: tuple[str, ...]
    why: str


LENIENCIES: tuple[Leniency, ...] = (
    Leniency(
        "/components/parameters/CorrelationId/schema",
        ("minLength", "maxLength", "pattern"),
        "upstream: 'Optional correlation id for logs' - it fixes no length or alphabet, so a server may "
        "accept and echo any value; refusing odd ones (422) is the mock's choice",
    ),
    Leniency(
        "/components/headers/CorrelationId/schema",
        ("minLength", "maxLength"),
        "an echoed correlation id has the form the client sent; only the mock limits it",
    ),
    Leniency(
        "/components/schemas/AdvancedFacematchRequest",
        ("additionalProperties",),
        "upstream names image1, image2 and unique_id but does not say other form fields are refused; "
        "ignoring them is as conforming as the mock's 422",
    ),
    Leniency(
        "/components/schemas/AdvancedFacematchRequest/properties/unique_id",
        ("maxLength",),
        "upstream gives unique_id no length limit; 128 characters is the mock's choice",
    ),
)


def resolve_pointer(document: dict[str, Any], pointer: str) -> dict[str, Any]:
    """The schema node a leniency names (a clear error when openapi.yaml has moved it)."""
    node: Any = document
    for token in pointer.lstrip("/").split("/"):
        key = token.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or key not in node:
            raise KeyError(f"openapi.yaml has no {pointer}: update contract_tests/scope.py LENIENCIES")
        node = node[key]
    if not isinstance(node, dict):
        raise KeyError(f"openapi.yaml's {pointer} is not a schema object")
    return node


def lenient(profile: str) -> bool:
    """Every profile but golden (the mock's own) grants the leniencies."""
    return not includes(profile, "golden")


def excused(check: str, case: StCase, response: schemathesis.Response, profile: str) -> bool:
    """Whether a schemathesis failure only judges a choice the upstream leaves open.

    Schemathesis generates from the full contract, so every "positive" request is one any
    implementation must accept. Two of its checks then reach into the open choices:

    * ``negative_data_rejection`` expects a refusal for a request that breaks a constraint.
      Under the leniencies, a request whose only fault is in the correlation id header, or
      whose form as sent is valid once unknown fields, repeats and long ``unique_id`` values
      are allowed, may be accepted.
    * ``response_headers_conformance`` checks the echoed ``X-Correlation-ID`` against the
      mock's form (the only response header the operation declares). Echoing exactly what
      the client sent is what HDR-1 asks, whatever its form.
    """
    if check == "negative_data_rejection" and not lenient(profile):
        # Even the mock's own profile cannot judge a "negative" case that is valid on the
        # wire: multipart sends every text field as text, so ``unique_id`` mutated into the
        # number 10000000.0 arrives as the valid string "10000000.0".
        return _only_lenient_faults(case, response, profile) and _correlation_id_as_sent_valid(response)
    if not lenient(profile):
        return False
    if check == "negative_data_rejection":
        return _only_lenient_faults(case, response, profile)
    if check == "response_headers_conformance":
        sent = _header(response.request.headers, CORRELATION_HEADER)
        return sent is not None and _header(response.headers, CORRELATION_HEADER) == sent
    return False


def _only_lenient_faults(case: StCase, response: schemathesis.Response, profile: str) -> bool:
    from schemathesis.core.parameters import ParameterLocation

    from .st_hooks import form_valid_as_sent

    meta = case.meta
    if meta is None:
        return False
    negative = {loc for loc in ParameterLocation if meta.is_negative_at(loc)}
    if not negative <= {ParameterLocation.HEADER, ParameterLocation.BODY}:
        return False
    # Header faults are harmless here: the kit always sends its own Authorization over any
    # mutated one, and the only other header (X-Correlation-ID) has the mock's form only.
    if ParameterLocation.BODY in negative:
        return form_valid_as_sent(response, profile)
    return True


@functools.cache
def _correlation_schema() -> dict[str, Any]:
    from facematch_contract.document import Document

    return resolve_pointer(Document().document, "/components/parameters/CorrelationId/schema")


def _correlation_id_as_sent_valid(response: schemathesis.Response) -> bool:
    """Whether the correlation id the request carried (if any) has the mock's form, read
    from the contract (the golden profile judges that form)."""
    sent = _header(response.request.headers, CORRELATION_HEADER)
    if sent is None:
        return True
    schema = _correlation_schema()
    return (
        int(schema.get("minLength", 0)) <= len(sent) <= int(schema.get("maxLength", len(sent)))
        and re.fullmatch(str(schema.get("pattern", ".*")).strip("^$"), sent) is not None
    )


def _header(headers: Any, name: str) -> str | None:
    for key, value in dict(headers).items():
        if key.lower() == name.lower():
            return ", ".join(value) if isinstance(value, list) else str(value)
    return None


#: Schemathesis checks that cannot apply to this API: it has one operation and no links
#: between operations, so there is no resource to delete, re-fetch or fetch as another user.
#: Left on, they would be listed as passed without ever having judged anything.
NOT_APPLICABLE_CHECKS: dict[str, str] = {
    "use_after_free": "needs a delete operation linked to a read",
    "ensure_resource_availability": "needs a create operation linked to a read",
    "object_level_authorization": "needs resources owned by different users",
}
