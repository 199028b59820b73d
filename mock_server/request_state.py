"""One request's state, as one typed object that every hook and view of the request shares.

Flask's ``g`` takes any attribute, so a misspelt or mistyped fact left there by one module for
another is found by a client, not by the type checker. Every fact that crosses modules on
the request path lives here instead: the correlation id (app.py), what the operation read,
answered and was steered to (api.py), whether the request was refused (the app's error
handlers), whether the connection closes after the answer (api.py, bulk/upload.py). The
app's first before-request hook creates it (:func:`begin_request`); everything else reaches
it through :func:`request_state`, so mypy checks every read.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import g

from .domain import CheckedImage
from .errors import ErrorKind
from .faults import Fault
from .form import Form
from .steering import Steering

#: The one attribute of ``g`` this module owns.
_KEY = "facematch_request"


@dataclass(slots=True)
class RequestState:
    #: The X-Correlation-ID echoed on the answer: the client's, or a fresh one.
    correlation_id: str
    #: Why the client's X-Correlation-ID was refused (the operation answers 422); None when fine or absent.
    correlation_problem: str | None = None
    #: The operation's call number (from 1); 0 while the request has not reached the operation.
    call: int = 0
    #: The operation's form, once read and checked.
    form: Form | None = None
    #: The images the operation checked, in order (a refused image2 leaves image1 alone here).
    checked: tuple[CheckedImage, ...] = ()
    #: The named example the operation answered with.
    example: str | None = None
    #: The operation's orders (fault, delay, example) once decided.
    steering: Steering | None = None
    #: The answer is a recorded one (``serve --replay``): the vendor's, so not journaled.
    replayed: bool = False
    #: The kind of error the request was refused with (an ApiError, an unknown path or method).
    refusal: ErrorKind | None = None
    #: The app failed (an unexpected exception, or werkzeug's own refusal): answered at once.
    failed: bool = False
    #: The connection closes after the answer (the rest of the body is never read).
    close_connection: bool = False

    @property
    def in_operation(self) -> bool:
        """Whether the request is a call of the operation (its view has begun)."""
        return self.call > 0

    @property
    def fault(self) -> Fault | None:
        """The fault the operation carries out for this request, if any."""
        return self.steering.fault if self.steering is not None else None


def begin_request(correlation_id: str, correlation_problem: str | None) -> RequestState:
    """Create the request's state (the app's first before-request hook)."""
    state = RequestState(correlation_id, correlation_problem)
    setattr(g, _KEY, state)
    return state


def request_state() -> RequestState:
    """The current request's state. Should a hook registered before the app's own have
    failed, a state is made here, with a fresh correlation id, so answers keep their headers."""
    state = g.get(_KEY)
    if isinstance(state, RequestState):
        return state
    return begin_request(uuid.uuid4().hex, None)
