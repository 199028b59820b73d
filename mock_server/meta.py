"""Mock extensions (tag ``mock`` in openapi.yaml): health and the contract (the admin API
is mock_server/control.py)."""

from __future__ import annotations

import re

from flask import Blueprint, Response, current_app

from . import __version__
from .context import MockContext
from .errors import ApiError, ErrorKind
from .jsonbody import encode

JOURNAL_PATH = "/__mock/requests"
LIMIT = "limit"
INTEGER = re.compile(r"-?[0-9]+")


def create_meta_blueprint(ctx: MockContext) -> Blueprint:
    blueprint = Blueprint("meta", __name__)
    health = encode({"status": "ok", "mode": ctx.settings.mode, "version": __version__})

    def json_response(body: bytes, status: int = 200) -> Response:
        return current_app.response_class(body, status=status, mimetype="application/json")

    @blueprint.get("/healthz")
    def healthz() -> Response:
        return json_response(health)

    @blueprint.get("/openapi.yaml")
    def contract() -> Response:
        return current_app.response_class(ctx.contract.raw_text, mimetype="application/yaml")

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
