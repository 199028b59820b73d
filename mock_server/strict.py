"""``--strict``: every response is checked against openapi.yaml (openapi-core) and, for the
operation, against the rules catalogue with the contract kit's independent validator
(``facematch_contract.rules``: a second formulation of the rules, so the mock's builder is
never its own judge). A violation is logged and named in the ``X-Contract-Violation``
response header (the spec as ``SPEC``, rules by ID); the response itself is unchanged."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from flask import Flask, Request, Response, request
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from facematch_contract.operation import CORRELATION_HEADER, VIOLATION_HEADER

from .form import Form
from .request_state import request_state
from .spec import Contract

log = logging.getLogger("facematch.strict")
#: The spec's servers name 127.0.0.1:8080; strict checks only need path and method.
SPEC_HOST = "http://127.0.0.1:8080"
#: Blueprints that serve pages and their assets (file responses) rather than the API.
PAGE_ENDPOINTS = ("playground.",)


@dataclass
class SpecRequest:
    """The minimum openapi-core needs to find the operation (the body is not re-read)."""

    path: str
    method: str
    headers: Headers
    content_type: str = ""
    body: bytes | None = None
    host_url: str = SPEC_HOST
    parameters: RequestParameters = field(init=False)

    def __post_init__(self) -> None:
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(), header=self.headers, cookie=ImmutableMultiDict()
        )


@dataclass
class SpecResponse:
    data: bytes
    status_code: int
    content_type: str
    headers: Headers


def spec_problems(contract: Contract, request: SpecRequest, response: SpecResponse) -> list[str]:
    try:
        contract.openapi.validate_response(request, response)
    except Exception as error:  # openapi-core raises a family of validation errors
        causes = [str(error)] + [str(cause) for cause in getattr(error, "schema_errors", [])]
        return ["SPEC: " + "; ".join(causes)]
    return []


def install_strict(app: Flask, contract: Contract) -> None:
    _ = contract.openapi  # compile now, not on the first request

    @app.after_request
    def check_response(response: Response) -> Response:
        if request.method == "OPTIONS" or request.url_rule is None:
            return response  # preflights and unknown paths are outside the contract
        if request.url_rule.endpoint.startswith(PAGE_ENDPOINTS):
            return response  # the Playground is a page for people, not an API of the contract
        state = request_state()
        fault = state.fault
        if fault is not None and not fault.socket_level:
            return response  # an injected 503/429/502/504 is outside the contract on purpose
        spec_request = SpecRequest(path=request.path, method=request.method.lower(), headers=request.headers)
        spec_response = SpecResponse(
            data=response.get_data(),
            status_code=response.status_code,
            content_type=response.mimetype or "",
            headers=response.headers,
        )
        problems = spec_problems(contract, spec_request, spec_response)
        # A named example is returned verbatim whatever the request held (a one-photo
        # request may ask for a two-photo example), so only the schema judges it here; each
        # example is checked against the rules in its own mode by the tests.
        if state.in_operation and state.example is None:
            problems += rule_problems(request, response, state.form)
        if problems:
            log.error("contract violation on %s %s: %s", request.method, request.path, " | ".join(problems))
            response.headers[VIOLATION_HEADER] = ",".join(sorted({p.split(":", 1)[0] for p in problems}))
        return response


def rule_problems(request: Request, response: Response, form: Form | None) -> list[str]:
    """Findings of the kit's rule validator on this exchange (failures only, not warnings)."""
    from facematch_contract.rules import Exchange, Part, check_exchange
    from facematch_contract.verdicts import Severity

    parts = tuple(Part(p.name, p.filename, p.size, p.content_type) for p in form.parts) if form else ()
    exchange = Exchange(
        method=request.method,
        url=request.url,
        request_headers=dict(request.headers),
        parts=parts,
        sent_image2=form is not None and form.image2 is not None,
        sent_correlation_id=request.headers.get(CORRELATION_HEADER),
        status=response.status_code,
        response_headers=dict(response.headers),
        body=response.get_data(),
    )
    return [f"{f.rule}: {f.message}" for f in check_exchange(exchange) if f.severity is Severity.FAIL]
