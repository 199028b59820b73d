"""The app factory: configuration in, a Flask app out. No import-time side effects.

Also the app-wide request hooks: the request's typed state created first (with the
correlation id) and the correlation id echoed last; and the one error path: every view
raises, and the handlers here render every refusal as JSON from the error table, noting it
in the request's state for the hooks that run after (the operation's journal and drain).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from facematch_contract.operation import CORRELATION_HEADER

from .api import create_api_blueprint
from .auth import Authenticator
from .bulk.blueprint import create_bulk_blueprint
from .config import Settings
from .context import MockContext
from .control import create_control_blueprint
from .cors import install_cors
from .engines import Engine
from .errors import ApiError, ErrorKind
from .fixtures import FixtureIndex
from .images import ImageChecker, ImageLimits
from .meta import create_meta_blueprint
from .playground.blueprint import create_playground_blueprint
from .request_state import begin_request, request_state
from .spec import Contract
from .state import StoreUnavailable, open_store

log = logging.getLogger("facematch")
#: The key of the app's MockContext in ``app.extensions`` (read through :func:`mock_context`).
EXTENSION = "facematch_mock"
JSON = "application/json"


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings()
    contract = Contract(settings.spec_path)
    fixtures = FixtureIndex.load(settings.fixtures_dir)
    ctx = MockContext(
        settings=settings,
        contract=contract,
        auth=Authenticator(settings.auth, settings.jwt_secret, require_exp=settings.require_exp),
        images=ImageChecker(
            ImageLimits(
                settings.min_image_bytes,
                settings.max_image_bytes,
                settings.max_image_pixels,
                max_scans=settings.max_image_scans,
                decode_memory_bytes=settings.decode_memory_bytes,
                decode_seconds=settings.decode_seconds,
            )
        ),
        engine=build_engine(settings, fixtures),
        fixtures=fixtures,
        state=open_store(
            settings.state_url,
            settings.state_dir or (settings.journal_path.parent if settings.journal_path else None),
            journal=settings.journal_path is not None,
            journal_limit=settings.journal_limit,
            journal_max_bytes=settings.journal_max_bytes,
            examples=list(contract.examples),
        ),
    )
    if settings.sequences:
        try:
            ctx.state.define(settings.sequences)
        except StoreUnavailable as error:
            log.warning("%s: the --sequences definitions will be written when it answers", error)
    app = Flask(__name__)
    app.extensions[EXTENSION] = ctx
    app.url_map.strict_slashes = False
    if settings.strict:
        from .strict import install_strict

        # Installed first so that its after-request check runs last (Flask runs them in
        # reverse order) and sees the response exactly as it leaves, headers included.
        install_strict(app, contract)
    install_request_state(app, contract)
    install_cors(app, settings.cors_origins, admin=settings.admin_cors)
    app.register_blueprint(create_api_blueprint(ctx))
    app.register_blueprint(create_meta_blueprint(ctx))
    app.register_blueprint(create_control_blueprint(ctx))
    app.register_blueprint(create_bulk_blueprint(ctx))
    app.register_blueprint(create_playground_blueprint(ctx))
    install_error_handlers(app)
    if settings.prefix:
        # Wrapping wsgi_app is how Flask documents WSGI middleware; mypy sees a method replaced.
        app.wsgi_app = PrefixMiddleware(app.wsgi_app, settings.prefix)  # type: ignore[method-assign]
    return app


def mock_context(app: Flask) -> MockContext:
    """What the app was built with (for the server layer, e.g. the token check of
    ``Expect: 100-continue``)."""
    ctx = app.extensions[EXTENSION]
    if not isinstance(ctx, MockContext):
        raise TypeError("not an app made by mock_server.app.create_app")
    return ctx


def build_engine(settings: Settings, fixtures: FixtureIndex) -> Engine:
    if settings.mode == "real":
        from .engines.real import RealEngine  # heavy imports only in real mode

        return RealEngine(settings.real)
    from .engines.canned import CannedEngine

    return CannedEngine(fixtures)


def install_request_state(app: Flask, contract: Contract) -> None:
    """The request's state made first (every later hook and view reads it), with the
    client's correlation id when it is valid (else a fresh one; the operation answers 422);
    the id echoed on every answer, errors included (HDR-1)."""
    header = next((param for param in contract.headers if param.name == CORRELATION_HEADER), None)

    @app.before_request
    def take_correlation_id() -> None:
        value = request.headers.get(CORRELATION_HEADER)
        problem = header.check(value) if (header and value is not None) else None
        begin_request(value if value and not problem else uuid.uuid4().hex, problem)

    @app.after_request
    def echo_correlation_id(response: Response) -> Response:
        state = request_state()
        response.headers[CORRELATION_HEADER] = state.correlation_id
        if state.close_connection:
            response.headers["Connection"] = "close"
        if response.status_code == 204:
            response.headers.pop("Content-Type", None)  # no body, so no media type
        return response


def install_error_handlers(app: Flask) -> None:
    """The one error path: each handler turns what was raised into an ApiError of the table
    and :func:`render` answers it. A refusal (an ApiError, an unknown path or method) is
    noted in the request's state by its kind; a failure (werkzeug's own refusal, or an
    unexpected exception) as such, so the operation's hook leaves it alone, as ever."""

    def render(error: ApiError, status: int | None = None) -> Response:
        return app.response_class(error.body_bytes(), status=status or error.status, mimetype=JSON)

    def refuse(error: ApiError) -> Response:
        request_state().refusal = error.kind
        return render(error)

    def fail(status: int | None = None) -> Response:
        request_state().failed = True
        return render(ApiError(ErrorKind.INTERNAL), status)

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        return refuse(error)

    @app.errorhandler(NotFound)
    def not_found(_: NotFound) -> Response:
        return refuse(ApiError(ErrorKind.NOT_FOUND, {"path": request.path}))

    @app.errorhandler(MethodNotAllowed)
    def not_allowed(error: MethodNotAllowed) -> Response:
        response = refuse(ApiError(ErrorKind.METHOD_NOT_ALLOWED, {"method": request.method}))
        if error.valid_methods:  # RFC 9110: a 405 lists what the resource does allow
            response.headers["Allow"] = ", ".join(sorted(error.valid_methods))
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        # Werkzeug's own refusals (e.g. a malformed request line or body): JSON, never HTML,
        # with werkzeug's 4xx status (a 5xx would break ERR-4: 400 instead).
        status = error.code or 400
        return fail(400 if status >= 500 else status)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        # ERR-4: never a 5xx or a traceback to the client; the server log keeps the details
        # (no request bodies are ever logged).
        log.exception("unexpected error while handling %s %s", request.method, request.path)
        return fail()


class PrefixMiddleware:
    """Serves every route under an extra mount prefix as well as at the root."""

    def __init__(self, wsgi_app: Any, prefix: str) -> None:
        self.wsgi_app = wsgi_app
        self.prefix = "/" + prefix.strip("/")

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == self.prefix or path.startswith(self.prefix + "/"):
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + self.prefix
            environ["PATH_INFO"] = path[len(self.prefix) :] or "/"
        return self.wsgi_app(environ, start_response)
