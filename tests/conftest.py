from __future__ import annotations

import json
import os
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
from .redis_server import RedisServer

FIXTURES = ROOT / "fixtures"

# One hypothesis storage folder for this run and every process it starts (the kit runs
# schemathesis and hypothesis in a subprocess, often in a fresh temporary folder): the
# character tables hypothesis builds for header strings (about 1.5 CPU-seconds) are then
# built once, not once per kit run. The default is .hypothesis/ in the working folder,
# which is ROOT for the test run itself.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(ROOT / ".hypothesis"))

#: Modules of other owners whose every test starts real servers (marked here, not in the file).
SERVER_MODULES = {"test_state_redis.py"}

#: The longest modules (seconds of CPU and of waiting), longest first: they are handed out
#: first, so that with --dist loadfile no long module starts last and sets the tail alone.
LONGEST_FIRST = (
    "test_kit_vendors.py",
    "test_distribution.py",
    "test_playground_browser.py",
    "test_kit_broken_servers.py",
    "test_real_mode_http.py",
    "test_typescript_client.py",
    "test_kit_mock.py",
    "test_proxy.py",
    "test_bulk_server.py",
    "test_kit_verdicts.py",
    "test_real_models.py",
    "test_redis_acks.py",
    "test_tls.py",
    "test_bulk_cli.py",
    "test_code_health.py",
    "test_contract_for_clients.py",
    "test_hostile_http.py",
    "test_faults_http.py",
    "test_state_redis.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the session's real server (``mock_url``) is a server test; the
    longest modules go first (a stable sort: each module's tests stay together, in order)."""
    for item in items:
        if "mock_url" in getattr(item, "fixturenames", ()) or item.path.name in SERVER_MODULES:
            item.add_marker(pytest.mark.server)
    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    live.SERVER_TEST_RUNNING = item.get_closest_marker("server") is not None


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server on a free port, one per test module that asks for it."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


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
