"""``facematch serve``'s lean access logger writes exactly the line gunicorn's own would."""

from __future__ import annotations

import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger

from facematch.cli import build_parser
from mock_server.cli import ACCESS_LOG_FORMAT, default_threads, default_workers, lean_access_logger


def line_of(logger_class: type, tmp_path: Path, name: str, fmt: str, resp: object, environ: dict[str, str]) -> str:
    path = tmp_path / f"{name}.log"
    config = Config()
    config.set("accesslog", str(path))
    config.set("access_log_format", fmt)
    logger = logger_class(config)
    request = SimpleNamespace(headers=[("HOST", "127.0.0.1:8080"), ("AUTHORIZATION", "Bearer secret")])
    logger.access(resp, request, environ, datetime.timedelta(seconds=1, microseconds=234_567))
    for handler in logger.access_log.handlers:
        handler.flush()
    return path.read_text()


CASES = [
    (
        SimpleNamespace(
            status="200 OK", sent=380, headers=[("Content-Type", "application/json"), ("X-Correlation-ID", "abc")]
        ),
        {
            "REMOTE_ADDR": "127.0.0.1",
            "REQUEST_METHOD": "POST",
            "RAW_URI": "/advanced_facematch",
            "SERVER_PROTOCOL": "HTTP/1.1",
        },
    ),
    (
        SimpleNamespace(
            status="401 UNAUTHORIZED", sent=0, headers=[("x-correlation-id", 'q"uote'), ("X-Correlation-ID", "last")]
        ),
        {
            "REMOTE_ADDR": "10.0.0.7",
            "REQUEST_METHOD": "POST",
            "RAW_URI": '/sumi/v1/advanced_facematch?__example="x"%20y',
            "SERVER_PROTOCOL": "HTTP/1.0",
        },
    ),
    (
        SimpleNamespace(status=204, headers=[]),
        {"REQUEST_METHOD": "OPTIONS", "RAW_URI": "/advanced_facematch", "SERVER_PROTOCOL": "HTTP/1.1"},
    ),
]


@pytest.mark.parametrize(("resp", "environ"), CASES)
def test_the_lean_line_is_gunicorns_line(tmp_path: Path, resp: object, environ: dict[str, str]) -> None:
    lean = line_of(lean_access_logger(), tmp_path, "lean", ACCESS_LOG_FORMAT, resp, environ)
    reference = line_of(Logger, tmp_path, "gunicorn", ACCESS_LOG_FORMAT, resp, environ)
    assert lean == reference and lean.endswith("\n") and "secret" not in lean


def test_another_format_falls_back_to_gunicorn(tmp_path: Path) -> None:
    resp, environ = CASES[0]
    fmt = '%(h)s %(m)s %(U)s "%({host}i)s"'
    assert line_of(lean_access_logger(), tmp_path, "lean", fmt, resp, environ) == line_of(
        Logger, tmp_path, "gunicorn", fmt, resp, environ
    )


def test_serve_defaults() -> None:
    args = build_parser().parse_args(["serve"])
    assert args.workers is None and args.threads is None and not args.quiet
    assert default_workers() >= 2 and default_threads() == 1  # sync workers by default (docs/performance.md)
