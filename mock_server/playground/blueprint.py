"""Routes of the Playground: the page, its assets and its configuration.

``/`` and ``/playground`` redirect to ``/playground/`` (the trailing slash lets the page use
relative links, so it works under ``--prefix`` too). The page is static; everything it needs
to know about this server comes from ``/playground/config.json``: the contract's named
examples, whether a development token may be filled in, the operation paths, the faults and
delay bounds a call may ask for (taken from ``mock_server.faults``, so the page's pickers and
its delay check follow the server) and the bulk naming rules (taken from
``facematch_bulk.archive``, so the browser's archive check applies the very rules the server
applies).

Every answer of this blueprint carries the same security headers. ``connect-src`` allows any
``http:``/``https:`` origin on purpose: the page may target another implementation's base
URL, and that server's own CORS policy decides whether the browser lets the page read the
answer. Scripts, styles, frames, forms and the base URL stay locked to this origin.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from flask import Blueprint, Response, current_app, redirect, request, send_from_directory, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from facematch_bulk import archive as bulk_rules
from facematch_contract.operation import CORRELATION_HEADER, DEV_JWT_SECRET, OPERATION_PATH
from facematch_contract.tokens import mint_token

from .. import __version__
from .. import faults as fault_rules
from ..config import Settings
from ..context import MockContext
from ..jsonbody import encode

STATIC_DIR = Path(__file__).resolve().parent / "static"
PAGE = "index.html"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "connect-src 'self' http: https:",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
#: Lifetime of the development token the page is given (a working day).
DEV_TOKEN_SECONDS = 12 * 3600
DEV_TOKEN_SUBJECT = "facematch-playground"


@dataclass(frozen=True)
class ExampleInfo:
    """A named example of the contract, as the scenario picker lists it."""

    name: str
    status: int
    summary: str


@dataclass(frozen=True)
class TokenInfo:
    """What the page may fill in for the token, or what it should tell the user to paste."""

    #: A development token, only while the server accepts one minted with the public secret.
    dev_token: str | None
    auth: str
    hint: str


@dataclass(frozen=True)
class BulkRules:
    """The naming rules and limits of bulk input archives (facematch_bulk.archive's values)."""

    submit_path: str
    image_roles: tuple[str, ...]
    unique_id_role: str
    image_extensions: tuple[str, ...]
    archive_extensions: tuple[str, ...]
    junk_parts: tuple[str, ...]
    junk_names: tuple[str, ...]
    #: The case-insensitive patterns of a flat name and of a name inside a case folder,
    #: in JavaScript syntax.
    flat_pattern: str
    folder_pattern: str
    max_archive_bytes: int
    max_entries: int
    max_entry_bytes: int
    max_total_bytes: int
    max_unique_id_bytes: int


@dataclass(frozen=True)
class FaultInfo:
    """A fault the Fault picker offers (``Prefer: fault=NAME``), in the page's words."""

    name: str
    #: Carried out on the socket (no HTTP answer, or a spoiled one) rather than answered.
    socket_level: bool
    #: For a timed fault (``hang``, ``slow``): its duration when no ``fault-ms`` is given.
    default_ms: int | None
    #: The picker's option text.
    label: str
    #: What happened, in plain words, as the answer panel says it.
    outcome: str


@dataclass(frozen=True)
class SteeringInfo:
    """What a single call may ask of the mock besides an example: faults and delays."""

    faults: tuple[FaultInfo, ...]
    #: The upper bound of every delay and every ``fault-ms``, in milliseconds.
    max_ms: int
    #: The delay forms, in the order the hint names them.
    delay_forms: tuple[str, ...]


#: The page's words for each fault: (option text, what happened). One entry per Fault;
#: tests/test_playground.py checks that none is missing.
FAULT_WORDS: dict[fault_rules.Fault, tuple[str, str]] = {
    fault_rules.Fault.UNAVAILABLE: (
        "503 Service Unavailable: JSON with Retry-After",
        "the server said it is unavailable for now; a client waits Retry-After seconds, then tries again",
    ),
    fault_rules.Fault.RATE_LIMITED: (
        "429 Too Many Requests: JSON with Retry-After",
        "the server said there were too many requests; a client waits Retry-After seconds, then tries again",
    ),
    fault_rules.Fault.BAD_GATEWAY: (
        "502 Bad Gateway: a gateway's HTML page",
        "a gateway in front of the API answered with its own HTML page, not the API's JSON",
    ),
    fault_rules.Fault.GATEWAY_TIMEOUT: (
        "504 Gateway Time-out: a gateway's HTML page",
        "a gateway in front of the API gave up waiting and answered with its own HTML page, not the API's JSON",
    ),
    fault_rules.Fault.RESET: (
        "reset: the connection is reset (TCP RST)",
        "the connection was reset before any answer came",
    ),
    fault_rules.Fault.EMPTY: (
        "empty: the connection is closed with no answer",
        "the connection was closed without an answer",
    ),
    fault_rules.Fault.TRUNCATED: (
        "truncated: the answer is cut off halfway",
        "the answer was cut off: the status and headers came, then the connection closed before the whole body",
    ),
    fault_rules.Fault.HANG: (
        "hang: no answer for fault-ms, then closed",
        "no answer came at all",
    ),
    fault_rules.Fault.SLOW: (
        "slow: the answer, its body sent bit by bit over fault-ms",
        "the answer came, its body sent bit by bit",
    ),
}
#: The timed faults and their durations when no ``fault-ms`` is given.
TIMED_FAULTS = {
    fault_rules.Fault.HANG: fault_rules.DEFAULT_HANG_MS,
    fault_rules.Fault.SLOW: fault_rules.DEFAULT_SLOW_MS,
}


def steering_info() -> SteeringInfo:
    faults = tuple(
        FaultInfo(
            name=fault.value,
            socket_level=fault.socket_level,
            default_ms=TIMED_FAULTS.get(fault),
            label=FAULT_WORDS[fault][0],
            outcome=FAULT_WORDS[fault][1],
        )
        for fault in fault_rules.Fault
    )
    return SteeringInfo(
        faults=faults, max_ms=fault_rules.MAX_DELAY_MS, delay_forms=("MS", "LOW-HIGH", "tail:MEDIAN-P99")
    )


@dataclass(frozen=True)
class PlaygroundConfig:
    version: str
    mode: str
    #: The mount point of this server (``--prefix``), "" at the root.
    script_root: str
    operation_paths: tuple[str, ...]
    correlation_header: str
    min_image_bytes: int
    max_image_bytes: int
    token: TokenInfo
    examples: tuple[ExampleInfo, ...]
    steering: SteeringInfo
    bulk: BulkRules


def dev_token_allowed(settings: Settings) -> bool:
    """Only a server that accepts any token, or the documented development secret."""
    return settings.auth == "any" or settings.jwt_secret == DEV_JWT_SECRET


def token_info(settings: Settings) -> TokenInfo:
    if settings.auth == "any":
        hint = "This server accepts any non-empty bearer token."
    elif dev_token_allowed(settings):
        hint = "A development token signed with the documented development secret is filled in."
    else:
        hint = (
            "This server verifies tokens with its own secret: paste a token made with "
            "`facematch token --jwt-secret YOUR_SECRET`."
        )
    token = (
        mint_token(DEV_JWT_SECRET, subject=DEV_TOKEN_SUBJECT, expires_in=DEV_TOKEN_SECONDS)
        if dev_token_allowed(settings)
        else None
    )
    return TokenInfo(dev_token=token, auth=settings.auth, hint=hint)


def bulk_rules_info(submit_path: str) -> BulkRules:
    limits = bulk_rules.ArchiveLimits()
    return BulkRules(
        submit_path=submit_path,
        image_roles=bulk_rules.IMAGE_ROLES,
        unique_id_role=bulk_rules.UNIQUE_ID_ROLE,
        image_extensions=bulk_rules.IMAGE_EXTENSIONS,
        archive_extensions=bulk_rules.ARCHIVE_EXTENSIONS,
        junk_parts=bulk_rules.JUNK_PARTS,
        junk_names=bulk_rules.JUNK_NAMES,
        flat_pattern=_javascript_pattern(bulk_rules.FLAT_NAME.pattern),
        folder_pattern=_javascript_pattern(bulk_rules.FOLDER_NAME.pattern),
        max_archive_bytes=limits.max_archive_bytes,
        max_entries=limits.max_entries,
        max_entry_bytes=limits.max_entry_bytes,
        max_total_bytes=limits.max_total_bytes,
        max_unique_id_bytes=bulk_rules.MAX_UNIQUE_ID_BYTES,
    )


def _javascript_pattern(pattern: str) -> str:
    """Python's named groups ``(?P<x>...)`` are ``(?<x>...)`` in JavaScript."""
    return pattern.replace("(?P<", "(?<")


def _to_page() -> WerkzeugResponse:
    return redirect(f"{request.script_root}/playground/", code=302)


def _static_file(name: str) -> Response:
    """A file of the page, revalidated on every load (the page and the server change together)."""
    response = send_from_directory(STATIC_DIR, name, max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


def create_playground_blueprint(ctx: MockContext) -> Blueprint:
    blueprint = Blueprint("playground", __name__)
    settings = ctx.settings
    examples = tuple(ExampleInfo(ex.name, ex.status, ex.summary) for ex in ctx.contract.examples.values())
    operation_paths = tuple(prefix + OPERATION_PATH for prefix in ctx.contract.server_prefixes)
    steering = steering_info()

    @blueprint.after_request
    def secure(response: Response) -> Response:
        response.headers.update(SECURITY_HEADERS)
        return response

    @blueprint.get("/")
    def root() -> WerkzeugResponse:
        return _to_page()

    @blueprint.get("/playground/")
    def page() -> WerkzeugResponse:
        if not request.path.endswith("/"):  # the url map matches /playground as well
            return _to_page()
        return _static_file(PAGE)

    @blueprint.get("/playground/static/<path:name>")
    def asset(name: str) -> Response:
        return _static_file(name)

    @blueprint.get("/playground/config.json")
    def config() -> Response:
        body = PlaygroundConfig(
            version=__version__,
            mode=settings.mode,
            script_root=request.script_root,
            operation_paths=operation_paths,
            correlation_header=CORRELATION_HEADER,
            min_image_bytes=settings.min_image_bytes,
            max_image_bytes=settings.max_image_bytes,
            token=token_info(settings),
            examples=examples,
            steering=steering,
            bulk=bulk_rules_info(url_for("bulk.submit")[len(request.script_root) :]),
        )
        response = current_app.response_class(encode(asdict(body)), mimetype="application/json")
        response.headers["Cache-Control"] = "no-store"  # it may hold a token
        return response

    return blueprint
