"""The operation: POST /advanced_facematch (and under every server prefix of the contract).

One request, in order: authentication, correlation id, the form read with limits and
checked against the contract, then either the chosen named example or the image checks,
the engine and the rules builder.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timezone

from flask import Blueprint, Response, current_app, g, request

from .context import MockContext
from .domain import CheckedImage
from .errors import ApiError, ErrorKind
from .form import Form, validate_form
from .journal import JournalEntry, PartRecord
from .jsonbody import encode
from .rules import build
from .scenarios import chosen_example
from .spec import OPERATION_PATH
from .uploads import read_form

JSON = "application/json"
DRAIN_CHUNK = 256 * 1024


def create_api_blueprint(ctx: MockContext) -> Blueprint:
    blueprint = Blueprint("api", __name__)
    rng = random.Random()

    def operation() -> Response:
        form: Form | None = None
        checked: list[CheckedImage] = []
        example_name: str | None = None
        try:
            ctx.auth.verify(request.headers.get("Authorization"))
            if g.correlation_problem:
                raise ApiError(ErrorKind.INVALID_HEADER, {"field": "X-Correlation-ID", "reason": g.correlation_problem})
            length = request.content_length
            if length is not None and length > ctx.settings.max_body_bytes:
                raise ApiError(ErrorKind.BODY_TOO_LARGE, {"size": length, "limit": ctx.settings.max_body_bytes})
            parts = read_form(
                request.stream,
                request.content_type,
                binary_fields=ctx.contract.form.binary_fields,
                image_limit=ctx.settings.max_image_bytes,
                max_body=ctx.settings.max_body_bytes,
            )
            form = validate_form(parts, ctx.contract.form)
            example = chosen_example(ctx.contract, request.headers.get("Prefer"), request.args)
            if example is not None:
                example_name = example.name
                status, body = example.status, example.body
            else:
                checked.append(ctx.images.check("image1", form.image1.data, form.image1.overflow))
                if form.image2 is not None:
                    checked.append(ctx.images.check("image2", form.image2.data, form.image2.overflow))
                outcome = ctx.engine.evaluate(checked[0], checked[1] if len(checked) > 1 else None)
                status, body = 200, encode(build(outcome))
        except ApiError as error:
            status, body = error.status, error.body_bytes()
            if error.kind is ErrorKind.BODY_TOO_LARGE:
                g.close_connection = True
            else:
                _drain(ctx)
        _inject_latency(ctx, rng)
        response = current_app.response_class(body, status=status, mimetype=JSON)
        if ctx.journal is not None:
            ctx.journal.record(_entry(ctx, status, form, checked, example_name))
        return response

    for prefix in ctx.contract.server_prefixes:
        blueprint.add_url_rule(prefix + OPERATION_PATH, f"operation{prefix.replace('/', '_')}", operation, methods=["POST"])
    return blueprint


def _drain(ctx: MockContext) -> None:
    """Read what is left of a refused body (bounded), so the client can read our answer
    instead of a connection reset; bodies over the limit are never read."""
    length = request.content_length
    if length is not None and length > ctx.settings.max_body_bytes:
        return
    stream = request.stream
    remaining = ctx.settings.max_body_bytes
    while remaining > 0:
        chunk = stream.read(min(DRAIN_CHUNK, remaining))
        if not chunk:
            return
        remaining -= len(chunk)


def _inject_latency(ctx: MockContext, rng: random.Random) -> None:
    low, high = ctx.settings.latency_ms
    if high > 0:
        time.sleep(rng.uniform(low, high) / 1000)


def _entry(
    ctx: MockContext, status: int, form: Form | None, checked: list[CheckedImage], example: str | None
) -> JournalEntry:
    digests = {image.field: image.sha256 for image in checked}
    records = []
    for part in form.parts if form else ():
        digest = digests.get(part.name)
        fixture = ctx.fixtures.get(digest) if digest else None
        records.append(
            PartRecord(
                name=part.name,
                bytes=part.size,
                filename=part.filename,
                content_type=part.content_type,
                sha256=digest,
                fixture=fixture.file if fixture else None,
            )
        )
    return JournalEntry(
        time=datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        method=request.method,
        path=request.path,
        status=status,
        correlation_id=g.correlation_id,
        example=example,
        unique_id=form.unique_id if form else None,
        parts=records,
    )
