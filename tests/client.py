"""Sending real multipart requests to a live server, with the checks every answer must pass."""

from __future__ import annotations

from typing import Any

import requests

from facematch_contract.operation import OPERATION_PATH as OPERATION


def post(
    base_url: str,
    files: dict[str, Any] | list[tuple[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    path: str = OPERATION,
    **kwargs: Any,
) -> requests.Response:
    """POST to the operation and check what holds for every answer (ERR-4, HDR-1, strict)."""
    response = requests.post(base_url + path, files=files, headers=headers or {}, timeout=60, **kwargs)
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
