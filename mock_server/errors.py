"""Errors as data: the one place that maps each failure kind to its status and JSON body.

Every layer raises :class:`ApiError` with an :class:`ErrorKind`; :meth:`ApiError.body_bytes` turns it
into the bytes the client sees. The shapes follow the contract: 400 and 401 answer
``{"msg": ...}`` (ERR-1, ERR-2); 422 answers ``{"detail": {...}, "message": ...}`` (ERR-3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .faults import fault_names
from .jsonbody import encode


class ErrorKind(Enum):
    # ERR-1: the request is the operation, but an image cannot be used (400).
    EMPTY_IMAGE = "empty_image"
    IMAGE_TOO_SMALL = "image_too_small"
    IMAGE_TOO_LARGE = "image_too_large"
    UNSUPPORTED_IMAGE = "unsupported_image"
    CORRUPT_IMAGE = "corrupt_image"
    TOO_MANY_PIXELS = "too_many_pixels"
    TOO_MANY_SCANS = "too_many_scans"
    DECODE_BUDGET = "decode_budget"
    DECODE_TIMEOUT = "decode_timeout"
    NO_FACE = "no_face"
    PROCESSING_FAILED = "processing_failed"
    BODY_TOO_LARGE = "body_too_large"
    # ERR-2: authentication (401).
    TOKEN_MISSING = "token_missing"
    TOKEN_MALFORMED = "token_malformed"
    TOKEN_EXPIRED = "token_expired"
    TOKEN_NOT_YET_VALID = "token_not_yet_valid"
    TOKEN_INVALID = "token_invalid"
    TOKEN_NO_EXP = "token_no_exp"
    # ERR-3: not the operation at all (422).
    NOT_MULTIPART = "not_multipart"
    MALFORMED_MULTIPART = "malformed_multipart"
    TOO_MANY_PARTS = "too_many_parts"
    PART_HEADERS_TOO_LARGE = "part_headers_too_large"
    MISSING_IMAGE1 = "missing_image1"
    UNKNOWN_FIELD = "unknown_field"
    DUPLICATE_FIELD = "duplicate_field"
    INVALID_FIELD = "invalid_field"
    INVALID_HEADER = "invalid_header"
    UNKNOWN_EXAMPLE = "unknown_example"
    INVALID_QUERY = "invalid_query"  # a mock route's query parameter (the journal's limit)
    # Faults and delays on request (mock extension, mock_server/steering.py).
    UNKNOWN_FAULT = "unknown_fault"
    INVALID_FAULT_MS = "invalid_fault_ms"
    INVALID_DELAY = "invalid_delay"
    # Bulk jobs (mock extension, tag ``mock``): {"msg": ...} with a 4xx status.
    BULK_NO_FILE = "bulk_no_file"
    BULK_TOO_LARGE = "bulk_too_large"
    BULK_REFUSED = "bulk_refused"
    BULK_BUSY = "bulk_busy"
    BULK_UNKNOWN = "bulk_unknown"
    BULK_NOT_READY = "bulk_not_ready"
    BULK_FAILED = "bulk_failed"
    # The server layer (mock_server/http_front.py): HTTP that never reached the app.
    REQUEST_TIMEOUT = "request_timeout"
    HEADERS_TOO_LARGE = "headers_too_large"
    MALFORMED_HTTP = "malformed_http"
    # The admin routes (mock_server/admin.py).
    ADMIN_HOST = "admin_host"
    ADMIN_TOKEN = "admin_token"
    # The runtime admin API (mock_server/control.py).
    INVALID_BODY = "invalid_body"  # an admin route's JSON body (settings, a sequence)
    UNKNOWN_SEQUENCE = "unknown_sequence"
    STATE_UNAVAILABLE = "state_unavailable"
    # Outside the operation (still JSON, never HTML: ERR-4).
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    INTERNAL = "internal"


@dataclass(frozen=True)
class ErrorSpec:
    status: int
    template: str  # str.format template over the error's ``params``


ERRORS: dict[ErrorKind, ErrorSpec] = {
    ErrorKind.EMPTY_IMAGE: ErrorSpec(400, "{field} is empty"),
    ErrorKind.IMAGE_TOO_SMALL: ErrorSpec(400, "{field} is too small: {size} bytes (the minimum is {limit} bytes)"),
    ErrorKind.IMAGE_TOO_LARGE: ErrorSpec(
        400, "{field} is too large: over {limit} bytes (the maximum is {limit} bytes)"
    ),
    ErrorKind.UNSUPPORTED_IMAGE: ErrorSpec(400, "{field} is not a supported image: send JPEG, PNG or WebP"),
    ErrorKind.CORRUPT_IMAGE: ErrorSpec(400, "{field} could not be decoded: the image data is truncated or corrupt"),
    ErrorKind.TOO_MANY_PIXELS: ErrorSpec(400, "{field} has too many pixels (the maximum is {limit})"),
    ErrorKind.TOO_MANY_SCANS: ErrorSpec(
        400, "{field} has too many progressive scans: {scans} (the maximum is {limit})"
    ),
    ErrorKind.DECODE_BUDGET: ErrorSpec(
        400,
        "{field} would need too much memory to decode: {width}x{height} {format} needs about "
        "{needed} MB (the budget is {limit} MB)",
    ),
    ErrorKind.DECODE_TIMEOUT: ErrorSpec(400, "{field} took too long to decode (the limit is {seconds:g} s)"),
    ErrorKind.NO_FACE: ErrorSpec(400, "no usable face found in {field}"),
    ErrorKind.PROCESSING_FAILED: ErrorSpec(400, "{field} could not be processed"),
    ErrorKind.BODY_TOO_LARGE: ErrorSpec(400, "request body is too large: {size} bytes (the maximum is {limit} bytes)"),
    ErrorKind.TOKEN_MISSING: ErrorSpec(401, "missing bearer token: send Authorization: Bearer <token>"),
    ErrorKind.TOKEN_MALFORMED: ErrorSpec(401, "malformed bearer token"),
    ErrorKind.TOKEN_EXPIRED: ErrorSpec(401, "token has expired"),
    ErrorKind.TOKEN_NOT_YET_VALID: ErrorSpec(401, "token is not valid yet"),
    ErrorKind.TOKEN_INVALID: ErrorSpec(401, "invalid token"),
    ErrorKind.TOKEN_NO_EXP: ErrorSpec(401, "token has no numeric exp claim (this server requires one)"),
    ErrorKind.NOT_MULTIPART: ErrorSpec(422, "request body must be multipart/form-data"),
    ErrorKind.MALFORMED_MULTIPART: ErrorSpec(422, "request body is not well-formed multipart/form-data"),
    ErrorKind.TOO_MANY_PARTS: ErrorSpec(422, "request body has more than {limit} parts"),
    ErrorKind.PART_HEADERS_TOO_LARGE: ErrorSpec(422, "a part's headers are over {limit} bytes"),
    ErrorKind.MISSING_IMAGE1: ErrorSpec(422, "field image1 is required"),
    ErrorKind.UNKNOWN_FIELD: ErrorSpec(422, "unknown form field {field}"),
    ErrorKind.DUPLICATE_FIELD: ErrorSpec(422, "form field {field} was sent more than once"),
    ErrorKind.INVALID_FIELD: ErrorSpec(422, "form field {field} is invalid: {reason}"),
    ErrorKind.INVALID_HEADER: ErrorSpec(422, "header {field} is invalid: {reason}"),
    ErrorKind.UNKNOWN_EXAMPLE: ErrorSpec(422, "unknown example {name!r}: see detail.available"),
    ErrorKind.INVALID_QUERY: ErrorSpec(422, "query parameter {field} is invalid: {reason}"),
    ErrorKind.UNKNOWN_FAULT: ErrorSpec(
        422, "unknown fault {name!r} in Prefer: choose from " + ", ".join(fault_names())
    ),
    ErrorKind.INVALID_FAULT_MS: ErrorSpec(422, "Prefer fault-ms is invalid: {reason}"),
    ErrorKind.INVALID_DELAY: ErrorSpec(422, "Prefer delay is invalid: {reason}"),
    ErrorKind.BULK_NO_FILE: ErrorSpec(
        400, "send the archive as a multipart/form-data file part named file (with a filename)"
    ),
    ErrorKind.BULK_TOO_LARGE: ErrorSpec(413, "the upload is too large: over {limit} bytes (the maximum)"),
    ErrorKind.BULK_REFUSED: ErrorSpec(400, "archive refused: {reason}"),
    ErrorKind.BULK_BUSY: ErrorSpec(
        429, "too many bulk jobs: {limit} are already queued or running; try again when one is done"
    ),
    ErrorKind.BULK_UNKNOWN: ErrorSpec(404, "no bulk job {id}: unknown, deleted or expired"),
    ErrorKind.BULK_NOT_READY: ErrorSpec(409, "bulk job {id} is {status}: {done} of {total} cases done"),
    ErrorKind.BULK_FAILED: ErrorSpec(409, "bulk job {id} failed and has no result: {reason}"),
    ErrorKind.REQUEST_TIMEOUT: ErrorSpec(408, "request timed out: {what} did not arrive within {seconds:g} s"),
    ErrorKind.HEADERS_TOO_LARGE: ErrorSpec(431, "request headers are too large (the maximum is {limit} bytes)"),
    ErrorKind.MALFORMED_HTTP: ErrorSpec(400, "malformed HTTP request: {reason}"),
    ErrorKind.ADMIN_HOST: ErrorSpec(
        403,
        "host {host} may not use the admin routes (allowed: localhost names and the bound address; "
        "see --allowed-hosts)",
    ),
    ErrorKind.ADMIN_TOKEN: ErrorSpec(401, "the admin routes need Authorization: Bearer <admin token>"),
    ErrorKind.INVALID_BODY: ErrorSpec(422, "request body is invalid: {reason}"),
    ErrorKind.UNKNOWN_SEQUENCE: ErrorSpec(404, "no sequence {name} is defined"),
    ErrorKind.STATE_UNAVAILABLE: ErrorSpec(503, "{reason}"),
    ErrorKind.NOT_FOUND: ErrorSpec(404, "no such resource: {path}"),
    ErrorKind.METHOD_NOT_ALLOWED: ErrorSpec(405, "method {method} is not allowed here"),
    ErrorKind.INTERNAL: ErrorSpec(400, "request could not be processed"),
}


@dataclass
class ApiError(Exception):
    """A failure the client is told about; ``params`` fill the message template."""

    kind: ErrorKind
    params: dict[str, Any] = field(default_factory=dict)
    #: Extra keys for the 422 ``detail`` object (e.g. the list of example names).
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message

    @property
    def status(self) -> int:
        return ERRORS[self.kind].status

    @property
    def message(self) -> str:
        return ERRORS[self.kind].template.format(**self.params)

    def body(self) -> dict[str, Any]:
        if self.status == 422:
            detail: dict[str, Any] = {"error": self.kind.value}
            if "field" in self.params:
                detail["field"] = self.params["field"]
            detail.update(self.extra)
            return {"detail": detail, "message": self.message}
        return {"msg": self.message}

    def body_bytes(self) -> bytes:
        return encode(self.body())
