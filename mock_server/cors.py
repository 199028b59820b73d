"""CORS for local frontends: on by default for any origin, configurable, preflight answered
before authentication (browsers send preflights without credentials). The admin routes
(mock_server/admin.py) get no CORS headers unless ``admin`` is set."""

from __future__ import annotations

from flask import Flask, Response, request

from facematch_contract.operation import CORRELATION_HEADER, VIOLATION_HEADER

from .admin import is_admin_request

ALLOWED_HEADERS = f"Authorization, Content-Type, Prefer, {CORRELATION_HEADER}"
EXPOSED_HEADERS = f"{CORRELATION_HEADER}, {VIOLATION_HEADER}"
ALLOWED_METHODS = "GET, POST, DELETE, OPTIONS"
MAX_AGE = "600"


def install_cors(app: Flask, origins: tuple[str, ...], admin: bool = False) -> None:
    if not origins:
        return
    any_origin = "*" in origins

    def allowed(origin: str | None) -> str | None:
        if any_origin:
            return "*"
        return origin if origin in origins else None

    @app.before_request
    def preflight() -> Response | None:
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            if not admin and is_admin_request():
                return None  # Flask's own OPTIONS answer, without CORS headers
            response = app.response_class(status=204)
            response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response.headers["Access-Control-Max-Age"] = MAX_AGE
            return response
        return None

    @app.after_request
    def add_headers(response: Response) -> Response:
        origin = allowed(request.headers.get("Origin"))
        if origin and (admin or not is_admin_request()):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
            if origin != "*":
                response.headers.add("Vary", "Origin")
        return response
