"""Tokens: ``--require-exp`` refuses tokens that would never expire, and a token sent in
the query string never reaches the access log."""

from __future__ import annotations

import time

import jwt
import pytest
import requests

from facematch_contract.operation import DEV_JWT_SECRET
from mock_server.cli import loggable_uri

from .conftest import fixture_path
from .live import start_server

pytestmark = pytest.mark.server

FACE = fixture_path("astronaut_a.jpg").read_bytes()


def post_with(url: str, claims: dict[str, object]) -> requests.Response:
    token = jwt.encode(claims, DEV_JWT_SECRET, algorithm="HS256")
    return requests.post(
        url + "/advanced_facematch",
        files={"image1": ("a.jpg", FACE)},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_require_exp_refuses_tokens_without_a_numeric_exp() -> None:
    later = int(time.time()) + 600
    with start_server("--workers", "1", "--require-exp") as url:
        for claims in ({"sub": "a"}, {"sub": "a", "exp": str(later)}):
            answer = post_with(url, claims)
            assert answer.status_code == 401, claims
            assert answer.json() == {"msg": "token has no numeric exp claim (this server requires one)"}
        assert post_with(url, {"sub": "a", "exp": later}).status_code == 200
    with start_server("--workers", "1") as url:  # the default stays lenient (documented)
        assert post_with(url, {"sub": "a"}).status_code == 200


def test_query_string_values_are_redacted_in_the_access_log() -> None:
    line = loggable_uri("/advanced_facematch?access_token=eyJhbGciOi.secret.sig&__example=no_face&limit=5")
    assert "eyJ" not in line and "secret" not in line
    assert line == "/advanced_facematch?access_token=-&__example=no_face&limit=5"
    assert loggable_uri("/healthz") == "/healthz"
