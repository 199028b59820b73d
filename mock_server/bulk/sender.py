"""The sender of the mock's bulk jobs: each case handed to this server's own app in process.

A job's cases are the same multipart requests ``facematch bulk`` sends
(:func:`facematch_bulk.runner.case_request`), given to the app's WSGI callable in the
runner's thread instead of a socket: every layer of the app runs on them as on any request
(correlation id, the operation with its limits, strict checks, the journal, the error
handlers), so the answers are byte for byte the ones the same request gets over HTTP.

No token is minted: the environ carries the in-process mark (``auth.mark_in_process``) that
only this process's code can set, and the operation accepts it in place of a token.

Threads: the runner calls :meth:`InProcessSender.send` from its pool threads, alongside the
worker's event loop. They share only what the app's request path already shares between
its threads (the answer and image caches, the journal, each behind its own lock or safe for
concurrent use); nothing here touches the event loop or its connections. A gate shared by
all the jobs of one worker bounds how many cases are inside the app at once (each holds
its request body and the app's copy of its parts), whatever the number of jobs.
"""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Callable
from typing import Any

from facematch_bulk.archive import Case
from facematch_bulk.runner import Reply, case_request
from facematch_contract.operation import OPERATION_PATH

from ..auth import mark_in_process
from ..http_front import run_wsgi

#: A WSGI application, as ``run_wsgi`` calls it.
WsgiApp = Callable[..., Any]
#: The origin the prepared request is built against (never contacted).
IN_PROCESS_ORIGIN = "http://in-process.invalid"
#: What summary.json records as the target of a server job.
IN_PROCESS_TARGET = f"in process: POST {OPERATION_PATH}"
#: Cases inside the app at once, all jobs of one worker together (the runner's default
#: concurrency: one job at full speed).
MAX_IN_APP = 8


def in_app_gate() -> threading.BoundedSemaphore:
    """The gate one worker's jobs share (see MAX_IN_APP)."""
    return threading.BoundedSemaphore(MAX_IN_APP)


class InProcessSender:
    """Sends a case to ``app``'s operation without a socket; never raises SendFailed (there
    is no delivery to fail), and an app failure is the app's own JSON 400 (``run_wsgi``)."""

    def __init__(self, app: WsgiApp, gate: threading.BoundedSemaphore, path: str = OPERATION_PATH) -> None:
        self.app = app
        self.gate = gate
        self.path = path

    def send(self, case: Case, image1: bytes, image2: bytes | None) -> Reply:
        prepared = case_request(IN_PROCESS_ORIGIN + self.path, case, image1, image2, {}).prepare()
        body = prepared.body if isinstance(prepared.body, bytes) else b""
        environ = _environ(self.path, dict(prepared.headers), body)
        with self.gate:
            answer = run_wsgi(self.app, environ)
        content_type = next(
            (value.decode("latin-1") for name, value in answer.headers if name.lower() == b"content-type"), ""
        )
        return Reply(answer.status, answer.body, content_type)


def _environ(path: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """The WSGI environ of a POST of ``body`` to ``path``, marked as made in process."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "0",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ[key] = value
        elif key != "CONTENT_LENGTH":
            environ["HTTP_" + key] = value
    mark_in_process(environ)
    return environ
