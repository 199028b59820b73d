"""The runtime admin API under ``/__mock/`` (tag ``mock`` in openapi.yaml): the request
journal and its queries, the runtime overrides and the sequences.

Every route is an admin route (:func:`mock_server.admin.admin_route`: Host allow-list,
optional admin token, no CORS by default). Refusals are JSON in the contract's shapes: 422
``{"detail", "message"}`` for a bad query or body, 404 and 503 ``{"msg"}`` for an unknown
sequence and a store that cannot be reached.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app, request
from openapi_schema_validator import OAS30Validator

from .admin import AdminPolicy, admin_route
from .context import MockContext
from .errors import ApiError, ErrorKind
from .jsonbody import encode
from .meta import JOURNAL_PATH, LIMIT, journal_limit_bounds, parse_limit
from .runtime import RuntimeOverrides
from .sequences import MAX_KEY_LENGTH, NAME_PATTERN, SequenceError, parse_sequence
from .state import JournalQuery, StoreUnavailable, UnknownSequence

#: An admin route's JSON body, at most.
MAX_BODY_BYTES = 64 * 1024
#: The journal's filters and the longest value each takes.
FILTERS = {"path": 200, "status": 3, "unique_id": 128, "fixture": 255, "correlation_id": 128, "image2": 5}
SETTINGS_FIELDS = ("default_scenario", "latency", "faults")
#: Fault names one policy may list (repeats weigh a fault).
MAX_FAULT_NAMES = 32


def create_control_blueprint(ctx: MockContext) -> Blueprint:
    blueprint = Blueprint("control", __name__)
    admin = admin_route(AdminPolicy(ctx.settings.allowed_hosts, ctx.settings.admin_token))
    control = Control(ctx)
    for rule, methods, name in ROUTES:
        view = getattr(control, name)
        blueprint.add_url_rule(rule, name, admin(store_errors(view)), methods=list(methods))
    return blueprint


#: Every admin route: its rule, methods and the :class:`Control` method (also the endpoint's name).
ROUTES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (JOURNAL_PATH, ("GET",), "list_requests"),
    (JOURNAL_PATH + "/count", ("GET",), "count_requests"),
    (JOURNAL_PATH, ("DELETE",), "clear_requests"),
    ("/__mock/settings", ("GET",), "get_settings"),
    ("/__mock/settings", ("PUT", "PATCH"), "put_settings"),
    ("/__mock/settings", ("DELETE",), "clear_settings"),
    ("/__mock/sequences", ("GET",), "list_sequences"),
    ("/__mock/sequences", ("DELETE",), "remove_sequences"),
    ("/__mock/sequences/<name>", ("GET",), "get_sequence"),
    ("/__mock/sequences/<name>", ("PUT",), "put_sequence"),
    ("/__mock/sequences/<name>", ("DELETE",), "remove_sequence"),
    ("/__mock/positions", ("DELETE",), "reset_sequences"),
)


def store_errors(view: Callable[..., Response]) -> Callable[..., Response]:
    """The store's refusals as the admin API's: 503 when it cannot be reached, 404 for an
    unknown sequence."""

    @wraps(view)
    def reachable(*args: Any, **kwargs: Any) -> Response:
        try:
            return view(*args, **kwargs)
        except StoreUnavailable as error:
            raise ApiError(ErrorKind.STATE_UNAVAILABLE, {"reason": str(error)}) from None
        except UnknownSequence as error:
            raise ApiError(ErrorKind.UNKNOWN_SEQUENCE, {"name": error.args[0]}) from None

    return reachable


class Control:
    """The admin API's views, with what they read once at start-up (the journal's limit
    bounds, the example names, the two body schemas)."""

    def __init__(self, ctx: MockContext) -> None:
        self.ctx = ctx
        self.limits = journal_limit_bounds(ctx)
        self.examples = list(ctx.contract.examples)
        schemas = ctx.contract.document["components"]["schemas"]
        self.settings_schema = OAS30Validator(ctx.contract.deep_resolve(schemas["RuntimeSettings"]))
        self.sequence_schema = OAS30Validator(ctx.contract.deep_resolve(schemas["SequenceDefinition"]))

    # -- the journal
    def list_requests(self) -> Response:
        query = journal_query(allowed=(LIMIT,))
        low, high, default = self.limits
        limit = min(parse_limit(request.args.get(LIMIT), low, high, default), self.ctx.settings.journal_limit)
        page = self.ctx.state.requests(query, limit)
        return json_response({"requests": [entry.as_dict() for entry in page.entries], "dropped": page.dropped})

    def count_requests(self) -> Response:
        return json_response({"count": self.ctx.state.count(journal_query())})

    def clear_requests(self) -> Response:
        self.ctx.state.clear_requests()
        return current_app.response_class(status=204)

    # -- runtime overrides
    def get_settings(self) -> Response:
        return json_response(public(self.ctx.state.current().overrides))

    def put_settings(self) -> Response:
        body = json_body()
        if not isinstance(body, dict):
            raise invalid("settings must be a JSON object")
        unknown = sorted(set(body) - set(SETTINGS_FIELDS))
        if unknown:
            raise invalid(f"unknown setting {', '.join(unknown)[:100]}: use {', '.join(SETTINGS_FIELDS)}")
        conforming(self.settings_schema, body, "settings")
        merged = body
        if request.method == "PATCH":
            merged = {**public(self.ctx.state.current().overrides), **body}
        overrides = self.overrides_from(merged)
        self.ctx.state.set_overrides(overrides)
        return json_response(public(overrides))

    def overrides_from(self, merged: dict[str, Any]) -> RuntimeOverrides:
        """The settings a PUT or PATCH leads to, checked beyond their schema."""
        faults = merged.get("faults")
        if faults is not None and (
            not isinstance(faults, dict)
            or set(faults) - {"rate", "faults", "seed"}
            or not faults.get("faults")
            or len(faults["faults"]) > MAX_FAULT_NAMES
        ):
            raise invalid('faults must be {"rate": 0..1, "faults": [NAME, ...], "seed": N|null} or null')
        latency = merged.get("latency")
        if latency is not None and not isinstance(latency, str):
            raise invalid("latency must be a string: MS, LOW-HIGH or tail:MEDIAN-P99, or null")
        if isinstance(latency, str):
            merged = {**merged, "latency": ordered_range(latency)}
        try:
            overrides = RuntimeOverrides.from_json(merged)
        except ValueError as error:
            raise invalid(str(error)) from None
        scenario = overrides.default_scenario
        if scenario is not None and scenario not in self.ctx.contract.examples:
            raise ApiError(
                ErrorKind.INVALID_BODY,
                {"reason": f"unknown example {scenario[:70]!r} for default_scenario: see detail.available"},
                extra={"available": sorted(self.ctx.contract.examples)},
            )
        return overrides

    def clear_settings(self) -> Response:
        self.ctx.state.set_overrides(RuntimeOverrides())
        return current_app.response_class(status=204)

    # -- sequences
    def described(self, name: str | None = None) -> list[dict[str, object]]:
        state = self.ctx.state
        sequences = state.current().sequences
        if name is not None:
            sequences = tuple(sequence for sequence in sequences if sequence.name == name)
            if not sequences:
                raise UnknownSequence(name)
        return [{**sequence.to_json(), "positions": state.positions(sequence.name)} for sequence in sequences]

    def list_sequences(self) -> Response:
        return json_response({"sequences": self.described()})

    def remove_sequences(self) -> Response:
        self.ctx.state.remove(None)
        return current_app.response_class(status=204)

    def get_sequence(self, name: str) -> Response:
        return json_response(self.described(checked_name(name))[0])

    def put_sequence(self, name: str) -> Response:
        body = json_body()
        if isinstance(body, dict) and "name" in body:
            raise invalid("the URL names the sequence: leave name out of the body")
        if isinstance(body, dict):
            conforming(self.sequence_schema, body, "sequence")
        try:
            sequence = parse_sequence(body, self.examples, name=checked_name(name))
            self.ctx.state.define([sequence])
        except SequenceError as error:
            raise invalid(str(error)) from None
        return json_response(self.described(sequence.name)[0])

    def remove_sequence(self, name: str) -> Response:
        self.ctx.state.remove(checked_name(name))
        return current_app.response_class(status=204)

    def reset_sequences(self) -> Response:
        extra = sorted(set(request.args) - {"sequence", "key"})
        if extra:
            raise ApiError(ErrorKind.INVALID_QUERY, {"field": extra[0][:50], "reason": "unknown; use sequence, key"})
        name = request.args.get("sequence")
        key = request.args.get("key")
        if key is not None and not 0 < len(key) <= MAX_KEY_LENGTH:
            reason = f"must be 1-{MAX_KEY_LENGTH} characters"
            raise ApiError(ErrorKind.INVALID_QUERY, {"field": "key", "reason": reason})
        if name is not None:
            self.described(checked_name(name))  # 404 when unknown
        return json_response({"reset": self.ctx.state.reset(name, key)})


def json_response(data: object, status: int = 200) -> Response:
    return current_app.response_class(encode(data), status=status, mimetype="application/json")


def public(overrides: RuntimeOverrides) -> dict[str, object]:
    shown = overrides.to_json()
    return {name: shown[name] for name in SETTINGS_FIELDS}


def ordered_range(latency: str) -> str:
    """``400-100`` is read as ``100-400`` (the same range, high bound first)."""
    prefix = "tail:" if latency.startswith("tail:") else ""
    low, sep, high = latency[len(prefix) :].partition("-")
    if sep and low.isdigit() and high.isdigit() and int(low) > int(high):
        return f"{prefix}{high}-{low}"
    return latency


def conforming(validator: OAS30Validator, body: object, what: str) -> None:
    """422 naming the first place where ``body`` breaks its schema in openapi.yaml."""
    error = next(iter(validator.iter_errors(body)), None)
    if error is not None:
        where = "/".join(str(step) for step in error.absolute_path) or "the body"
        raise invalid(f"{what} {where}: {error.message[:200]}")


def invalid(reason: str) -> ApiError:
    return ApiError(ErrorKind.INVALID_BODY, {"reason": reason})


def checked_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise ApiError(ErrorKind.INVALID_QUERY, {"field": "name", "reason": "1-64 letters, digits, '_', '.' or '-'"})
    return name


def json_body() -> object:
    """The request's JSON body, at most MAX_BODY_BYTES (read bounded, whatever it declares)."""
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        raise invalid(f"over {MAX_BODY_BYTES // 1024} KiB")
    data = request.stream.read(MAX_BODY_BYTES + 1)
    if len(data) > MAX_BODY_BYTES:
        raise invalid(f"over {MAX_BODY_BYTES // 1024} KiB")
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise invalid("not JSON") from None


def journal_query(allowed: tuple[str, ...] = ()) -> JournalQuery:
    """The journal's filters from the query string; unknown names and bad values are 422
    (a typo must not silently count every request)."""
    args = request.args
    for name in args:
        if name not in FILTERS and name not in allowed:
            raise ApiError(
                ErrorKind.INVALID_QUERY, {"field": name[:50], "reason": f"unknown; use {', '.join(FILTERS)}"}
            )
    for name, longest in FILTERS.items():
        value = args.get(name)
        if value is not None and not 0 < len(value) <= longest:
            raise ApiError(ErrorKind.INVALID_QUERY, {"field": name, "reason": f"must be 1-{longest} characters"})
    status = args.get("status")
    if status is not None and not (status.isascii() and status.isdigit() and 100 <= int(status) <= 599):
        raise ApiError(ErrorKind.INVALID_QUERY, {"field": "status", "reason": "must be an HTTP status, 100..599"})
    image2 = args.get("image2")
    if image2 is not None and image2 not in ("true", "false"):
        raise ApiError(ErrorKind.INVALID_QUERY, {"field": "image2", "reason": "must be true or false"})
    return JournalQuery(
        path=args.get("path"),
        status=int(status) if status is not None else None,
        unique_id=args.get("unique_id"),
        fixture=args.get("fixture"),
        correlation_id=args.get("correlation_id"),
        image2=None if image2 is None else image2 == "true",
    )
