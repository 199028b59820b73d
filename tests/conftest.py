from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from facematch_contract.operation import DEV_JWT_SECRET
from facematch_contract.tokens import mint_token
from mock_server.app import create_app
from mock_server.config import Settings

from . import live
from .client import in_process_url
from .live import ROOT, start_server

FIXTURES = ROOT / "fixtures"

#: Modules of other owners whose every test starts real servers (marked here, not in the file).
SERVER_MODULES = {"test_state_redis.py"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the session's real server (``mock_url``) is a server test."""
    for item in items:
        if "mock_url" in getattr(item, "fixturenames", ()) or item.path.name in SERVER_MODULES:
            item.add_marker(pytest.mark.server)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    live.SERVER_TEST_RUNNING = item.get_closest_marker("server") is not None


@pytest.fixture(scope="session")
def mock_url() -> Iterator[str]:
    """One strict mock for the whole session (responses self-checked against the contract)."""
    with start_server("--strict") as url:
        yield url


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The app the session mock serves (strict, with the journal and a bulk work area, as
    ``facematch serve --strict`` makes it), in this process: ``post(app_url, ...)`` and
    ``http(app_url + path)`` go through its Flask test client, with no socket and no server
    layer. For everything that does not depend on gunicorn or mock_server/http_front.py."""
    return app_url_with(tmp_path_factory.mktemp("app"), strict=True)


def app_url_with(work: Path, **settings: Any) -> str:
    """An in-process app made with ``Settings(**settings)``, its journal, state and bulk work
    area in ``work`` (as ``facematch serve`` gives them), and the base URL that reaches it."""
    (work / "bulk").mkdir(mode=0o700, parents=True)
    defaults = {"journal_path": work / "journal.jsonl", "state_dir": work, "bulk_dir": work / "bulk"}
    return in_process_url(create_app(Settings(**{**defaults, **settings})))


@pytest.fixture(scope="session")
def token() -> str:
    return mint_token(DEV_JWT_SECRET)


@pytest.fixture(scope="session")
def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def manifest() -> dict[str, Any]:
    return json.loads((FIXTURES / "manifest.json").read_text())


def fixture_bytes(entry: dict[str, Any]) -> bytes:
    return (FIXTURES / entry["file"]).read_bytes()


def fixture_path(name: str) -> Path:
    return FIXTURES / "images" / name
