"""Mock extensions (tag ``mock`` in openapi.yaml): health, the contract, the request journal."""

from __future__ import annotations

import re

from flask import Blueprint, Response, current_app, request

from . import __version__
from .admin import AdminPolicy, admin_route
from .context import MockContext
from .errors import ApiError, ErrorKind
from .jsonbody import encode

JOURNAL_PATH = "/__mock/requests"
LIMIT = "limit"
INTEGER = re.compile(r"-?[0-9]+")


def create_meta_blueprint(ctx: MockContext) -> Blueprint:
    blueprint = Blueprint("meta", __name__)
    admin = admin_route(AdminPolicy(ctx.settings.allowed_hosts, ctx.settings.admin_token))
    health = encode({"status": "ok", "mode": ctx.settings.mode, "version": __version__})
    low, high, default = journal_limit_bounds(ctx)

    def json_response(body: bytes, status: int = 200) -> Response:
        return current_app.response_class(body, status=status, mimetype="application/json")

    @blueprint.get("/healthz")
    def healthz() -> Response:
        return json_response(health)

    @blueprint.get("/openapi.yaml")
    def contract() -> Response:
        return current_app.response_class(ctx.contract.raw_text, mimetype="application/yaml")

    @blueprint.get("/__mock/requests")
    @admin
    def list_requests() -> Response:
        limit = parse_limit(request.args.get(LIMIT), low, high, default)
        limit = min(limit, ctx.settings.journal_limit)
        entries = ctx.journal.entries(limit) if ctx.journal else []
        return json_response(encode({"requests": entries}))

    @blueprint.delete("/__mock/requests")
    @admin
    def clear_requests() -> Response:
        if ctx.journal:
            ctx.journal.clear()
        return current_app.response_class(status=204)

    return blueprint


def journal_limit_bounds(ctx: MockContext) -> tuple[int, int, int]:
    """(minimum, maximum, default) of the journal's ``limit``, as openapi.yaml declares them."""
    operation = ctx.contract.document["paths"][JOURNAL_PATH]["get"]
    param = next(p for p in operation["parameters"] if ctx.contract.resolve(p)["name"] == LIMIT)
    schema = ctx.contract.resolve(ctx.contract.resolve(param)["schema"])
    return int(schema["minimum"]), int(schema["maximum"]), int(schema["default"])


def parse_limit(raw: str | None, low: int, high: int, default: int) -> int:
    """The declared integer in ``low..high``; anything else is a 422, never a silent clamp."""
    if raw is None:
        return default
    text = raw
    if not INTEGER.fullmatch(text):
        raise ApiError(ErrorKind.INVALID_QUERY, {"field": LIMIT, "reason": "not an integer"})
    if len(text) > 12 or not low <= int(text) <= high:
        raise ApiError(ErrorKind.INVALID_QUERY, {"field": LIMIT, "reason": f"must lie in {low}..{high}"})
    return int(text)
