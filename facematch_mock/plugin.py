"""pytest plugin: the ``facematch_mock`` fixture, a running mock for a test session.

    def test_spoof_is_shown(facematch_mock):
        facematch_mock.control.set_scenario("one_image_fake")
        answer = requests.post(facematch_mock.base_url + "/advanced_facematch",
                               headers={"Authorization": f"Bearer {facematch_mock.token}"}, files=...)

``facematch serve`` runs as a subprocess on a free local port (``--facematch-mock-arg``
adds options, e.g. ``--facematch-mock-arg=--sequences=flows.yaml``) until the session
ends; :func:`facematch_mock` wipes the runtime settings, sequences and journal before each
test so tests do not see each other's steering.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from facematch_contract.operation import DEV_JWT_SECRET
from facematch_contract.tokens import mint_token
from mock_server.launch import serve

from .client import MockControl

#: Seconds the mock may take to answer /healthz after it is started.
START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class RunningMock:
    base_url: str
    #: A valid bearer token (HS256, the development secret, valid for a day).
    token: str
    control: MockControl

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("facematch-mock", "the facematch_mock fixture (a running mock)")
    group.addoption(
        "--facematch-mock-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="an extra option for `facematch serve` (repeat for more)",
    )


def _command() -> list[str]:
    installed = Path(sys.executable).with_name("facematch")
    if installed.exists():
        return [str(installed)]
    return [sys.executable, "-m", "facematch"]


@pytest.fixture(scope="session")
def facematch_mock_server(request: pytest.FixtureRequest) -> Iterator[RunningMock]:
    """The mock for the whole session (use :func:`facematch_mock` in tests)."""
    extra = list(request.config.getoption("--facematch-mock-arg"))
    env = {"FACEMATCH_JWT_SECRET": DEV_JWT_SECRET}
    with serve("--workers", "2", "--quiet", *extra, command=_command(), env=env, ready_timeout=START_TIMEOUT_S) as mock:
        control = MockControl(mock.url)
        yield RunningMock(mock.url, mint_token(DEV_JWT_SECRET, expires_in=24 * 3600), control)
        control.close()


@pytest.fixture
def facematch_mock(facematch_mock_server: RunningMock) -> RunningMock:
    """A running mock with no runtime settings, no sequences and an empty journal."""
    facematch_mock_server.control.reset()
    return facematch_mock_server
