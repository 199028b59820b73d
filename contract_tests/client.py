"""Sends the kit's requests to an implementation and records each exchange."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeAlias

import requests

from facematch_contract.operation import CORRELATION_HEADER, OPERATION_PATH
from facematch_contract.rules import Exchange, Part

from .kit_request import USE_TOKEN, KitRequest
from .problems import KitError, KitProblem, ProblemKind
from .recorder import Record, Recorder

#: One multipart part as requests takes it: (filename, content) or (filename, content, content type).
FilePart: TypeAlias = tuple[str | None, bytes | str] | tuple[str | None, bytes | str, str]


@dataclass(frozen=True)
class Target:
    """Where the implementation is and how to authenticate to it."""

    base_url: str
    token: str
    timeout: float = 60.0

    @property
    def operation_url(self) -> str:
        return self.base_url.rstrip("/") + OPERATION_PATH


class Client:
    def __init__(self, target: Target, recorder: Recorder) -> None:
        self.target = target
        self.recorder = recorder
        self.session = requests.Session()

    def send(self, request: KitRequest, test: str) -> Record:
        """Send one request, check it against every rule, record and return the result."""
        headers = dict(request.headers)
        if request.authorization == USE_TOKEN:
            headers["Authorization"] = f"Bearer {self.target.token}"
        elif request.authorization is not None:
            headers["Authorization"] = request.authorization
        if request.correlation_id is not None:
            headers[CORRELATION_HEADER] = request.correlation_id
        with reaching(self.target.operation_url, self.recorder, request.describe(), self.target.timeout):
            if request.raw_body is not None:
                if request.raw_content_type:
                    headers["Content-Type"] = request.raw_content_type
                response = self.session.post(
                    self.target.operation_url, data=request.raw_body, headers=headers, timeout=self.target.timeout
                )
            else:
                # A part without a content type goes as a pair: requests writes no Content-Type for it.
                files: list[tuple[str, FilePart]] = [
                    (u.name, (u.filename, u.data) if u.content_type is None else (u.filename, u.data, u.content_type))
                    for u in request.uploads
                ]
                files += [(name, (None, value)) for name, value in request.fields]
                response = self.session.post(
                    self.target.operation_url, files=files or None, headers=headers, timeout=self.target.timeout
                )
        exchange = Exchange(
            method="POST",
            url=response.request.url or self.target.operation_url,
            request_headers=dict(response.request.headers),
            parts=summarise(request),
            sent_image2=request.sends_image2 and not (request.image2_either_way and _answered_one_photo(response)),
            sent_correlation_id=request.correlation_id,
            status=response.status_code,
            response_headers=dict(response.headers),
            body=response.content,
            fate=request.fate,
            raw_content_type=request.raw_content_type if request.raw_body is not None else None,
        )
        return self.recorder.add(test, request, exchange)


@contextmanager
def reaching(url: str, recorder: Recorder, about: str, timeout: float) -> Iterator[None]:
    """Turn a transport failure into a recorded :class:`KitProblem` (verdict ERROR) and a KitError."""
    try:
        yield
    except requests.Timeout as error:
        problem = KitProblem(ProblemKind.TIMEOUT, f"{url} did not answer within {timeout:.0f} s ({about})")
        recorder.add_problem(problem)
        raise KitError(problem.message) from error
    except requests.ConnectionError as error:
        problem = unreachable(url, error, about)
        recorder.add_problem(problem)
        raise KitError(problem.message) from error


def unreachable(url: str, error: BaseException, about: str = "") -> KitProblem:
    if "Connection aborted" in str(error) or "RemoteDisconnected" in str(error):
        return KitProblem(
            ProblemKind.UNREACHABLE, f"{url} closed the connection without an answer" + (f" ({about})" if about else "")
        )
    found = re.search(
        r"\[Errno -?\d+\] [^'\")]+|Name or service not known|Connection refused|Connection reset[^'\")]*", str(error)
    )
    reason = found.group(0) if found else (str(error)[:200] or type(error).__name__)
    return KitProblem(ProblemKind.UNREACHABLE, f"could not connect to {url}: {reason}")


def _answered_one_photo(response: requests.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    image2 = body.get("image2") if isinstance(body, dict) else None
    return response.status_code == 200 and isinstance(image2, dict) and image2.get("input_provided") == "False"


def summarise(request: KitRequest) -> tuple[Part, ...]:
    if request.raw_body is not None:
        return ()
    parts = [Part(u.name, u.filename, len(u.data), u.content_type) for u in request.uploads]
    parts += [Part(name, None, len(value.encode()), None, value) for name, value in request.fields]
    return tuple(parts)
