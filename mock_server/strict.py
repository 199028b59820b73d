"""``--strict``: every response is checked against openapi.yaml (openapi-core) and against
the rules catalogue (the contract kit's independent validator). A violation is logged and
reported in the ``X-Contract-Violation`` response header; the response itself is unchanged."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from .spec import Contract

log = logging.getLogger("facematch.strict")
#: The spec's servers name 127.0.0.1:8080; strict checks only need path and method.
SPEC_HOST = "http://127.0.0.1:8080"


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
        self.parameters = RequestParameters(query=ImmutableMultiDict(), header=self.headers, cookie=ImmutableMultiDict())


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



def install_strict(app: Any, contract: Contract) -> None:
    from flask import Response, request

    contract.openapi  # compile now, not on the first request

    @app.after_request
    def check_response(response: Response) -> Response:
        if request.method == "OPTIONS" or request.url_rule is None:
            return response  # preflights and unknown paths are outside the contract
        spec_request = SpecRequest(path=request.path, method=request.method.lower(), headers=request.headers)
        spec_response = SpecResponse(
            data=response.get_data(),
            status_code=response.status_code,
            content_type=response.mimetype or "",
            headers=response.headers,
        )
        problems = spec_problems(contract, spec_request, spec_response)
        if problems:
            log.error("contract violation on %s %s: %s", request.method, request.path, " | ".join(problems))
            response.headers["X-Contract-Violation"] = ",".join(sorted({p.split(":", 1)[0] for p in problems}))
        return response
