from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from facematch_contract.operation import DEV_JWT_SECRET
from facematch_contract.tokens import mint_token

from .live import ROOT, start_server

FIXTURES = ROOT / "fixtures"


@pytest.fixture(scope="session")
def mock_url() -> Iterator[str]:
    """One strict mock for the whole session (responses self-checked against the contract)."""
    with start_server("--strict") as url:
        yield url


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
