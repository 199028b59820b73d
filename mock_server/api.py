"""The operation: POST /advanced_facematch (and under every server prefix of the contract).

One request, in order: authentication, correlation id, the request's steering (a fault or a
delay asked for per request or configured: mock_server/steering.py), the form read with
limits and checked against the contract, then either the chosen named example or the image
checks, the engine and the rules builder.

Faults sit after the token check, so an unauthenticated client still gets its 401 (and a
request with a bad correlation id its 422). An HTTP-level fault answers at once (the body
is drained, not read); a socket-level one lets the operation answer as usual and hands
that answer to the server layer with the fault to carry out. Delays are carried out by the
server layer too (without holding the worker) and slept here only outside it (the Flask
test client). Faulted requests are journaled with the fault's name.
"""

from __future__ import annotations

import itertools
import random
import time
from collections import OrderedDict
from datetime import UTC, datetime

import jwt
from flask import Blueprint, Response, current_app, g, request

from facematch_contract.operation import OPERATION_PATH

from .answer import build
from .auth import LEEWAY_SECONDS, Authenticator, in_process
from .context import MockContext
from .domain import CheckedImage
from .engines import Engine
from .errors import ApiError, ErrorKind
from .faults import DELAY_KEY, FRONT_KEY, SOCKET_FAULT_KEY, Delay, Fault, SocketFault, http_answer
from .form import Form, validate_form
from .journal import JournalEntry, PartRecord
from .jsonbody import encode
from .layers import NO_STEP, LastSnapshot, latency_only, sequence_step, settings_layers
from .replay import Replay
from .runtime import RuntimeOverrides
from .scenarios import chosen_example, example_named, parse_prefer
from .state import Snapshot
from .steering import PLAIN, Steering, combine, from_prefer
from .uploads import read_form

JSON = "application/json"
DRAIN_CHUNK = 256 * 1024


def create_api_blueprint(ctx: MockContext) -> Blueprint:
    blueprint = Blueprint("api", __name__)
    rng = random.Random()
    tokens = VerifiedTokens(ctx.auth)
    answers = Answers(ctx.engine, remember=ctx.settings.mode == "mock")
    replay = Replay.load(ctx.settings.replay_dir, ctx.settings.replay_strict) if ctx.settings.replay_dir else None
    last_snapshot = LastSnapshot()

    requests_seen = itertools.count(1)
    command_line = RuntimeOverrides(latency=ctx.settings.latency, faults=ctx.settings.faults)
    command_layers = (command_line,) if command_line != RuntimeOverrides() else ()

    def settings_now() -> tuple[tuple[RuntimeOverrides, ...], Snapshot]:
        """The settings layers (runtime overrides from the state store, then the command
        line) and the store's snapshot they came from."""
        snapshot = last_snapshot.read(ctx.state)
        return settings_layers(snapshot, command_layers), snapshot

    def steer(explicit: tuple[Steering, ...], layers: tuple[RuntimeOverrides, ...], number: int) -> Steering:
        """The request's orders from every layer (mock_server/steering.py), highest first.
        A seeded fault policy draws by the client's correlation id, else the request number."""
        if not layers and all(layer == PLAIN for layer in explicit):
            return PLAIN
        key = request.headers.get("X-Correlation-ID") or f"#{number}"
        return combine(explicit, layers, key, rng)

    def operation() -> Response:
        number = next(requests_seen)
        form: Form | None = None
        checked: list[CheckedImage] = []
        example_name: str | None = None
        steering: Steering | None = None
        try:
            if not in_process(request.environ):  # a bulk job's own case needs no token (auth.in_process)
                tokens.verify(request.headers.get("Authorization"))
            if g.correlation_problem:
                raise ApiError(ErrorKind.INVALID_HEADER, {"field": "X-Correlation-ID", "reason": g.correlation_problem})
            preferences = parse_prefer(request.headers.get("Prefer"))
            own = from_prefer(preferences)
            settings, snapshot = settings_now()
            # Without sequences every layer is known now, and a fault answers before the
            # body is read; with sequences the layers wait for the form (unique_id).
            deferred = bool(snapshot.sequences)
            if not deferred or (own.fault is not None and not own.fault.socket_level):
                steering = steer((own,), settings, number)
                if steering.fault is not None and not steering.fault.socket_level:
                    _drain(ctx)
                    return _deliver(ctx, _fault_response(steering.fault), steering, rng, form, checked, None)
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
            form = g.form = validate_form(parts, ctx.contract.form)
            example = chosen_example(ctx.contract, preferences, request.args)
            if deferred and steering is None:
                # Sequences are defined: the layers are combined now that unique_id is known.
                step = NO_STEP
                if example is None and own.fault is None:
                    step = sequence_step(ctx.state, snapshot, form.unique_id, request.headers)
                layers = latency_only(settings) if step.normal else settings
                steering = steer((own, step.steering), layers, number)
                if steering.fault is not None and not steering.fault.socket_level:
                    return _deliver(ctx, _fault_response(steering.fault), steering, rng, form, checked, None)
            if example is None and steering is not None and steering.example is not None:
                example = example_named(ctx.contract, steering.example)
            if example is not None:
                example_name = g.example = example.name
                status, body = example.status, example.body
            else:
                replayed = replay.respond(form) if replay is not None else None
                if replayed is not None:
                    return _hand_over(replayed, steering or PLAIN, rng)  # replays are not journaled
                checked.append(ctx.images.check("image1", form.image1.data, form.image1.overflow))
                if form.image2 is not None:
                    checked.append(ctx.images.check("image2", form.image2.data, form.image2.overflow))
                status, body = 200, answers.body(checked[0], checked[1] if len(checked) > 1 else None)
        except ApiError as error:
            status, body = error.status, error.body_bytes()
            if error.kind is ErrorKind.BODY_TOO_LARGE:
                g.close_connection = True
            else:
                _drain(ctx)
        if steering is None:
            # Refused before the request's own orders were read: no fault, but the
            # configured latency still delays the refusal.
            delay = steer((PLAIN,), settings_now()[0], number).delay
            steering = PLAIN if delay is None else Steering(delay=delay)
        response = current_app.response_class(body, status=status, mimetype=JSON)
        return _deliver(ctx, response, steering, rng, form, checked, example_name)

    for prefix in ctx.contract.server_prefixes:
        blueprint.add_url_rule(
            prefix + OPERATION_PATH, f"operation{prefix.replace('/', '_')}", operation, methods=["POST"]
        )
    return blueprint


class Answers:
    """Encoded 200 bodies by the digests of the images.

    The canned engine's outcome is a function of the digests alone (and of the fixtures,
    fixed at start-up), so once an answer is built and encoded its bytes are kept and
    served again without re-running the engine, the rules builder or the JSON encoder.
    Engines that are not canned are always asked. Bounded (oldest out); engine refusals
    (an ApiError) are never remembered.
    """

    def __init__(self, engine: Engine, remember: bool, size: int = 4096) -> None:
        self.engine = engine
        self.remember = remember
        self.size = size
        self._bodies: OrderedDict[tuple[str, str | None], bytes] = OrderedDict()

    def body(self, image1: CheckedImage, image2: CheckedImage | None) -> bytes:
        if not self.remember:
            return encode(build(self.engine.evaluate(image1, image2)))
        key = (image1.sha256, image2.sha256 if image2 is not None else None)
        cached = self._bodies.get(key)
        if cached is not None:
            return cached
        body = encode(build(self.engine.evaluate(image1, image2)))
        self._bodies[key] = body
        _trim(self._bodies, self.size)
        return body


def _trim(memory: OrderedDict, size: int) -> None:
    """Drop the oldest entries beyond ``size`` (safe when worker threads race to do it)."""
    while len(memory) > size:
        try:
            memory.popitem(last=False)
        except KeyError:
            return


class VerifiedTokens:
    """Remembers Authorization headers that passed full verification, each with the time
    window in which it is certain to pass again, so a client re-sending the same token does
    not pay for an HS256 check and two JSON decodes on every request.

    A header is accepted from memory only between the moment it was verified and its
    ``exp`` (plus the same leeway the verifier allows); anything else, including every
    refusal, goes through :meth:`Authenticator.verify`. The secret never changes while the
    process runs, so a signature that verified once verifies again. Bounded (first in, first out).
    """

    def __init__(self, auth: Authenticator, size: int = 1024) -> None:
        self.auth = auth
        self.size = size
        self._windows: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def verify(self, authorization: str | None) -> None:
        if self.auth.mode != "jwt" or not authorization:
            self.auth.verify(authorization)
            return
        now = time.time()
        window = self._windows.get(authorization)
        if window is not None and window[0] <= now < window[1]:
            return
        self.auth.verify(authorization)  # raises the 401 ApiError
        until = _valid_until(authorization)
        if until is not None and now < until:
            self._windows[authorization] = (now, until)
            _trim(self._windows, self.size)


def _valid_until(authorization: str) -> float | None:
    """Until when a verified token stays acceptable: ``exp`` plus the leeway (mirroring the
    verifier's "expired when exp <= now - leeway"); None when that cannot be told."""
    token = authorization.strip().partition(" ")[2].strip()
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return None
    exp = claims.get("exp")
    if exp is None:
        return float("inf")
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        return None
    return float(exp) + LEEWAY_SECONDS


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


def _fault_response(fault: Fault) -> Response:
    """The answer of an HTTP-level fault: what an overloaded server or a gateway sends."""
    answer = http_answer(fault)
    response = current_app.response_class(answer.body, status=answer.status, content_type=answer.content_type)
    for name, value in answer.headers:
        response.headers[name] = value
    return response


def _deliver(
    ctx: MockContext,
    response: Response,
    steering: Steering,
    rng: random.Random,
    form: Form | None,
    checked: list[CheckedImage],
    example: str | None,
) -> Response:
    """Journal the request, then hand the response over with its orders."""
    ctx.state.record(_entry(ctx, response.status_code, form, checked, example, steering.fault))
    return _hand_over(response, steering, rng)


def _hand_over(response: Response, steering: Steering, rng: random.Random) -> Response:
    """Give the server layer the answer's delay and socket-level fault (outside it, sleep
    the delay; a socket fault is then only marked in the environ, for tests to see)."""
    if steering is PLAIN:
        return response
    fault = steering.fault
    if fault is not None:
        g.fault = fault
    environ = request.environ
    if fault is not None and fault.socket_level:
        environ[SOCKET_FAULT_KEY] = SocketFault(fault, steering.fault_ms)
    seconds = _draw_seconds(steering.delay, rng)
    if seconds > 0:
        if environ.get(FRONT_KEY):
            environ[DELAY_KEY] = seconds
        else:
            time.sleep(seconds)
    return response


def _draw_seconds(delay: Delay | None, rng: random.Random) -> float:
    return delay.draw_ms(rng) / 1000 if delay is not None else 0.0


def _entry(
    ctx: MockContext,
    status: int,
    form: Form | None,
    checked: list[CheckedImage],
    example: str | None,
    fault: Fault | None = None,
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
        time=datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        method=request.method,
        path=request.path,
        status=status,
        correlation_id=g.correlation_id,
        example=example,
        unique_id=form.unique_id if form else None,
        parts=records,
        fault=fault.value if fault is not None else None,
    )
