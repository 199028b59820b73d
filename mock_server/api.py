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

The view only answers; a refusal is an :class:`ApiError` raised to the app's one error
path (app.py), and an after-request hook (:meth:`Operation.finish`) journals every call,
answered or refused, drains a refused body and hands the answer over with its delay, fed
by the request's typed state (mock_server/request_state.py).
"""

from __future__ import annotations

import itertools
import random
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, cast

import jwt
from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import ClientDisconnected

from facematch_contract.operation import CORRELATION_HEADER, OPERATION_PATH
from facematch_contract.timestamps import utc_timestamp

from .acks import ACKS_KEY
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
from .request_state import RequestState, request_state
from .runtime import RuntimeOverrides
from .scenarios import chosen_example, example_named, parse_prefer
from .spec import NamedExample
from .state import Snapshot
from .steering import PLAIN, Steering, combine, from_prefer
from .uploads import read_form

JSON = "application/json"
DRAIN_CHUNK = 256 * 1024


def create_api_blueprint(ctx: MockContext) -> Blueprint:
    blueprint = Blueprint("api", __name__)
    operation = Operation(ctx)
    blueprint.after_request(operation.finish)
    for prefix in ctx.contract.server_prefixes:
        blueprint.add_url_rule(
            prefix + OPERATION_PATH, f"operation{prefix.replace('/', '_')}", operation.view, methods=["POST"]
        )
    return blueprint


class Operation:
    """The operation's view and its after-request hook, with what they keep between calls.

    The view only answers: it raises :class:`ApiError` on a refusal (the app's error
    handlers render it) and leaves what it learnt in the request's state
    (:mod:`mock_server.request_state`). :meth:`finish` then does what every call needs,
    answered or refused: read the rest of a refused body, journal the call, hand the answer
    over with its delay and socket-level fault.
    """

    def __init__(self, ctx: MockContext) -> None:
        self.ctx = ctx
        self.rng = random.Random()
        self.tokens = VerifiedTokens(ctx.auth)
        self.answers = Answers(ctx.engine, remember=ctx.settings.mode == "mock")
        self.replay = (
            Replay.load(ctx.settings.replay_dir, ctx.settings.replay_strict) if ctx.settings.replay_dir else None
        )
        self.last_snapshot = LastSnapshot()
        self.calls = itertools.count(1)
        command_line = RuntimeOverrides(latency=ctx.settings.latency, faults=ctx.settings.faults)
        self.command_layers = (command_line,) if command_line != RuntimeOverrides() else ()

    # -- the view --------------------------------------------------------------------------
    def view(self) -> Response:
        state = request_state()
        state.call = next(self.calls)
        self.admit(state)
        preferences = parse_prefer(request.headers.get("Prefer"))
        own = from_prefer(preferences)
        layers, snapshot = self.settings_now()
        # Without sequences every layer is known now, and a fault answers before the body
        # is read; with sequences the layers wait for the form (unique_id).
        steering: Steering | None = None
        if not snapshot.sequences or _http_fault(own) is not None:
            steering = state.steering = self.steer((own,), layers, state.call)
            fault = _http_fault(steering)
            if fault is not None:
                return _fault_response(fault)
        form = state.form = self.read_form()
        example = chosen_example(self.ctx.contract, preferences, request.args)
        if steering is None:
            steering = state.steering = self.sequence_steering(own, form, example, layers, snapshot, state.call)
            fault = _http_fault(steering)
            if fault is not None:
                return _fault_response(fault)
        if example is None and steering.example is not None:
            example = example_named(self.ctx.contract, steering.example)
        if example is not None:
            state.example = example.name
            return current_app.response_class(example.body, status=example.status, mimetype=JSON)
        return self.answer(state, form)

    def admit(self, state: RequestState) -> None:
        """The token (a bulk job's own case needs none: auth.in_process), then the correlation id."""
        if not in_process(request.environ):
            self.tokens.verify(request.headers.get("Authorization"))
        if state.correlation_problem:
            raise ApiError(ErrorKind.INVALID_HEADER, {"field": CORRELATION_HEADER, "reason": state.correlation_problem})

    def read_form(self) -> Form:
        """The form, read with limits and checked against the contract; a body declared
        over the limit is refused unread (and its connection closed: :meth:`finish`)."""
        limit = self.ctx.settings.max_body_bytes
        length = request.content_length
        if length is not None and length > limit:
            raise ApiError(ErrorKind.BODY_TOO_LARGE, {"size": length, "limit": limit})
        parts = read_form(
            request.stream,
            request.content_type,
            binary_fields=self.ctx.contract.form.binary_fields,
            image_limit=self.ctx.settings.max_image_bytes,
            max_body=limit,
        )
        return validate_form(parts, self.ctx.contract.form)

    def answer(self, state: RequestState, form: Form) -> Response:
        """A recorded answer (``--replay``), else the images checked and the engine's answer."""
        if self.replay is not None:
            replayed = self.replay.respond(form)
            if replayed is not None:
                state.replayed = True
                return replayed
        images = self.ctx.images
        first = images.check("image1", form.image1.data, form.image1.overflow)
        second: CheckedImage | None = None
        state.checked = (first,)
        if form.image2 is not None:
            second = images.check("image2", form.image2.data, form.image2.overflow)
            state.checked = (first, second)
        return current_app.response_class(self.answers.body(first, second), status=200, mimetype=JSON)

    # -- steering --------------------------------------------------------------------------
    def settings_now(self) -> tuple[tuple[RuntimeOverrides, ...], Snapshot]:
        """The settings layers (runtime overrides from the state store, then the command
        line) and the store's snapshot they came from."""
        snapshot = self.last_snapshot.read(self.ctx.state)
        return settings_layers(snapshot, self.command_layers), snapshot

    def steer(self, explicit: tuple[Steering, ...], layers: tuple[RuntimeOverrides, ...], number: int) -> Steering:
        """The request's orders from every layer (mock_server/steering.py), highest first.
        A seeded fault policy draws by the client's correlation id, else the request number."""
        if not layers and all(layer == PLAIN for layer in explicit):
            return PLAIN
        key = request.headers.get(CORRELATION_HEADER) or f"#{number}"
        return combine(explicit, layers, key, self.rng)

    def sequence_steering(
        self,
        own: Steering,
        form: Form,
        example: NamedExample | None,
        layers: tuple[RuntimeOverrides, ...],
        snapshot: Snapshot,
        number: int,
    ) -> Steering:
        """With sequences defined, the layers combined once unique_id is known. A call that
        asks for its own answer (an example or a fault) does not use up a step."""
        step = NO_STEP
        if example is None and own.fault is None:
            # werkzeug's headers are read by name only, as a mapping is.
            headers = cast("Mapping[str, str]", request.headers)
            step = sequence_step(self.ctx.state, snapshot, form.unique_id, headers)
        settings = latency_only(layers) if step.normal else layers
        return self.steer((own, step.steering), settings, number)

    def refusal_steering(self, number: int) -> Steering:
        """A call refused before its own orders were read: no fault, but the configured
        latency still delays the refusal."""
        delay = self.steer((PLAIN,), self.settings_now()[0], number).delay
        return PLAIN if delay is None else Steering(delay=delay)

    # -- the after-request hook ------------------------------------------------------------
    def finish(self, response: Response) -> Response:
        """Every call, answered or refused: the rest of a refused body read, the call
        journaled with its status (recorded answers are not), the answer handed over."""
        state = request_state()
        if not state.in_operation or state.failed:
            # The view never ran (e.g. an OPTIONS answer), or the app failed (a client gone
            # mid-body, a bug): answered at once, neither journaled, drained nor delayed.
            return response
        if state.refusal is ErrorKind.BODY_TOO_LARGE:
            state.close_connection = True  # the rest of the body is never read
        elif _body_left(state):
            _drain(self.ctx)
        steering = state.steering
        if steering is None:
            steering = state.steering = self.refusal_steering(state.call)
        if not state.replayed:
            # On the server front's loop the store may leave an ack for the front to wait
            # for instead of waiting here (mock_server/acks.py); elsewhere there is no list.
            self.ctx.state.record(_entry(self.ctx, response.status_code, state), request.environ.get(ACKS_KEY))
        return _hand_over(response, steering, self.rng)


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


def _trim(memory: OrderedDict[Any, Any], size: int) -> None:
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


def _http_fault(steering: Steering) -> Fault | None:
    """The fault when it is answered over HTTP at once (503, 429, 502, 504), else None."""
    fault = steering.fault
    return fault if fault is not None and not fault.socket_level else None


def _body_left(state: RequestState) -> bool:
    """Whether the body may still hold bytes the client is sending: the call was refused,
    or a fault answered it before the form was read."""
    return state.refusal is not None or state.form is None


def _drain(ctx: MockContext) -> None:
    """Read what is left of a refused body (bounded), so the client can read our answer
    instead of a connection reset; bodies over the limit are never read."""
    length = request.content_length
    if length is not None and length > ctx.settings.max_body_bytes:
        return
    stream = request.stream
    remaining = ctx.settings.max_body_bytes
    try:
        while remaining > 0:
            chunk = stream.read(min(DRAIN_CHUNK, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
    except ClientDisconnected:
        return  # a client that left has nothing more to send


def _fault_response(fault: Fault) -> Response:
    """The answer of an HTTP-level fault: what an overloaded server or a gateway sends."""
    answer = http_answer(fault)
    response = current_app.response_class(answer.body, status=answer.status, content_type=answer.content_type)
    for name, value in answer.headers:
        response.headers[name] = value
    return response


def _hand_over(response: Response, steering: Steering, rng: random.Random) -> Response:
    """Give the server layer the answer's delay and socket-level fault (outside it, sleep
    the delay; a socket fault is then only marked in the environ, for tests to see)."""
    if steering is PLAIN:
        return response
    fault = steering.fault
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


def _entry(ctx: MockContext, status: int, state: RequestState) -> JournalEntry:
    digests = {image.field: image.sha256 for image in state.checked}
    form = state.form
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
    fault = state.fault
    return JournalEntry(
        time=utc_timestamp(),
        method=request.method,
        path=request.path,
        status=status,
        correlation_id=state.correlation_id,
        example=state.example,
        unique_id=form.unique_id if form else None,
        parts=records,
        fault=fault.value if fault is not None else None,
    )
