"""Sending real multipart requests to a live server, or to the app in this process through
its test client, with the checks every answer must pass."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests
import requests.adapters
import requests.utils
from flask import Flask

from facematch_contract.operation import OPERATION_PATH as OPERATION


def post(
    base_url: str,
    files: dict[str, Any] | list[tuple[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    path: str = OPERATION,
    **kwargs: Any,
) -> requests.Response:
    """POST to the operation and check what holds for every answer (ERR-4, HDR-1, strict)."""
    response = http(base_url + path).post(base_url + path, files=files, headers=headers or {}, timeout=60, **kwargs)
    assert response.status_code < 500, response.text
    assert response.headers["Content-Type"] == "application/json", response.headers
    assert response.headers.get("X-Correlation-ID"), "HDR-1: no correlation id on the response"
    assert "X-Contract-Violation" not in response.headers, response.headers["X-Contract-Violation"]
    return response


def image_files(image1: bytes | None, image2: bytes | None = None, **text: str) -> list[tuple[str, Any]]:
    files: list[tuple[str, Any]] = []
    if image1 is not None:
        files.append(("image1", ("image1.jpg", image1, "image/jpeg")))
    if image2 is not None:
        files.append(("image2", ("image2.jpg", image2, "image/jpeg")))
    files.extend((name, (None, value)) for name, value in text.items())
    return files


class InProcessAdapter(requests.adapters.BaseAdapter):
    """Sends a prepared request to a Flask app through its test client: the same request
    line, headers and body bytes that requests would put on the wire, without a socket or
    the server layer (gunicorn and mock_server/http_front.py)."""

    def __init__(self, app: Flask) -> None:
        super().__init__()
        self.client = app.test_client()

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        url = urlsplit(request.url or "")
        body = request.body or b""
        answer = self.client.open(
            url.path or "/",
            base_url=f"{url.scheme}://{url.netloc}",
            method=request.method or "GET",
            query_string=url.query,
            headers=list(request.headers.items()),
            data=body.encode() if isinstance(body, str) else body,
        )
        response = requests.Response()
        response.status_code = answer.status_code
        response.reason = answer.status.partition(" ")[2]
        for name, value in answer.headers.items():
            response.headers[name] = f"{response.headers[name]}, {value}" if name in response.headers else value
        response._content = answer.get_data()
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


#: In-process apps by base URL (``http://localhost:N``, N only tells them apart).
_IN_PROCESS: dict[str, requests.Session] = {}


def in_process_url(app: Flask) -> str:
    """A base URL that ``post``/``http`` send to ``app`` in this process."""
    base_url = f"http://localhost:{len(_IN_PROCESS) + 1}"
    session = requests.Session()
    session.mount(base_url + "/", InProcessAdapter(app))
    _IN_PROCESS[base_url] = session
    return base_url


def http(url: str) -> Any:
    """What sends to ``url``: the in-process app's session, or requests itself (a new
    connection for every request, as a browser's or a CLI's first request has)."""
    return next((s for base, s in _IN_PROCESS.items() if url == base or url.startswith(base + "/")), requests)
