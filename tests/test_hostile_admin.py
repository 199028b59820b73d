"""The admin routes (the request journal) against a web page and DNS rebinding: no CORS
headers by default, a Host allow-list, an optional admin token. Real gunicorn, real
requests; the operation and health stay as open as before."""

from __future__ import annotations

import pytest
import requests

from facematch_contract.operation import DEV_JWT_SECRET
from facematch_contract.tokens import mint_token

from .conftest import fixture_path
from .live import start_server
from .raw_http import RawAnswer, assert_json_error, exchange

pytestmark = pytest.mark.server

BOUND = 10.0
FACE = fixture_path("astronaut_a.jpg").read_bytes()
AUTH = {"Authorization": f"Bearer {mint_token(DEV_JWT_SECRET)}"}
JOURNAL = "/__mock/requests"


def get_with_host(url: str, path: str, host: str, extra: str = "", method: str = "GET") -> RawAnswer:
    request = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n".encode()
    return exchange(url, request)


def test_admin_routes_answer_no_web_origin_and_no_foreign_host() -> None:
    with start_server("--workers", "1") as url:  # --cors defaults to any origin
        origin = {"Origin": "http://evil.test"}
        listing = requests.get(url + JOURNAL, headers=origin, timeout=BOUND)
        assert listing.status_code == 200
        assert "Access-Control-Allow-Origin" not in listing.headers
        preflight = requests.options(
            url + JOURNAL, headers={**origin, "Access-Control-Request-Method": "DELETE"}, timeout=BOUND
        )
        assert "Access-Control-Allow-Origin" not in preflight.headers
        # The operation keeps its CORS answer.
        operation = requests.post(
            url + "/advanced_facematch", files={"image1": ("a.jpg", FACE)}, headers={**AUTH, **origin}, timeout=BOUND
        )
        assert operation.headers["Access-Control-Allow-Origin"] == "*"
        # DNS rebinding: a hostile name that resolves to 127.0.0.1.
        for method in ("GET", "DELETE"):
            answer = get_with_host(url, JOURNAL, "rebind.evil.test", method=method)
            body = assert_json_error(answer, 403, BOUND)
            assert "rebind.evil.test" in body["msg"]
        for host in ("localhost:1234", "127.0.0.1", "[::1]:80"):
            assert get_with_host(url, JOURNAL, host).status == 200, host
        assert get_with_host(url, "/healthz", "rebind.evil.test").status == 200
        wiped = requests.delete(url + JOURNAL, timeout=BOUND)
        assert wiped.status_code == 204 and "Content-Type" not in wiped.headers


def test_admin_token_and_host_list_are_configurable() -> None:
    with start_server(
        "--workers", "1", "--admin-token", "s3cret-admin", "--allowed-hosts", "mock.test", "--admin-cors"
    ) as url:
        assert_json_error(get_with_host(url, JOURNAL, "mock.test"), 401, BOUND)
        assert_json_error(get_with_host(url, JOURNAL, "mock.test", "Authorization: Bearer wrong\r\n"), 401, BOUND)
        good = get_with_host(
            url, JOURNAL, "mock.test", "Authorization: Bearer s3cret-admin\r\nOrigin: http://a.test\r\n"
        )
        assert good.status == 200 and good.headers.get("access-control-allow-origin") == "*"
        # Only the listed host now, not even localhost.
        assert_json_error(
            get_with_host(url, JOURNAL, "localhost", "Authorization: Bearer s3cret-admin\r\n"), 403, BOUND
        )
        # A JWT for the operation is not the admin token.
        assert_json_error(
            get_with_host(url, JOURNAL, "mock.test", f"Authorization: {AUTH['Authorization']}\r\n"), 401, BOUND
        )
