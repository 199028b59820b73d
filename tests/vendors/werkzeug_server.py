"""Vendor B: a raw WSGI application on werkzeug (``Request``/``Response``, ``make_server``; no Flask).

A team that knows werkzeug and let it parse the form. Lenient where the upstream is silent:
- the token is checked first, then the whole form, then every image's size before any
  image's format (so a tiny image2 is reported before a text image1);
- the correlation id is echoed as sent (any length or characters); when none is sent, a
  fresh UUID is generated and returned;
- unknown form fields are ignored, ``unique_id`` may be any length, a repeated field keeps
  its first value; ``image1`` must be a file part (a plain field named image1 is 422);
- JSON answers say ``Content-Type: application/json; charset=utf-8``;
- ``prediction_confidence`` is null for a fake photo (the raw score is not disclosed);
- ``overall_confidence`` is the smallest of the active gates' confidences;
- a ``Server-Timing`` header on every answer.
File parts are kept in memory (werkzeug would spool large ones to a temporary file: photos
must never touch the disk). A crash (only a bug causes one) reaches werkzeug's own handler,
which answers with its HTML "Internal Server Error" page.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import threading
import time
import uuid
from typing import IO, Any

import jwt
from werkzeug.exceptions import HTTPException
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from . import photos
from .bug import CONFORMING, Answered, AuthFailure, Bug, FormField, Incoming, Reply
from .photos import PhotoError, Problem
from .verdicts import Liveness, judge_pair, judge_photo

OPERATION = "/advanced_facematch"
SALT = "vendor-b"
MIN_BYTES, MAX_BYTES = 1024, 10 * 1024 * 1024
JSON_TYPE = "application/json; charset=utf-8"

MESSAGES: dict[Problem, str] = {
    Problem.EMPTY: "Empty {field}",
    Problem.TOO_SMALL: "{field} is below the minimum size",
    Problem.TOO_LARGE: "{field} exceeds the maximum size",
    Problem.UNSUPPORTED: "Bad format for {field}",
    Problem.CORRUPT: "{field} is corrupt",
    Problem.TOO_MANY_PIXELS: "{field} has too many pixels",
    Problem.NO_FACE: "No face usable in {field}",
}


class InMemoryRequest(Request):
    """A werkzeug request whose file parts stay in memory and whose body is bounded."""

    max_content_length = 2 * MAX_BYTES + 512 * 1024
    max_form_memory_size = 1024 * 1024
    max_form_parts = 100

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        return io.BytesIO()


class Answer(Exception):
    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def _json(status: int, doc: Any) -> Reply:
    return Reply(status, (("Content-Type", JSON_TYPE),), json.dumps(doc).encode())


class VendorB:
    def __init__(self, secret: str, bug: Bug = CONFORMING) -> None:
        self.secret, self.bug = secret, bug
        self.counter = itertools.count(1)
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        started = time.perf_counter()
        request = InMemoryRequest(environ)
        with self.lock:
            number = next(self.counter)
        headers = {k.lower(): v for k, v in request.headers.items()}
        correlation = headers.get("x-correlation-id")
        # the raw body is only needed by hooks that look at it; werkzeug parses the form itself
        incoming = Incoming(request.method, request.path, headers, b"", number)
        front = self.bug.front(incoming)
        reply = front if front is not None else self.dispatch(request, incoming)
        if reply.header("X-Correlation-ID") is None and front is None:
            reply = reply.with_header("X-Correlation-ID", correlation or str(uuid.uuid4()))
        reply = reply.with_header("Server-Timing", f"app;dur={(time.perf_counter() - started) * 1000:.1f}")
        reply = self.bug.reply(incoming, reply)
        _drain(request)
        response = Response(reply.body, status=reply.status, headers=list(reply.headers))
        return response(environ, start_response)

    def dispatch(self, request: InMemoryRequest, incoming: Incoming) -> Reply:
        if request.path.rstrip("/") != OPERATION:
            return _json(404, {"msg": f"no route for {request.path}"})
        if request.method != "POST":
            return _json(405, {"msg": f"{request.method} is not allowed here"}).with_header("Allow", "POST")
        try:
            self.authenticate(request.headers.get("Authorization"))
            fields = self.bug.form(self.read_form(request))
            return self.answer(incoming, fields)
        except Answer as answer:
            return answer.reply
        except PhotoError as error:
            return _json(400, {"msg": MESSAGES[error.problem].format(field=error.field)})

    def authenticate(self, header: str | None) -> None:
        if self.bug.auth_bypass(header):
            return
        failure: AuthFailure | None = None
        if not header:
            failure = AuthFailure.MISSING
        elif not header.startswith("Bearer ") or not header[7:].strip():
            failure = AuthFailure.MALFORMED
        else:
            try:
                jwt.decode(
                    header[7:].strip(), self.secret, algorithms=["HS256"], options={"verify_exp": self.bug.verify_exp}
                )
            except jwt.ExpiredSignatureError:
                failure = AuthFailure.EXPIRED
            except jwt.InvalidSignatureError:
                failure = AuthFailure.BAD_SIGNATURE
            except jwt.InvalidTokenError:
                failure = AuthFailure.MALFORMED
        if failure is not None:
            text = {
                AuthFailure.MISSING: "Missing Authorization header",
                AuthFailure.MALFORMED: "Malformed token",
                AuthFailure.EXPIRED: "Token has expired",
                AuthFailure.BAD_SIGNATURE: "Invalid token",
            }[failure]
            raise Answer(self.bug.auth_reply(failure, _json(401, {"msg": text})))

    def read_form(self, request: InMemoryRequest) -> tuple[FormField, ...]:
        if request.mimetype != "multipart/form-data":
            raise Answer(
                _json(
                    422,
                    {
                        "detail": {"content_type": request.mimetype or None},
                        "message": "Body must be multipart/form-data",
                    },
                )
            )
        try:
            files, form = request.files, request.form
        except HTTPException as exc:  # 413 from the limits above, 400 from a broken body
            problem = "too large" if exc.code == 413 else "malformed"
            raise Answer(_json(400, {"msg": f"Request body {problem}"})) from None
        fields = [
            FormField(name, upload.filename, upload.stream.getvalue(), True) for name, upload in files.items(multi=True)
        ]
        fields += [FormField(name, None, value.encode("utf-8"), False) for name, value in form.items(multi=True)]
        return tuple(fields)

    def answer(self, incoming: Incoming, fields: tuple[FormField, ...]) -> Reply:
        first: dict[str, FormField] = {}
        for f in fields:
            first.setdefault(f.name, f)
        image1 = first.get("image1")
        if image1 is None or not image1.is_file:
            raise Answer(_json(422, {"detail": {"field": "image1"}, "message": "image1 file part is required"}))
        image2 = first.get("image2") if first.get("image2") is not None and first["image2"].is_file else None
        sent = [p for p in (image1, image2) if p is not None]
        for part in sent:
            problem = photos.size_problem(
                part.name, part.data, self.bug.min_bytes or MIN_BYTES, self.bug.max_bytes or MAX_BYTES
            )
            if problem:
                raise problem
        decoded = [photos.decode(p.name, p.data, p.filename, self.bug.tolerate_decode_errors) for p in sent]
        for image in decoded:
            self.bug.image(image)
            if not photos.has_face(image):
                raise PhotoError(image.field, Problem.NO_FACE)
        return self.render(incoming, decoded)

    def render(self, incoming: Incoming, decoded: list[Any]) -> Reply:
        def block(data: bytes) -> tuple[dict[str, Any], bool, float]:
            verdict = judge_photo(SALT, data)
            real = verdict.liveness is Liveness.REAL
            return (
                {
                    "input_provided": "True",
                    "result": verdict.liveness.value,
                    "confidence": verdict.score if real else 0,
                    "prediction_confidence": verdict.score if real else None,
                },
                real,
                verdict.score,
            )

        first, first_real, first_score = block(decoded[0].data)
        two = len(decoded) == 2
        if two:
            second, second_real, second_score = block(decoded[1].data)
            match = judge_pair(SALT, decoded[0].data, decoded[1].data)
            facematch = {"performed": "True", "result": str(match.matched), "confidence": match.score}
            ok = first_real and second_real and match.matched
            overall = min(first_score, second_score, match.score) if ok else 0
        else:
            second = {"input_provided": "False", "result": "N/A", "confidence": None, "prediction_confidence": None}
            facematch = {"performed": "False", "result": "N/A", "confidence": None}
            ok = first_real
            overall = first_score if ok else 0
        doc = {
            "image1": first,
            "image2": second,
            "image1_image2_facematch": facematch,
            "overall_result": str(ok),
            "overall_confidence": overall,
        }
        doc = self.bug.doc(Answered(incoming, two, doc))
        body = self.bug.encode(doc) if self.bug.encode else json.dumps(doc).encode()
        return Reply(200, (("Content-Type", JSON_TYPE),), body)


def _drain(request: InMemoryRequest) -> None:
    """Read what is left of the body (an early refusal did not parse it) so keep-alive stays in step."""
    try:
        while request.stream.read(64 * 1024):
            pass
    except (HTTPException, OSError, ValueError):
        pass


class Running:
    """One vendor B instance: werkzeug's threaded server in a daemon thread."""

    def __init__(self, secret: str, bug: Bug = CONFORMING, port: int = 0) -> None:
        logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
        self.server = make_server("127.0.0.1", port, VendorB(secret, bug), threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
