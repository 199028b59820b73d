"""Mock extensions (tag ``mock`` in openapi.yaml): health, the contract, the request journal."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from . import __version__
from .admin import AdminPolicy, admin_route
from .context import MockContext
from .jsonbody import encode

JOURNAL_DEFAULT = 100


def create_meta_blueprint(ctx: MockContext) -> Blueprint:
    blueprint = Blueprint("meta", __name__)
    admin = admin_route(AdminPolicy(ctx.settings.allowed_hosts, ctx.settings.admin_token))
    health = encode({"status": "ok", "mode": ctx.settings.mode, "version": __version__})

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
        limit = request.args.get("limit", type=int, default=JOURNAL_DEFAULT)
        limit = max(1, min(limit, ctx.settings.journal_limit))
        entries = ctx.journal.entries(limit) if ctx.journal else []
        return json_response(encode({"requests": entries}))

    @blueprint.delete("/__mock/requests")
    @admin
    def clear_requests() -> Response:
        if ctx.journal:
            ctx.journal.clear()
        return current_app.response_class(status=204)

    return blueprint
